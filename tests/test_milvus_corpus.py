"""The corpus in Milvus (RAG_VECTOR_STORE=milvus; a milvus-lite file here): documents, chunks and units are stored and
found again exactly, a write touches only its own document's rows, and questions find what they find in FAISS mode."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.answer.retrieve import best_unit
from rag.errors import IndexUnavailable, NotFound
from rag.index import milvus
from rag.index.lexical import LexicalIndex, terms
from rag.index.milvus import PART_CHARS, MilvusCorpus, key
from rag.index.versions import Entry
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Document

from .conftest import SEEDS, TokenFakeEmbedder, assert_spans_exact

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

ARTICLES = [
    Document("seilbahn", "Die Gemeinde Quastenberg baut eine Seilbahn über den Fluss. Sie kostet drei Millionen Euro. "
             "Der Bau beginnt im Mai.", "Seilbahn"),
    Document("schule", "Der Bürgermeister eröffnet im Juni die neue Schule. Sie hat zwölf Klassenzimmer und eine "
             "Turnhalle.", "Schule"),
    Document("hafen", "Im Hafen legen wieder Fähren nach Norden ab. Die Fahrt dauert zwei Stunden.", "Hafen"),
]


def milvus_settings(tmp_path, **changes) -> Settings:
    return Settings(index_dir=tmp_path / "no-folder", vector_store="milvus", milvus_uri=str(tmp_path / "milvus.db"),
                    **changes)


@pytest.fixture
def milvus_pipeline(tmp_path) -> Pipeline:
    return Pipeline(milvus_settings(tmp_path, chunk_chars=100, chunk_overlap_chars=0), embedder=TokenFakeEmbedder())


def chunk_keys(corpus: MilvusCorpus, doc_id: str) -> set[int]:
    rows = corpus.client.query(corpus.chunks, filter=f"doc_key == {key(doc_id)}", output_fields=["key"])
    return {row["key"] for row in rows}


def test_a_write_touches_only_its_own_documents_rows(milvus_pipeline):
    corpus = milvus_pipeline.corpus
    assert not milvus_pipeline.has_index()
    report = milvus_pipeline.ingest(ARTICLES)
    assert sorted(report.added) == sorted(d.id for d in ARTICLES) and report.chunks == corpus.chunk_count > 3
    before = {d.id: chunk_keys(corpus, d.id) for d in ARTICLES}
    assert milvus_pipeline.ingest(ARTICLES).unchanged == [d.id for d in ARTICLES]

    changed = Document("schule", ARTICLES[1].text + " Sie kostet acht Millionen Euro.", "Schule")
    assert milvus_pipeline.ingest([changed]).updated == ["schule"]
    after = {d.id: chunk_keys(corpus, d.id) for d in ARTICLES}
    assert after["seilbahn"] == before["seilbahn"] and after["hafen"] == before["hafen"]
    assert after["schule"].isdisjoint(before["schule"])  # the old revision's rows are gone
    assert milvus_pipeline.document("schule") == changed

    milvus_pipeline.remove("hafen")
    assert sorted(corpus.catalogue()) == ["schule", "seilbahn"] and chunk_keys(corpus, "hafen") == set()
    with pytest.raises(NotFound):
        milvus_pipeline.remove("hafen")
    stored = corpus.catalogue(["schule", "nirgends"])
    assert list(stored) == ["schule"] and stored["schule"].chars == len(changed.text)
    assert stored["schule"].chunk_count == len(chunk_keys(corpus, "schule"))


def test_the_lexicon_forgets_the_stems_no_document_holds_any_more(milvus_pipeline):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES)
    known = lambda words: corpus.known_fraction(terms(words))  # noqa: E731
    assert known("Seilbahn Quastenberg Turnhalle Fähren") == 1.0
    milvus_pipeline.remove("seilbahn")
    milvus_pipeline.ingest([Document("schule", "Der Bürgermeister eröffnet die neue Schule in Quastenberg.",
                                     "Schule")])  # the Turnhalle is gone, Quastenberg is back
    assert known("Seilbahn Turnhalle") == 0.0 and known("Quastenberg Fähren Bürgermeister") == 1.0
    in_process = LexicalIndex().fit([milvus_pipeline.document(d).text for d in ("schule", "hafen")])  # FAISS mode's
    question = "Seilbahn Quastenberg Turnhalle Fähren"
    assert known(question) == in_process.known_fraction(question) == 0.5


def stop_after_the_first_chunk(monkeypatch, corpus: MilvusCorpus) -> None:
    """A writer killed half-way: its next insert of chunks writes one row, then fails."""
    insert = MilvusCorpus._insert

    def killed(self, collection, rows):
        if collection != self.chunks:
            return insert(self, collection, rows)
        insert(self, collection, rows[:1])
        raise RuntimeError("killed")
    monkeypatch.setattr(MilvusCorpus, "_insert", killed)


@pytest.mark.parametrize("existed", [True, False], ids=["update", "first-write"])
def test_a_write_that_stopped_half_way_is_written_again_by_the_next_ingest(milvus_pipeline, monkeypatch, existed):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES if existed else ARTICLES[:1])
    changed = Document("schule", ARTICLES[1].text + " Sie kostet acht Millionen Euro. " * 3, "Schule")
    with monkeypatch.context() as patch:
        stop_after_the_first_chunk(patch, corpus)
        with pytest.raises(IndexUnavailable):
            milvus_pipeline.ingest([changed])
    # the broken revision is never shown, nor taken for the stored one
    assert milvus_pipeline.corpus.document("schule") == (ARTICLES[1] if existed else None)
    assert ("schule" in corpus.catalogue()) is existed
    report = milvus_pipeline.ingest([changed])
    assert (report.updated if existed else report.added) == ["schule"]
    heads = corpus.client.query(corpus.documents, filter=f"doc_key == {key('schule')} and part == 0",
                                output_fields=["revision"])
    assert len(heads) == 1 and milvus_pipeline.document("schule") == changed
    assert corpus.catalogue()["schule"].chunk_count == len(chunk_keys(corpus, "schule")) > 1
    assert milvus_pipeline.ingest([changed]).unchanged == ["schule"]


def meanwhile(monkeypatch, other_write) -> None:
    """Another writer runs ``other_write`` whole while this one is between its document's rows and its chunks."""
    insert = MilvusCorpus._insert

    def interleaved(self, collection, rows):
        if collection == self.chunks:
            monkeypatch.setattr(MilvusCorpus, "_insert", insert)  # the other writer's inserts run as usual
            other_write()
        insert(self, collection, rows)
    monkeypatch.setattr(MilvusCorpus, "_insert", interleaved)


