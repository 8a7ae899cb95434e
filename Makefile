# The two commands the README promises: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DATA_DIR ?= .demo
PYTEST_ARGS ?=

.PHONY: run test check lint install clean catalogs

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(INSTALLED)

# The demo's two roles on one data directory: the signer (keys, lists, batches) in the
# background, the public service in front; stopping the one stops the other.
run: $(INSTALLED)
	test -f $(DATA_DIR)/demo.json || $(BIN)/ocop demo --data-dir $(DATA_DIR)
	$(BIN)/ocop signer --data-dir $(DATA_DIR) & signer=$$!; \
	trap 'kill $$signer 2>/dev/null; wait $$signer' EXIT INT TERM; \
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

# Extract the words of the sources (babel.cfg) into the template and bring every language's
# catalog up to date with it; then translate the new entries and clear their fuzzy flags
# (tests/test_catalogs.py fails while one lacks a translation). A new language:
#   $(BIN)/pybabel init -i $(LOCALES)/messages.pot -d $(LOCALES) -l ko
LOCALES := verifier/i18n/locale
catalogs: $(INSTALLED)
	$(BIN)/pybabel extract --mapping-file babel.cfg --add-location file --sort-by-file \
		--project "OCOP stamp" --no-wrap --output-file $(LOCALES)/messages.pot verifier
	$(BIN)/pybabel update --input-file $(LOCALES)/messages.pot --output-dir $(LOCALES) \
		--no-wrap --ignore-obsolete --ignore-pot-creation-date

clean:
	rm -rf $(VENV) $(DATA_DIR)
