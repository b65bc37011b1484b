# One Makefile for the whole system. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/dev/node_modules/.bin:$(PATH)
MONITOR_ADDRESS ?= 127.0.0.1:9090

.DEFAULT_GOAL := help

## help: list the targets
help:
	@grep -hE '^## ' $(MAKEFILE_LIST) | sed -e 's/^## //' | column -t -s ':'

$(BIN)/activate: requirements.txt requirements-dev.txt $(wildcard requirements/*.txt) constraints.txt
	PYTHON=$(PYTHON) scripts/infra.sh packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -c constraints.txt
	touch $(BIN)/activate

dev/node_modules/.bin/maildev: dev/package.json dev/package-lock.json
	PYTHON=$(PYTHON) scripts/infra.sh packages
	npm ci --prefix dev --no-audit --no-fund --loglevel=error
	touch $@

## venv: create the virtualenv and install the pinned dependencies
venv: $(BIN)/activate dev/node_modules/.bin/maildev

## infra: install (Debian, as root) and start local infrastructure (RabbitMQ, PostgreSQL, SecantusDB, maildev)
infra: venv
	PYTHON=$(PYTHON) scripts/infra.sh up

## infra-down: stop what `make infra` started
infra-down:
	scripts/infra.sh down

## cluster: start a local 3-node RabbitMQ cluster beside the machine's (ports 5791-5793); prints AMQP_URI
cluster:
	scripts/rabbit_cluster.sh up

## cluster-down: stop what `make cluster` started (its data stays in .local/rabbit-cluster)
cluster-down:
	scripts/rabbit_cluster.sh down

## migrate: apply the auth schema and seed user (idempotent)
migrate: venv
	$(BIN)/python -m auth.migrate

## revision: a new auth migration from the models (make revision REV=0002 MESSAGE="add refresh tokens")
revision: migrate
	@test -n "$(REV)" -a -n "$(MESSAGE)" || { echo 'usage: make revision REV=0002 MESSAGE="what it changes"' >&2; exit 2; }
	$(BIN)/alembic -c auth/alembic.ini revision --autogenerate --rev-id "$(REV)" -m "$(MESSAGE)"

## run: start infrastructure and every service under supervisord in the foreground (Ctrl-C stops the services)
run: infra migrate
	@echo "broker API      http://localhost:8080   (try: curl -s -XPOST localhost:8080/)"
	@echo "test page       http://localhost:8081"
	@echo "caught mail     http://localhost:8025"
	@echo "RabbitMQ        http://localhost:15672  (guest/guest)"
	@echo "processes       make ps   (Ctrl-C stops them; the infrastructure keeps running: make infra-down)"
	$(BIN)/python scripts/supervise.py run

## ps: the state of every process `make run` supervises (supervisorctl status)
ps:
	$(BIN)/python scripts/supervise.py ctl status

## test: create the virtualenv if needed, start infrastructure, lint, run the whole test suite
test: infra chromium promtool
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## test-cluster: only the RabbitMQ cluster failover tests (a private 3-node cluster; also part of make test)
test-cluster: infra
	$(BIN)/python -m pytest tests/test_cluster_failover.py

## chromium: install Debian's Chromium for the browser tests when it is missing
chromium:
	@scripts/infra.sh need chromium=chromium

## promtool: install Debian's prometheus (promtool, for the alert rules' tests) when it is missing
promtool:
	@command -v promtool >/dev/null || { apt-get update -qq && apt-get install -y -qq prometheus; }

## monitor: Prometheus on http://localhost:9090 scraping `make run` (run it beside), with the alert rules
monitor: promtool
	@command -v rabbitmq-plugins >/dev/null && rabbitmq-plugins enable rabbitmq_prometheus >/dev/null || true
	@echo "Prometheus      http://localhost:9090   (targets: Status > Targets; alerts: Alerts)"
	mkdir -p .local/prometheus
	prometheus --config.file=deploy/prometheus/local.yml --storage.tsdb.path=.local/prometheus \
		--web.listen-address=$(MONITOR_ADDRESS)

## protos: generate the gRPC code in protos/ from protos/logs.proto
protos: venv
	scripts/gen_protos.sh

## start: start the test page (gateway_ui) alone in the background (pid file in .local/pids)
start: venv
	scripts/frontend.sh start

## stop: stop what `make start` started
stop:
	scripts/frontend.sh stop

## bench: the whole system under load with wrk; per-transport throughput and latency, drain rate, RSS; a fault run; sign-ins under a guessing attack; log reads at 1M entries
bench: infra migrate
	@scripts/infra.sh need wrk=wrk
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.faults $(FAULTS_ARGS)
	$(BIN)/python -m bench.auth_attack $(AUTH_ATTACK_ARGS)
	$(BIN)/python -m bench.reads $(READS_ARGS)

## dlq: show the listener's dead-letter queue (reason, attempts, routing key, body)
dlq: venv
	$(BIN)/python -m listener.dead_letters show

## dlq-replay: put every dead-lettered log event back on logs_topic
dlq-replay: venv
	$(BIN)/python -m listener.dead_letters replay

## constraints: pin every installed package (transitive ones and setuptools too) into constraints.txt
constraints: venv
	{ grep '^#' constraints.txt; $(BIN)/pip freeze --all --exclude-editable --exclude pip; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

## lint: ruff
lint: venv
	$(BIN)/ruff check .

.PHONY: help venv infra infra-down cluster cluster-down migrate revision run ps test test-cluster lint chromium promtool monitor protos start stop dlq dlq-replay bench constraints

include make/containers.mk
