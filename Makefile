# `make test` and `make book` set everything up on a fresh machine: the virtual environment
# in .venv is created only when missing and reinstalled only when the pins change.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

# The Pythons the pins install on and the tests pass under. The first one found (on the PATH,
# else in pyenv) builds .venv; PY=3.13 picks another into .venv-3.13 (make test PY=3.13), and
# PYTHON=/path/to/python names one outright.
SUPPORTED := 3.11 3.12 3.13
find_python = $(shell python$(1) -c '' 2>/dev/null && command -v python$(1) || ls -d \
  $$(pyenv root 2>/dev/null)/versions/$(1).*/bin/python$(1) 2>/dev/null | tail -n 1)
ifdef PY
PYTHON := $(call find_python,$(PY))
VENV ?= .venv-$(PY)
endif
PYTHON ?= $(firstword $(foreach v,$(SUPPORTED),$(call find_python,$(v))))
CHOSEN := $(if $(or $(PY),$(filter command line,$(origin PYTHON))),yes)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip prints a line per package for every index folder it skips; keep the log readable.
QUIET_PIP := sed "/is ignored: it is neither a file nor a directory/d"
# Test workers, each lab kernel and each worker on one thread: two labs at a time on 2 cores.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n < 2 ? 2 : n )))
ONE_THREAD := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
  TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
PYTEST := $(ONE_THREAD) BOOK_MODE=fast $(BIN)/python -m pytest -q -p no:cacheprovider \
  -n $(JOBS) --dist loadfile --nbval-lax --nbval-current-env

NB ?= notebooks

.PHONY: help python env browser test unit nbval colab-check book execute execute-pair stale \
  format bench mutation clean

help:
	@echo "make test         create .venv if missing; unit tests and every lab in fast mode, with"
	@echo "                  its exercises' solutions, two at a time (JOBS=n to change)"
	@echo "make unit         the unit tests only;  make nbval  the labs only (NB=path to pick)"
	@echo "make book         create .venv if missing, build the HTML book into _build/html"
	@echo "make colab-check  every lab in fast mode on Colab's versions (requirements-colab.txt), in a"
	@echo "                  kernel that takes the setup cell's Colab branch"
	@echo "make execute      re-run notebooks in full mode and store their outputs (NB=path to pick)"
	@echo "make execute-pair NB=\"a.ipynb b.ipynb\"  the same for two labs side by side, one thread each"
	@echo "make stale        list the labs whose stored outputs are stale, why, and what re-running costs"
	@echo "make format       format the labs' code to the rendered column (80 characters);"
	@echo "                  their programs, and so their stamps, stay the same"
	@echo "make bench        time the helpers training loop against a DataLoader loop"
	@echo "make mutation     mutation testing of the helpers the book's numbers rest on (over an hour;"
	@echo "                  MODULES=\"fid vae\" to pick; not part of make test)"
	@echo "make env          create or update .venv;  make browser  install headless Chromium"
	@echo "make python       say which Python is used;  make clean  remove _build and checkpoints"
	@echo "PY=3.X            use another supported Python ($(SUPPORTED)) in .venv-3.X"

# Which Python builds $(VENV), or which one it holds; an unsupported one is refused.
python:
	@if [ -x $(BIN)/python ]; then \
	  have=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  if [ -n "$(CHOSEN)" ]; then \
	    want=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
	      || { echo "PYTHON=$(PYTHON) does not run: name a Python $(SUPPORTED)"; exit 2; }; \
	    if [ "$$want" != "$$have" ]; then \
	      echo "$(VENV) holds Python $$have, not $$want ($(PYTHON)): use PY=$$want (its own" \
	        ".venv-$$want), or remove $(VENV)"; exit 2; fi; fi; \
	  where="$(VENV)"; \
	else \
	  if [ -z "$(PYTHON)" ]; then echo "no Python $(or $(PY),$(SUPPORTED)) found on the PATH or" \
	    "in pyenv: install one (pyenv install $(or $(PY),3.11), your package manager, or" \
	    "python.org) or name it with PYTHON=/path/to/python"; exit 2; fi; \
	  have=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
	    || { echo "PYTHON=$(PYTHON) does not run: name a Python $(SUPPORTED)"; exit 2; }; \
	  where="$(PYTHON), to create $(VENV)"; \
	fi; \
	case " $(SUPPORTED) " in *" $$have "*) ;; \
	  *) echo "Python $$have ($$where) is not supported: the book runs on $(SUPPORTED);" \
	       "pick one with PY=3.11"; exit 2;; esac; \
	echo "Python $$have ($$where)"

