# CPU image: installs the package as README.md's set-up does (service only, no torch needed), builds the index from
# seeds/ at build time, and starts the HTTP service.
FROM python:3.11-slim

RUN apt-get update && apt-get install -y --no-install-recommends gcc libgomp1 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY rag/ rag/
COPY seeds/ seeds/
RUN pip install --no-cache-dir .

ENV RAG_INDEX_DIR=/app/index RAG_SEEDS_DIR=/app/seeds
RUN rag ingest seeds/

EXPOSE 8000
CMD ["rag", "serve", "--host", "0.0.0.0", "--port", "8000"]
