# e-mégalis — `make run` starts the demo platform, `make test` runs the whole suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python >= 3.12 found: on PATH, then in pyenv's versions folder.
PYTHON ?= $(shell for p in python3.13 python3.12 python3 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	echo $$p; break; fi; done)

# Development values for `make run` only; production sets its own environment.
RUN_ENV := DEBUG=1 SECRET_KEY=dev-only-insecure-key-do-not-use-in-production

.PHONY: help install run prod test lint format worker demo totp clean proconnect

help:
	@echo "make run     installe, migre, charge la région de démonstration et sert sur http://$(HOST):$(PORT)"
	@echo "make prod    topologie de production sur 127.0.0.1 : PostgreSQL, S3 (moto), 2 nœuds gunicorn, HAProxy, 2 db_worker, 2 run_periodic"
	@echo "make test    installe et lance toute la suite de tests"
	@echo "make lint    vérifie le code (ruff)"
	@echo "make worker  lance un worker des tâches de fond (db_worker)"
	@echo "make totp EMAIL=…  code de double authentification d'un compte de démo"
	@echo "make proconnect  un ProConnect local sur http://127.0.0.1:9400 (voir le README)"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "Python 3.12 ou plus récent est introuvable."; \
		echo "Installez-le (Debian/Ubuntu : sudo apt-get install python3.12 python3.12-venv ; macOS : brew install python@3.12)"; \
		echo "ou indiquez-le : make PYTHON=/chemin/vers/python3.12 …"; \
		exit 1; \
	fi
	@echo "Python utilisé : $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,prod]"
	@touch $(STAMP)

install: $(STAMP)

# The background worker (db_worker) runs beside the server, so that queued @CTES archives
# reach the prefecture counterpart (/prefecture/depot/) and its returns come back; the
# scheduler (run_periodic) closes consultations at their deadline and sends the daily alerts.
# Both stop with the server.
run: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input
	$(RUN_ENV) $(BIN)/python manage.py load_demo
	@$(RUN_ENV) SITE_URL=http://$(HOST):$(PORT) $(BIN)/python manage.py db_worker & \
	worker=$$!; \
	$(RUN_ENV) SITE_URL=http://$(HOST):$(PORT) $(BIN)/python manage.py run_periodic & \
	scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null; wait $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(RUN_ENV) SITE_URL=http://$(HOST):$(PORT) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production topology on 127.0.0.1 (docs/operations.md): needs PostgreSQL on
# 127.0.0.1:5432 and Debian's haproxy. Prints the load balancer's URL; Ctrl-C stops everything.
prod: install
	$(BIN)/python scripts/topology/topology.py --demo $(TOPOLOGY_ARGS)

# A local OpenID provider with ProConnect's rules, for trying the ProConnect button with
# `PROCONNECT_ISSUER=http://127.0.0.1:9400 PROCONNECT_CLIENT_ID=dev PROCONNECT_CLIENT_SECRET=dev make run`.
proconnect: install
	$(BIN)/python scripts/proconnect_provider.py --port 9400

demo: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input
	$(RUN_ENV) $(BIN)/python manage.py load_demo

# axe-core, the accessibility engine the browser crawl runs (npm registry, package-lock.json).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --silent --no-audit --no-fund && touch $(AXE); \
	else echo "npm est absent : l'audit d'accessibilité (axe-core) sera ignoré. Installez Node.js et npm."; fi

test: install $(AXE)
	@bash scripts/check-browser.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

totp: install
	@$(RUN_ENV) $(BIN)/python manage.py demo_totp "$(EMAIL)"

worker: install
	$(RUN_ENV) $(BIN)/python manage.py db_worker

clean:
	rm -rf $(VENV) var .pytest_cache
