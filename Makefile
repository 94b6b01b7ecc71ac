# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
SCENARIO ?= scenarios/iraq_june_2014

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

# pyproject.toml maps scenarios/, designs/ and calibration/ into the package, so setuptools makes the editable
# install an import hook and says so in an 11-line "Editable installation" banner; this filter silences that one
# message (its 'compat' mode, the alternative, prints a deprecation banner instead).
QUIET_EDITABLE := ignore:Editable installation

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="$(QUIET_EDITABLE)" $(PY) -m pip install --quiet -e '.[dev]'
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
