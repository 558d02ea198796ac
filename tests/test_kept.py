"""What the models need, kept on disk: opened from the file on the next start, made again when missing, damaged or made
from older sources; the kept graphs of the bundled encoder and of the reader give what freshly made ones give (the
kept vocabulary is tested by tests/test_tokenize.py, against the whole vocabulary)."""
import logging
import os

import numpy as np
import pytest
from onnx import TensorProto, helper

from rag.encoder import e5_onnx, kept
from rag.encoder.tokenize import bundled, model_windows

from .conftest import SEEDS


def doubling_graph() -> bytes:
    """A tiny graph: y = x + x."""
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "double",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], ir_version=9).SerializeToString()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "weights.bin"
    source.write_bytes(b"weights")
    builds = []

    def session():
        def build():
            builds.append(1)
            return doubling_graph()

        import onnxruntime

        return kept.cached_session("double", build, [source], onnxruntime.SessionOptions())

    session.builds, session.source = builds, source
    session.folder = tmp_path / "cache" / kept.CACHE_NAME
    return session


def doubles(session) -> bool:
    return session.run(None, {"x": np.array([1.5, -2], np.float32)})[0].tolist() == [3, -4]


def test_a_graph_is_built_once_then_opened_from_its_file(cache):
    assert doubles(cache()) and doubles(cache())
    assert len(cache.builds) == 1
    assert [p.read_bytes() for p in cache.folder.glob("double.*.onnx")] == [doubling_graph()]


def test_a_damaged_file_is_built_again(cache, caplog):
    cache()
    path, = cache.folder.glob("double.*.onnx")
    path.write_bytes(path.read_bytes()[:40])
    with caplog.at_level(logging.WARNING):
        assert doubles(cache())
    assert len(cache.builds) == 2 and "unreadable" in caplog.text
    assert path.read_bytes() == doubling_graph()


def test_new_sources_build_a_new_file_and_the_old_one_goes(cache):
    cache()
    old, = cache.folder.glob("double.*.onnx")
    (cache.folder / "other.0123.onnx").write_bytes(b"another graph's")
    cache.source.write_bytes(b"new weights")
    os.utime(cache.source, ns=(1, 1))
    assert doubles(cache())
    new, = cache.folder.glob("double.*.onnx")
    assert len(cache.builds) == 2 and new != old and (cache.folder / "other.0123.onnx").exists()


def test_without_a_writable_cache_the_graph_is_built_each_time(cache, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # no folder can be made under a file
    assert doubles(cache()) and doubles(cache())
    assert len(cache.builds) == 2 and not list(tmp_path.glob("**/*.onnx"))


def test_a_damaged_array_is_made_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    source = tmp_path / "pieces.txt"
    source.write_text("a b c")
    made = []

    def make():
        made.append(1)
        return np.array(source.read_text().split())

    assert kept.cached_array("pieces", make, [source]).tolist() == ["a", "b", "c"]
    path, = (tmp_path / kept.CACHE_NAME).glob("pieces.*.npy")
    path.write_bytes(path.read_bytes()[:-5])
    assert kept.cached_array("pieces", make, [source]).tolist() == ["a", "b", "c"]
    assert kept.cached_array("pieces", make, [source]).tolist() == ["a", "b", "c"]
    assert len(made) == 2


def test_the_cached_encoder_gives_the_vectors_of_a_freshly_built_one(tmp_path, monkeypatch):
    tokenizer = bundled()
    texts = ["query: Was sagte Lawrow über ein Bündnis mit China?", "passage: Putin und Xi trafen sich in Peking."]
    batch = [window for text in texts
             for window in model_windows(tokenizer.encode(text).ids, tokenizer.bos, tokenizer.eos)]

    def states(encoder):
        with_features = [array for s in encoder.run(batch) for array in (s.states, s.feature_ids, s.feature_weights)]
        return with_features + [s.states for s in encoder.run(batch, features=False)]

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    built = states(e5_onnx.TokenEncoder())  # builds both graphs and caches them
    cached = sorted((tmp_path / "cache" / kept.CACHE_NAME).glob("*.onnx"))
    assert [p.name.split(".")[0] for p in cached] == ["e5-states", "e5-terms"]
    with monkeypatch.context() as patch:
        patch.setattr(e5_onnx, "build_graph", None)  # opened from the files, not built
        from_files = states(e5_onnx.TokenEncoder())
    monkeypatch.setattr(kept, "cache_folder", lambda: None)
    fresh = states(e5_onnx.TokenEncoder())
    assert len(fresh) == 4 * len(batch)
    for a, b, c in zip(built, from_files, fresh):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)


def test_the_cached_reader_gives_the_logits_of_its_model_as_shipped(tmp_path, monkeypatch):
    import onnxruntime

    from rag.answer.read import MODEL_PATH, Reader, passage_windows

    tokenizer = bundled()
    window = passage_windows(tokenizer.encode("Wer traf Putin im Februar 2023 in Moskau?"),
                             tokenizer.encode(min(SEEDS.iterdir()).read_text()[:900]), tokenizer.bos, tokenizer.eos)[0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    Reader(passages=1).warm_up()  # optimises the model and caches it
    assert [p.name.split(".")[0] for p in (tmp_path / "cache" / kept.CACHE_NAME).glob("*.onnx")] == ["reader"]
    monkeypatch.setattr(kept, "optimized", None)  # opened from the file, not optimised again
    cached, as_shipped = Reader(passages=1, threads=2), Reader(passages=1, threads=2)
    cached.warm_up()
    as_shipped.warm_up()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    as_shipped._session = onnxruntime.InferenceSession(str(MODEL_PATH), options, providers=["CPUExecutionProvider"])
    for ours, theirs in zip(cached._logits(window), as_shipped._logits(window)):
        np.testing.assert_array_equal(ours, theirs)
