# Two commands on a fresh machine: `make demo` and `make test`. Each builds .venv/ from scratch if needed.
# The interpreter: CPython 3.12 when one runs (rs-trafilatura, the extractor, ships cp312 wheels only),
# else python3 (>= 3.11, checked below). A `python3.12` on PATH counts only if it runs (a pyenv shim
# without that version selected does not). `make PYTHON=/path/to/python` overrides.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in "$$(command -v python3.12)" $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	  [ -n "$$p" ] && [ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 12))' 2>/dev/null \
	  && { echo "$$p"; exit 0; }; done; echo python3)
endif
VENV   := .venv
BIN    := $(VENV)/bin
BASE   := $(VENV)/.installed-base
DEV    := $(VENV)/.installed-dev

.PHONY: demo test bench eval lint clean help

help:
	@echo "make demo   run curator end to end on the bundled offline corpus"
	@echo "make test   run the whole test suite"
	@echo "make bench  speed benchmarks (prints a table; not part of make test; SCALE=1 adds bench_scale.py)"
	@echo "make lint   ruff (curator, tests) and mypy --strict (curator)"
	@echo "make eval   extraction quality against ../shared/data (fails below pinned floors)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "curator needs Python 3.11 or newer: set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	@# The pip a venv is born with (23.x on Python 3.11) trips over repeated extras (lxml[html_clean]); a current one resolves them.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=24,<27'

$(BASE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(DEV): pyproject.toml $(BASE)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

demo: $(BASE)
	$(BIN)/curator demo

test: $(DEV)
	@bash tools/ensure_servers.sh
	$(BIN)/python -m pytest

bench: $(DEV)
	$(BIN)/python bench/bench_collect.py
	$(BIN)/python bench/bench_search.py
	@if [ -n "$(SCALE)" ]; then $(BIN)/python bench/bench_scale.py; \
	else echo "(make bench SCALE=1 also runs bench/bench_scale.py: the Celery engine with 1, 2, 4 workers)"; fi

eval: $(DEV)
	$(BIN)/python bench/eval_extraction.py

lint: $(DEV)
	$(BIN)/ruff check curator tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache
