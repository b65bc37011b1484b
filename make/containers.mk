# The system in containers (docker-compose.yml): the seed's Docker targets, with its meaning.
# Included by the main Makefile (`make start` / `make stop`, the test page alone, are there);
# Makefile.windows has the same targets for cmd.exe/PowerShell.

# Compose v2 (the `docker compose` plugin) where it is installed, else the standalone
# `docker-compose`. Evaluated only when a target below runs; override with COMPOSE=...
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo 'docker compose' || echo docker-compose)

# The images: compose service names (logger-grpc and auth-migrate reuse logger's and auth's).
IMAGES := broker auth logger listener mailer gateway-ui

## up: start the whole system in containers (pulls missing images, builds ours the first time)
up:
	$(COMPOSE) up -d

## up-build: build every image, then start the whole system in containers
up-build:
	$(COMPOSE) up --build -d

## up_build: the same as up-build (the course's name for it)
up_build: up-build

## service-build: build one image, e.g. `make service-build SERVICE=broker` (see IMAGES)
service-build:
	$(if $(SERVICE),,$(error SERVICE is not set. Use make service-build SERVICE=<one of $(IMAGES)>))
	$(COMPOSE) build $(SERVICE)

## build_broker: build the broker image
build_broker:
	$(COMPOSE) build broker

## build_auth: build the auth image (it also runs the migration)
build_auth:
	$(COMPOSE) build auth

## build_logger: build the logger image (XML-RPC service and gRPC server)
build_logger:
	$(COMPOSE) build logger

## build_mail: build the mailer image
build_mail:
	$(COMPOSE) build mailer

## build_listener: build the listener image
build_listener:
	$(COMPOSE) build listener

## build_front: build the test page image
build_front:
	$(COMPOSE) build gateway-ui

## down: stop and remove the containers (data volumes are kept)
down:
	$(COMPOSE) down

.PHONY: up up-build up_build service-build build_broker build_auth build_logger build_mail \
	build_listener build_front down
