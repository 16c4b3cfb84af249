# One entry point for developers and CI. `make test` works on a fresh clone.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(abspath $(VENV))/bin
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(BIN):$(PATH)

.PHONY: venv build test test-rust test-python demo bench clean

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "maturin>=1.9.4,<2" "pytest>=8" pytest-timeout hypothesis "pytest-asyncio>=1" \
	    pytz python-dateutil tzlocal "apscheduler==3.11.3" \
	    "sqlalchemy>=2" "psycopg[binary]" pymysql redis pymongo mongomock tornado twisted gevent PyQt6
	touch $@

build: venv
	$(BIN)/maturin develop --release --quiet

test-rust: venv
	cargo test --quiet

test-python: build
	$(BIN)/python -m pytest -q

test: test-rust test-python

demo: build
	$(BIN)/python examples/demo.py

bench: build
	$(BIN)/python benches/run.py

clean:
	rm -rf target $(VENV) python/apscheduler_rs/*.so
