# cloudmall: the two front-door commands are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test reliability check lint typecheck security synth clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,dev,infra]"
	touch $@

## run: the shop on embedded defaults (SQLite, in-process cache, ./var/media), demo data, prints its URL
run: $(STAMP)
	$(BIN)/cloudmall serve

## test: the whole suite (unit, integration, e2e, infra)
test: $(STAMP)
	$(BIN)/python -m pytest

## reliability: the reliability suite at full rounds (20 last-unit races, 300 orders, ...)
reliability: $(STAMP)
	CLOUDMALL_RELIABILITY_ROUNDS=full $(BIN)/python -m pytest tests/reliability

## check: linters, type checks, and security scans (bandit: no high findings; pip-audit)
check: lint typecheck security

security: $(STAMP)
	$(BIN)/bandit -q -r src -lll
	$(BIN)/pip-audit --skip-editable --progress-spinner off

lint: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check

typecheck: $(STAMP)
	$(BIN)/mypy

## synth: the AWS CDK app into cdk.out/ (offline, no AWS credentials)
synth: $(STAMP)
	$(BIN)/python infra/app.py

clean:
	rm -rf $(VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
