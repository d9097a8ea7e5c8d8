"""Snapshot the checkout's git state before the tests and fail if the tests changed it.

    python scripts/checkout_state.py save STATE      # before: git status plus a hash of every changed file
    python scripts/checkout_state.py compare STATE   # after: exit 1, naming the files, if anything differs

On a clean clone (CI) this is "git status --porcelain is empty after the tests"; on a developer's checkout
with uncommitted edits it still catches any file a test writes, modifies or deletes.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def state() -> dict[str, str]:
    """Every path git reports as changed or untracked (not ignored), with its status and content hash."""
    out = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    entries = {}
    for item in filter(None, out.split("\0")):
        status, path = item[:2], item[3:]
        file = ROOT / path
        digest = hashlib.sha256(file.read_bytes()).hexdigest() if file.is_file() else "-"
        entries[path] = f"{status} {digest}"
    return entries


def main(argv: list[str]) -> int:
    """save or compare the checkout state (see the module docstring)."""
    if len(argv) != 2 or argv[0] not in ("save", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    path = Path(argv[1])
    if argv[0] == "save":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(state(), indent=1, sort_keys=True))
        return 0
    before, after = json.loads(path.read_text()), state()
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    if changed:
        print(
            "the tests changed the checkout (they must write only to temporary directories):", file=sys.stderr
        )
        for p in changed:
            print(f"  {p}: {before.get(p, 'clean')} -> {after.get(p, 'clean')}", file=sys.stderr)
        return 1
    print("checkout unchanged by the tests")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
