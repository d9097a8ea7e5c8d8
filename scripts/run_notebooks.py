"""Run every numbered notebook headless with papermill (in place), at smoke scale by default.

    python scripts/run_notebooks.py                     # smoke scale: the notebooks' own parameters
    python scripts/run_notebooks.py --scale paper       # layer notebooks/params/paper/<name>.yaml on top
    python scripts/run_notebooks.py 02 03               # only notebooks whose names start with these

The committed notebooks carry the outputs of the last smoke run; figures/ holds the figures they wrote.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: the kernel logs only errors: no "Kernel is running over TCP without encryption" warning on every start
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


def quiet_kernel_manager() -> type:
    """A kernel manager that does not interrupt a kernel it is about to shut down.

    jupyter_client sends SIGINT before the shutdown request, and ipykernel answers with "KeyboardInterrupt
    caught in kernel" on the terminal after every notebook; a notebook that ran to its end has nothing to
    interrupt. Interrupts at any other time (a timeout, Ctrl-C) go through unchanged.
    """
    from jupyter_client.manager import AsyncKernelManager

    class QuietShutdownKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            if not self.shutting_down:
                await super()._async_interrupt_kernel()

    return QuietShutdownKernelManager


def main(argv: list[str] | None = None) -> int:
    """Execute the selected notebooks in order and report their run times."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("only", nargs="*", help="notebook name prefixes to run (default: all)")
    ap.add_argument("--scale", choices=("smoke", "paper"), default="smoke")
    ap.add_argument(
        "--output-dir", type=Path, default=None, help="write executed copies here (default: in place)"
    )
    args = ap.parse_args(argv)

    import papermill as pm
    import yaml

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MPLBACKEND", "Agg")
    books = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        books = [p for p in books if any(p.name.startswith(o) for o in args.only)]
    if not books:
        print("no notebooks selected", file=sys.stderr)
        return 2
    failed = []
    for book in books:
        params = {}
        if args.scale == "paper":
            pfile = NOTEBOOKS / "params" / "paper" / f"{book.stem}.yaml"
            if pfile.exists():
                params = yaml.safe_load(pfile.read_text()) or {}
        out = (args.output_dir / book.name) if args.output_dir else book
        if args.output_dir:
            args.output_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        print(f"[{args.scale}] {book.name} ...", flush=True)
        try:
            pm.execute_notebook(
                str(book), str(out), parameters=params, kernel_name="python3", cwd=str(NOTEBOOKS),
                progress_bar=False, log_output=False, kernel_manager_class=quiet_kernel_manager(),
                extra_arguments=KERNEL_ARGUMENTS,
            )  # fmt: skip
        except pm.PapermillExecutionError as exc:
            failed.append(book.name)
            print(f"  FAILED in cell {exc.exec_count}: {exc.ename}: {exc.evalue}", file=sys.stderr)
            continue
        print(f"  done in {time.perf_counter() - t0:.0f} s", flush=True)
    if failed:
        print(f"failed notebooks: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
