"""API key (or, without one, writes from this machine only), per-client rate limit and CORS for the HTTP service
(see docs/reliability.md).

Both middlewares are plain ASGI and answer before the body is read: a refused request costs no parsing, no
embedding. The key is compared with ``hmac.compare_digest`` and is never logged or echoed back.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
import time

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

from ..settings import Settings

log = logging.getLogger(__name__)

# what never needs a key or counts against the rate limit: the chat page, its files, the API description
OPEN_PATHS = ("/", "/favicon.ico", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
OPEN_PREFIXES = ("/static/",)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def is_open_path(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def is_write(method: str, path: str) -> bool:
    return method in WRITE_METHODS and (path == "/documents" or path.startswith("/documents/"))


def configured_key(settings: Settings) -> bytes | None:
    """The API key as bytes, or None when none is configured (an empty RAG_API_KEY counts as none)."""
    if settings.api_key is None:
        return None
    key = settings.api_key.get_secret_value()
    return key.encode("utf-8") if key else None


def presented_key(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The key a request carries: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``."""
    for name, value in headers:
        if name == b"x-api-key" and value.strip():
            return value.strip()
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return token.strip()
    return None


async def send_json(send, status: int, detail: str, extra_headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ApiKey:
    """401 for a write without the right key (every API request when ``reads`` is true); open paths stay open."""

    def __init__(self, app, key: bytes, reads: bool):
        self.app = app
        self.key = key
        self.reads = reads

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or is_open_path(scope["path"]):
            return await self.app(scope, receive, send)
        if self.reads or is_write(scope["method"], scope["path"]):
            given = presented_key(scope.get("headers", ()))
            # compare_digest on equal-length digests: no early exit, and the key's length does not leak either
            if given is None or not hmac.compare_digest(_digest(given), _digest(self.key)):
                detail = ("missing API key: send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'" if given is None
                          else "invalid API key")
                return await send_json(send, 401, detail, [(b"www-authenticate", b'Bearer realm="rag"')])
        return await self.app(scope, receive, send)


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


WRITES_CLOSED = ("writes (POST/DELETE /documents) are accepted only from this machine: set RAG_API_KEY and send it "
                 "as 'Authorization: Bearer KEY', or set RAG_OPEN_WRITES=true to accept them from every client")


def is_loopback(client: tuple[str, int] | None) -> bool:
    """Whether the peer is this machine (127.0.0.0/8, ::1). A peer that is no IP address (a Unix socket, Starlette's
    TestClient "testclient") is not."""
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class LocalWrites:
    """With no API key, as in Elasticsearch 8 secure by default: writes from another machine get 403."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and is_write(scope["method"], scope["path"]) \
                and not is_loopback(scope.get("client")):
            return await send_json(send, 403, WRITES_CLOSED)
        return await self.app(scope, receive, send)


class RateLimit:
    """Token bucket per client IP: ``per_minute`` requests a minute, bursts up to ``per_minute``; 429 beyond it.

    The client is the peer address of the connection (``X-Forwarded-For`` is not trusted). The buckets live in
    the process: with ``--workers N`` each worker counts on its own.
    """

    MAX_CLIENTS = 10_000

    def __init__(self, app, per_minute: int, clock=time.monotonic):
        self.app = app
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0  # tokens per second
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_open_path(scope["path"]):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        now = self.clock()
        tokens, then = self.buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.refill)
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            wait = max(1, math.ceil((1.0 - tokens) / self.refill))
            return await send_json(send, 429, f"too many requests: at most {int(self.capacity)} a minute; "
                                              f"retry in {wait} s", [(b"retry-after", str(wait).encode())])
        self.buckets[client] = (tokens - 1.0, now)
        if len(self.buckets) > self.MAX_CLIENTS:
            self._forget_idle(now)
        return await self.app(scope, receive, send)

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets that have refilled completely (they hold nothing a fresh bucket would not)."""
        for client, (tokens, then) in list(self.buckets.items()):
            if tokens + (now - then) * self.refill >= self.capacity:
                del self.buckets[client]


class JsonCORS(CORSMiddleware):
    """Starlette's CORS, with its refusals of a preflight (origin, method or header not allowed) as JSON."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        return JSONResponse({"detail": response.body.decode()}, response.status_code, headers)


def cors_origins(settings: Settings) -> list[str]:
    return [origin.strip().rstrip("/") for origin in settings.cors_origins.split(",") if origin.strip()]


def install(app, settings: Settings) -> None:
    """Adds the middlewares (inside out: key or local writes, rate limit, CORS), logs who may write, and the
    security schemes of the OpenAPI document."""
    key = configured_key(settings)
    if key is not None:
        app.add_middleware(ApiKey, key=key, reads=settings.api_key_for_reads)
        log.info("writes (POST/DELETE /documents) need the API key%s",
                 " as do reads" if settings.api_key_for_reads else "")
    elif settings.open_writes:
        log.warning("writes (POST/DELETE /documents) are open to every client: RAG_OPEN_WRITES=true and no RAG_API_KEY")
    else:
        app.add_middleware(LocalWrites)
        log.info("writes (POST/DELETE /documents) only from this machine; "
                 "others need RAG_API_KEY or RAG_OPEN_WRITES=true")
    if settings.rate_limit > 0:
        app.add_middleware(RateLimit, per_minute=settings.rate_limit)
    if origins := cors_origins(settings):
        app.add_middleware(JsonCORS, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-API-Key", "Content-Type"], max_age=600)
    if key is not None:
        _document_security(app, settings.api_key_for_reads)


def _document_security(app, reads: bool) -> None:
    """OpenAPI: the two ways to send the key, required by the operations that need it."""
    build = app.openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer RAG_API_KEY"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "X-API-Key: RAG_API_KEY"},
        }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if reads or is_write(method.upper(), path):
                    operation["security"] = [{"bearer": []}, {"apiKey": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
