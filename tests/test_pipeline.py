"""The pipeline's bookkeeping, with the fake embedder (the real model is exercised in test_e2e.py)."""
import pytest

from rag.corpus.files import make_document
from rag.errors import InvalidInput, NotFound
from rag.pipeline import Pipeline
from rag.settings import Settings

from .conftest import FakeEmbedder, TokenFakeEmbedder, assert_spans_exact


class CountingEmbedder(FakeEmbedder):
    def __init__(self):
        self.embedded = 0

    def embed_passages(self, texts):
        self.embedded += len(texts)
        return super().embed_passages(texts)


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Putin traf Xi in Peking. Sie tranken Tee.\n\nDann reiste Putin nach Harbin.",
                                  "utf-8")
    (folder / "b.md").write_text("# Lawrow\n\nLawrow sprach über ein Bündnis mit China.", "utf-8")
    return folder


def test_reingest_is_incremental(tmp_path, corpus):
    embedder = CountingEmbedder()
    pipeline = Pipeline(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    first = pipeline.ingest_folder(corpus)
    assert sorted(first.added) == ["a", "b"] and embedder.embedded > 0

    embedder.embedded = 0
    again = pipeline.ingest_folder(corpus)
    assert sorted(again.unchanged) == ["a", "b"] and embedder.embedded == 0

    (corpus / "a.txt").write_text("Putin traf Xi in Peking. Sie tranken Tee.\n\nDann reiste Putin nach Wladiwostok.")
    changed = pipeline.ingest_folder(corpus)
    assert changed.updated == ["a"]
    entry = pipeline.index.entries["a"]
    assert embedder.embedded == len(entry.chunk_spans) + len(entry.unit_spans)  # the changed document only, whole

    (corpus / "b.md").unlink()
    removed = pipeline.ingest_folder(corpus)
    assert removed.removed == ["b"]
    reopened = Pipeline(pipeline.settings, embedder=FakeEmbedder())
    assert sorted(reopened.index.entries) == ["a"]
    assert "Wladiwostok" in reopened.document("a").text


def test_posted_documents_survive_folder_ingests(fake_pipeline, corpus):
    fake_pipeline.ingest([make_document("posted", "Ein Text, der über HTTP kam.")])
    fake_pipeline.ingest_folder(corpus)
    assert "posted" in fake_pipeline.index.entries


def test_questions_are_checked(fake_pipeline, corpus):
    fake_pipeline.ingest_folder(corpus)
    for bad in ["", "   ", "x" * 1001]:
        with pytest.raises(InvalidInput):
            fake_pipeline.ask(bad)


def test_remove_unknown_is_not_found(fake_pipeline, corpus):
    fake_pipeline.ingest_folder(corpus)
    with pytest.raises(NotFound):
        fake_pipeline.remove("nope")
    with pytest.raises(NotFound):
        fake_pipeline.document("nope")


def test_every_returned_span_is_exact(fake_pipeline, corpus):
    fake_pipeline.ingest_folder(corpus)
    assert_spans_exact(fake_pipeline, fake_pipeline.ask("Wohin reiste Putin?", top_k=5, max_answers=5))


def test_unknown_mode_is_refused():
    with pytest.raises(InvalidInput, match="mode"):
        Pipeline(embedder=FakeEmbedder(), mode="magic")


def test_same_id_with_new_meta_replaces_the_document(fake_pipeline):
    fake_pipeline.ingest([make_document("x", "Ein Text über Peking.", meta={"source": "a"})])
    report = fake_pipeline.ingest([make_document("x", "Ein Text über Peking.", meta={"source": "b"})])
    assert report.updated == ["x"] and fake_pipeline.document("x").meta["source"] == "b"


def test_callers_cannot_override_computed_meta():
    document = make_document("x", "Zum Inhalt\nEin Satz.", meta={"boilerplate": "junk", "sha256": "0", "author": "A"})
    assert document.meta["boilerplate"] == [[0, 10]] and document.meta["sha256"] != "0"
    assert document.meta["author"] == "A"


def test_lone_surrogates_reach_the_model_replaced(tmp_path):
    from rag.encoder.embed import encodable

    assert encodable(["a\ud800b", "Grüße"]) == ["a?b", "Grüße"]


def test_a_write_gives_questions_a_fresh_lexical_index(fake_pipeline):
    fake_pipeline.ingest([make_document("a", "Putin reiste nach Harbin.")])
    assert fake_pipeline.search("Harbin", 1)[0].doc_id == "a"
    fake_pipeline.ingest([make_document("b", "Lawrow sprach in Astana über ein Bündnis.")])
    fake_pipeline.remove("a")
    assert [p.doc_id for p in fake_pipeline.search("Astana Bündnis", 5)] == ["b"]


def test_an_index_encoded_another_way_is_encoded_again_on_the_next_ingest(tmp_path, corpus):
    settings = Pipeline(embedder=FakeEmbedder()).settings.model_copy(update={"index_dir": tmp_path / "index"})
    Pipeline(settings, embedder=FakeEmbedder()).ingest_folder(corpus)  # as earlier code saved it: separate passes
    one_pass = Pipeline(settings, embedder=TokenFakeEmbedder())
    assert one_pass.index.encoding == "" and one_pass.index.snapshot.chunk_term_ids.shape[1] == 0
    # any ingest, here of one new document, brings the documents encoded the old way up to date too
    report = one_pass.ingest([make_document("c", "Ein neuer Text über Lawrow.")])
    assert report.added == ["c"] and sorted(report.updated) == ["a", "b"]
    reopened = Pipeline(settings, embedder=TokenFakeEmbedder()).index
    assert reopened.encoding == "fake-tokens" and reopened.snapshot.chunk_term_ids.shape[1] > 0
    assert sorted(one_pass.ingest_folder(corpus).unchanged) == ["a", "b"]


def test_latent_terms_can_be_switched_off(tmp_path, corpus):
    class Counting(TokenFakeEmbedder):
        questions_read = 0

        def read(self, texts, is_query=False):
            Counting.questions_read += len(texts) if is_query else 0
            return super().read(texts, is_query)

    pipeline = Pipeline(Settings(index_dir=tmp_path / "index"), embedder=Counting())
    pipeline.ingest_folder(corpus)
    for switched_on in (True, False):
        Counting.questions_read = 0
        pipeline.settings.latent_terms = switched_on
        retrieval = pipeline.retrieve("who said something about an alliance")  # English: few of its words known
        assert pipeline.retriever.uses_terms(retrieval.snapshot) == switched_on
        # one pass gives the vector and the terms; the answers' confidence reads the terms either way
        assert Counting.questions_read == 1 and retrieval.query_terms is not None and retrieval.passages


def test_a_text_too_short_for_an_answer_unit_is_ingested_once(tmp_path):
    pipeline = Pipeline(Settings(index_dir=tmp_path / "index"), embedder=TokenFakeEmbedder())
    document = make_document("c", ",")
    assert pipeline.ingest([document]).added == ["c"]
    entry = pipeline.index.entries["c"]
    assert len(entry.unit_spans) == 0 and entry.unit_vectors.shape == (0, 64) and entry.chunk_term_weights.any()
    assert pipeline.ingest([document]).unchanged == ["c"]