GYM = Document("sporthalle", "Die neue Turnhalle des Vereins steht am Hafen.", "Sporthalle")


def test_a_stem_another_write_brings_meanwhile_stays_known(milvus_pipeline, monkeypatch):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES)
    delete = corpus.client.delete

    def after_another_write(collection, **kwargs):  # the removal found "turnhall" in no chunk; then the gym came
        if collection == corpus.lexicon:
            monkeypatch.setattr(corpus.client, "delete", delete)
            milvus_pipeline.ingest([GYM])
        return delete(collection, **kwargs)
    monkeypatch.setattr(corpus.client, "delete", after_another_write)
    milvus_pipeline.remove("schule")
    assert corpus.known_fraction(terms("Turnhalle")) == 1.0


def test_a_stem_a_removal_takes_out_while_a_write_brings_it_comes_back(milvus_pipeline, monkeypatch):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES)
    meanwhile(monkeypatch, lambda: milvus_pipeline.remove("schule"))  # between the gym's stems and its chunks
    milvus_pipeline.ingest([GYM])
    assert corpus.known_fraction(terms("Turnhalle")) == 1.0


def test_of_two_writers_of_one_document_the_later_stays_whole(milvus_pipeline, monkeypatch):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES)
    earlier = Document("schule", ARTICLES[1].text + " Sie kostet acht Millionen Euro. " * 3, "Schule")
    later = Document("schule", ARTICLES[1].text + " Sie kostet neun Millionen Euro.", "Schule")
    meanwhile(monkeypatch, lambda: milvus_pipeline.ingest([later]))
    milvus_pipeline.ingest([earlier])  # the later write deleted this one's rows before its chunks went in
    heads = corpus._heads("schule", ["revision"])
    assert len(heads) == 1 and milvus_pipeline.document("schule") == later
    assert corpus.catalogue()["schule"].chunk_count == len(chunk_keys(corpus, "schule"))  # no chunk left over
    assert milvus_pipeline.ingest([later]).unchanged == ["schule"]
    assert milvus_pipeline.search("acht Millionen Euro") and \
        all(p.doc_id != "schule" or "acht" not in p.text for p in milvus_pipeline.search("acht Millionen Euro"))


