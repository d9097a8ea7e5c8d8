"""Seconds per epoch of a KWS child trained from the augmentation bank vs a plain model.fit on arrays.

    RENA_DATA_DIR=/path/to/data python benchmarks/bank_epoch_time.py   # writes benchmarks/results/bank_epoch_time.json

For each model, in one process and interleaved (bank, plain, online, bank, plain, online, ...) so that
load changes hit all three alike: the steady epoch time (epochs 2..E) of
* bank: rena_lib's child training (train_child via KwsEvaluator) reading the bank;
* plain: keras model.fit(x, y) on in-memory float32 arrays of the same features (the floor);
* online: the per-child augmentation pipeline (jitter, noise, MFCCs per batch) the bank replaces.
Target: bank / plain <= 1.1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import header  # noqa: E402

SPECS = ("FC (1,12)", "GRU (1,64,1)", "Conv2d (1,64,10,4,2,2) DS-Conv2d (4,64,3,3,1,1) AvgPool2d")


def main(argv: list[str] | None = None) -> int:
    """Measure and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--specs", nargs="*", default=list(SPECS))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bank_epoch_time.json")
    args = ap.parse_args(argv)

    import keras
    import numpy as np

    from rena_lib.arch import build, from_paper_notation
    from rena_lib.data.speech_commands import RESPLIT_SALT
    from rena_lib.training import Budget, KwsEvaluator, _epoch_timer

    budget = Budget("kws", epochs=args.epochs, batch_size=64, max_train_examples=args.examples)
    bank_ev = KwsEvaluator(budget, split_salt=RESPLIT_SALT)
    online_ev = KwsEvaluator(budget, split_salt=RESPLIT_SALT, augmentation="online")
    t = time.perf_counter()
    bank = bank_ev.training_data()
    bank_seconds = time.perf_counter() - t
    x_all, y_all = bank.arrays("train", 0)
    rows = np.sort(np.random.default_rng(0).permutation(len(y_all))[: args.examples])
    x, y = x_all[rows], y_all[rows]

    def plain(spec) -> float:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model = build(spec)
        model.compile(
            keras.optimizers.Adam(1e-3),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )
        timer = _epoch_timer()
        model.fit(x, y, batch_size=64, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[timer])
        return statistics.mean(timer.times[1:])

    results = []
    for text in args.specs:
        spec = from_paper_notation(text, "kws")
        times: dict[str, list[float]] = {"bank": [], "plain": [], "online": []}
        for _ in range(args.repeats):
            times["bank"].append(bank_ev(spec).extras["timings"]["steady_epoch_s"])
            times["plain"].append(plain(spec))
            times["online"].append(online_ev(spec).extras["timings"]["steady_epoch_s"])
        med = {k: statistics.median(v) for k, v in times.items()}
        row = {
            "spec": text,
            "steady_epoch_s": med,
            "all_runs_s": times,
            "bank_over_plain": round(med["bank"] / med["plain"], 3),
            "online_over_plain": round(med["online"] / med["plain"], 3),
        }
        results.append(row)
        print(f"{text}: bank {med['bank']:.3f} s, plain {med['plain']:.3f} s, online {med['online']:.3f} s "
              f"-> bank/plain {row['bank_over_plain']}x, online/plain {row['online_over_plain']}x", flush=True)  # fmt: skip
    out = {
        **header("bank_epoch_time", __file__, argv),
        "budget": budget.to_dict(),
        "bank": {
            "epochs": bank.epochs,
            "clips": len(bank.train_labels),
            "draw_seconds": round(bank_seconds, 1),
            "megabytes": round(bank.nbytes() / 1e6, 1),
        },
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "target": "bank / plain <= 1.1",
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
