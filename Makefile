# Two set-up commands: `make run` (the service on embedded defaults) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint lock fonts bench-webhook clean

# The runtime dependencies at the versions of requirements.txt, the lock the platform installs from (`make lock`).
$(STAMP): pyproject.toml requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@sed -e '/--hash=/d' -e 's/ \\$$//' requirements.txt > $(VENV)/constraints.txt  # pins without hashes
	$(BIN)/pip install --quiet -e '.[dev]' -c $(VENV)/constraints.txt
	@touch $(STAMP)

# requirements.txt, .python-version and app.json from pyproject.toml and docs/operators.md (devtools/platform_files.py)
# (installed without the old lock's constraints, so a dependency changed in pyproject.toml can be locked anew).
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m devtools.platform_files

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
