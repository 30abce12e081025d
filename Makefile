# Two set-up commands: `make run` (the service on embedded defaults) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint fonts bench-webhook clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devtools.local serve

demo: $(STAMP)
	$(BIN)/python -m devtools.demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

# A Japanese font for the rich menu images (`flask richmenu sync`) and the browser tests' screenshots: Debian's
# IPA Gothic, as the platform installs it from the Aptfile.
fonts:
	@fc-list :lang=ja | grep -q . || (apt-get update -qq && apt-get install -y -qq fonts-ipafont-gothic)

bench-webhook: $(STAMP)
	$(BIN)/python bench/webhook.py

clean:
	rm -rf $(VENV) var .pytest_cache
