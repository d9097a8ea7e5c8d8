"""Write a KWS feature cache: an augmentation bank (rena_lib.data.feature_bank) as one .npz file.

    RENA_DATA_DIR=/path/to/data python scripts/write_feature_cache.py                  # 1 augmented epoch
    python scripts/write_feature_cache.py --epochs 30 --out cache/kws_bank_30.npz      # a cpu-budget bank

Children then train from it without the dataset and without TensorFlow (KwsEvaluator(bank=path), any
Keras backend): what scripts/gpu_check.sh carries to a GPU machine that has neither.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    """Draw the bank and save it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=1, help="augmented epochs to draw (1 epoch is ~15 MB here)")
    ap.add_argument("--split-salt", default="rena", help="'rena' for a subset inside one canonical partition")
    ap.add_argument("--out", type=Path, default=ROOT / "cache" / "kws_bank.npz")
    args = ap.parse_args(argv)

    from rena_lib.data.speech_commands import SpeechCommandsData

    t0 = time.perf_counter()
    bank = SpeechCommandsData(split_salt=args.split_salt).feature_bank(args.epochs)
    path = bank.save(args.out)
    print(
        f"wrote {path}: {bank.epochs} epoch(s) of {len(bank.train_labels)} training clips, "
        f"{len(bank.labels('validation'))} validation, {len(bank.labels('test'))} test, "
        f"{path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
