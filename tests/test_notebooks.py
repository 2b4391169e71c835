"""The lab notebooks: format, student versions in sync with the solutions, no leaks, nbgrader metadata.

Executing the notebooks is tested elsewhere: `pytest --nbval-lax solutions/` (part of the README's test command)
and tests/test_validate.py (nbgrader validate / validate --invert).
"""
import json
import re

import nbformat
import pytest

from helpers import course
from helpers.colab import SETUP_CELL

LABS = course.labs()


def student_path(lab):
    return course.NOTEBOOKS / lab / f"{lab}.ipynb"


def read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_labs_and_each_has_a_student_notebook():
    assert "01_toy_model" in LABS
    for lab in LABS:
        assert student_path(lab).is_file(), f"{lab}: run `make release` to generate notebooks/{lab}/{lab}.ipynb"


def test_student_notebooks_are_in_sync_with_solutions(tmp_path):
    course.release(release_dir=tmp_path / "release", grading_dir=tmp_path / "grading")
    for lab in LABS:
        generated = json.loads((tmp_path / "release" / lab / f"{lab}.ipynb").read_text())
        committed = json.loads(student_path(lab).read_text())
        assert committed == generated, f"notebooks/{lab} is out of date: run `make release` and commit it"


@pytest.mark.parametrize("lab", LABS)
def test_every_notebook_starts_with_the_colab_setup_cell(lab):
    for path in (course.solution_path(lab), student_path(lab)):
        first = read(path).cells[0]
        assert first.cell_type == "code" and first.source == SETUP_CELL, f"{path}: first cell is not the setup cell"


@pytest.mark.parametrize("lab", LABS)
def test_student_notebooks_hold_no_solutions_and_no_hidden_tests(lab):
    text = student_path(lab).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"notebooks/{lab} contains {marker!r}"
    student_cells = {c.get("id"): c for c in read(student_path(lab)).cells}
    hidden = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", flags=re.S)
    for cell in read(course.solution_path(lab)).cells:
        if hidden.search(cell.source):
            visible = hidden.sub("", cell.source).strip()
            assert student_cells[cell.id].source.strip() == visible, f"{lab}/{cell.id}: test cell differs from its visible part"


@pytest.mark.parametrize("lab", LABS)
def test_lab_has_the_course_shape(lab):
    nb = read(course.solution_path(lab))
    cells = nb.cells
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    assert cells[1].cell_type == "markdown" and cells[1].source.startswith("# Lab "), "title first"
    assert "Learning goals" in cells[1].source
    assert "**Prerequisites.**" in cells[1].source and "**Time.**" in cells[1].source, "state prerequisites and time"
    assert "## Summary" in markdown and "References" in markdown
    graded = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    code_tests = [c for c in graded if c.cell_type == "code"]
    written = [c for c in graded if c.cell_type == "markdown"]
    assert code_tests, "at least one autograded test cell"
    assert written, "at least one manually graded written question"
    for cell in graded:
        meta = cell.metadata.nbgrader
        assert meta.get("points", 0) > 0, f"{meta['grade_id']} has no points"
    for cell in code_tests:
        assert "Self-check" in cell.source and "self_check(" in cell.source, cell.metadata.nbgrader["grade_id"]
    progress = [i for i, c in enumerate(cells) if c.cell_type == "code" and c.source.strip() == "show_progress()"]
    summary = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## Summary"))
    assert len(progress) == 1 and progress[0] < summary, "one `show_progress()` cell, just before the summary"
    assert "from helpers.exercises.lab" in cells[2].source + cells[3].source, "import self_check, show_progress"
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source, f"{meta['grade_id']}: mark the solution region"
    assert "cm.get_cmap" not in "".join(c.source for c in cells), "use matplotlib.colormaps[...]"


@pytest.mark.parametrize("lab", LABS)
def test_student_stubs_say_how_many_lines_are_expected(lab):
    nb = read(student_path(lab))
    stubs = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    assert stubs
    for cell in stubs:
        assert re.search(r"### COMPLETE ~\d+ lines expected ###\n\s*raise NotImplementedError\(\)", cell.source), cell.source
