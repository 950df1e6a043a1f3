# News Atlas: `make run` serves the dashboard, `make test` runs every check.
# Both set up everything they need on a fresh machine (virtualenv, packages, Chromium for tests).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PORT   ?= 8501

.PHONY: setup build run test lint bench chromium

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

build: setup
	$(PY) -m geo build

run: build
	$(PY) -m geo.serve --server.port $(PORT) --server.headless true

chromium:
	bash scripts/ensure_chromium.sh

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: setup chromium lint
	$(PY) -m pytest

bench: setup
	$(PY) benchmarks/geoparse.py
