#!/usr/bin/env bash
# The GPU check: KWS children trained with Keras on JAX (CUDA) from a feature cache, no TensorFlow needed.
#
#   here (CPU, with data):  scripts/gpu_check.sh --prepare    # cache/kws_bank.npz + gpu_wheels/ (keras etc.)
#   on the GPU machine:     scripts/gpu_check.sh              # prints devices, seconds per child, children/hour
#
# The GPU machine this project is lent has Python 3.12 with JAX (CUDA), numpy, h5py, ml-dtypes, rich and
# absl-py, but no TensorFlow, no Keras and no internet: --prepare downloads keras and the two small wheels
# it lacks (namex, optree; cp312) into gpu_wheels/, which travels with the repository (both are ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --prepare ]; then
  shift
  .venv/bin/python scripts/write_feature_cache.py --epochs 1 --out cache/kws_bank.npz
  keras_pin=$(grep -E '^keras==' requirements.lock)
  rm -rf gpu_wheels && mkdir -p gpu_wheels
  for pin in "$keras_pin" "$(grep -E '^namex==' requirements.lock)" "$(grep -E '^optree==' requirements.lock)"; do
    .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 --platform any -d gpu_wheels "$pin"
  done
  ls -la gpu_wheels cache/kws_bank.npz
  exit 0
fi
PY=${PYTHON:-python3}
site=$(mktemp -d)
"$PY" -m pip install -q --no-index --no-deps --target "$site" gpu_wheels/*.whl
export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}" KERAS_BACKEND=jax
nvidia-smi --query-gpu=name,memory.total,utilization.gpu --format=csv || true
exec "$PY" scripts/gpu_check.py "$@"
