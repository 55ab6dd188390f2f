# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
WORKERS ?= 2
export FLASK_APP := wsgi.py

.PHONY: run test tour bench openapi install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Serve the API with demo data on http://127.0.0.1:$(PORT) (SQLite under instance/ unless DATABASE_URL is set),
## with one worker and its scheduler on a queue of files under instance/ (unless JOBS_BROKER_URL is set).
run: export LOG_FORMAT ?= text
# browser front ends served from this machine, on any port (production allows none unless CORS_ORIGINS is set)
run: export CORS_ORIGINS ?= ^https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?$$
run: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	PORT=$(PORT) WORKERS=$(WORKERS) $(BIN)/python -m shop.jobs.supervise

## Lint and run the tests on SQLite, then on PostgreSQL too when TEST_DATABASE_URL is set.
test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@[ -x /usr/bin/chromium ] || echo "== browser tests will be SKIPPED: no Chromium at /usr/bin/chromium (apt-get install -y chromium) =="
	$(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== the same suite on PostgreSQL =="; \
		SHOP_TEST_DATABASE_URL="$$TEST_DATABASE_URL" $(BIN)/pytest; \
	fi

## Run the README's tour against a fresh server with demo data (and localstripe); fails on any unpredicted status.
tour: install-test
	$(BIN)/python -m tests.readme_tour

## Benchmarks: print tables, never assert times. BENCH=inventory (or catalog, procurement, worker) runs only that one.
bench: install-test
	$(BIN)/python -m bench $(BENCH)

## Regenerate the committed OpenAPI document after an API change.
openapi: install
	$(BIN)/flask openapi write

clean:
	rm -rf $(VENV) instance/*.db* .pytest_cache .ruff_cache
