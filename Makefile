# The kit's two commands: `make demo` and `make test`. Both create .venv on first use
# and reinstall only when requirements.txt or the site's pyproject.toml change.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# Bakes run in parallel, one option set per worker (tests/conftest.py groups them).
TEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: help install test demo demo-clean docs

help:
	@echo "make demo        bake a default site into demo/ and serve it on http://127.0.0.1:8000"
	@echo "make test        bake every option set and run the template's tests"
	@echo "make docs        build the documentation into site/"
	@echo "make demo-clean  delete demo/ so the next 'make demo' bakes afresh"

$(VENV_PYTHON):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

install: $(VENV_PYTHON)
	@$(VENV_PYTHON) scripts/install_requirements.py

test: install
	$(VENV_PYTHON) -m pytest tests -n $(TEST_WORKERS) --dist loadgroup -p no:cacheprovider $(PYTEST_ARGS)

demo: install
	$(VENV_PYTHON) scripts/demo.py

demo-clean:
	rm -rf demo

docs: install
	$(VENV_PYTHON) -m mkdocs build --strict --site-dir site
