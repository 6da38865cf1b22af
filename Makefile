# cloudmall: the two front-door commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed-run
# The Lambda artifact the ServerlessShop stack deploys (Python 3.12, arm64 manylinux wheels).
LAMBDA_ZIP := build/lambda/python3.12-arm64.zip

.PHONY: run test reliability check lint imports typecheck security synth audit clean bench bench-quick bench-profile lambda-package bench-lambda

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# `make run` needs only the shop; the tests also need the test, lint and CDK tools.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,dev,infra]"
	touch $@ $(RUN_STAMP)

## run: the shop on embedded defaults (SQLite, in-process cache, ./var/media), demo data, prints its URL
run: $(RUN_STAMP)
	$(BIN)/cloudmall serve

## test: the whole suite (unit, integration, e2e, infra)
test: $(STAMP) $(LAMBDA_ZIP)
	$(BIN)/python -m pytest

## reliability: the reliability suite at full rounds (20 last-unit races, 300 orders, ...)
reliability: $(STAMP)
	CLOUDMALL_RELIABILITY_ROUNDS=full $(BIN)/python -m pytest tests/reliability

## check: linters, layer contracts (import-linter), type checks, and security scans (bandit: no
## high findings; pip-audit)
check: lint imports typecheck security

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

## synth: the AWS CDK app into cdk.out/ (offline, no AWS credentials)
synth: $(STAMP) $(LAMBDA_ZIP)
	$(BIN)/python infra/app.py

## lambda-package: the functions' deployment zip (manylinux wheels for Python 3.12 arm64); prints its size
lambda-package: $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(STAMP) pyproject.toml $(shell find src/cloudmall -name '*.py' -o -name '*.mako' 2>/dev/null)
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

## bench: the full benchmark (~12 min; MariaDB and Redis on 127.0.0.1) -> docs/benchmarks.md
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

## bench-quick: short runs for iterating (~3 min) -> var/bench-quick/benchmarks.md
bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick

## bench-profile: py-spy flame graphs of a worker under catalogue and order load -> docs/bench/
bench-profile: $(BENCH_STAMP)
	$(BIN)/python -m bench.profile

clean:
	rm -rf $(VENV) cdk.out build .pytest_cache .mypy_cache .ruff_cache
