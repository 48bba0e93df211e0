# Set-up and the everyday commands. Every target creates .venv with pip if it is missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export RAY_AUTH_MODE ?= disabled

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev,ray,onnx,gpu,predictors,search,leaderboards,spaces]"
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/archbench demo --out runs/demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q tests

bench: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q tests/perf --benchmark-only -p no:cacheprovider --override-ini="addopts="
	@cat runs/bench/*.md 2>/dev/null || true

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) runs .pytest_cache
