"""The encoding stage: chunks read in one pass (vector and latent terms), answer units embedded as texts of their own,
batched across documents."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rag.corpus.files import make_document
from rag.index.chunk import DocumentSpans
from rag.index.encode import by_length, encode_documents
from rag.progress import Progress
from rag.text import chunk_view, searchable_text

from .conftest import FakeEmbedder, TokenFakeEmbedder

TEXTS = ["Putin traf Xi in Peking. Sie tranken Tee.", "Lawrow sprach über ein [Bündnis](https://example.org)."]


def plans() -> list[DocumentSpans]:
    found = []
    for n, text in enumerate(TEXTS):
        document = make_document(f"d{n}", text, title=f"Titel {n}")
        middle = text.index(" ", 12)
        found.append(DocumentSpans(document, np.array([[0, middle], [middle + 1, len(text)]]),
                          np.array([[0, middle], [middle + 1, len(text) - 1]])))
    return found


def test_chunks_are_read_once_and_units_embedded_on_their_own_across_documents():
    class Counting(TokenFakeEmbedder):
        def __init__(self):
            self.read_texts, self.embedded_texts = [], []

        def read(self, texts, is_query=False):
            self.read_texts += texts
            return super().read(texts, is_query)

        def embed_passages(self, texts):
            self.embedded_texts += texts
            return super().embed_passages(texts)

    embedder = Counting()
    entries = encode_documents(plans(), embedder, batch_size=3)
    views = [chunk_view(p.document, *span) for p in plans() for span in p.chunk_spans]
    assert embedder.read_texts == sorted(views, key=len)  # each chunk once, shortest first, across the two documents
    alliance = [text for text in embedder.embedded_texts if "Bündnis" in text]
    assert alliance and not any("](https" in text for text in alliance)
    for plan, entry in zip(plans(), entries):
        texts = [chunk_view(plan.document, *span) for span in plan.chunk_spans]
        assert np.allclose(entry.chunk_vectors, FakeEmbedder().embed_passages(texts))
        assert entry.unit_vectors.shape == (2, 64) and entry.chunk_term_weights.any(axis=1).all()
        assert [set(ids[w > 0]) for ids, w in zip(entry.chunk_term_ids, entry.chunk_term_weights)] == \
               [set(ids) for ids in (r.term_ids for r in embedder.read(texts))]


def test_an_embedder_without_one_pass_reading_embeds_chunks_and_units_as_texts():
    entries = encode_documents(plans(), FakeEmbedder(), batch_size=4)
    for plan, entry in zip(plans(), entries):
        units = [searchable_text(plan.document.text[s:e]) for s, e in plan.unit_spans]
        assert np.allclose(entry.unit_vectors, FakeEmbedder().embed_passages(units))
        assert entry.chunk_term_ids.shape == (2, 0)


def test_encoding_shows_progress_as_log_lines_when_not_on_a_terminal(caplog, monkeypatch):
    import rag.progress

    monkeypatch.setattr(rag.progress, "LOG_EVERY_S", 0.0)
    with caplog.at_level("INFO", logger="rag.progress"):
        encode_documents(plans(), TokenFakeEmbedder(), batch_size=2, progress=True)
    lines = [r.getMessage() for r in caplog.records]
    assert lines and lines[-1].startswith("encoding: 8/8 text (100%")


def test_the_last_progress_line_is_not_repeated(caplog, monkeypatch):
    import rag.progress
    from rag.progress import Progress

    monkeypatch.setattr(rag.progress, "LOG_EVERY_S", 0.0)
    with caplog.at_level("INFO", logger="rag.progress"), Progress(4, "encoding", "text") as bar:
        bar.update(2)
        bar.update(2)
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["encoding: 2/4 text", "encoding: 4/4 text"]


@given(st.lists(st.text(max_size=12)), st.integers(1, 5))
def test_texts_are_embedded_in_batches_of_similar_length_and_come_back_in_their_order(texts, batch_size):
    batches = []

    def embed(batch):
        batches.append(batch)
        return [f"<{text}>" for text in batch]

    with Progress(len(texts), "encoding", "text", False) as bar:
        found = by_length(texts, [len(text) for text in texts], embed, batch_size, bar)
    assert found == [f"<{text}>" for text in texts]
    assert all(0 < len(batch) <= batch_size for batch in batches)
    lengths = [len(text) for batch in batches for text in batch]
    assert lengths == sorted(lengths) and len(lengths) == len(texts)
