# CityOS: two commands.
#   make run   install what is missing, build the web pages, start the Luohu demo
#   make test  install what is missing and run every check
# Stamps under .stamps/ make a second run skip whatever has not changed.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
WEB_SOURCES := $(shell find web/src web/ioc web/portal web/workbench -type f 2>/dev/null) \
	$(wildcard web/*.json web/*.ts)

.PHONY: run test web lint clean

run: $(STAMPS)/python $(STAMPS)/fonts web/dist/.built
	$(BIN)/cityos demo

test: $(STAMPS)/python-dev $(STAMPS)/system-test web/dist/.built
	scripts/test.sh

web: web/dist/.built

$(STAMPS):
	mkdir -p $(STAMPS)

$(BIN)/python: | $(STAMPS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMPS)/python: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMPS)/python-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMPS)/python $@

$(STAMPS)/fonts: scripts/test-setup.sh | $(STAMPS)
	scripts/test-setup.sh fonts
	touch $@

$(STAMPS)/system-test: scripts/test-setup.sh | $(STAMPS)
	scripts/test-setup.sh install
	touch $@

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

web/dist/.built: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build
	touch $@

lint: $(STAMPS)/python-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(STAMPS) web/dist
