# Two commands do everything on a fresh machine with Python 3.10+ and make:
#   make demo   - create .venv, install dedup, scan the seed corpus
#   make test   - create .venv if missing, install dev extras, run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test lint bench docs clean clean-cache

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dedup scan seeds/

# The scan first compiles the numba kernels into their on-disk cache (~35 s on a fresh clone,
# 1.5 s once cached), a build step that would otherwise land on whichever test runs first.
test: $(STAMP)
	$(BIN)/dedup scan seeds/ -q -f json -o /dev/null --level document,paragraph,passage
	$(BIN)/python -m pytest -q -n auto --durations=10
	$(BIN)/ruff check dedup tests benches docs fuzz

lint: $(STAMP)
	$(BIN)/ruff check dedup tests benches docs fuzz

# Benchmarks are not tests: they take minutes and write markdown tables to benches/results/.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benches/bench_hashing.py
	$(BIN)/python benches/bench_classic_bound.py
	$(BIN)/python benches/bench_real_text.py
	$(BIN)/python benches/bench_quality.py
	$(BIN)/python benches/bench_cores.py
	$(BIN)/python benches/bench_scale.py
	$(BIN)/python benches/bench_phases.py
	$(BIN)/python benches/bench_filter.py
	$(BIN)/python benches/bench_html.py

# Regenerate the README's generated sections (CLI reference, S-curves); tests fail when stale.
docs: $(STAMP)
	$(BIN)/python docs/generate.py

clean-cache:
	find dedup -name '*.nbi' -delete -o -name '*.nbc' -delete

clean: clean-cache
	rm -rf $(VENV) build *.egg-info .pytest_cache
