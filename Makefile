# The two commands of README.md, each setting up what it needs first:
#   make serve   a virtual environment with the service (if missing), the index built from seeds/, the service on :8000
#   make test    the test tools as well (torch from PyTorch's CPU index, Debian's chromium), then the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The sentence-transformers backend the tests exercise needs torch. PyTorch's CPU index gives the CPU build on every
# Linux machine (PyPI's Linux torch is the multi-GB CUDA build); pip's own extra sources (find-links, mirrors) still count.
TORCH := torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: serve test

serve: $(BIN)/rag
	$(BIN)/rag ingest seeds/
	$(BIN)/rag serve --port $(PORT)

test: $(VENV)/.test-tools $(CHROMIUM)
	$(BIN)/pytest

$(BIN)/rag: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.test-tools: $(BIN)/rag
	$(BIN)/pip install --retries 1 --index-url $(TORCH_INDEX) $(TORCH)
	$(BIN)/pip install -e '.[dev]'
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) apt-get install -y chromium chromium-driver
