# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROD_CHECK_ENV := DJANGO_SETTINGS_MODULE=glmtts_site.settings.production \
	SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=portal.example.com

.PHONY: run test install browser lint typecheck deploy-check pytest migrate clean

install: $(STAMP)

# torch first and alone: it must be the local CPU build, never a CUDA build pulled in by a dependency.
$(STAMP): requirements.txt Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps resemblyzer==0.1.4
	@touch $@

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) -m glmtts_site.stack

lint: install
	$(PY) -m ruff check .

typecheck: install
	$(PY) -m mypy .

deploy-check: install
	$(PROD_CHECK_ENV) $(PY) manage.py check --deploy --fail-level WARNING

# Debian packages the tests drive: Chromium for the end-to-end tests (Playwright, never `playwright install`)
# and nginx for the edge-cache test (deploy/nginx/glmtts-portal.conf).
browser:
	@command -v chromium >/dev/null && test -x /usr/sbin/nginx || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium nginx)

pytest: install browser
	$(PY) -m pytest

# The static checks run beside pytest (mypy is a minute of one core; the slow tier mostly waits on its
# processes); each target's output is printed whole when it ends, and any failure fails `make test`.
test: install browser
	$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck deploy-check pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
