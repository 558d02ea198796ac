"""What the bundled models need that takes long to make, kept on disk once made: the next process reads the file
instead of making it again. The encoder's graphs are built in code (that needs the onnx package and about a second);
the reader's graph is its model after ONNX Runtime's graph optimisations (opening that takes half the time); the
tokenizer's vocabulary is a sorted array (decoding 250,002 pieces and indexing them takes a quarter of a second).

A file is named by a fingerprint of what it is made from (the files given, by path, size and modification time: the
model's files and the code that makes it; this module and ONNX Runtime's version for graphs too), so a new model or new
code makes a new file; a missing or unreadable file is made again. The folder is ``$XDG_CACHE_HOME/rag-news`` (default
``~/.cache/rag-news``); where it cannot be written, everything is made at each start.
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

log = logging.getLogger(__name__)

CACHE_NAME = "rag-news"
PROVIDERS = ["CPUExecutionProvider"]
T = TypeVar("T")


def cache_folder() -> Path | None:
    """Where made files are kept; None when there is no home folder to keep them in."""
    base = os.environ.get("XDG_CACHE_HOME") or (os.environ.get("HOME") and Path(os.environ["HOME"]) / ".cache")
    return Path(base) / CACHE_NAME if base else None


def fingerprint(sources: list[Path], version: str = "") -> str:
    stats = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in [*sources, Path(__file__)]]
    return hashlib.sha256(repr((version, stats)).encode()).hexdigest()[:16]


def kept(name: str, sources: list[Path], make: Callable[[], bytes], read: Callable[[bytes], T],
         version: str = "") -> T:
    """``read`` of the bytes kept for ``name`` (e.g. ``reader.onnx``), these sources and the ``version`` of what reads
    them; when none are kept or they cannot be read: ``make`` them, keep them (atomically) and read them."""
    folder = cache_folder()
    stem, suffix = os.path.splitext(name)
    try:
        path = folder / f"{stem}.{fingerprint(sources, version)}{suffix}" if folder else None
    except OSError:  # a source that is no file (an installation without .py files): nothing is kept
        path = None
    if path and path.is_file():
        try:
            return read(path.read_bytes())
        except Exception as error:  # what a damaged file raises depends on the reader (ONNX Runtime's share no base)
            log.warning("the kept file %s is unreadable (%s): making it again", path, error)
    data = make()
    if path:
        _save(path, data)
    return read(data)


def cached_session(name: str, build: Callable[[], bytes], sources: list[Path], options):
    """An ONNX Runtime session of the graph ``build()`` makes from ``sources``, kept as ``name``.onnx."""
    import onnxruntime

    return kept(f"{name}.onnx", sources, build,
                lambda graph: onnxruntime.InferenceSession(graph, options, providers=PROVIDERS),
                onnxruntime.__version__)


def cached_array(name: str, make: Callable[[], np.ndarray], sources: list[Path]) -> np.ndarray:
    """The array ``make()`` returns from ``sources``, kept as ``name``.npy."""
    def saved() -> bytes:
        out = io.BytesIO()
        np.save(out, make(), allow_pickle=False)
        return out.getvalue()

    return kept(f"{name}.npy", sources, saved, lambda data: np.load(io.BytesIO(data), allow_pickle=False))


def optimized(model: Path) -> bytes:
    """The model after ONNX Runtime's graph optimisations that hold on any CPU (the extended level: fused attention,
    layer norms, GELU …); those for the CPU at hand are left to the session that opens it, as they were."""
    import onnxruntime

    with tempfile.TemporaryDirectory() as folder:
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(Path(folder) / model.name)
        onnxruntime.InferenceSession(str(model), options, providers=PROVIDERS)
        return (Path(folder) / model.name).read_bytes()


def _save(path: Path, data: bytes) -> None:
    """Write under a temporary name, then rename (a reader never sees half a file), and remove the files of the same
    name made from older sources; a folder that cannot be written is no error."""
    stem, suffix = path.name.split(".")[0], path.suffix
    staging = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
            staging = Path(handle.name)
            handle.write(data)
        os.replace(staging, path)
        for older in path.parent.glob(f"{stem}.*{suffix}"):
            if older != path:
                older.unlink(missing_ok=True)
    except OSError as error:
        log.info("cannot keep %s in %s (%s): it is made again at the next start", path.name, path.parent, error)
        if staging:
            staging.unlink(missing_ok=True)
