# The two commands of the README:  make demo  and  make test.  Both set up everything they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_DIR ?= demo-output

.PHONY: demo seeds test install lint typecheck bench clean serve

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch is never needed; the constraint keeps any dependency from pulling a CUDA build
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/storylens demo --out $(DEMO_DIR)

# the five seed articles of ../shared into the demo store (then `make demo` or `storylens serve` shows them)
SEEDS ?= ../shared/seeds
seeds: $(STAMP)
	$(VENV)/bin/storylens ingest $(SEEDS)/0*.txt --db $(DEMO_DIR)/storylens.db

test: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m mypy
	$(PY) -m pytest -q -ra

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

typecheck: $(STAMP)
	$(PY) -m mypy

clean:
	rm -rf $(DEMO_DIR) storylens.db storylens.db-wal storylens.db-shm storylens.db.lock .pytest_cache .mypy_cache