def test_a_document_removed_during_its_write_stays_removed(milvus_pipeline, monkeypatch):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES)
    changed = Document("schule", ARTICLES[1].text + " Sie kostet acht Millionen Euro.", "Schule")
    meanwhile(monkeypatch, lambda: milvus_pipeline.remove("schule"))
    milvus_pipeline.ingest([changed])
    assert "schule" not in corpus.catalogue() and chunk_keys(corpus, "schule") == set()
    assert corpus.known_fraction(terms("Turnhalle")) == 0.0  # its stems left the lexicon with it


def test_what_a_writer_stopped_after_a_later_write_left_is_never_read_and_goes_with_the_next_write(milvus_pipeline,
                                                                                                   monkeypatch):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES)
    earlier = Document("schule", ARTICLES[1].text + " Sie kostet acht Millionen Euro. " * 3, "Schule")
    later = Document("schule", ARTICLES[1].text + " Sie kostet neun Millionen Euro.", "Schule")
    delete, deletes = MilvusCorpus._delete, []

    def stopped_at_the_second(self, *args, **kwargs):  # the later write deletes; the earlier one is killed there
        deletes.append(args)
        if len(deletes) > 1:
            raise RuntimeError("killed")
        return delete(self, *args, **kwargs)
    with monkeypatch.context() as patch:
        patch.setattr(MilvusCorpus, "_delete", stopped_at_the_second)
        meanwhile(patch, lambda: milvus_pipeline.ingest([later]))
        with pytest.raises(IndexUnavailable):
            milvus_pipeline.ingest([earlier])
    left = chunk_keys(corpus, "schule") - {key("schule", corpus._heads("schule", ["revision"])[0]["revision"], i)
                                           for i in range(corpus.catalogue()["schule"].chunk_count)}
    assert left  # the earlier write's chunks, inserted after the later write had deleted its revision
    for question in ("acht Millionen Euro", "Schule Turnhalle"):
        reply = milvus_pipeline.ask(question)  # never read: their revision is gone
        assert all(p.doc_id != "schule" or "acht" not in p.text for p in reply.passages)
    assert milvus_pipeline.document("schule") == later
    milvus_pipeline.ingest([Document("schule", later.text + " Sie öffnet im Juni.", "Schule")])
    assert chunk_keys(corpus, "schule").isdisjoint(left)
    milvus_pipeline.remove("schule")
    assert chunk_keys(corpus, "schule") == set() and corpus.known_fraction(terms("Turnhalle")) == 0.0


def test_a_sweep_leaves_the_rows_of_a_revision_whose_head_is_there(milvus_pipeline):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES)
    before = chunk_keys(corpus, "schule")
    assert corpus._sweep("schule", kept=set()) == set()  # as if its write had begun after the sweeper read the heads
    assert chunk_keys(corpus, "schule") == before and milvus_pipeline.ask("Wie viele Klassenzimmer?").passages


def test_a_revision_names_its_content_and_the_order_of_its_write():
    assert milvus.digest("0123abcd@6530a1b2c3d4e") == "0123abcd" and milvus.stamp("0123abcd@6530a1b2c3d4e") > 0
    assert milvus.digest("0123abcd") == "0123abcd" and milvus.stamp("0123abcd") == 0  # written before stamps


def test_each_write_of_a_document_is_stamped_after_the_last(milvus_pipeline, monkeypatch):
    corpus = milvus_pipeline.corpus
    milvus_pipeline.ingest(ARTICLES)
    [first] = [head["revision"] for head in corpus._heads("schule", ["revision"])]
    monkeypatch.setattr(milvus.time, "time_ns", lambda: 0)  # a writer whose clock is far behind
    milvus_pipeline.ingest([Document("schule", "Die Schule ist geschlossen.", "Schule")])
    [second] = [head["revision"] for head in corpus._heads("schule", ["revision"])]
    assert milvus.stamp(second) == milvus.stamp(first) + 1
    assert milvus_pipeline.document("schule").text == "Die Schule ist geschlossen."


