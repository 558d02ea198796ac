"""Progress of long work: a bar on a terminal, log lines otherwise (a server's log, a CI run, a pipe)."""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("rag.progress")

LOG_EVERY_S = 10.0  # seconds between log lines, and one at the end of work that took longer


class Progress:
    """``update(n)`` as items are done; ``close()`` at the end. Silent when not ``enabled``."""

    def __init__(self, total: int, label: str, unit: str, enabled: bool = True):
        self.total, self.label, self.unit, self.enabled = total, label, unit, enabled and total > 0
        self.done, self.started = 0, time.perf_counter()
        self._last_line, self._last_done = self.started, -1
        self._bar = None
        if self.enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)

    def update(self, count: int) -> None:
        self.done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self.enabled and time.perf_counter() - self._last_line >= LOG_EVERY_S:
            self._line()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self._last_done != self.done and time.perf_counter() - self.started >= LOG_EVERY_S:
            self._line()  # short work: no line

    def _line(self) -> None:
        now = time.perf_counter()
        self._last_line, self._last_done = now, self.done
        rate = self.done / max(now - self.started, 1e-9)
        log.info("%s: %d/%d %s (%.0f%%, %.1f %s/s)", self.label, self.done, self.total, self.unit,
                 100 * self.done / self.total, rate, self.unit)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
