"""Where a result came from: scale, data source and machine, stamped on every notebook output and figure.

Where results go: ``results_dir`` and ``figure_path`` write under the checkout's results/ and figures/ by
default (the main job, ``make smoke``, commits those), or under the directories named by the environment
variables ``RENA_RESULTS_DIR`` and ``RENA_FIGURES_DIR`` (``make test`` points them at a temporary
directory, so re-executing the notebooks never changes a tracked file).
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Provenance",
    "figure_path",
    "figures_root",
    "results_dir",
    "results_root",
    "run_provenance",
    "score_label",
]

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Provenance:
    """Scale ("smoke", "cpu" or "paper"), the data source and the machine of one run."""

    scale: str
    data: str
    machine: str
    evaluator: str = ""
    score: str = ""

    def label(self) -> str:
        """A one-line label for titles and captions (the data only where the run read data)."""
        data = f", data: {self.data}" if self.data else ""
        ev = f", evaluator: {self.evaluator}" if self.evaluator else ""
        return f"scale: {self.scale}{data}{ev}"

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
    if _holds_a_subset(name):
        return "shared development subset (RENA_DATA_DIR)"
    return f"RENA_DATA_DIR ({name.name})" if not data_dir else f"data_dir ({name.name})"


#: a keyword folder of the full Speech Commands v0.02 holds 3,800-4,100 clips; the development subset ~400
_FULL_KEYWORD_CLIPS = 1000


def _holds_a_subset(data_dir: Path) -> bool:
    """Whether data_dir holds cut-down datasets (judged by what is there, not by where it lies)."""
    keyword = data_dir / "speech_commands" / "yes"
    if keyword.is_dir():
        with os.scandir(keyword) as entries:
            return sum(1 for _ in entries) < _FULL_KEYWORD_CLIPS
    cifar = data_dir / "cifar10" / "cifar-10-batches-py"
    return cifar.is_dir() and not (cifar / "data_batch_5").exists()


def _is_shared_subset(data: str) -> bool:
    return data.startswith("shared development subset")


def score_label(evaluator: str, budget: str = "smoke", data: str = "") -> str:
    """What a child's performance number is: "proxy score", "surrogate accuracy (...)" or "validation accuracy (...)".

    evaluator is "proxy" (rena_lib.proxy: a hand-written stand-in that trains nothing), "surrogate" (a model
    fitted on real trainings at the KWS search budget: rena_lib.surrogate) or "train" (every child trained
    at the named budget); data is a Provenance data label (a shared subset is named as such; none: the data
    is left out).
    """
    if evaluator == "proxy":
        return "proxy score"
    if evaluator == "surrogate":
        return "surrogate accuracy (fitted on real trainings, search budget)"
    if evaluator != "train":
        raise ValueError(f"evaluator must be 'proxy', 'surrogate' or 'train', got {evaluator!r}")
    on = "" if not data else ", shared subset" if _is_shared_subset(data) else f", {data}"
    return f"validation accuracy (real training, {budget} budget{on})"


def run_provenance(
    scale: str,
    data_dir: str | os.PathLike | None = None,
    evaluator: str = "",
    *,
    reads_data: bool | None = None,
    scored_by: str = "",
) -> Provenance:
    """Provenance of a notebook run: its scale, which data it reads and which machine it runs on.

    reads_data=False leaves the data out of the label: nothing was read (default: True unless the evaluator
    is "proxy" or "surrogate"). scored_by ("proxy", "surrogate" or "train"; default: evaluator, when it is one of those) names the
    evaluator behind the children's performance numbers: Provenance.score = score_label(scored_by, scale,
    data).
    """
    if scale not in ("smoke", "cpu", "paper"):
        raise ValueError(f"scale must be 'smoke', 'cpu' or 'paper', got {scale!r}")
    cpus = os.cpu_count() or 0
    machine = f"{platform.machine()} {cpus} CPU cores"
    try:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            machine += f", {len(gpus)} GPU"
    except ImportError:  # metrics-only use without TensorFlow
        pass
    if reads_data is None:
        reads_data = evaluator not in ("proxy", "surrogate")
    data = _data_label(data_dir) if reads_data else ""
    scored_by = scored_by or (evaluator if evaluator in ("proxy", "surrogate", "train") else "")
    score = score_label(scored_by, scale, data) if scored_by else ""
    return Provenance(scale=scale, data=data, machine=machine, evaluator=evaluator, score=score)


def results_root() -> Path:
    """Where results go: $RENA_RESULTS_DIR if set, else the checkout's results/."""
    return Path(os.environ.get("RENA_RESULTS_DIR") or ROOT / "results")


def figures_root() -> Path:
    """Where figures go: $RENA_FIGURES_DIR if set, else the checkout's figures/."""
    return Path(os.environ.get("RENA_FIGURES_DIR") or ROOT / "figures")


def results_dir(name: str, scale: str) -> Path:
    """<results root>/<scale>/<name>/ (results_root: the checkout's results/ by default), created."""
    d = results_root() / scale / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def figure_path(name: str, scale: str) -> Path:
    """<figures root>/<name>_<scale>.png (paper-scale figures never overwrite smoke ones), folder created."""
    d = figures_root()
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{name}_{scale}.png"
