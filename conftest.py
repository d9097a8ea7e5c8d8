"""pytest setup for both tests/ and the nbval run over notebooks/: unless RENA_RESULTS_DIR and
RENA_FIGURES_DIR are set (``make test`` sets them), point them at a temporary directory, so neither the
tests nor the notebooks nbval re-executes (their kernels inherit this environment) write into the checkout.
"""

import os
import shutil
import tempfile

import pytest

_OWN: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Send results and figures to a temporary directory for this test session."""
    missing = [v for v in ("RENA_RESULTS_DIR", "RENA_FIGURES_DIR") if not os.environ.get(v)]
    if missing:
        tmp = tempfile.mkdtemp(prefix="rena-test-")
        _OWN.append(tmp)
        for var in missing:
            os.environ[var] = os.path.join(tmp, var.removeprefix("RENA_").removesuffix("_DIR").lower())


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the temporary directory this session created."""
    for tmp in _OWN:
        shutil.rmtree(tmp, ignore_errors=True)
