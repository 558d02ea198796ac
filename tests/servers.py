"""Servers for tests that need a real socket: uvicorn in a background thread on a free loopback port."""
from __future__ import annotations

import threading
import time

from scripts.common import free_port

# Starlette's TestClient calls itself "testclient", which is no loopback address, so with no API key its writes get 403
# (rag/api/security.py): tests that write as the machine's own user present this address instead.
LOCAL_CLIENT = ("127.0.0.1", 50000)


class ThreadServer:
    """uvicorn over an app object in a background thread; ``url`` is where it listens."""

    def __init__(self, app, **config):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {"log_level": "warning", "lifespan": "off", **config}
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, **config))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
