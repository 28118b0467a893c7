# `make test` and `make demo` work on a fresh machine: they create .venv and install
# what they need. DATABASE_URL picks the database (default: SQLite in memory).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
MYSQL_URL ?= mysql://root@127.0.0.1:3306/test

.PHONY: venv test test-postgres test-mysql test-all bench bench-djstripe demo models docs clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(INSTALLED)

venv: $(INSTALLED)

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: venv
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-mysql: venv
	DATABASE_URL=$(MYSQL_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-all: test test-postgres test-mysql

bench: venv
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks

# dj-stripe 2.11 in a virtualenv of its own (never in .venv), then the side-by-side sync.
DJSTRIPE_VENV ?= /tmp/djstripe-venv
bench-djstripe: venv
	test -x $(DJSTRIPE_VENV)/bin/python || $(PYTHON) -m venv $(DJSTRIPE_VENV)
	$(DJSTRIPE_VENV)/bin/pip install --quiet "dj-stripe==2.11.*" "psycopg[binary]>=3.1"
	$(BIN)/pip install --quiet -e '.[bench]'
	DJSTRIPE_VENV=$(DJSTRIPE_VENV) $(BIN)/python -m benchmarks djstripe

demo: venv
	$(BIN)/python -m demo

# Regenerate the model modules from the installed stripe SDK, then the migration check.
models: venv
	$(BIN)/python -m stripe_django.codegen
	DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=. $(BIN)/python -m django makemigrations stripe_django --check --dry-run

docs: venv
	$(BIN)/pip install --quiet sphinx
	$(BIN)/sphinx-build -W -q -b html docs docs/_build

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
