# MGD — the two commands of the README, and a few more for developers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test install lint format translations bench-import clean

run: install  ## Serve the portal with demo data on http://127.0.0.1:5000
	$(BIN)/mgd db upgrade
	$(BIN)/mgd demo --if-empty
	$(BIN)/mgd serve --host $(HOST) --port $(PORT)

test: install  ## Run the test suite (SQLite; PostgreSQL and brokers with MGD_TEST_* set)
	$(BIN)/pytest

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

format: install
	$(BIN)/ruff format src tests bench migrations
	$(BIN)/ruff check --fix src tests bench migrations

translations: install  ## Extract texts, merge them into the Spanish catalogue, compile it
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location -o src/mgd/translations/messages.pot .
	$(BIN)/pybabel update -i src/mgd/translations/messages.pot -d src/mgd/translations --width 110
	$(BIN)/pybabel compile -d src/mgd/translations

bench-import: install  ## Records import benchmark (see bench/README.md)
	$(BIN)/python bench/import_records.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
