"""GET, POST and DELETE /documents: the corpus, document by document. Ids may contain "/" (``Super_Bowl_50/0``)."""
from __future__ import annotations

import json
import threading
import unicodedata
import uuid
from contextlib import contextmanager
from typing import Annotated, Any
from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from starlette.convertors import PathConvertor, register_url_convertor

from ..corpus.files import make_document
from ..errors import Busy, InvalidInput, NotFound, shown
from ..index.versions import StoredDocument
from ..pipeline import Pipeline
from ..text import unicode_problem
from .common import Text, errors, get_pipeline, valid_unicode_tree

router = APIRouter(tags=["documents"])

# meta keys the service sets itself (from the text, or the file a document was read from); a client may not set them
RESERVED_META = ("boilerplate", "sha256", "path")
PRIVATE_META = ("path",)  # a server's file path: never shown to clients
UNPRINTABLE_IN_IDS = ("Cc", "Zl", "Zp")  # controls (newline, NUL, NEL …), line and paragraph separators
MAX_WRITES_IN_PROGRESS = 2  # POST/DELETE being embedded or saved at once; one more is refused at once
WRITE_RETRY_AFTER_S = 10


class AnyPath(PathConvertor):
    """Like ``path``, but also across newlines: a document stored with one (by an older version, or a file name) can
    still be fetched and deleted."""

    regex = "(?s:.*)"


register_url_convertor("anypath", AnyPath())


def _client_meta(meta: dict[str, Any]) -> dict[str, Any]:
    valid_unicode_tree(meta)
    if reserved := [key for key in RESERVED_META if key in meta]:
        raise ValueError(f"meta may not set {', '.join(reserved)}: the service sets it")
    try:
        json.dumps(meta, allow_nan=False)
    except ValueError:
        raise ValueError("meta may not hold NaN or Infinity: JSON has no such numbers") from None
    return meta


def _printable_id(doc_id: str) -> str:
    if any(unicodedata.category(c) in UNPRINTABLE_IN_IDS for c in doc_id):
        raise ValueError("the id may not contain control characters or line breaks")
    return doc_id


def _public_meta(meta: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in meta.items() if key not in PRIVATE_META}


class WriteSlots:
    """At most ``size`` writes in progress; one more is refused at once (Busy: 503 with Retry-After), so that writes
    never take up the threads that questions and /health are answered on."""

    def __init__(self, size: int = MAX_WRITES_IN_PROGRESS):
        self._free = threading.BoundedSemaphore(size)

    @contextmanager
    def hold(self):
        if not self._free.acquire(blocking=False):
            raise Busy(f"{MAX_WRITES_IN_PROGRESS} writes are in progress: retry in {WRITE_RETRY_AFTER_S} s",
                       WRITE_RETRY_AFTER_S)
        try:
            yield
        finally:
            self._free.release()


def write_slot(request: Request):
    with request.app.state.write_slots.hold():
        yield


class DocumentIn(BaseModel):
    id: Annotated[Text, StringConstraints(min_length=1, max_length=1000), AfterValidator(_printable_id)] | None = Field(
        None, description="kept as given; no '#', no surrounding spaces, no control characters or line breaks; "
                          "generated when missing")
    title: Annotated[Text, StringConstraints(max_length=1000)] | None = Field(
        None, description="found in the text when missing")
    text: Text = Field(min_length=1)
    meta: Annotated[dict[str, Any], AfterValidator(_client_meta)] = Field(default_factory=dict)


class Created(BaseModel):
    id: str
    chunks: int


class DocumentSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    title: str
    chars: int
    chunks: int


class DocumentList(BaseModel):
    documents: list[DocumentSummary]
    total: int


class DocumentOut(BaseModel):
    id: str
    title: str
    text: str
    meta: dict[str, Any]


def _summary(document: StoredDocument) -> dict:
    row = {"id": document.id, "title": document.title, "chars": document.chars, "chunks": document.chunk_count}
    for key, value in document.meta.items():
        if key not in row and key not in RESERVED_META and isinstance(value, (str, int, float, bool)):
            row[key] = value
    return row


@router.get("/documents", response_model=DocumentList, responses=errors(422, 503))
def list_documents(offset: int = Query(0, ge=0), limit: int | None = Query(None, ge=1),
                   pipeline: Pipeline = Depends(get_pipeline)):
    """Every document of the index (a page of them with `offset` and `limit`); `total` counts them all."""
    if not pipeline.has_index():
        return {"documents": [], "total": 0}
    listed = list(pipeline.index.catalogue().values())
    page = listed[offset:] if limit is None else listed[offset:offset + limit]
    return {"documents": [_summary(d) for d in page], "total": len(listed)}


@router.post("/documents", status_code=201, response_model=Created, responses=errors(403, 413, 422, 503),
             dependencies=[Depends(write_slot)])
def add_document(body: DocumentIn, pipeline: Pipeline = Depends(get_pipeline)):
    """Add a document, or replace the one with the same id; it is searchable as soon as this returns."""
    doc_id = body.id if body.id is not None else uuid.uuid4().hex
    document = make_document(doc_id, body.text, body.title, body.meta)
    # one writer at a time (a file lock); questions keep the version they started on
    report = pipeline.ingest([document], progress=True)
    return {"id": document.id, "chunks": report.chunk_counts[document.id]}


def utf8_id(request: Request) -> None:
    """Refuse an id whose percent-escapes are not UTF-8 (``/documents/%FF``): Starlette would pass it on with U+FFFD
    in place of the bytes, and no document would be found under that."""
    raw = unquote_to_bytes(request.scope.get("raw_path", b"").partition(b"/documents/")[2])
    if problem := unicode_problem(raw.decode("utf-8", "surrogateescape")):
        raise InvalidInput(f"the id: {problem}", "id")


@router.get("/documents/{doc_id:anypath}", response_model=DocumentOut, responses=errors(404, 422, 503),
            dependencies=[Depends(utf8_id)])
def get_document(doc_id: str, pipeline: Pipeline = Depends(get_pipeline)):
    """The whole document: every span the service returns indexes into this `text`."""
    if not pipeline.has_index():
        raise NotFound(f"no document with id {shown(doc_id)}")
    document = pipeline.document(doc_id)
    return {"id": document.id, "title": document.title, "text": document.text, "meta": _public_meta(document.meta)}


@router.delete("/documents/{doc_id:anypath}", status_code=204, response_class=Response,
               responses=errors(403, 404, 422, 503), dependencies=[Depends(utf8_id), Depends(write_slot)])
def delete_document(doc_id: str, pipeline: Pipeline = Depends(get_pipeline)):
    """Remove a document from the index."""
    if not pipeline.has_index():
        raise NotFound(f"no document with id {shown(doc_id)}")
    pipeline.remove(doc_id)
    return Response(status_code=204)

