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
	@echo "make runs    only execute the notebooks of PROFILE into build/PROFILE/"
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

# ---------------------------------------------------------------- the study (docs/CONTRIBUTING.md, "The study pipeline")
# One executed train.ipynb per configs/$(PROFILE)/train/<run>.yaml, then one executed
# notebooks/<chapter>.ipynb per configs/$(PROFILE)/<chapter>.yaml, then the book.
PROFILES := smoke quick paper
BUILD := build/$(PROFILE)
SRC := $(wildcard qrnn_core/*.py)
RUN_NAMES := $(basename $(notdir $(wildcard configs/$(PROFILE)/train/*.yaml)))
CHAPTERS := $(basename $(notdir $(wildcard configs/$(PROFILE)/*.yaml)))
RUN_NBS := $(RUN_NAMES:%=$(BUILD)/train/%.ipynb)
CHAPTER_NBS := $(CHAPTERS:%=$(BUILD)/chapters/%.ipynb)
# The simulator's small tensor operations run fastest on one thread per process (several
# times faster than two competing threads), so `make book` runs JOBS notebooks side by side.
THREADS ?= 1
JOBS ?= 2
PAPERMILL = OMP_NUM_THREADS=$(THREADS) $(PY) -m papermill --kernel python3 --cwd $(CURDIR) --no-progress-bar
BOOK_FLAGS ?= -W -n --keep-going

ifneq ($(filter book runs,$(MAKECMDGOALS)),)
ifeq ($(filter $(PROFILE),$(PROFILES)),)
$(error PROFILE must be one of: $(PROFILES) (got '$(PROFILE)'))
endif
endif

# A notebook is executed into a hidden temp file and moved into place only on success;
# its run folder is deleted first, so a failed or interrupted run leaves nothing behind
# that looks current.
$(BUILD)/train/%.ipynb: configs/$(PROFILE)/train/%.yaml notebooks/train.ipynb $(SRC) $(STAMP)
	rm -rf $@ $(BUILD)/runs/$*
	mkdir -p $(@D)
	$(PAPERMILL) notebooks/train.ipynb $(@D)/.$*.tmp.ipynb -f $< -r out_dir $(BUILD)/runs/$*
	mv $(@D)/.$*.tmp.ipynb $@

# A chapter's own data lives in $(BUILD)/data/<chapter>/ and is deleted before the chapter re-runs.
$(BUILD)/chapters/%.ipynb: notebooks/%.ipynb configs/$(PROFILE)/%.yaml book/paper_reported.json $(RUN_NBS) $(SRC) $(STAMP)
	rm -rf $@ $(BUILD)/data/$*
	mkdir -p $(@D)
	$(PAPERMILL) $< $(@D)/.$*.tmp.ipynb -f configs/$(PROFILE)/$*.yaml -r profile $(PROFILE) -r root $(CURDIR)
	mv $(@D)/.$*.tmp.ipynb $@

# The benchmark chapter times code: it runs last and alone, never beside another notebook, and
# Qiskit Aer (the paper's execution) may use every core; the benchmark sets torch's threads itself.
$(BUILD)/chapters/runtime.ipynb: $(filter-out $(BUILD)/chapters/runtime.ipynb,$(CHAPTER_NBS))
$(BUILD)/chapters/runtime.ipynb: THREADS = $(shell nproc)

runs: $(RUN_NBS) $(CHAPTER_NBS)

# The old book is removed before anything runs: a failed build leaves no book rather than a stale one.
book:
	rm -rf book/_build book/generated
	$(MAKE) --no-print-directory -j$(JOBS) runs
	$(PY) -c 'import sys; from qrnn_core.study import stage_book; stage_book(sys.argv[1], ".")' $(PROFILE)
	$(VENV)/bin/jupyter-book build book $(BOOK_FLAGS)
	echo "book ($(PROFILE)): $(CURDIR)/book/_build/html/index.html"

bench: $(STAMP)
	$(PY) -m qrnn_core bench $(BENCH_ARGS)

clean:
	rm -rf build book/_build book/generated

distclean: clean
	rm -rf $(VENV) data_cache runs
