# Anxin Hall. `make demo` runs the whole hall on embedded defaults;
# `make test` installs everything and runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := central,kiosk,printer,gpio,display,signlang,bench,dev,deploy
# Debian packages the tests and the demo need (Chromium for browser tests,
# fonts for Chinese text, Mosquitto for the real-broker tests, Xvfb for screens,
# espeak-ng and alsa-utils for voice calling).
SYSTEM_PACKAGES := mosquitto chromium fonts-wqy-microhei xvfb espeak-ng alsa-utils

.PHONY: demo test lint bench wheel-check system-deps clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $@

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing system packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages; please run:"; \
	    echo "  sudo apt-get install -y $$missing"; \
	  fi; \
	fi

demo: $(VENV)/.installed
	$(BIN)/anxin demo

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: system-deps $(VENV)/.installed lint wheel-check
	$(BIN)/pytest -q -ra

# The package names are generic, so build the wheel, install it into a clean
# venv and import every package there: this catches missing templates, .kv
# files and migrations that an editable install would hide.
wheel-check: $(VENV)/.installed
	rm -rf dist $(CURDIR)/build/wheel-venv
	$(BIN)/python -m build --wheel --outdir dist . >/dev/null
	$(PYTHON) -m venv $(CURDIR)/build/wheel-venv
	$(CURDIR)/build/wheel-venv/bin/pip install -q "$$(ls dist/*.whl)[central,bench,kiosk,printer,gpio,display,signlang]"
	cd /tmp && $(CURDIR)/build/wheel-venv/bin/python -m anxin.wheelcheck

bench: $(VENV)/.installed system-deps
	@for b in $$($(BIN)/anxin bench list | cut -f1); do $(BIN)/anxin bench $$b || exit 1; done

clean:
	rm -rf $(VENV) dist var test-artifacts
