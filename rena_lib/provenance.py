"""Where a result came from: scale, data source and machine, stamped on every notebook output and figure."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Provenance", "figure_path", "results_dir", "run_provenance"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Provenance:
    """Scale ("smoke" or "paper"), the data source and the machine of one run."""

    scale: str
    data: str
    machine: str
    evaluator: str = ""

    def label(self) -> str:
        """A one-line label for titles and captions."""
        ev = f", evaluator: {self.evaluator}" if self.evaluator else ""
        return f"scale: {self.scale}, data: {self.data}{ev}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    def save(self, directory: Path) -> None:
        """Write provenance.json into directory."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "provenance.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def _data_label(data_dir: str | os.PathLike | None) -> str:
    d = data_dir or os.environ.get("RENA_DATA_DIR")
    if not d:
        return "full datasets (Keras download cache)"
    name = Path(d).resolve()
    subset = "shared/data" in str(name)
    return f"{'real subsets in ' if subset else ''}{Path(*name.parts[-2:])}"


def run_provenance(scale: str, data_dir: str | os.PathLike | None = None, evaluator: str = "") -> Provenance:
    """Provenance of a notebook run: its scale, which data it reads and which machine it runs on."""
    if scale not in ("smoke", "paper"):
        raise ValueError(f"scale must be 'smoke' or 'paper', got {scale!r}")
    cpus = os.cpu_count() or 0
    machine = f"{platform.machine()} {cpus} CPU cores"
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            machine += f", {len(gpus)} GPU"
    except ImportError:  # metrics-only use without TensorFlow
        pass
    data = "not used (proxy evaluator)" if evaluator == "proxy" else _data_label(data_dir)
    return Provenance(scale=scale, data=data, machine=machine, evaluator=evaluator)


def results_dir(name: str, scale: str) -> Path:
    """results/<scale>/<name>/ in the checkout, created."""
    d = ROOT / "results" / scale / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def figure_path(name: str, scale: str) -> Path:
    """figures/<name>_<scale>.png in the checkout (paper-scale figures never overwrite smoke ones)."""
    d = ROOT / "figures"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{name}_{scale}.png"
