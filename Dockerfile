# CPU image: the steps of README.md's set-up (service only: `pip install ".[milvus]"`, no torch), the index built from
# seeds/ at build time, then the HTTP service (RAG_VECTOR_STORE=milvus serves a corpus in Milvus instead:
# deploy/compose.yaml). .dockerignore keeps .venv/, index/, .git and caches out of the build context.
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*  # wheels only: no compiler

WORKDIR /app
COPY pyproject.toml README.md ./
COPY rag/ rag/
COPY seeds/ seeds/
RUN pip install --no-cache-dir ".[milvus]"

# a non-root user that owns its home, where ONNX Runtime, Hugging Face and Python keep their caches, and the index;
# /app/index is a volume, so posted documents outlive the container
# (docker run -v rag-index:/app/index …: a new named volume starts from the seeds indexed here)
RUN useradd --system --uid 10001 --create-home --home-dir /home/rag rag && mkdir -p /app/index && chown rag /app/index
ENV HOME=/home/rag XDG_CACHE_HOME=/home/rag/.cache RAG_INDEX_DIR=/app/index RAG_SEEDS_DIR=/app/seeds
USER rag
RUN rag ingest seeds/
VOLUME ["/app/index"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"

# Questions are open; writes (POST/DELETE /documents) are not: clients reach the container through Docker's network,
# never from its loopback, so they get 403 until the container is started with a key (docker run -e RAG_API_KEY=…,
# then 'Authorization: Bearer …') or, on a trusted network only, with -e RAG_OPEN_WRITES=true.
EXPOSE 8000
CMD ["rag", "serve", "--host", "0.0.0.0", "--port", "8000"]
