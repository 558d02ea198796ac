# The two commands of README.md, each setting up what it needs first:
#   make serve   a virtual environment with the service (if missing), the index built from seeds/, the service on :8000
#   make test    the test tools as well (torch from PyTorch's CPU index, Debian's chromium), then the test suite
#   make ask Q="…"  one question to the index, with the virtual environment's `rag`
# PORT=8123 serves on another port; VERBOSE=1 shows pip's own output (hidden by default).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PIP := $(BIN)/pip --disable-pip-version-check $(if $(VERBOSE),,--quiet)
say = @printf '\n==> %s\n' $(1)
# The sentence-transformers backend the tests exercise needs torch. PyTorch's CPU index gives the CPU build on every
# Linux machine (PyPI's Linux torch is the multi-GB CUDA build); pip's own extra sources (find-links, mirrors) still count.
TORCH := torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: serve test ask

serve: $(BIN)/rag
	$(call say,"Index: the articles of seeds/ into index/ (first time: 1-2 minutes; later only changed files)")
	@$(BIN)/rag ingest seeds/
	$(call say,"Chat page and API: http://127.0.0.1:$(PORT) (Ctrl-C stops it; PORT=8123 make serve for another port)")
	@$(BIN)/rag serve --port $(PORT)

ask: $(BIN)/rag
	@test -n "$$Q" || { echo 'usage: make ask Q="Welche Pipeline will Putin vorantreiben?"'; exit 2; }
	@$(BIN)/rag ask "$$Q"

test: $(VENV)/.test-tools $(CHROMIUM)
	$(BIN)/pytest

$(BIN)/rag: pyproject.toml
	$(call say,"Installing rag-news and its libraries (ONNX Runtime, FAISS, FastAPI …; no torch) into .venv/ (first time: 2-3 minutes; VERBOSE=1 shows pip)")
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install -e .
	@touch $@

$(VENV)/.test-tools: $(BIN)/rag
	$(call say,"Installing the test tools into .venv/ (torch's CPU build, sentence-transformers, pytest, Playwright …)")
	@$(PIP) install --retries 1 --index-url $(TORCH_INDEX) $(TORCH)
	@$(PIP) install -e '.[dev]'
	@touch $@

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) apt-get install -y chromium chromium-driver
