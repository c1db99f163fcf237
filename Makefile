# The single entry point for developers and CI. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
SAM := $(BIN)/sam
SAM_CONFIG := infra/samconfig.toml
REGION ?= us-east-1
# xdist spreads the suite over both cores; `make test PYTEST_ARGS=` runs it in one process.
PYTEST_ARGS ?= -n auto

# sam would otherwise send usage telemetry; nothing here needs it.
export SAM_CLI_TELEMETRY := 0

# The first Python 3.12 that actually runs: python3.12 on PATH (a pyenv shim is on PATH but fails
# unless a 3.12 is selected, so each candidate is run, not just looked up), then pyenv's own 3.12
# builds (newest first), then the usual system locations. Prints its absolute path, or nothing.
find_python312 = for c in python3.12 \
	  $$(ls -d "$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv")"/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV) \
	  /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	  if "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then \
	    "$$c" -c 'import sys; print(sys.executable)'; break; \
	  fi; \
	done

.PHONY: help venv lint validate test bench build deploy dev dev-reset clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv (Python 3.12) and install the project with its dev tools

# PYTHON=/path/to/python overrides the search.
$(BIN)/python:
	@py="$(PYTHON)"; \
	if [ -n "$$py" ]; then \
	  "$$py" -c 'import sys' || { echo "PYTHON=$$py does not run" >&2; exit 1; }; \
	else \
	  py="$$($(find_python312))"; \
	fi; \
	if [ -z "$$py" ]; then \
	  py="$$(command -v python3)"; \
	  echo "WARNING: no Python 3.12 found; falling back to $$py ($$("$$py" -V 2>&1))." >&2; \
	  echo "WARNING: Lambda runs python3.12 and pyproject.toml requires >=3.12: set PYTHON=/path/to/python3.12." >&2; \
	fi; \
	echo "Creating $(VENV) with $$py"; \
	"$$py" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --progress-bar off --upgrade pip

# Reinstalls only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --progress-bar off -e '.[dev]'
	touch $@

lint: venv ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# `sam validate` without --lint builds an AWS client: it needs a region, and dummy credentials (with
# the instance-metadata lookup disabled) keep botocore from searching for real ones. It calls no AWS API.
validate: venv ## sam validate --lint, then the SAM transform itself
	$(SAM) validate --lint --template template.yaml
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing \
	  AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=$(REGION) \
	  $(SAM) validate --region $(REGION) --template template.yaml

test: lint validate ## Everything CI runs: lint, template validation, the whole pytest suite
	$(BIN)/pytest $(PYTEST_ARGS)

bench: venv ## Run every tests/benchmarks/bench_*.py
	$(BIN)/python -m tests.benchmarks

# sam build looks for `python3.12` on PATH: the venv's and the interpreter it was made from come first
# (a pyenv shim further down the PATH would fail).
build: venv ## sam build (no container)
	PATH="$(BIN):$$(dirname "$$(readlink -f $(BIN)/python)"):$$PATH" \
	  $(SAM) build --template template.yaml --config-file $(SAM_CONFIG)

deploy: build ## sam deploy with infra/samconfig.toml (needs AWS credentials)
	$(SAM) deploy --config-file $(SAM_CONFIG)

dev: venv ## Serve the whole gateway locally on http://127.0.0.1:$${PORT:-3000} (Ctrl-C stops)
	$(BIN)/python -m infra.local.stack

dev-reset: ## Forget the local DynamoDB data (kept under .local/dynamodb between runs)
	rm -rf .local/dynamodb

clean: ## Remove the venv, build output and caches
	rm -rf $(VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .hypothesis test-results
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
