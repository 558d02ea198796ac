"""A question to a running `rag serve` (`rag ask --server URL`, RAG_SERVER_URL): the server has its models loaded, so
the question costs what answering it costs, not a start-up. Standard library only: nothing heavy is imported."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from .errors import RagError

TIMEOUT_S = 60.0  # for the whole question: a busy server on shared cores takes seconds


class ServerUnreachable(RagError):
    """Nothing answers at the server's address (or not in time)."""


def ask(url: str, question: str, top_k: int | None = None, max_answers: int | None = None,
        api_key: str | None = None) -> dict:
    """The server's POST /ask reply; without ``top_k`` or ``max_answers``, the server's defaults. A 4xx or 5xx is a
    RagError with the server's message."""
    if not url.startswith(("http://", "https://")):
        raise RagError(f"the server's address must start with http:// or https://, as http://127.0.0.1:8000 does, "
                       f"not {url!r}")
    body = {"question": question, "top_k": top_k, "max_answers": max_answers}
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {api_key}"} if api_key else {})
    request = urllib.request.Request(f"{url.rstrip('/')}/ask", headers=headers, method="POST",
                                     data=json.dumps({k: v for k, v in body.items() if v is not None}).encode())
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        raise RagError(f"the server at {url} answered {error.code}: {_message(error.read())}") from None
    except (urllib.error.URLError, OSError) as error:  # refused, unknown host, timed out
        raise ServerUnreachable(f"no server answers at {url} ({getattr(error, 'reason', error)})") from None
    except ValueError:
        raise RagError(f"the server at {url} did not answer with JSON: is it `rag serve`?") from None


def _message(body: bytes) -> str:
    """The sentence of an error body ``{"detail": …}``: the text, or the messages of a validation error's items."""
    try:
        detail = json.loads(body)["detail"]
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", "replace").strip() or "no message"
    if isinstance(detail, list):
        return "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
    return str(detail)
