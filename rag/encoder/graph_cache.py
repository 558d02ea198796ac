"""ONNX graphs that are built in code, kept on disk: the next process opens the file instead of building the graph again
(building the bundled encoder's needs the onnx package and about a second; opening the file, neither).

A graph's file is named by a fingerprint of what it is built from (the files given, by path, size and modification
time: the model's files and the code that builds it), so a new model or new code builds a new file; a missing or
unreadable file is built again. The folder is ``$XDG_CACHE_HOME/rag-news`` (default ``~/.cache/rag-news``); where it
cannot be written, the graph is built in memory at each start, as before.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

CACHE_NAME = "rag-news"
PROVIDERS = ["CPUExecutionProvider"]


def cache_folder() -> Path | None:
    """Where built graphs are kept; None when there is no home folder to keep them in."""
    base = os.environ.get("XDG_CACHE_HOME") or (os.environ.get("HOME") and Path(os.environ["HOME"]) / ".cache")
    return Path(base) / CACHE_NAME if base else None


def fingerprint(sources: list[Path]) -> str:
    stats = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in sources]
    return hashlib.sha256(repr(stats).encode()).hexdigest()[:16]


def cached_session(name: str, build: Callable[[], bytes], sources: list[Path], options):
    """An ONNX Runtime session of the graph ``build()`` makes from ``sources``: from its cached file when there is
    one, else built, cached (atomically) and opened."""
    import onnxruntime

    folder = cache_folder()
    path = folder / f"{name}.{fingerprint(sources)}.onnx" if folder else None
    if path and path.is_file():
        try:
            return onnxruntime.InferenceSession(str(path), options, providers=PROVIDERS)
        except Exception as error:  # ONNX Runtime's load errors share no base class but Exception
            log.warning("the cached graph %s is unreadable (%s): building it again", path, error)
    graph = build()
    if path:
        _save(path, graph)
    return onnxruntime.InferenceSession(graph, options, providers=PROVIDERS)


def _save(path: Path, graph: bytes) -> None:
    """Write the graph under a temporary name, then rename it (a reader never sees half a file), and remove the files
    of the same graph built from older sources; a folder that cannot be written is no error."""
    name = path.name.split(".")[0]
    staging = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
            staging = Path(handle.name)
            handle.write(graph)
        os.replace(staging, path)
        for older in path.parent.glob(f"{name}.*.onnx"):
            if older != path:
                older.unlink(missing_ok=True)
    except OSError as error:
        log.info("cannot keep the built graph in %s (%s): it is built again at the next start", path.parent, error)
        if staging:
            staging.unlink(missing_ok=True)
