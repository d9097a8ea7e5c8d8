"""Write tests/golden/*.jsonl: short proxy searches whose children the search redesign must preserve.

    python scripts/capture_golden.py            # rewrite the golden logs (only after a deliberate change)

tests/test_golden_log.py runs the same searches and compares child by child: spec, parent, edits,
log-probability and reward. Capture once, on the code whose behaviour is the reference; commit the files.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rena_lib.proxy import ProxyEvaluator  # noqa: E402
from rena_lib.search import SearchConfig, run_search  # noqa: E402

GOLDEN = ROOT / "tests" / "golden"

# name -> SearchConfig overrides: both proposers, a layer space with top-K, a module space with restarts
SEARCHES: dict[str, dict] = {
    "kws_rena": dict(space="kws", proposer="rena", constraints=["params < 100000", "intensity > 10"]),
    "kws_random": dict(space="kws", proposer="random", constraints=["params < 100000", "intensity > 10"]),
    "cifar_module_rena": dict(
        space="cifar_module", max_layers=5, proposer="rena", constraints=["params < 3e6"]
    ),
    "cifar_module_random": dict(
        space="cifar_module", max_layers=5, proposer="random", constraints=["params < 3e6"]
    ),
}
COMMON = dict(
    episodes=3, episode_size=3, batch_size=4, top_k=2, embed_size=8, embed_units=8, controller_units=16
)
FIELDS = (
    "child_id",
    "episode",
    "step",
    "trajectory",
    "spec",
    "spec_key",
    "parent_key",
    "actions",
    "log_prob",
    "reward",
)


def config(name: str) -> SearchConfig:
    """The SearchConfig of one golden search."""
    return SearchConfig(**{**COMMON, **SEARCHES[name], "seed": 0})


def golden_records(name: str, directory: Path) -> list[dict]:
    """Run one golden search into directory; its records, reduced to FIELDS."""
    log = run_search(config(name), ProxyEvaluator(), directory, progress=False)
    return [{k: r[k] for k in FIELDS} for r in log.records]


def main() -> None:
    """Run every golden search and write its records."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in SEARCHES:
        with tempfile.TemporaryDirectory() as tmp:
            records = golden_records(name, Path(tmp) / name)
        path = GOLDEN / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
        print(f"{path.relative_to(ROOT)}: {len(records)} children")


if __name__ == "__main__":
    main()
