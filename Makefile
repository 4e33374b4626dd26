# Amazon Jobs — the two commands: `make up` (run everything) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: up test lint fmt schemas check-schemas bench provision install lock system-deps infra clean

# Exactly the versions (and hashes) of requirements-dev.lock, then the project itself
# without resolving anything again.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## After changing dependencies in pyproject.toml: pin them again (both lock files).
lock: install
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	    pyproject.toml -o requirements.lock
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	    --extra dev pyproject.toml -o requirements-dev.lock

# Debian packages the tests use (headless Chromium for the page, kcat for the README);
# skipped when already there.
system-deps:
	bash scripts/system-deps.sh

# Kafka jars from Maven Central and FerretDB built from the Go module proxy, into .local/.
provision: install
	$(PY) -m devtools.infra provision

## Run the whole system in the foreground (Ctrl-C stops everything).
up: provision
	$(PY) -m devtools.up

## Provision everything and run the whole test suite.
test: provision system-deps
	$(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Regenerate the published JSON Schemas of every event from the models in shared/.
schemas: install
	$(PY) -m devtools.schemas write
	$(PY) -m devtools.asyncapi write

check-schemas: install
	$(PY) -m devtools.schemas check
	$(PY) -m devtools.asyncapi check

## Benchmarks: print figures and ratios (not timed unit tests).
bench: provision
	$(PY) -m devtools.bench

# Only Kafka and FerretDB, on the default ports.
infra: provision
	$(PY) -m devtools.infra run

clean:
	rm -rf .local/data test-output
