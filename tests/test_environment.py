"""The lock file and environment.yml pin the same exact versions; the slow-import package stays out."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(?:-\s*)?([A-Za-z0-9_.\-]+)==([^\s#]+)", text, flags=re.MULTILINE))


def test_environment_yml_matches_the_lock():
    lock = pins((ROOT / "requirements.lock").read_text())
    env = pins((ROOT / "environment.yml").read_text())
    assert len(lock) > 100
    assert env == lock


def test_lock_leaves_out_rfc3987_syntax():
    lock = pins((ROOT / "requirements.lock").read_text())
    assert "rfc3987-syntax" not in lock
    for name in ("tensorflow-cpu", "keras", "papermill", "nbval", "ray", "uv"):
        assert name in lock, name
