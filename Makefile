# MGD — the two commands of the README, and a few more for developers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Verifying a password is most of a sign-in's CPU. PyPI's argon2 wheel is built for any x86-64 (SSE2); built on
# this machine for its own CPU it verifies about twice as fast (bench/README.md). Empty: keep PyPI's build.
ARGON2_CFLAGS ?= -O3 -march=native

NODE_DEPS := tests/browser/node_modules/.package-lock.json

.PHONY: run test install browser-deps screens argon2-native constraints lint format translations static bench-import bench-serve bench-sign-in bench-sign-in-http bench-exports bench-lines bench-depth bench-billing-pages bench-usage-pages bench-orders-queue bench-chat clean

run: install  ## Serve the portal with demo data on http://127.0.0.1:5000
	$(BIN)/mgd db upgrade
	$(BIN)/mgd demo --if-empty
	$(BIN)/mgd serve --host $(HOST) --port $(PORT)

test: install  ## Run the test suite (SQLite; PostgreSQL and brokers with MGD_TEST_* set)
	$(BIN)/pytest

install: $(STAMP) browser-deps

# axe-core for the browser tests (tests/browser/package-lock.json), when node is there; CI always has it.
browser-deps:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(NODE_DEPS); \
	else echo "npm not found: the accessibility tests will skip (CI=true makes them fail)"; fi

$(NODE_DEPS): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --silent

screens: install  ## Screenshots of the main pages at 1280 and 360 px into docs/screens (needs Chromium)
	MGD_TEST_SCREENS=docs/screens $(BIN)/pytest -q -p no:cacheprovider tests/browser/test_accessibility.py -k screenshots

# The versions of constraints.txt, tested together: `make constraints` moves them to the newest ones allowed.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	$(MAKE) --no-print-directory argon2-native
	touch $(STAMP)

# Rebuilds the installed argon2-cffi-bindings from source for this CPU (not cached: the build only fits this
# machine). A failed build leaves PyPI's wheel in place, which is correct, only slower.
argon2-native:
ifneq ($(strip $(ARGON2_CFLAGS)),)
	@version=$$($(BIN)/python -c "import importlib.metadata as m; print(m.version('argon2-cffi-bindings'))") && \
	echo "building argon2-cffi-bindings $$version for this CPU ($(ARGON2_CFLAGS))" && \
	CFLAGS="$(ARGON2_CFLAGS)" $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-cache-dir \
		--force-reinstall --no-deps --no-binary argon2-cffi-bindings "argon2-cffi-bindings==$$version" \
	|| echo "warning: argon2 could not be built for this CPU; PyPI's generic build stays (slower sign-ins)" >&2
endif

constraints:  ## Resolve the newest versions pyproject.toml allows, in a scratch virtualenv, into constraints.txt
	rm -rf build/constraints-venv
	$(PYTHON) -m venv build/constraints-venv
	build/constraints-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	{ echo "# Written by \`make constraints\` (pip freeze of a fresh install of .[test]); \`make install\` uses it."; \
	  build/constraints-venv/bin/python -m pip freeze --all --exclude-editable | grep -v '^pip=='; } > build/constraints.txt
	mv build/constraints.txt constraints.txt
	rm -rf build/constraints-venv
	@echo "constraints.txt updated: run make test, then commit it"

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

translations: install  ## Extract texts, merge them into the Spanish catalogue, compile it
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --no-location -o src/mgd/translations/messages.pot .
	$(BIN)/pybabel update -i src/mgd/translations/messages.pot -d src/mgd/translations --width 110
	$(BIN)/pybabel compile -d src/mgd/translations

static: install  ## Gzipped copies of the static files, which WhiteNoise serves to browsers that accept them
	$(BIN)/python -m whitenoise.compress --quiet --no-brotli src/mgd/static

bench-import: install  ## Records import benchmark, PostgreSQL, as the production roles (see bench/README.md)
	$(BIN)/python bench/import_records.py --million

bench-billing: install  ## Billing import benchmark, PostgreSQL, as the production roles (see bench/README.md)
	$(BIN)/python bench/import_billing.py

bench-billing-pages: install  ## Billing pages of a 10,000-line company under gunicorn, as the production roles (see bench/README.md)
	$(BIN)/python bench/billing_pages.py

bench-usage-pages: install  ## Consumption pages of a 5,000-line company under gunicorn, as the production roles (see bench/README.md)
	$(BIN)/python bench/usage_pages.py

bench-sign-in: install  ## Sign-in benchmark (see bench/README.md)
	$(BIN)/python bench/sign_in.py

bench-sign-in-http: install  ## Sign-ins over HTTP under gunicorn, PostgreSQL, as the production roles (see bench/README.md)
	$(BIN)/python bench/sign_in_http.py

bench-exports: install  ## Lines exports over HTTP under gunicorn, PostgreSQL, as the production roles (see bench/README.md)
	$(BIN)/python bench/exports.py

bench-lines: install  ## Lines page benchmark, PostgreSQL (see bench/README.md)
	$(BIN)/python bench/lines_page.py

bench-serve: install  ## gunicorn: the portal beside a bare Flask hello, PostgreSQL and wrk (see bench/README.md)
	$(BIN)/python bench/serve.py

bench-depth: install  ## Every page of a 200,000-line company's lists under gunicorn, as the production roles (see bench/README.md)
	$(BIN)/python bench/list_depth.py --quiet

bench-orders-queue: install  ## The back office's order queue with 1,000,000 orders under gunicorn, as the production roles (see bench/README.md)
	$(BIN)/python bench/orders_queue.py --quiet

bench-chat: install  ## The help chat's live updates: 200 conversations, two page servers and the stream process (see bench/README.md)
	$(BIN)/python bench/chat.py --quiet

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache .ruff_cache
