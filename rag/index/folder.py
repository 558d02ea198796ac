"""The index folder as one process sees it: the live version, reloaded when another process saved a newer one, and
one writer at a time across threads and processes."""
from __future__ import annotations

import fcntl
import threading
from contextlib import contextmanager
from pathlib import Path

from ..errors import IndexUnavailable
from .store import StoreConfig
from .versions import Index, Snapshot, live_version

OPEN_ATTEMPTS = 3  # another process may save twice while this one reads: the version it read is then pruned


class IndexFolder:
    """Safe to share between threads."""

    def __init__(self, path: Path, model: str, dim: int, encoding: str, store: StoreConfig):
        self.path, self.model, self.dim, self.encoding, self.store = Path(path), model, dim, encoding, store
        self._index: Index | None = None
        self._lock = threading.RLock()

    @property
    def where(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return live_version(self.path) is not None

    @property
    def index(self) -> Index:
        """The live index, reloaded when another process has saved a newer version."""
        with self._lock:
            live = live_version(self.path)
            if self._index is None or (live and live != self._index.opened_as):
                for attempt in range(OPEN_ATTEMPTS):
                    try:
                        self._index = Index.open(self.path, self.model, self.store)
                        break
                    except IndexUnavailable:
                        if attempt == OPEN_ATTEMPTS - 1 or live_version(self.path) == live:
                            raise
                        live = live_version(self.path)
            return self._index

    def snapshot(self) -> Snapshot:
        """The live version laid out for search: a question keeps it even if a write replaces it meanwhile."""
        with self._lock:
            return self.index.snapshot

    def current(self) -> Index:
        """The live index, or an empty one where there is none yet."""
        return self.index if self.exists() else self._empty()

    def _empty(self) -> Index:
        return Index(self.model, self.dim, self.store, self.encoding)

    @contextmanager
    def writing(self):
        """One writer at a time across threads and processes; it starts from the latest saved version. Hold it only
        to commit: encoding inside it would stall every other write (and the threads they wait in)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / ".write.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # per open file: excludes other threads and other processes
            try:
                # readers keep the version they hold while this copy changes
                index = self.index.copy() if self.exists() else self._empty()
                yield index
                with self._lock:
                    self._index = index
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def repair(self) -> list[Path]:
        """Make the newest intact version live when the live one is damaged; returns the versions set aside."""
        with self.writing() as index:
            damaged = list(index.damaged)
            if damaged:
                index.save(self.path)
        return damaged
