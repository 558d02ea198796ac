# CPU image: installs the package as README.md's set-up does (service only, no torch needed), builds the index from
# seeds/ at build time, and starts the HTTP service.
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*  # wheels only: no compiler

WORKDIR /app
COPY pyproject.toml README.md ./
COPY rag/ rag/
COPY seeds/ seeds/
RUN pip install --no-cache-dir .

ENV RAG_INDEX_DIR=/app/index RAG_SEEDS_DIR=/app/seeds
# a non-root user owns the index; /app/index is a volume, so posted documents outlive the container
# (docker run -v rag-index:/app/index …: a new named volume starts from the seeds indexed here)
RUN useradd --system --uid 10001 --home-dir /app rag && mkdir -p /app/index && chown rag /app/index
USER rag
RUN rag ingest seeds/
VOLUME ["/app/index"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"

EXPOSE 8000
CMD ["rag", "serve", "--host", "0.0.0.0", "--port", "8000"]