def test_the_documents_are_listed_page_by_page(milvus_pipeline, monkeypatch):
    monkeypatch.setattr(milvus, "PAGE_ROWS", 2)  # Milvus returns at most 16,384 rows per query: a corpus outgrows that
    milvus_pipeline.ingest(ARTICLES)
    assert sorted(milvus_pipeline.corpus.catalogue()) == sorted(d.id for d in ARTICLES)


def test_each_chunk_has_the_units_and_terms_a_snapshot_gives_it(tmp_path):
    """Chunks overlap: a sentence in the overlap belongs to both (its best-sentence score and its answers' sentence),
    though it is stored once; a chunk of no words has no units, and its best-sentence score is its own vector's; a
    search's rows have their latent terms once ``with_terms`` fetched them."""
    overlapping = {"chunk_chars": 100, "chunk_overlap_chars": 60}
    in_milvus = Pipeline(milvus_settings(tmp_path, **overlapping), embedder=TokenFakeEmbedder())
    in_folder = Pipeline(Settings(index_dir=tmp_path / "index", **overlapping), embedder=TokenFakeEmbedder())
    closed = ("Die Brücke über den Fluss ist seit dem Frühjahr gesperrt, weil die Pfeiler marode sind und saniert "
              "werden.")
    with_a_rule = Document("brücke", f"{closed}\n\n***\n\n{closed}", "Brücke")  # "***" is a chunk of its own
    for pipeline in (in_milvus, in_folder):
        pipeline.ingest(ARTICLES + [with_a_rule])
    snapshot, corpus = in_folder.index.snapshot, in_milvus.corpus
    rows = range(len(snapshot.chunk_spans))
    keys = []
    for row in rows:
        chunk = snapshot.chunk(row)
        [at] = [head["revision"] for head in corpus._heads(chunk.doc_id, ["revision"])]
        keys.append(key(chunk.doc_id, at, int(chunk.id.rsplit("#", 1)[1])))
    found = {hit["key"]: hit for hit in corpus._get(corpus.chunks, keys, milvus.HIT_FIELDS)}
    candidates = corpus.candidates([found[k] for k in keys])
    assert candidates.chunk_term_ids.shape[1] == 0  # not asked for
    assert any(not len(snapshot.units_of(row)) for row in rows)
    query = snapshot.unit_vectors[0]
    for row in rows:
        assert best_unit(candidates, row, query) == pytest.approx(best_unit(snapshot, row, query), abs=1e-6)
    candidates = corpus.with_terms(candidates, list(rows))
    for row in rows:
        assert candidates.chunk(row) == snapshot.chunk(row)
        assert candidates.unit_spans[candidates.units_of(row)].tolist() == \
            snapshot.unit_spans[snapshot.units_of(row)].tolist()
        np.testing.assert_allclose(candidates.unit_vectors[candidates.units_of(row)],
                                   snapshot.unit_vectors[snapshot.units_of(row)], atol=1e-6)
        assert held_terms(candidates, row) == pytest.approx(held_terms(snapshot, row))
    assert any(len(snapshot.units_of(row)) for row in rows)
    assert len(candidates.unit_spans) == len(snapshot.unit_spans)  # each unit once, though the chunks overlap
    assert sum(map(len, candidates.unit_ranges)) > len(candidates.unit_spans)


def held_terms(rows, row: int) -> dict[int, float]:
    weights = rows.chunk_term_weights[row]
    return dict(zip(rows.chunk_term_ids[row][weights > 0].tolist(), weights[weights > 0].tolist()))


def test_questions_find_their_passages_cut_exactly_from_their_documents(milvus_pipeline):
    milvus_pipeline.ingest(ARTICLES)
    for question, doc_id in [("Was kostet die Seilbahn?", "seilbahn"), ("Wann eröffnet die Schule?", "schule"),
                             ("Wie lange dauert die Fahrt mit der Fähre?", "hafen")]:
        passages = milvus_pipeline.search(question, top_k=3)
        assert passages[0].doc_id == doc_id, question
        assert [p.rank for p in passages] == [1, 2, 3] and passages[0].score >= passages[-1].score
        for passage in passages:
            assert milvus_pipeline.document(passage.doc_id).text[passage.start:passage.end] == passage.text
            assert passage.id.startswith(f"{passage.doc_id}#")


