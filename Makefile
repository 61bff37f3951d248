# One-file task runner. `make serve` and `make test` are the two commands in the README.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Two installs: serving needs the `server` extra only; the tests and tools add `dev`
# (pytest, mypy, schemathesis, …). Each stamp is remade when pyproject.toml changes.
SERVE_INSTALLED := $(VENV)/.installed-server
INSTALLED := $(VENV)/.installed-dev

.PHONY: serve test tools lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SERVE_INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[server]'
	@touch $@

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[server,dev]'
	@touch $@ $(SERVE_INSTALLED)

## Start the registry on SQLite with the demo library (migrates and seeds as needed).
serve: $(SERVE_INSTALLED)
	$(BIN)/registry serve --demo

## Lint, type-check and run the whole test suite (PostgreSQL too when
## REGISTRY_TEST_DATABASE_URL is set), one process per core. The console's browser tests
## run on their own: Playwright keeps an event loop running in each worker that has
## driven a browser, which the asyncio tests of the same worker cannot share.
BROWSER_TESTS := tests/console/browser
test: $(INSTALLED) tools lint
	$(BIN)/python -m pytest -n auto --ignore=$(BROWSER_TESTS)
	$(BIN)/python -m pytest -n auto $(BROWSER_TESTS)

## GNU gettext's msgfmt checks the PO files in the tests (Debian's package gettext);
## the console's browser tests drive headless Chromium (Debian's package chromium).
TOOLS := msgfmt:gettext chromium:chromium
tools:
	@missing=""; for tool in $(TOOLS); do \
		command -v "$${tool%%:*}" >/dev/null 2>&1 || missing="$$missing $${tool#*:}"; \
	done; \
	[ -z "$$missing" ] || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "needed for the tests: sudo apt-get install$$missing" >&2; \
			exit 1; \
		fi; }

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## PNGs of the console's main pages in docs/screenshots/ (shown in the README), taken by
## headless Chromium from a demo server on a new SQLite database.
.PHONY: screenshots
screenshots: $(INSTALLED) tools
	PYTHONPATH=tests $(BIN)/python -m console.browser.screenshots

## Run the benchmarks (not part of the test suite). The HTTP load comes from wrk
## (Debian's package wrk), installed here when missing and running as root; without it
## the suite falls back to a slower httpx loop.
bench: $(INSTALLED)
	@command -v wrk >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
		else \
			echo "wrk not found (apt-get install wrk); loading with httpx instead" >&2; \
		fi; }
	$(BIN)/python -m bench

## The default style guide on 400 real prompts: findings per rule, the precision of the
## hand-judged sample (bench/style_sample.csv) and the lint's time per prompt.
.PHONY: style-corpus
style-corpus: $(INSTALLED)
	$(BIN)/python -m bench.style_corpus

## Extract the registry's own messages into locales/messages.pot and merge them into each
## catalog; then translate every new or fuzzy entry (the tests fail until that is done).
.PHONY: messages
MESSAGE_LOCALES := fr de es ja
MESSAGE_KEYWORDS := _ N_ _n:1,2
messages: $(INSTALLED)
	@# The template is replaced only when more than its creation date changed.
	@pot=$$(mktemp) && trap 'rm -f "$$pot"' EXIT && set -x && \
	$(BIN)/pybabel -q extract -F babel.cfg --no-default-keywords \
		$(foreach k,$(MESSAGE_KEYWORDS),-k $(k)) --add-comments=TRANSLATORS: \
		--strip-comment-tags --no-location --sort-output --project=prompt-registry \
		--header-comment='# The prompt registry'"'"'s own messages. Made by `make messages`.' \
		-o "$$pot" registry && \
	{ diff -q -I '^"POT-Creation-Date: ' locales/messages.pot "$$pot" >/dev/null 2>&1 || \
		cp "$$pot" locales/messages.pot; }
	@for lang in $(MESSAGE_LOCALES); do \
		$(BIN)/pybabel -q update -i locales/messages.pot -d locales -l $$lang \
			--init-missing --previous --ignore-obsolete --ignore-pot-creation-date || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

## Extract the style guides' messages (marked in registry/style and written in the shipped
## guide's YAML) into locales/style.pot and merge them into each style.po catalog; then
## translate every new or fuzzy entry (tests/style/test_style_catalogs.py fails until then).
.PHONY: style-messages
STYLE_LOCALES := fr de es ja
style-messages: $(INSTALLED)
	$(BIN)/python -m registry.style.catalog locales/style.pot
	@for lang in $(STYLE_LOCALES); do \
		$(BIN)/pybabel -q update -D style -i locales/style.pot -d locales -l $$lang \
			--init-missing --previous --ignore-obsolete --ignore-pot-creation-date \
			--width 100 || exit 1; \
	done