env: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt | python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 2>&1 | $(QUIET_PIP)
	$(BIN)/python -m pip install -q -r requirements.txt 2>&1 | $(QUIET_PIP)
	$(BIN)/python -m pip install -q --no-deps -r requirements-nodeps.txt 2>&1 | $(QUIET_PIP)
	$(BIN)/python -c "import torch, tensorflow, jupyter_book, nbval"
	@touch $@

# Headless Chromium for the browser tests of the built book (tests/test_book_render.py);
# those tests are skipped, saying why, where it can be neither found nor installed.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing headless Chromium for the browser tests (apt-get install chromium)"; \
	    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null || true; \
	  fi; \
	  command -v chromium >/dev/null || echo "NOTE: no Chromium here and none could be" \
	    "installed (as root: apt-get install chromium): the browser tests will be skipped"; }

# One pytest run: the labs (with their exercises) and the unit tests share the workers; the
# book build and the browser tests go first, since they take longest. Networks are trained
# into a fresh checkpoint folder, so a run never loads weights that other code trained.
FRESH_CHECKPOINTS := dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; BOOK_CHECKPOINT_DIR=$$dir

test: $(STAMP) browser
	$(FRESH_CHECKPOINTS) $(PYTEST) tests/test_book_render.py $(NB) tests

unit: $(STAMP) browser
	$(FRESH_CHECKPOINTS) $(PYTEST) tests

nbval: $(STAMP)
	$(FRESH_CHECKPOINTS) $(PYTEST) $(NB)

# Colab's library versions (requirements-colab.txt) in .venv-colab, on Colab's Python: found
# on the PATH or in pyenv, or named with COLAB_PYTHON=/path/to/python3.X.
COLAB_VERSION := $(shell sed -n 's/^\# python: *//p' requirements-colab.txt)
COLAB_PYTHON ?= $(call find_python,$(COLAB_VERSION))
COLAB_VENV := .venv-colab

$(COLAB_VENV)/.installed: requirements-colab.txt
	@test -n "$(COLAB_PYTHON)" || { echo "make colab-check needs Python $(COLAB_VERSION), as" \
	  "Colab runs: install it (pyenv install $(COLAB_VERSION), your package manager, or" \
	  "python.org) or name it with COLAB_PYTHON=/path/to/python$(COLAB_VERSION)"; exit 2; }
	test -x $(COLAB_VENV)/bin/python || $(COLAB_PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install -q -r requirements-colab.txt 2>&1 | $(QUIET_PIP)
	@touch $@

colab-check: $(STAMP) $(COLAB_VENV)/.installed
	$(BIN)/python tools/colab_check.py --python $(COLAB_VENV)/bin/python --jobs $(JOBS) $(NB)

book: $(STAMP)
	$(BIN)/python tools/mathjax.py
	$(BIN)/python tools/figures.py
	$(BIN)/python tools/scoreboard.py
	$(BIN)/jupyter-book build . -W -n --keep-going

execute: $(STAMP)
	BOOK_MODE=full $(BIN)/python tools/execute.py $(NB)

# Two executors in the background, one core slot each; fails if either fails.
execute-pair: $(STAMP)
	@test $(words $(NB)) -eq 2 || { echo 'usage: make execute-pair NB="a.ipynb b.ipynb"'; exit 2; }
	BOOK_MODE=full $(BIN)/python tools/execute.py --threads 1 $(word 1,$(NB)) & one=$$!; \
	BOOK_MODE=full $(BIN)/python tools/execute.py --threads 1 $(word 2,$(NB)) & two=$$!; \
	trap 'kill $$one $$two 2>/dev/null' INT TERM; \
	status=0; wait $$one || status=$$?; wait $$two || status=$$?; exit $$status

# Black (pinned in requirements.txt) formats the labs' code to the rendered column.
format: $(STAMP)
	$(BIN)/python tools/format_labs.py $(NB)

stale: $(STAMP)
	$(BIN)/python tools/execute.py --stale $(NB)

bench: $(STAMP)
	$(BIN)/python benchmarks/train_loop.py
	$(BIN)/python benchmarks/fid.py

# Mutation testing (tools/mutation.py): mutmut, pinned in requirements-mutation.txt and installed
# here only, mutates each module of tools/mutation.toml in a temporary copy of the repository and
# runs the tests mapped to it; mutants listed in tests/mutation_equivalent.txt are left out of
# the score. The working tree is not touched; the table and surviving mutants go to
# _build/mutation/.
MODULES ?=
MUTATION_STAMP := $(VENV)/.mutation-installed

$(MUTATION_STAMP): requirements-mutation.txt $(STAMP)
	$(BIN)/python -m pip install -q -r requirements-mutation.txt 2>&1 | $(QUIET_PIP)
	@touch $@

mutation: $(MUTATION_STAMP)
	$(ONE_THREAD) $(BIN)/python tools/mutation.py --jobs $(JOBS) $(MODULES)

clean:
	rm -rf _build checkpoints
