#!/usr/bin/env bash
# Create or reuse .venv inside the checkout. It is rebuilt only when requirements.lock changed: the lock's
# SHA-256 is stored in .venv/.lock.sha256. Installs the exact pins with uv and --no-deps (no resolution).
set -euo pipefail
cd "$(dirname "$0")/.."
# The lock: requirements-gpu.lock (TensorFlow with CUDA) where nvidia-smi lists a GPU, else requirements.lock
# (tensorflow-cpu). RENA_GPU=0 or RENA_GPU=1 overrides the detection.
lock=requirements.lock
if [ "${RENA_GPU:-auto}" = 1 ] || { [ "${RENA_GPU:-auto}" = auto ] && nvidia-smi -L >/dev/null 2>&1; }; then
  lock=requirements-gpu.lock
fi
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -f .venv/.lock.sha256 ] && [ "$(cat .venv/.lock.sha256)" = "$want" ]; then
  exit 0
fi
echo "Building .venv from $lock ..."
rm -rf .venv
python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
uv_pin=$(grep -E '^uv==' "$lock")
.venv/bin/python -m pip install -q --disable-pip-version-check "$uv_pin"
.venv/bin/uv pip install -q -p .venv/bin/python --no-deps -r "$lock"
# make rena_lib importable from notebooks, tests and Ray workers without a build step
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
pwd > "$site/rena_lib_checkout.pth"
echo "$want" > .venv/.lock.sha256
echo ".venv ready ($(.venv/bin/python --version))"
