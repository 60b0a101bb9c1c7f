# qrnn-study: `make book` builds the report, `make test` runs the tests.
# Every target installs what it needs first (`make setup`).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= paper
PYTEST_ARGS ?=
# The pinned environment: `make lock` writes LOCK (every dependency but torch, with hashes) and
# environment.yml from pyproject.toml; `make setup` installs exactly LOCK, then the CPU build of
# torch that pyproject.toml pins (pip takes it from the machine's wheel folder where there is one).
LOCK := requirements.lock
LOCK_TOOLS := .lock-tools
TORCH := $(shell grep -o '"torch==[^"]*"' pyproject.toml | tr -d '"')
# MathJax is served with the book, so its maths renders offline (no CDN): npm's mathjax package, pinned by
# version and by the sha512 of its tarball (the registry's integrity value), fetched once into .venv by
# `make setup` (without npm, put the tarball there by hand: https://registry.npmjs.org/mathjax/-/mathjax-3.2.2.tgz).
# `make book` unpacks its es5/ folder into book/_mathjax/mathjax/, which the book copies to _build/html/mathjax/.
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA512 := 06df9249553c7811b6ef30a155ec0e89c62ced7b1db78d2a9b8f94a47c97ee4d3f3bd36588f73ec7bee4d7f144b0fb2328f64626fb5164cd6f3be81e5b43a11b
MATHJAX_TGZ := $(VENV)/mathjax-$(MATHJAX_VERSION).tgz
MATHJAX := book/_mathjax/mathjax

.PHONY: setup lock test lint test-fast chromium lab bench book runs check plan verify clean distclean help

help:
	@echo "make setup   create .venv and install the package with its dependencies (and fetch MathJax for the book)"
	@echo "make lock    re-resolve pyproject.toml into $(LOCK) and environment.yml (after changing dependencies)"
	@echo "make test    run the test suite (installs first)"
	@echo "make lint    the tool checks alone (ruff lint and format, mypy on qrnn_core); make test runs them first"
	@echo "make test-fast  the tests without the slow end-to-end and browser ones"
	@echo "make lab     open notebooks/ in JupyterLab with the project's kernel"
	@echo "make book    build the book (PROFILE=paper, the default: the archived paper-scale runs, verified;"
	@echo "            quick: everything recomputed at reduced scale; smoke: the tests' tiny build)"
	@echo "make runs    only execute the notebooks of PROFILE into build/PROFILE/"
	@echo "            EXECUTOR=make (default, make -j) or EXECUTOR=dask [DASK_SCHEDULER=tcp://host:port] [WORKERS=N]"
	@echo "make check   the state of every task of PROFILE (up to date, not built, damaged: which file, inputs changed), running nothing"
	@echo "make plan    every run of PROFILE with its projected time, and the wall time on WORKERS workers (default 16)"
	@echo "make verify  replay a sample of every archived run of PROFILE (results/PROFILE/) under the current code"
	@echo "make bench   time one weight update per method and execution path"
	@echo "make clean   remove generated runs, executed notebooks and the built book"

setup: $(STAMP) $(MATHJAX_TGZ)

$(MATHJAX_TGZ): | $(STAMP)
	command -v npm > /dev/null || { echo "npm is missing: install Node.js, or put mathjax-$(MATHJAX_VERSION).tgz into $(VENV)/" >&2; exit 1; }
	tmp=$$(mktemp -d)
	trap 'rm -rf "$$tmp"' EXIT
	npm pack --silent --pack-destination "$$tmp" mathjax@$(MATHJAX_VERSION) > /dev/null
	echo "$(MATHJAX_SHA512)  $$tmp/mathjax-$(MATHJAX_VERSION).tgz" | sha512sum --check --quiet
	mv "$$tmp/mathjax-$(MATHJAX_VERSION).tgz" $@

$(MATHJAX)/tex-chtml.js: $(MATHJAX_TGZ)
	echo "$(MATHJAX_SHA512)  $<" | sha512sum --check --quiet
	rm -rf $(MATHJAX) && mkdir -p $(MATHJAX)
	tar -xzf $< -C $(MATHJAX) --touch --strip-components=2 package/es5

$(STAMP): pyproject.toml $(LOCK)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-deps --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps $(TORCH)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check || { echo "$(LOCK) does not satisfy pyproject.toml: run 'make lock'" >&2; exit 1; }
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

