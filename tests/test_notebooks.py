"""The notebooks' parameters cells and the paper-scale parameter files that papermill layers on them."""

import ast
import re
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


# --------------------------------------------------------------------------------------------------
# the committed notebooks as a reader sees them: story, parameters checked, figures shown, no noise
# --------------------------------------------------------------------------------------------------
ROOT = NOTEBOOKS.parent
FIGURES = ROOT / "figures"
MAX_CODE_RUN = 3  # consecutive code cells before the story must say something


def cells(book: Path) -> list:
    """The notebook's cells (nbformat v4)."""
    return nbformat.read(book, as_version=4).cells


def code_groups(book: Path) -> list[list[int]]:
    """Runs of consecutive code cells, as cell indices."""
    groups: list[list[int]] = []
    previous = None
    for i, cell in enumerate(cells(book)):
        if cell.cell_type == "code":
            if previous == "code":
                groups[-1].append(i)
            else:
                groups.append([i])
        previous = cell.cell_type
    return groups


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.name)
def test_every_group_of_code_cells_has_markdown_before_it(book):
    nb_cells = cells(book)
    assert nb_cells[0].cell_type == "markdown" and nb_cells[0].source.startswith("# "), "start with a title"
    markdown = [c for c in nb_cells if c.cell_type == "markdown"]
    assert all(c.source.strip() for c in markdown), "an empty markdown cell"
    groups = code_groups(book)
    assert len(markdown) >= len(groups)
    for group in groups:
        assert nb_cells[group[0] - 1].cell_type == "markdown"
        assert len(group) <= MAX_CODE_RUN, f"cells {group}: {len(group)} code cells without a word between"


def parameters_index(book: Path) -> int:
    """Index of the cell tagged 'parameters'."""
    return next(i for i, c in enumerate(cells(book)) if "parameters" in c.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.name)
def test_parameters_are_checked_right_after_the_parameters_cell(book):
    from rena_lib import notebook_params

    values = parameters(book)
    notebook_params.check(**values)  # the smoke defaults are allowed values
    pfile = NOTEBOOKS / "params" / "paper" / f"{book.stem}.yaml"
    if pfile.exists():
        notebook_params.check(**{**values, **yaml.safe_load(pfile.read_text())})
    nxt = cells(book)[parameters_index(book) + 1]
    calls = [
        node
        for node in ast.walk(ast.parse(nxt.source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "check"
        and getattr(node.func.value, "id", None) == "notebook_params"
    ]
    assert len(calls) == 1, "the cell after the parameters cell calls notebook_params.check(...) once"
    passed = {k.arg: getattr(k.value, "id", None) for k in calls[0].keywords}
    assert passed == {name: name for name in values}, "check every parameter, each by its own name"


def outputs(cell) -> list:
    """A code cell's outputs."""
    return cell.get("outputs", []) if cell.cell_type == "code" else []


def shown_figures(cell) -> list[str]:
    """Names of the saved figures a cell displays (figures.show marks them in the output metadata)."""
    return [
        o.metadata["rena_figure"]
        for o in outputs(cell)
        if o.output_type == "display_data"
        and "image/png" in o.data
        and "rena_figure" in o.get("metadata", {})
    ]


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.name)
def test_every_figure_a_notebook_saves_is_shown_in_it(book):
    images = 0
    for i, cell in enumerate(cells(book)):
        if cell.cell_type != "code":
            continue
        src = cell.source
        for banned in (".savefig(", "plt.show(", "figures.save(", "save_figures(", "import matplotlib"):
            assert banned not in src, f"cell {i}: {banned!r}: save and show figures with figures.show"
        shown = shown_figures(cell)
        assert len(shown) >= src.count("figures.show("), f"cell {i} saves figures it does not show: {src}"
        for name in shown:
            assert (FIGURES / name).exists(), f"cell {i} shows {name}, which is not in figures/"
        images += sum("image/png" in o.get("data", {}) for o in outputs(cell))
    assert images >= sum(c.source.count("figures.show(") for c in cells(book))


def test_every_committed_figure_is_shown_by_a_notebook():
    shown = {name for book in BOOKS for cell in cells(book) for name in shown_figures(cell)}
    committed = {p.name for p in FIGURES.glob("*.png") if not p.name.startswith("bench_")}  # benchmarks'
    assert committed, "no figures"
    assert committed <= shown, f"figures no notebook shows: {sorted(committed - shown)}"


OUTSIDE = re.compile(r"\.\./\.\.|\.\./shared|(?<![\w.])/(work|home|tmp|Users|root)/")
NOISE = ("XNNPACK", "fully_quantize", "KeyboardInterrupt", "Kernel is running over TCP", "Traceback")


@pytest.mark.parametrize("book", BOOKS, ids=lambda p: p.name)
def test_no_path_outside_the_repository_and_no_stderr_noise(book):
    for i, cell in enumerate(cells(book)):
        texts = [cell.source]
        for o in outputs(cell):
            texts.append(o.get("text", "") + o.get("data", {}).get("text/plain", ""))
            if o.output_type == "stream" and o.name == "stderr":
                hits = [n for n in NOISE if n in o.text]
                assert not hits, f"cell {i} stderr: {o.text[:300]}"
            assert o.output_type != "error", f"cell {i} failed"
        for text in texts:
            assert not OUTSIDE.search(text), f"cell {i} names a path outside the repository: {text[:300]}"
