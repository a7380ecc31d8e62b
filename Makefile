# vidgen: set-up, demo and tests. Everything runs inside .venv, created on first use.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
MINUTES ?= 5
# PyTorch is pinned exactly. Where pip finds a CPU build of it (as on our CI machines) that
# is what installs; elsewhere on Linux PyPI's torch==2.13.0 brings CUDA packages, so a
# CPU-only machine can say: make demo TORCH_FLAGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH   ?= torch==2.13.0
TORCH_FLAGS ?=

.PHONY: demo test install clean help

help:
	@echo "make demo      samples of the shipped models, then the demo GAN trained for MINUTES=$(MINUTES)"
	@echo "make test      run the test suite"
	@echo "make install   create $(VENV) and install vidgen with its test extras"
	@echo "make clean     remove $(VENV), runs/ and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --disable-pip-version-check -q $(TORCH_FLAGS) "$(TORCH)"
	$(BIN)/pip install --disable-pip-version-check -q -e ".[test]"
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/vidgen demo --minutes $(MINUTES)

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) runs .pytest_cache
