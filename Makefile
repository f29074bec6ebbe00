# qualcode: `make demo` runs the pipeline on the sample corpus; `make test` runs the checks.
# Both install what is missing first (Debian packages via apt-get when root or with sudo,
# Python packages into .venv) and are fast when everything is already there.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all install sysdeps demo test lint typecheck pytest clean

all: test

sysdeps:
	@bash scripts/install-sysdeps.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: sysdeps $(STAMP)

demo: install
	@bash scripts/demo.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts $(wildcard bench)
	$(BIN)/ruff format --check src tests scripts $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest -q

test: install lint typecheck pytest

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
