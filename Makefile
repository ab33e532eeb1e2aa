# `make test` and `make book` set everything up on a fresh machine: the virtual environment
# in .venv is created only when missing and reinstalled only when the pins change.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pip prints a line per package for every index folder it skips; keep the log readable.
QUIET_PIP := sed "/is ignored: it is neither a file nor a directory/d"

NB ?= notebooks

.PHONY: help env test unit nbval book execute execute-pair stale bench clean

help:
	@echo "make test     create .venv if missing, run the unit tests and every notebook (fast mode)"
	@echo "make book     create .venv if missing, build the HTML book into _build/html"
	@echo "make execute  re-run notebooks in full mode and store their outputs (NB=path to pick)"
	@echo "make execute-pair NB=\"a.ipynb b.ipynb\"  the same for two labs side by side, one thread each"
	@echo "make stale    list the labs whose stored outputs are stale, why, and what re-running costs"
	@echo "make bench    time the helpers training loop against a DataLoader loop"

env: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip 2>&1 | $(QUIET_PIP)
	$(BIN)/python -m pip install -q -r requirements.txt 2>&1 | $(QUIET_PIP)
	$(BIN)/python -m pip install -q --no-deps -r requirements-nodeps.txt 2>&1 | $(QUIET_PIP)
	$(BIN)/python -c "import torch, tensorflow, jupyter_book, nbval"
	@touch $@

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q

nbval: $(STAMP)
	BOOK_MODE=fast $(BIN)/python -m pytest --nbval-lax --nbval-current-env -q \
	  -p no:cacheprovider $(NB)

test: unit nbval

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

stale: $(STAMP)
	$(BIN)/python tools/execute.py --stale $(NB)

bench: $(STAMP)
	$(BIN)/python benchmarks/train_loop.py
	$(BIN)/python benchmarks/fid.py

clean:
	rm -rf _build checkpoints
