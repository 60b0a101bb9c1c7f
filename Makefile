# qrnn-study: `make book` builds the report, `make test` runs the tests.
# Every target installs what it needs first (`make setup`).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= quick
PYTEST_ARGS ?=

.PHONY: setup test bench book runs clean distclean help

help:
	@echo "make setup   create .venv and install the package with its dependencies"
	@echo "make test    run the test suite (installs first)"
	@echo "make book    run the study (PROFILE=smoke|quick|paper, default quick) and build the book"
	@echo "make bench   time one weight update per method and execution path"
	@echo "make clean   remove generated runs, executed notebooks and the built book"

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf build book/_build book/generated

distclean: clean
	rm -rf $(VENV) data_cache runs