def test_every_mode_searches_the_server(milvus_pipeline):
    milvus_pipeline.ingest(ARTICLES)
    for mode in ("dense", "lexical"):
        pipeline = Pipeline(milvus_pipeline.settings, embedder=milvus_pipeline.embedder, mode=mode)
        assert pipeline.search("Seilbahn Quastenberg", top_k=2)[0].doc_id == "seilbahn", mode
    lexical = Pipeline(milvus_pipeline.settings, embedder=milvus_pipeline.embedder, mode="lexical")
    assert lexical.search("Zeppelin", top_k=2) == []  # no word of it in the corpus


@pytest.fixture(scope="module")
def bare_corpus(tmp_path_factory) -> MilvusCorpus:
    settings = milvus_settings(tmp_path_factory.mktemp("milvus"))
    from rag.index.store import StoreConfig

    return MilvusCorpus(StoreConfig.from_settings(settings), "fake", 4, "", has_terms=False)


def text_only(document: Document) -> Entry:
    empty = np.zeros((0, 2), np.int64), np.zeros((0, 4), np.float32)
    return Entry(document, *empty, *empty)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc_id=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
       text=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300),
       title=st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
       value=st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_documents_come_back_exactly_whatever_their_characters(bare_corpus, doc_id, text, title, value):
    document = Document(doc_id, text, title, {"note": value})
    with bare_corpus.writing() as corpus:
        corpus.put(text_only(document))
    assert bare_corpus.document(doc_id) == document
    assert bare_corpus.catalogue([doc_id])[doc_id].chars == len(text)


def test_a_long_document_is_stored_in_parts_and_read_whole(bare_corpus):
    separators = "\u2028\u2029\x85\x00\r\n\u0301"
    text = "".join(f"Satz {i}{separators[i % len(separators)]}" for i in range(3 * PART_CHARS // 7))
    document = Document("lang", text, "Lang")
    with bare_corpus.writing() as corpus:
        corpus.put(text_only(document))
    assert len(text) > 2 * PART_CHARS and bare_corpus.document("lang") == document


def test_a_corpus_of_an_earlier_layout_is_named_not_read(tmp_path, monkeypatch, caplog):
    from rag.index.store import StoreConfig

    config = StoreConfig.from_settings(milvus_settings(tmp_path))
    monkeypatch.setattr(milvus, "LAYOUT", milvus.LAYOUT - 1)
    earlier = MilvusCorpus(config, "fake", 4, "", has_terms=False)
    with earlier.writing() as corpus:
        corpus.put(text_only(ARTICLES[0]))
    monkeypatch.undo()
    now = MilvusCorpus(config, "fake", 4, "", has_terms=False)
    assert not now.exists() and len(earlier) == 1
    with now.writing():
        pass
    assert earlier.documents in caplog.text and "ingest the articles again" in caplog.text


@pytest.mark.slow
def test_seed_questions_find_in_milvus_what_they_find_in_faiss(seeded_pipeline, seed_questions, tmp_path):
    with_milvus = Pipeline(milvus_settings(tmp_path), embedder=seeded_pipeline.embedder)
    with_milvus.ingest_folder(SEEDS)
    assert with_milvus.index.chunk_count == seeded_pipeline.index.chunk_count
    for row in seed_questions:
        here, there = seeded_pipeline.ask(row["question"]), with_milvus.ask(row["question"])
        assert_spans_exact(with_milvus, there)
        # Milvus fuses each route's own hits, its scores squeezed by an arctan (docs/scaling.md), so the order differs
        # a little; the passages the reader reads still hold the article
        if here.passages[0].doc_id in row["doc_ids"]:
            assert set(row["doc_ids"]) & {p.doc_id for p in there.passages[:with_milvus.settings.answer_passages]}, \
                row["question"]


def test_the_store_setting_is_validated():
    with pytest.raises(ValueError, match="vector_store"):
        Settings(vector_store="pinecone")
