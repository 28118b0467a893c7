# `make test` and `make demo` work on a fresh machine: they create .venv and install
# what they need. DATABASE_URL picks the database (default: SQLite in memory).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
MYSQL_URL ?= mysql://root@127.0.0.1:3306/test

.PHONY: venv dist typecheck test test-postgres test-mysql test-django60 test-django61 test-matrix test-fresh-site bench bench-quick bench-djstripe demo models docs sdist check-sdist clean browser-deps

$(INSTALLED): pyproject.toml sdk-pin.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -c sdk-pin.txt
	touch $(INSTALLED)

venv: $(INSTALLED)

# mypy on the package ([tool.mypy] in pyproject.toml). Pinned: a new mypy release may
# find new errors, and CI should change with a commit, not with a release.
MYPY ?= mypy==2.4.1

typecheck: venv
	$(BIN)/pip install --quiet '$(MYPY)'
	$(BIN)/mypy

test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: venv
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

test-mysql: venv
	DATABASE_URL=$(MYSQL_URL) $(BIN)/python -m pytest $(PYTEST_ARGS)

# The claimed pairs of Python and Django, one virtual environment each: Django 5.2 on
# Python 3.11 is .venv above (`make test`); 6.0 on 3.12 and 6.1 on 3.13 (their own
# django.tasks) are below. DB=sqlite|postgres|mysql picks the database of one run.
PYTHON_312 ?= $(firstword $(wildcard /root/.pyenv/versions/3.12*/bin/python) python3.12)
PYTHON_313 ?= $(firstword $(wildcard /root/.pyenv/versions/3.13*/bin/python) python3.13)
VENV60 ?= .venv-django60
VENV61 ?= .venv-django61
DB ?= sqlite
DB_URL_sqlite := sqlite:///:memory:
DB_URL_postgres = $(POSTGRES_URL)
DB_URL_mysql = $(MYSQL_URL)

$(VENV60)/.installed: pyproject.toml sdk-pin.txt
	$(PYTHON_312) -m venv $(VENV60)
	$(VENV60)/bin/pip install --quiet --upgrade pip
	$(VENV60)/bin/pip install --quiet -e '.[test]' 'Django>=6.0,<6.1' -c sdk-pin.txt
	touch $@

$(VENV61)/.installed: pyproject.toml sdk-pin.txt
	$(PYTHON_313) -m venv $(VENV61)
	$(VENV61)/bin/pip install --quiet --upgrade pip
	$(VENV61)/bin/pip install --quiet -e '.[test]' 'Django>=6.1,<6.2' -c sdk-pin.txt
	touch $@

test-django60: $(VENV60)/.installed
	DATABASE_URL=$(DB_URL_$(DB)) $(VENV60)/bin/python -m pytest $(PYTEST_ARGS)

test-django61: $(VENV61)/.installed
	DATABASE_URL=$(DB_URL_$(DB)) $(VENV61)/bin/python -m pytest $(PYTEST_ARGS)

# Every claimed pair on every database (what CI runs, through .ci/matrix).
test-matrix: venv $(VENV60)/.installed $(VENV61)/.installed
	bash .ci/matrix

# A new user's first steps on the newest Django: the wheel built and installed into a
# new virtual environment, `startproject`, the install guide's settings, `migrate` on
# PostgreSQL, an admin change list (tests/test_fresh_site.py).
test-fresh-site: $(VENV61)/.installed
	STRIPE_DJANGO_FRESH_SITE=required POSTGRES_URL=$(POSTGRES_URL) \
		$(VENV61)/bin/python -m pytest tests/test_fresh_site.py $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium through its chromedriver (tests/browser/).
# Installs both with apt-get when either is missing (as root, e.g. on a fresh CI machine).
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then \
		echo "chromium and chromedriver are installed"; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi

# Every figure beside a baseline measured in the same run, as a ratio to it, rounds
# interleaved (BENCH_ROUNDS, default 3), then the targets' table (benchmarks/ratios.py).
# The test databases are made from BENCH_POSTGRES_URL and BENCH_MYSQL_URL (default
# .../bench); BENCH_DATABASES=sqlite,postgres,mysql chooses. bench-quick: small counts,
# SQLite only, under a minute: to see that the benchmarks work, not to read figures.
bench: venv
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks

bench-quick: venv
	$(BIN)/pip install --quiet -e '.[bench]'
	BENCH_QUICK=1 $(BIN)/python -m benchmarks

# dj-stripe 2.11 in a virtualenv of its own (never in .venv), then the side-by-side
# ingest and sync (make bench runs it too once the virtualenv exists).
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
	sed -i "s/^stripe==.*/stripe==$$($(BIN)/python -c 'import stripe; print(stripe.VERSION)')/" sdk-pin.txt
	DJANGO_SETTINGS_MODULE=tests.settings PYTHONPATH=. $(BIN)/python -m django makemigrations stripe_django --check --dry-run

docs: venv
	$(BIN)/pip install --quiet sphinx
	$(BIN)/sphinx-build -W -q -b html docs docs/_build

# The wheel and the source distribution in dist/ (the package is not on PyPI yet: this
# is how it is installed elsewhere, as the install guide says).
dist: venv
	$(BIN)/pip install --quiet build
	rm -rf dist
	$(BIN)/python -m build

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
	rm -rf $(VENV) $(VENV60) $(VENV61) .pytest_cache build dist *.egg-info
