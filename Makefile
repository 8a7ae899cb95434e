# The two commands the README promises: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATA_DIR ?= .demo
PYTEST_ARGS ?=

.PHONY: run test check lint install clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	test -f $(DATA_DIR)/demo.json || $(BIN)/ocop demo --data-dir $(DATA_DIR)
	$(BIN)/ocop serve --data-dir $(DATA_DIR)

# scripts/test-env.sh installs what the tests need from the system and starts a throwaway
# PostgreSQL server for the run; `make test PYTEST_ARGS="tests/test_scans.py -k flush"` runs a few.
test:
	scripts/test-env.sh $(MAKE) --no-print-directory check

check: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DATA_DIR)
