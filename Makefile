# The two commands of this project:
#   make smoke   run every notebook headless (papermill, smoke scale) and regenerate figures/
#   make test    lint + unit tests + nbval on the committed notebooks
# Both create or reuse .venv (rebuilt only when requirements.lock changes).

SHELL := /bin/bash
PY := .venv/bin/python
# real data for development and CI; users point RENA_DATA_DIR at their own copy (or let Keras download)
RENA_DATA_DIR ?= $(abspath $(wildcard ../shared/data))
export RENA_DATA_DIR
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export ABSL_MIN_LOG_LEVEL := 3
export GRPC_VERBOSITY := ERROR
export PYTHONWARNINGS := ignore::DeprecationWarning
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER := 0
export MPLBACKEND := Agg

.PHONY: venv test test-fast test-slow lint format smoke lock clean

venv:
	@scripts/venv.sh

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

test: lint
	$(PY) -m pytest -q tests
	$(PY) -m pytest -q --nbval-lax --sanitize-with notebooks/sanitize.cfg notebooks

test-slow: venv
	$(PY) -m pytest -q -m slow tests

smoke: venv
	$(PY) scripts/run_notebooks.py

lock:
	@scripts/lock.sh

clean:
	rm -rf .venv .pytest_cache results/smoke
