# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
SCENARIO ?= scenarios/iraq_june_2014

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# compat: the repository on sys.path through a .pth file, as for a flat layout. The default editable mode
	# would use an import hook (pyproject maps scenarios/ etc. into the package) and print an 11-line banner.
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	$(PY) -m simulation.app.assets
	touch $@

demo: setup
	$(VENV)/bin/conflict-sim run $(SCENARIO) --seed 1 --out runs/demo --force

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_displacement.py

clean:
	rm -rf runs .pytest_cache

# Rewrite the stored golden runs (tests/golden/) on purpose; a commit that does so changes the model's numbers
# and says so in its message. `$(PY) scripts/golden.py` alone compares without writing.
.PHONY: golden
golden: setup
	$(PY) scripts/golden.py --write