# pip-compile (pip-tools, in its own venv) resolves with pip's own configuration, so torch's
# dependencies are those of the CPU wheel pip installs; torch itself is left out of the lock.
lock:
	test -d $(LOCK_TOOLS) || $(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/pip install --quiet pip-tools==7.6.2
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --strip-extras \
		--extra study --extra dev --unsafe-package torch --no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml
	$(PYTHON) tools/environment_from_lock.py $(LOCK) environment.yml

test: $(STAMP) chromium lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The tool checks, a step of their own: lint and format (ruff) on both packages, the tests, the tools
# and the notebooks; the library's types (mypy, configured in pyproject.toml).
LINTED := qrnn_core qrnn_study tests tools notebooks
lint: $(STAMP)
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy qrnn_core

# The browser test (tests/test_browser.py) drives the system Chromium; it is installed here when
# missing and we are root (apt-get); otherwise this prints what to do, and the test fails saying so.
CHROMIUM := /usr/bin/chromium
chromium:
	if [ -x $(CHROMIUM) ]; then exit 0; fi
	if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
	else
		echo "$(CHROMIUM) is missing and this is not root: ask an administrator to run 'apt-get install -y chromium'" >&2
		echo "(Debian/Ubuntu), or install Chromium elsewhere and set QRNN_CHROMIUM=/path/to/chromium (README, 'The browser test')." >&2
	fi

# JupyterLab on notebooks/ with the project's kernel (python3, registered in .venv by make setup).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --MappingKernelManager.default_kernel_name=python3 $(if $(filter 0,$(shell id -u)),--allow-root)

# The fast suite for development; `make test` (and CI) run everything.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

# ---------------------------------------------------------------- the study (docs/CONTRIBUTING.md, "The study pipeline")
# qrnn_study/pipeline.py builds the plan of PROFILE from configs/PROFILE/ (training runs, sweeps expanded,
# then chapters, the exclusive runtime chapter last): one papermill execution per task. Both executors
# read that one plan: EXECUTOR=make runs build/PROFILE/plan.mk (generated from it) with make -j$(JOBS);
# EXECUTOR=dask submits the same tasks to Dask (DASK_SCHEDULER=tcp://host:port, else a LocalCluster
# of one single-threaded worker process per core, or WORKERS of them). Up-to-date tasks are not re-run.
PROFILES := smoke quick paper
EXECUTORS := make dask
EXECUTOR ?= make
DASK_SCHEDULER ?=
WORKERS ?=
BUILD := build/$(PROFILE)
# The simulator's small tensor operations run fastest on one thread per process (several
# times faster than two competing threads), so `make book` runs JOBS notebooks side by side.
JOBS ?= 2
BOOK_FLAGS ?= -W -n --keep-going

ifneq ($(filter book runs check plan verify,$(MAKECMDGOALS)),)
ifeq ($(filter $(PROFILE),$(PROFILES)),)
$(error PROFILE must be one of: $(PROFILES) (got '$(PROFILE)'))
endif
ifeq ($(filter $(EXECUTOR),$(EXECUTORS)),)
$(error EXECUTOR must be one of: $(EXECUTORS) (got '$(EXECUTOR)'))
endif
endif

# One build per tree and profile: `make runs` and `make book` hold build/PROFILE/.lock while they run, and
# `make book` also build/.book.lock (book/ is shared by the profiles); a second one exits at once, naming
# the holder's pid (tools/build_lock.sh).
# A notebook is executed into a hidden temp file and moved into place only on success; its run
# folder (or chapter data folder) is deleted first, so a failed or interrupted run leaves nothing
# behind that looks current, and its manifest.json is written last (qrnn_study.makefile.execute_task,
# the same for both executors). First, every task whose files do not match its manifest, or whose
# inputs changed, loses its executed notebook (printing why), so the executor re-runs it.
runs: $(STAMP)
	. tools/build_lock.sh $(BUILD)/.lock "profile $(PROFILE)"
	$(PY) -m qrnn_study.pipeline makefile $(PROFILE) --invalidate > /dev/null
ifeq ($(EXECUTOR),dask)
	$(PY) -m qrnn_study.pipeline dask $(PROFILE) $(if $(DASK_SCHEDULER),--scheduler $(DASK_SCHEDULER)) $(if $(WORKERS),--workers $(WORKERS))
else
	$(MAKE) --no-print-directory -f $(BUILD)/plan.mk PY=$(PY) all
endif

# The state of every task of PROFILE (up to date, not built, damaged: which file, inputs changed: which), from the
# manifests and Make's rule, running nothing; exit status 1 unless every task is up to date.
check: $(STAMP)
	$(PY) -m qrnn_study.pipeline check $(PROFILE)

# Every run of PROFILE with its projected time from this machine's benchmark, and the wall time on WORKERS workers.
plan: $(STAMP)
	$(PY) -m qrnn_study.pipeline plan $(PROFILE) --workers $(or $(WORKERS),16)

# The old book is removed before anything runs: a failed build leaves no book rather than a stale one.
# stage_book refuses a chapter or run whose files do not match its manifest.
book: $(MATHJAX)/tex-chtml.js
	. tools/build_lock.sh build/.book.lock "the book"
	. tools/build_lock.sh $(BUILD)/.lock "profile $(PROFILE)"
	rm -rf book/_build book/generated
	$(MAKE) --no-print-directory -j$(JOBS) runs
	$(PY) -c 'import sys; from qrnn_study.book import stage_book; stage_book(sys.argv[1], ".")' $(PROFILE)
	$(VENV)/bin/jupyter-book build book $(BOOK_FLAGS)
	echo "book ($(PROFILE)): $(CURDIR)/book/_build/html/index.html"

bench: $(STAMP)
	$(PY) -m qrnn_study bench $(BENCH_ARGS)

# Every finished run of results/PROFILE/: restore the checkpoint at the start of a random epoch, replay its first
# VERIFY_UPDATES updates against updates.csv.gz and recompute that epoch's validation (cached per code version).
VERIFY_UPDATES ?= 20
verify: $(STAMP)
	$(PY) -m qrnn_study.archive verify $(PROFILE) --updates $(VERIFY_UPDATES)

clean:
	rm -rf build book/_build book/generated book/_mathjax

distclean: clean
	rm -rf $(VENV) $(LOCK_TOOLS) data_cache runs
