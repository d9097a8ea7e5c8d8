"""What every benchmark records beside its numbers: the stack's versions, the machine, the commit."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ROOT", "git_commit", "header", "machine", "relative", "versions"]

PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "ray",
    "ai-edge-litert",
    "numpy",
    "pandas",
    "scipy",
    "rena-lib",
)


def versions() -> dict[str, str]:
    """Versions of the stack, read from package metadata (no heavy imports)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out


def machine() -> dict[str, Any]:
    """CPU model, cores, memory and OS of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        import psutil

        mem_gib = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return {
        "cpu": model,
        "cpu_cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "gpu": None,
    }


def git_commit() -> str | None:
    """The checkout's HEAD commit, if any."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def relative(path: Path) -> str:
    """path relative to the checkout (as given when outside it)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def header(benchmark: str, script: str, argv: list[str] | None = None) -> dict[str, Any]:
    """The fields every result JSON starts with: name, UTC date, command, commit, machine, versions."""
    import datetime as dt
    import shlex
    import sys

    args = sys.argv[1:] if argv is None else argv
    return {
        "benchmark": benchmark,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python " + " ".join(shlex.quote(a) for a in [relative(Path(script)), *args]),
        "git_commit": git_commit(),
        "machine": machine(),
        "versions": versions(),
    }
