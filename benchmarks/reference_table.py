"""The paper's 15 architectures, paper vs ours, and the rank correlation of compute intensities.

    python benchmarks/reference_table.py            # per op, batch 64: benchmarks/results/reference_table.csv
    python benchmarks/reference_table.py --convention per_layer --batch-size 1 --out /tmp/table.csv

Prints the table and Spearman's rho between our intensities and the paper's: over all 15 rows, over the
14 of the paper-tables reference notes (without Table 2's joint-constraint row) and over Table 2 alone.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rena_lib.metrics import CONVENTIONS, DEFAULT_BATCH_SIZE, DEFAULT_CONVENTION

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "reference_table.csv"
JOINT_ROW = "RENA (size < 0.1M, intensity > 10)"
for _k, _v in {"TF_CPP_MIN_LOG_LEVEL": "3", "ABSL_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}.items():
    os.environ.setdefault(_k, _v)


def main(argv: list[str] | None = None) -> int:
    """Build the comparison table, print it with the correlations, write the CSV."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    ap.add_argument("--convention", choices=CONVENTIONS, default=DEFAULT_CONVENTION)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    import pandas as pd

    from rena_lib.reference import comparison_table, intensity_rank_correlation

    table = comparison_table(batch_size=args.batch_size, convention=args.convention)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.drop(columns=["architecture", "constraint"]).round(3).to_string())
    rho = {
        "all 15 rows": intensity_rank_correlation(table),
        "14 rows (no joint row)": intensity_rank_correlation(table.drop(index=JOINT_ROW)),
        "Table 2 (12 rows)": intensity_rank_correlation(table[table["table"] == 2]),
        "Table 1 (3 rows)": intensity_rank_correlation(table[table["table"] == 1]),
    }
    print(
        f"\nSpearman rank correlation of intensities, ours ({args.convention}, batch {args.batch_size}) "
        "vs the paper's:"
    )
    for k, v in rho.items():
        print(f"  {k:24s} {v:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
