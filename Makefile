# Two commands: `make run` (install, migrate, demo content, serve with worker and beat)
# and `make test` (install, lint, migration check, deploy check, tests).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format migrate seed check-deploy browser clean bench wrk load

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo ""
	@echo "Serving on http://127.0.0.1:8000 with a Celery worker and beat (Ctrl-C stops all)."
	@echo "Reader site: http://127.0.0.1:8000/   Workspace: http://127.0.0.1:8000/workspace/"
	@if [ -f demo-accounts.txt ]; then cat demo-accounts.txt; \
	 else echo "Demo accounts: see README.md (seed_demo --password sets known ones)."; fi
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-deploy: install
	DJANGO_SETTINGS_MODULE=reviewsite.settings_production \
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-check-deploy-$$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')} \
	DJANGO_ALLOWED_HOSTS=$${DJANGO_ALLOWED_HOSTS:-reviewsite.example} \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

browser:
	@test -x /usr/bin/chromium || { echo "Installing Debian's Chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 || \
	  echo "Could not install chromium (not root?): browser tests will fail"; }
	@test -d node_modules/axe-core || npm install --no-audit --no-fund --silent >/dev/null

# The reader-page benchmark loads gunicorn with wrk (its fallback, Python threads, is
# slower than the server it measures, so its ratios mean little).
wrk:
	@command -v wrk >/dev/null 2>&1 || { echo "Installing Debian's wrk for the reader-page benchmark"; \
	  (apt-get install -y -qq wrk || { apt-get update -qq && apt-get install -y -qq wrk; }) \
	  >/dev/null 2>&1 || echo "Could not install wrk (not root?): reader_page.py falls back to Python threads"; }

test: install browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(MAKE) --no-print-directory check-deploy
	$(BIN)/python -m pytest

# `make bench` (about 15 minutes) or `make bench BENCH=quick` (under 3): every benchmark,
# one table of ours / baseline / ratio / goal. BENCH_DATABASE_URL=postgres://.../x_bench
# runs the database benchmarks on PostgreSQL.
BENCH ?= full
bench: install wrk
	$(BIN)/python benchmarks/run.py --mode $(BENCH)

# The mixed load test alone (PostgreSQL + Redis on loopback; see benchmarks/README.md).
load: install wrk
	$(BIN)/python benchmarks/load/load_test.py

clean:
	rm -rf $(VENV) demo-accounts.txt db.sqlite3 .test-db.sqlite3* .broker .mail .celerybeat-schedule* staticfiles node_modules
