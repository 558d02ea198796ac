"""GET /health and GET /config."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ..pipeline import Pipeline
from .common import errors, get_pipeline

router = APIRouter(tags=["service"])


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    model: str
    index_version: int | None = None


@router.get("/health", response_model=Health, responses=errors(503))
def health(pipeline: Pipeline = Depends(get_pipeline)):
    """Documents and chunks in the live index, and the embedding model; 503 when the index is unreadable."""
    if not pipeline.has_index():
        return Health(status="ok", documents=0, chunks=0, model=pipeline.embedder.name)
    index = pipeline.index
    return Health(status="ok", documents=len(index), chunks=index.chunk_count, model=pipeline.embedder.name,
                  index_version=index.version)


class Config(BaseModel):
    max_question_chars: int = Field(description="a question's limit in characters (code points, after stripping): "
                                                "clients check it before they send")


@router.get("/config", response_model=Config, responses=errors())
def config(request: Request):
    """The limits a client should know before it sends a question (the chat page counts with them)."""
    return Config(max_question_chars=request.app.state.settings.max_question_chars)
