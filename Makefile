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
# The config environment of infra/samconfig.toml whose saved answers (stack name, parameters) make deploy
# uses: one per stack (make deploy SAM_CONFIG_ENV=staging for a stack guided with --config-env staging).
SAM_CONFIG_ENV ?= default
REGION ?= us-east-1
# checkov has heavy, tightly pinned dependencies: it lives in its own venv so that it cannot
# conflict with aws-sam-cli or the runtime pins in .venv.
TOOLS_VENV := .venv-tools
TOOLS_BIN := $(CURDIR)/$(TOOLS_VENV)/bin
CHECKOV_VERSION := 3.3.30
# The Lambda package built for this machine's architecture (`make build-host`): lxml and
# pydantic-core from the aarch64 build cannot load on x86_64, so the smoke test and the cold-start
# benchmark import this twin of .aws-sam/build instead.
HOST_BUILD_DIR := .aws-sam/build-host
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

.PHONY: help venv tools axe-core lint validate checkov test bench build build-host deploy dev dev-reset clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

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
validate: venv ## sam validate --lint (cfn-lint), then the SAM transform itself
	$(SAM) validate --lint --template template.yaml
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing \
	  AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=$(REGION) \
	  $(SAM) validate --region $(REGION) --template template.yaml

tools: $(TOOLS_VENV)/.checkov-$(CHECKOV_VERSION) ## Create .venv-tools with checkov

$(TOOLS_VENV)/.checkov-$(CHECKOV_VERSION): | $(BIN)/python
	rm -rf $(TOOLS_VENV)
	"$$(readlink -f $(BIN)/python)" -m venv $(TOOLS_VENV)
	$(TOOLS_BIN)/python -m pip install --quiet --progress-bar off --upgrade pip
	$(TOOLS_BIN)/python -m pip install --quiet --progress-bar off 'checkov==$(CHECKOV_VERSION)'
	touch $@

# axe-core, the accessibility engine the browser tests run on each page: npm pack of the version pinned in
# tests/support/axe_core.py, its sha512 checked against the pinned integrity, unpacked into .local/cache/
# (never committed). Nothing is fetched when it is there already.
axe-core: venv ## Fetch axe-core (pinned, integrity-checked) into .local/cache for the browser tests
	$(BIN)/python -m tests.support.axe_core

# Findings that do not apply are waived in template.yaml itself (`Metadata: checkov: skip:` with the
# reason). --skip-download: no calls to the vendor's platform (there is no network for it in CI).
checkov: tools ## checkov on template.yaml (every finding fixed or waived in the template)
	$(TOOLS_BIN)/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

# The whole suite, with the smoke test of the built package (tests/smoke) made mandatory: without
# PUNCHOUT_REQUIRE_BUILD it skips when no build exists.
test: lint validate checkov build build-host axe-core ## Everything CI runs: lint, template checks, sam build, the whole pytest suite
	PUNCHOUT_REQUIRE_BUILD=1 $(BIN)/pytest $(PYTEST_ARGS)

bench: build-host ## Run every tests/benchmarks/bench_*.py (cold start against the host build)
	$(BIN)/python -m tests.benchmarks

# sam build looks for `python3.12` on PATH: the venv's and the interpreter it was made from come first
# (a pyenv shim further down the PATH would fail). infra/build/Makefile does the packaging.
SAM_BUILD = PATH="$(BIN):$$(dirname "$$(readlink -f $(BIN)/python)"):$$PATH" \
	  $(SAM) build --template template.yaml --config-file $(SAM_CONFIG)

build: venv ## sam build (no container): aarch64 wheels and bytecode into .aws-sam/build
	$(SAM_BUILD)

build-host: venv ## The same package with this machine's wheels, into .aws-sam/build-host (smoke test, bench)
	LAMBDA_BUILD_PLATFORM=host $(SAM_BUILD) --build-dir $(HOST_BUILD_DIR)

deploy: build ## sam deploy with infra/samconfig.toml (SAM_CONFIG_ENV=staging for another stack's answers; needs AWS credentials)
	$(SAM) deploy --config-file $(SAM_CONFIG) --config-env $(SAM_CONFIG_ENV)

dev: venv ## Serve the whole gateway locally on http://127.0.0.1:3000 (PORT=8080 make dev for another port; Ctrl-C stops)
	$(BIN)/python -m infra.local.stack

dev-reset: venv ## Forget the local DynamoDB data (kept under .local/dynamodb between runs; refused while make dev runs)
	$(BIN)/python -m infra.local.stack --reset

# The local stacks' state (DynamoDB data, demo secrets): .local and the directories of further stacks
# (--state-dir .local2), at the top of the checkout only. -type d: a symlink of such a name is not followed,
# so what it points at is never removed.
# Refused while a stack runs (it holds the flock on its state dir's stack.lock): DynamoDB Local would go
# on serving deleted files and lose what it writes next, and its processes would outlive their venv.
clean: ## Remove the venvs, build output, caches and the local stacks' state (.local and .local*/; refused while one runs)
	@for lock in .local*/stack.lock; do \
	  [ -f "$$lock" ] || continue; \
	  if ! python3 -c 'import fcntl, sys; fcntl.flock(open(sys.argv[1], "a"), fcntl.LOCK_EX | fcntl.LOCK_NB)' "$$lock" 2>/dev/null; then \
	    echo "make clean: a local stack is running with its state in $$(dirname "$$lock"): stop it first (Ctrl-C)" >&2; \
	    exit 1; \
	  fi; \
	done
	rm -rf $(VENV) $(TOOLS_VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .hypothesis test-results
	find . -mindepth 1 -maxdepth 1 -type d -name '.local*' -exec rm -rf {} +
	find . -path ./.git -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
