"""scripts/checkout_state.py: make test fails when the tests changed the checkout."""

import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "checkout_state.py"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def run(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(repo / "scripts" / "checkout_state.py"), *args],
        cwd=repo, capture_output=True, text=True,
    )  # fmt: skip


def test_compare_names_every_file_the_tests_changed(tmp_path):
    repo = tmp_path / "clone"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "scripts")
    (repo / "results.csv").write_text("a,b\n")
    (repo / ".gitignore").write_text("scratch/\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (repo / "edited.txt").write_text("a developer's uncommitted file\n")  # there before the tests: fine
    state = tmp_path / "state.json"
    assert run(repo, "save", str(state)).returncode == 0
    (repo / "scratch").mkdir()
    (repo / "scratch" / "x").write_text("ignored output\n")
    ok = run(repo, "compare", str(state))
    assert ok.returncode == 0, ok.stderr
    (repo / "results.csv").write_text("a,b\n1,2\n")  # a test rewrote a committed result
    (repo / "figure.png").write_bytes(b"png")  # and left a new file
    (repo / "edited.txt").write_text("changed under the developer's feet\n")
    bad = run(repo, "compare", str(state))
    assert bad.returncode == 1
    for name in ("results.csv", "figure.png", "edited.txt"):
        assert name in bad.stderr
    assert run(repo, "bogus").returncode == 2
