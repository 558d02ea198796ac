"""GET, POST and DELETE /documents: the corpus, document by document. Ids may contain "/" (``Super_Bowl_50/0``)."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ..errors import NotFound
from ..chunk import chunk_document
from ..ingest import make_document
from ..pipeline import Pipeline
from .common import Text, errors, get_pipeline, valid_unicode_tree

router = APIRouter(tags=["documents"])

# meta keys the pipeline computes itself from the text; a client may not set them
RESERVED_META = ("boilerplate", "sha256")


def _client_meta(meta: dict[str, Any]) -> dict[str, Any]:
    valid_unicode_tree(meta)
    if reserved := [key for key in RESERVED_META if key in meta]:
        raise ValueError(f"meta may not set {', '.join(reserved)}: the service computes it from the text")
    return meta


class DocumentIn(BaseModel):
    id: Annotated[Text, StringConstraints(min_length=1, max_length=1000)] | None = Field(
        None, description="kept as given; no '#', no surrounding spaces; generated when missing")
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


def _summary(entry) -> dict:
    document = entry.document
    row = {"id": document.id, "title": document.title, "chars": len(document.text), "chunks": len(entry.chunk_spans)}
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
    entries = list(pipeline.index.entries.values())
    page = entries[offset:] if limit is None else entries[offset:offset + limit]
    return {"documents": [_summary(e) for e in page], "total": len(entries)}


@router.post("/documents", status_code=201, response_model=Created, responses=errors(400, 413, 422, 503))
def add_document(body: DocumentIn, pipeline: Pipeline = Depends(get_pipeline)):
    """Add a document, or replace the one with the same id; it is searchable as soon as this returns."""
    doc_id = body.id if body.id is not None else uuid.uuid4().hex
    document = make_document(doc_id, body.text, body.title, body.meta)
    pipeline.ingest([document])  # one writer at a time (a file lock); questions keep the version they started on
    entry = pipeline.index.entries.get(document.id)
    if entry is not None and entry.document.text == document.text:
        chunks = len(entry.chunk_spans)
    else:  # a concurrent write replaced or deleted it meanwhile: count what this request stored
        settings = pipeline.settings
        chunks = len(chunk_document(document, settings.chunk_chars, settings.chunk_overlap_chars))
    return {"id": document.id, "chunks": chunks}


@router.get("/documents/{doc_id:path}", response_model=DocumentOut, responses=errors(404, 503))
def get_document(doc_id: str, pipeline: Pipeline = Depends(get_pipeline)):
    """The whole document: every span the service returns indexes into this `text`."""
    if not pipeline.has_index():
        raise NotFound(f"no document with id {doc_id!r}")
    document = pipeline.document(doc_id)
    return {"id": document.id, "title": document.title, "text": document.text, "meta": document.meta}


@router.delete("/documents/{doc_id:path}", status_code=204, response_class=Response, responses=errors(404, 503))
def delete_document(doc_id: str, pipeline: Pipeline = Depends(get_pipeline)):
    """Remove a document from the index."""
    if not pipeline.has_index():
        raise NotFound(f"no document with id {doc_id!r}")
    pipeline.remove(doc_id)
    return Response(status_code=204)

