"""The encoding stage: the text read once, as answer units and documents' heads (vectors and latent terms), batched
across documents; each chunk pooled from its units and head."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rag.corpus.files import make_document
from rag.index.chunk import DocumentSpans
from rag.index.encode import by_length, encode_documents, units_within
from rag.progress import Progress
from rag.text import document_head, searchable_text

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


def counting(embedder_class):
    """An embedder of that class that keeps every text passed to it (``passed``)."""
    class Counting(embedder_class):
        def embed_passages(self, texts):
            self.passed += texts
            return super().embed_passages(texts)

    if hasattr(embedder_class, "read"):
        def read(self, texts, is_query=False):
            self.passed += texts
            return embedder_class.read(self, texts, is_query)
        Counting.read = read
    embedder = Counting()
    embedder.passed = []
    return embedder


def test_the_text_is_read_once_as_units_and_heads_and_chunks_are_pooled_from_them():
    embedder = counting(TokenFakeEmbedder)
    entries = encode_documents(plans(), embedder, batch_size=3)
    heads = [document_head(p.document) for p in plans()]
    units = [[searchable_text(p.document.text[s:e]) for s, e in p.unit_spans] for p in plans()]
    assert sorted(embedder.passed) == sorted(heads + [u for own in units for u in own])  # each once, no chunk
    assert [len(t) for t in embedder.passed] == sorted(len(t) for t in embedder.passed)  # shortest first, across
    alliance = [text for text in embedder.passed if "Bündnis" in text]
    assert alliance and not any("](https" in text for text in alliance)
    fake = TokenFakeEmbedder()
    for plan, entry, head, own in zip(plans(), entries, heads, units):
        assert np.allclose(entry.unit_vectors, fake.embed_passages(own))
        for row, unit in enumerate(own):  # here each chunk holds one unit
            mean = fake.embed_passages([unit, head]).mean(axis=0)
            assert np.allclose(entry.chunk_vectors[row], mean / np.linalg.norm(mean))
            ids, weights = entry.chunk_term_ids[row], entry.chunk_term_weights[row]
            assert set(ids[weights > 0]) == set(np.concatenate([r.term_ids for r in fake.read([unit, head])]))


def test_a_chunk_without_units_is_read_as_a_text_of_its_own():
    document = make_document("d", "Kurz. Ein Satz mit Wörtern.", title="Titel")
    plan = DocumentSpans(document, np.array([[0, 5], [6, 27]]), np.array([[6, 27]]))
    embedder = counting(TokenFakeEmbedder)
    entry, = encode_documents([plan], embedder, batch_size=2)
    assert sorted(embedder.passed) == ["Ein Satz mit Wörtern.", "Titel", "Titel\nKurz."]
    fake = TokenFakeEmbedder()
    for row, texts in enumerate([["Titel\nKurz.", "Titel"], ["Ein Satz mit Wörtern.", "Titel"]]):
        mean = fake.embed_passages(texts).mean(axis=0)
        assert np.allclose(entry.chunk_vectors[row], mean / np.linalg.norm(mean))


def test_a_chunk_weighs_its_units_by_length_and_its_head_as_its_average_unit():
    text = "Putin traf Xi. Lawrow sprach lange über ein echtes Bündnis mit China."
    document = make_document("d", text, title="Gipfel")
    plan = DocumentSpans(document, np.array([[0, len(text)]]), np.array([[0, 14], [15, len(text)]]))
    entry, = encode_documents([plan], TokenFakeEmbedder(), batch_size=8)
    first, second, head = TokenFakeEmbedder().embed_passages([text[:14], text[15:], "Gipfel"])
    mean = 14 * first + (len(text) - 15) * second + (14 + len(text) - 15) / 2 * head
    assert np.allclose(entry.chunk_vectors[0], mean / np.linalg.norm(mean), atol=1e-6)


def test_an_embedder_without_one_pass_reading_embeds_units_and_pools_chunks_without_terms():
    embedder = counting(FakeEmbedder)
    entries = encode_documents(plans(), embedder, batch_size=4)
    for plan, entry in zip(plans(), entries):
        units = [searchable_text(plan.document.text[s:e]) for s, e in plan.unit_spans]
        assert np.allclose(entry.unit_vectors, FakeEmbedder().embed_passages(units))
        assert np.allclose(np.linalg.norm(entry.chunk_vectors, axis=1), 1)
        assert entry.chunk_term_ids.shape == (2, 0)
    assert len(embedder.passed) == 6  # four units and two heads


def test_encoding_shows_progress_as_log_lines_when_not_on_a_terminal(caplog, monkeypatch):
    import rag.progress

    monkeypatch.setattr(rag.progress, "LOG_EVERY_S", 0.0)
    with caplog.at_level("INFO", logger="rag.progress"):
        encode_documents(plans(), TokenFakeEmbedder(), batch_size=2, progress=True)
    lines = [r.getMessage() for r in caplog.records]
    assert lines and lines[-1].startswith("encoding: 6/6 text (100%")


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


@given(st.lists(st.integers(0, 60), max_size=12), st.integers(0, 70), st.integers(0, 70))
def test_the_units_within_a_chunk_are_those_that_overlap_it(cuts, a, b):
    bounds = sorted(set(cuts))
    spans = np.array([[s, e] for s, e in zip(bounds[::2], bounds[1::2])], np.int64).reshape(-1, 2)
    start, end = min(a, b), max(a, b)
    assert list(units_within(spans, start, end)) == [u for u, (s, e) in enumerate(spans) if s < end and start < e]
