"""The HTTP service: the routers, the chat page, the body limit, and domain errors turned into HTTP errors."""
from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from ..errors import Busy, IndexUnavailable, InvalidInput, NotFound, RagError
from ..pipeline import Pipeline
from ..settings import Settings
from . import ask, documents, health, security, validation
from .documents import WriteSlots

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


class SafeJSONResponse(JSONResponse):
    """UTF-8 JSON; a string that UTF-8 can't hold (a lone surrogate read from an old index) is escaped, not a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


BODY_TIMEOUT_S = 30  # to receive each part of a body: a client that sends less than its Content-Length gets 408


class BodyLimit:
    """Answers 413 when a request body is over ``limit`` bytes: by its Content-Length, or by counting what arrives;
    408 when the body stops arriving for BODY_TIMEOUT_S.

    The body is read here in full (it is at most ``limit`` bytes) and replayed to the app, so the count holds for
    chunked uploads and for clients that send more than they announced.
    """

    def __init__(self, app, limit: int, timeout: float = BODY_TIMEOUT_S):
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return await self._reply(send, 400, "invalid Content-Length")
                if declared > self.limit:
                    return await self._reply(send, 413, self._too_large())
        messages, size = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except asyncio.TimeoutError:
                return await self._reply(send, 408, f"the request body did not arrive within {self.timeout:g} s")
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                return await self._reply(send, 413, self._too_large())
            if not message.get("more_body", False):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.limit} bytes"

    @staticmethod
    async def _reply(send, status: int, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class HeadAsGet:
    """HEAD on any GET route: answered as the GET, without the body (FastAPI's routes alone answer 405)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await self.app(scope, receive, send)

        async def headers_only(message):
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def _error(status: int, detail: str, headers: dict[str, str] | None = None, field: str | None = None) -> JSONResponse:
    body = {"detail": detail} if field is None else {"detail": detail, "field": field}
    return SafeJSONResponse(body, status_code=status, headers=headers)


def _http_sentence(request: Request, error: HTTPException) -> str:
    """Starlette's own refusals ("Not Found", "Method Not Allowed") as sentences; other details as they are."""
    if error.status_code == 404 and error.detail == "Not Found":
        return f"no such route: {request.url.path} (the API is described at /docs)"
    if error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        return f"{request.method} is not allowed on {request.url.path}" + (f"; use {allowed}" if allowed else "")
    if error.status_code == 400:
        return f"the body could not be read ({error.detail})"
    return str(error.detail)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        return SafeJSONResponse(validation.human(error, request.headers.get("content-type", "")), status_code=422)

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, error: InvalidInput):
        return _error(422, str(error), field=error.field)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound):
        return _error(404, str(error))

    @app.exception_handler(IndexUnavailable)
    async def index_unavailable(request: Request, error: IndexUnavailable):
        return _error(503, str(error))

    @app.exception_handler(Busy)
    async def busy(request: Request, error: Busy):
        return _error(503, str(error), {"Retry-After": str(error.retry_after)})

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        # FastAPI answers 400 for a body it cannot decode (invalid UTF-8): invalid input, like invalid JSON
        status = 422 if error.status_code == 400 else error.status_code
        return _error(status, _http_sentence(request, error), error.headers)

    @app.exception_handler(RagError)
    async def rag_error(request: Request, error: RagError):
        return _error(422, str(error))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        log.exception("%s %s failed", request.method, request.url.path)
        return _error(500, "internal error: the server log has the details")


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """The service over ``pipeline`` (one is made from ``settings`` when missing); model and index load here, once."""
    if pipeline is None:
        pipeline = Pipeline(settings or Settings())
    settings = settings or pipeline.settings
    _warm_up(pipeline)

    app = FastAPI(title="rag-news", version="0.1.0", default_response_class=SafeJSONResponse,
                  description="Extractive question answering over news articles: every answer is a cited span "
                              "[start, end) of a document's original text.")
    app.state.pipeline = pipeline
    app.state.settings = settings
    app.state.write_slots = WriteSlots()
    for router in (ask.router, documents.router, health.router):
        app.include_router(router)
    _install_handlers(app)

    @app.get("/", include_in_schema=False)
    def chat_page():
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    security.install(app, settings)  # API key, rate limit, CORS: outside the body limit
    app.add_middleware(HeadAsGet)
    return app


def _warm_up(pipeline: Pipeline) -> None:
    """Load the models (embedder and reader) and the index (and its lexical twin) now rather than on the first
    request."""
    pipeline.embedder.warm_up()
    pipeline.reader.warm_up()
    try:
        if not pipeline.has_index():
            log.warning("no index in %s yet: POST /documents or `rag ingest` builds one", pipeline.corpus.where)
            return
        pipeline.search("warm up", 1)
    except RagError as error:  # e.g. Milvus not up yet: the requests get 503 until it is
        log.warning("the index is not usable: %s", error)


def app_from_environment() -> FastAPI:
    """The factory for ``uvicorn --factory`` (``rag serve --workers N``): settings from RAG_* variables."""
    return create_app(Settings())
