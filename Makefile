# The two commands of the README. Both do all set-up on a fresh Debian 12 machine as root.
#   make demo   the platform on the embedded default: admin user, this machine and (as root) a
#               lab of SSH test hosts audited, then the web server on DEMO_ADDR until Ctrl-C
#   make test   lint, import contracts, type checks and the whole test suite
#   make test-fast  the inner loop: the tests not marked slow, no lint (about a minute)
# Both run pytest under pytest-xdist: TEST_WORKERS processes (more than the cores: much of the
# suite waits on test hosts, processes and browsers), tests that share a fixture or the Redis
# broker kept together by `--dist loadgroup` (tests/parallel.py), the longest work handed out
# first (tests/durations.py; hence --no-loadscope-reorder). Serially, to debug:
# .venv/bin/pytest -n 0 [tests...]
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_ADDR ?= 127.0.0.1:8000
TEST_WORKERS ?= 3
# Some machines export PYTHONDONTWRITEBYTECODE=1 (this one does). Then no process keeps the
# compiled project modules or pytest's assertion-rewritten test modules, and every pytest worker
# and every Python subprocess the tests start compiles them again (about 10 s of each worker's
# collection). The caches are written under __pycache__ (ignored by git).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-fast setup lint clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-trestle.txt deploy/setup.sh
	PYTHON=$(PYTHON) sh deploy/setup.sh
	touch $(STAMP)

demo: setup
	$(PY) manage.py demo_setup --serve $(DEMO_ADDR)

# platform/ is a source root: lint-imports must find `bulwark` there (setup.sh also puts it on
# the virtualenv's path, for a bare .venv/bin/lint-imports).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=$(CURDIR)/platform $(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

test-fast: setup
	$(VENV)/bin/pytest -m "not slow" -q -n auto --dist loadgroup --no-loadscope-reorder

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
