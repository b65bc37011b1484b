# One Makefile for the whole system. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/dev/node_modules/.bin:$(PATH)

.DEFAULT_GOAL := help

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## //' | column -t -s ':'

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(BIN)/activate

dev/node_modules/.bin/maildev: dev/package.json dev/package-lock.json
	npm ci --prefix dev --no-audit --no-fund --loglevel=error
	touch $@

## venv: create the virtualenv and install the pinned dependencies
venv: $(BIN)/activate dev/node_modules/.bin/maildev

## infra: start local infrastructure (RabbitMQ, PostgreSQL, SecantusDB, maildev) and wait for it
infra: venv
	scripts/infra.sh up

## infra-down: stop what `make infra` started
infra-down:
	scripts/infra.sh down

## migrate: apply the auth schema and seed user (idempotent)
migrate: venv
	$(BIN)/python -m auth.migrate

## run: start infrastructure and every service in the foreground (Ctrl-C stops everything)
run: infra migrate
	@scripts/urls.sh
	$(BIN)/honcho start -f Procfile

## test: create the virtualenv if needed, start infrastructure, run the whole test suite
test: infra
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## lint: ruff
lint: venv
	$(BIN)/ruff check .

.PHONY: help venv infra infra-down migrate run test lint
