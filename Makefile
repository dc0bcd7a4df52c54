# The two commands of the README. Both do all set-up on a fresh Debian 12 machine as root.
#   make demo   audit this machine with the bundled policies and print the summary
#   make test   lint, import contracts, type checks and the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test setup lint clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt deploy/setup.sh
	PYTHON=$(PYTHON) sh deploy/setup.sh
	touch $(STAMP)

demo: setup
	$(PY) -m workers audit --local --policy rulesets/linux

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
