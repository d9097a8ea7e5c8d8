"""docs/extending.md runs: its python blocks (own task, layer type, space, a tiny trained search) in order."""

import re
from pathlib import Path

import pytest

from rena_lib.arch import registry

DOC = Path(__file__).resolve().parent.parent / "docs" / "extending.md"


def blocks() -> list[str]:
    """The ```python blocks of the document, in order."""
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_document_has_code():
    assert len(blocks()) >= 4


def test_the_extending_guide_runs(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "extending_md"}
    try:
        for code in blocks():
            exec(compile(code, str(DOC), "exec"), namespace)
        log = namespace["log"]
        assert log.config.search_space() == namespace["space"]  # config.json holds the space as data
        assert sum(not r["failed"] for r in log.records) >= 2
    finally:
        registry.unregister_layer_type("blobs", "tiny_conv")
        registry.unregister_task("blobs")
