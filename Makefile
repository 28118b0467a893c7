# `make test` and `make demo` work on a fresh machine: they create .venv and install
# what they need. DATABASE_URL picks the database (default: SQLite in memory).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
MYSQL_URL ?= mysql://root@127.0.0.1:3306/test

.PHONY: venv test test-postgres test-mysql test-django6 test-all bench bench-djstripe demo models docs sdist check-sdist clean browser-deps

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

# The same suite on Django 6 (its own django.tasks; Python >= 3.12) against PostgreSQL,
# in a second virtual environment: `make test` covers Django 5.2 with the backport.
PYTHON_DJANGO6 ?= $(firstword $(wildcard /root/.pyenv/versions/3.12*/bin/python) python3.12)
VENV6 ?= .venv-django6

$(VENV6)/.installed: pyproject.toml
	$(PYTHON_DJANGO6) -m venv $(VENV6)
	$(VENV6)/bin/pip install --quiet --upgrade pip
	$(VENV6)/bin/pip install --quiet -e '.[test]' 'Django>=6.0,<6.1'
	touch $@

test-django6: $(VENV6)/.installed
	DATABASE_URL=$(POSTGRES_URL) $(VENV6)/bin/python -m pytest $(PYTEST_ARGS)

test-all: test test-postgres test-mysql test-django6

# The browser tests drive Debian's Chromium through its chromedriver (tests/browser/).
# Installs both with apt-get when either is missing (as root, e.g. on a fresh CI machine).
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "chromium and chromedriver are installed"; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

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

# The source distribution (dist/), and a check that its tests run from the unpacked
# archive with a virtual environment of its own (PYTEST_ARGS picks the tests).
sdist: venv
	$(BIN)/pip install --quiet build
	rm -rf dist
	$(BIN)/python -m build --sdist

check-sdist: sdist
	rm -rf build/sdist-check
	mkdir -p build/sdist-check
	tar xzf dist/*.tar.gz -C build/sdist-check --strip-components=1
	$(MAKE) -C build/sdist-check test PYTEST_ARGS="$(or $(PYTEST_ARGS),tests/models tests/ingest/test_upsert.py)"

clean:
	rm -rf $(VENV) $(VENV6) .pytest_cache build dist *.egg-info
