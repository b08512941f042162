# lienthong — every target bootstraps .venv itself, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help up test check fmt bench seed clean os-deps lock

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml constraints.txt
	@# A venv whose interpreter is gone (pyenv/Homebrew upgrade) or too old is rebuilt.
	@$(BIN)/python -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null \
		|| { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

os-deps: ## Install the OS packages the tests need (PostgreSQL server, openssl, curl)
	@scripts/os-deps

up: $(STAMP) ## Set up and run the whole local stack on 127.0.0.1 (Ctrl-C stops it; UP_ARGS="--persons 2000")
	$(BIN)/lienthong up $(UP_ARGS)

# Default xdist scheduling: `--dist loadgroup` keys work by node id and silently drops the
# schemathesis cases that share one (17 fuzz cases never ran under it).
test: $(STAMP) os-deps ## Set up and run the test suite
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

check: $(STAMP) ## Lint (ruff) and type-check (mypy --strict)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

fmt: $(STAMP) ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

seed: $(STAMP) ## Seed the registries' databases under var/ (SEED_ARGS="--persons 1000000")
	$(BIN)/lienthong seed $(SEED_ARGS)

bench: $(STAMP) ## Run the benchmarks under bench/
	$(BIN)/python -m bench $(BENCH_ARGS)

lock: ## Re-pin constraints.txt to the newest versions pyproject.toml allows
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e '.[dev]'
	{ echo "# Exact versions the suite was last run with; make installs with -c constraints.txt."; \
	  echo "# Refresh with 'make lock' after changing dependencies in pyproject.toml."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^lienthong'; } > constraints.txt
	rm -rf .venv-lock

clean: ## Remove the virtualenv and var/ (databases, keys)
	rm -rf $(VENV) var
