"""Build a simulated class of hand-ins from the real labs (used by tests/test_autograde.py and tests/test_course_cli.py).

A submission starts from the student notebook that nbgrader generated (as a student downloads it); ``filled()``
pastes the solution's code into every answer cell, then the given answers (wrong ones, broken ones) on top.
"""
from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import nbformat

from helpers import course

sys.path.insert(0, str(Path(__file__).parent))
from wrong_answers import function_submissions, submissions, wrong_answers  # noqa: E402


def read(path: Path):
    return nbformat.read(path, as_version=4)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def release_lab(lab: str, tmp_path: Path) -> Path:
    """Generate the lab into a temporary release folder and gradebook; return the student notebook."""
    course.release([lab], release_dir=tmp_path / "release", grading_dir=course.grading_workspace())
    return tmp_path / "release" / lab / f"{lab}.ipynb"


def graded_points(lab: str) -> dict[str, float]:
    """Points of every graded code cell of the lab, read from the solution notebook's nbgrader metadata."""
    return {cell.metadata.nbgrader["grade_id"]: float(cell.metadata.nbgrader["points"])
            for cell in read(course.solution_path(lab)).cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")}


def filled(lab: str, student_notebook: Path, answers: dict[str, str] | None = None):
    """The student notebook with the solution's code in every answer cell, then ``answers`` (cell id -> source)."""
    solutions = {grade_id(c): c.source for c in read(course.solution_path(lab)).cells
                 if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}
    nb = read(student_notebook)
    for cell in nb.cells:
        if grade_id(cell) in solutions:
            cell.source = re.sub(r"[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n?", "", solutions[grade_id(cell)])
    for cell in nb.cells:
        if answers and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def wrong_submission(lab: str, student_notebook: Path, k: int):
    """Submission k of the lab's wrong answers, and {test id: wrong answer} for the tests it must fail."""
    chosen = submissions(lab)[k]
    nb = filled(lab, student_notebook, {cell: answer["source"] for cell, answer in chosen.items()})
    return nb, {answer["test"]: answer for answer in chosen.values()}


def write(folder: Path, name: str, nb) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


def report(lab: str, student: str) -> dict:
    return json.loads(course.report_path(lab, student).read_text())


def feedback_text(lab: str, student: str) -> str:
    """The feedback page of a student as plain text (tags and ANSI colour spans removed, entities decoded)."""
    page = (course.grading_workspace() / "feedback" / student / lab / f"{lab}.html").read_text()
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


__all__ = ["read", "grade_id", "release_lab", "graded_points", "filled", "wrong_submission", "write", "report",
           "feedback_text", "submissions", "function_submissions", "wrong_answers"]
