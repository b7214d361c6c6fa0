# The one place that knows how to set up, test, run the demo and benchmark.
# Every target creates .venv on first use, so a fresh machine needs only Python and pip.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# 2.13.0 is a CPU wheel on our build machines; elsewhere PyPI's Linux wheel is the CUDA build.
# A CPU-only machine avoids it with TORCH_INDEX=https://download.pytorch.org/whl/cpu.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
STAMP  := $(VENV)/.installed

.PHONY: install test demo bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

test: lint
	$(PY) -m pytest -q tests

demo: $(STAMP)
	$(VENV)/bin/lungnet demo --output-dir demo_output

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) benchmarks/preprocess_bench.py
	$(PY) benchmarks/predict_bench.py
	$(PY) benchmarks/train_bench.py

lint: $(STAMP)
	$(VENV)/bin/ruff format --check src tests scripts benchmarks
	$(VENV)/bin/ruff check src tests scripts benchmarks

clean:
	rm -rf $(VENV) demo_output .pytest_cache
