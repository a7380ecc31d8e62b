# vidgen: set-up, demo and tests. Everything runs inside .venv, created on first use.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
MINUTES ?= 5
# The exact pin matters: an unpinned torch pulls several GB of CUDA packages.
TORCH   ?= torch==2.13.0

.PHONY: demo test install clean help

help:
	@echo "make demo      train the demo GAN on the built-in shapes set (MINUTES=$(MINUTES)), write samples"
	@echo "make test      run the test suite"
	@echo "make install   create $(VENV) and install vidgen with its test extras"
	@echo "make clean     remove $(VENV), runs/ and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --disable-pip-version-check -q "$(TORCH)"
	$(BIN)/pip install --disable-pip-version-check -q -e ".[test]"
	@touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/vidgen train configs/demo.yaml train.minutes=$(MINUTES)

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) runs .pytest_cache
