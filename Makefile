# The two commands of this project:
#   make smoke   run every notebook headless (papermill, smoke scale) and regenerate figures/
#   make test    lint + unit tests + nbval on the committed notebooks; fails if the tests changed the
#                checkout (notebooks re-executed by nbval write results/ and figures/ to a temporary
#                directory through RENA_RESULTS_DIR / RENA_FIGURES_DIR, never into tracked files)
# Both create or reuse .venv (rebuilt only when requirements.lock changes).

SHELL := /bin/bash
PY := .venv/bin/python
# the data: RENA_DATA_DIR from the environment (a copy of the datasets), or unset (Keras downloads them)
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
	@set -e; state=$$(mktemp); out=$$(mktemp -d); trap 'rm -rf "$$state" "$$out"' EXIT; \
	$(PY) scripts/checkout_state.py save "$$state"; \
	export RENA_RESULTS_DIR="$$out/results" RENA_FIGURES_DIR="$$out/figures"; \
	echo "tests write results and figures under $$out"; \
	$(PY) -m pytest -q tests; \
	$(PY) -m pytest -q --nbval-lax --sanitize-with notebooks/sanitize.cfg notebooks; \
	$(PY) scripts/checkout_state.py compare "$$state"

test-slow: venv
	$(PY) -m pytest -q -m slow tests

smoke: venv
	$(PY) scripts/run_notebooks.py

lock:
	@scripts/lock.sh

clean:
	rm -rf .venv .pytest_cache results/smoke
