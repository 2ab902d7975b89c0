# shareguard: the two commands are `make demo` and `make test` (see README).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
ASSETS := src/shareguard/web/static/govuk/govuk-frontend.min.css

.PHONY: install demo serve test test-fast fuzz lint bench lock schema clean assets browser

install: $(STAMP) $(ASSETS)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv
	# Bytecode compiled once here (as pip does): where PYTHONDONTWRITEBYTECODE is set, Python
	# never caches it, and every command and test run would compile each module it imports.
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(PY) requirements.lock
	$(BIN)/uv pip install --quiet --python $(PY) --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

assets: $(ASSETS)

$(ASSETS): package.json package-lock.json scripts/build-assets.sh
	bash scripts/build-assets.sh

browser:
	bash scripts/ensure-chromium.sh

## demo: install, create the SQLite database, seed the demo world, serve on :8000
demo: install
	$(BIN)/shareguard demo

serve: install
	$(BIN)/shareguard serve

## test: everything CI runs (browser and PostgreSQL tests included where present)
test: install browser
	@set +e; $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-fast: install
	$(BIN)/pytest -x -q -m "not postgres and not browser and not spark and not fuzz" $(PYTEST_ARGS)

## fuzz: schemathesis against the whole API alone (make test runs it too)
fuzz: install
	$(BIN)/pytest -q -m fuzz tests/fuzz $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

bench: install
	@mkdir -p benchmarks/results
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b | tee benchmarks/results/$$(basename $$b .py).json; done

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

## schema: regenerate the single pre-1.0 migration from the models
schema: install
	$(PY) -m shareguard.storage.migrate

clean:
	rm -rf $(VENV) var node_modules src/shareguard/web/static/govuk
