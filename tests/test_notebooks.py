"""The notebooks' parameters cells and the paper-scale parameter files that papermill layers on them."""

import ast
from pathlib import Path

import nbformat
import pytest
import yaml

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
BOOKS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
PAPER = sorted((NOTEBOOKS / "params" / "paper").glob("*.yaml"))


def parameters(book: Path) -> dict:
    """Names and literal values assigned in the notebook's cell tagged 'parameters'."""
    nb = nbformat.read(book, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{book.name}: expected one cell tagged 'parameters', found {len(cells)}"
    values = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), f"{book.name}: the parameters cell must only assign literals"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def test_there_are_notebooks_and_paper_files():
    assert len(BOOKS) >= 8
    assert PAPER


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.name)
def test_every_notebook_defaults_to_smoke_scale(book):
    nbformat.validate(nbformat.read(book, as_version=4))
    assert parameters(book)["scale"] == "smoke"


@pytest.mark.parametrize("pfile", PAPER, ids=lambda p: p.name)
def test_paper_parameter_files_name_real_parameters(pfile):
    book = NOTEBOOKS / f"{pfile.stem}.ipynb"
    assert book.exists(), f"{pfile.name} has no notebook {book.name}"
    params = yaml.safe_load(pfile.read_text())
    assert params["scale"] == "paper"
    unknown = set(params) - set(parameters(book))
    assert not unknown, f"{pfile.name} sets parameters its notebook does not have: {sorted(unknown)}"
