"""A simulated class of lab 01 run through the instructor CLI exactly as the README says, with broken hand-ins.

release -> collect (LMS-style file names) -> autograde --jobs 2 -> resume -> feedback -> export -> summary. Every
broken submission must get the right marks and a clear message, the batch must go on, and no grade may be lost.
"""
import copy
import csv
import uuid
import os
import subprocess
import sys

import nbformat
import pytest

from helpers import course
from helpers.exercises import lab_module
from simulated_class import (feedback_text, filled, grade_id, graded_points, release_lab, report, submissions,
                             wrong_submission, write)

LAB = "01_toy_model"
CORRECT_EX1 = ("attributions_t1, delta_t1 = ig.attribute(inputs, baselines=baselines, target=1, "
               "return_convergence_delta=True)\n")
CORRECT_EX2 = ("def toy_ig_target0(inputs):\n    x0, x1, x2 = inputs[:, 0], inputs[:, 1], inputs[:, 2]\n"
               "    active = (x2 > x0).to(inputs.dtype)\n"
               "    return inputs * torch.stack([-2 * (1 - active), torch.full_like(x1, -3.0), -4 - 2 * active], dim=1)\n")


def cli(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "helpers.course", *args], cwd=course.REPO, capture_output=True,
                            text=True, env=os.environ.copy(), timeout=1500)
    assert not check or result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def without(nb, *ids):
    nb.cells = [c for c in nb.cells if grade_id(c) not in ids]
    return nb


def retyped(nb, cell_id, source):
    """Replace a cell by a new one typed by hand: new id, no nbgrader metadata."""
    index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == cell_id)
    nb.cells[index] = nbformat.v4.new_code_cell(source)
    return nb


def expected_score(answers: dict) -> tuple[float, list[str]]:
    """Score and lost tests of a submission made of the solution plus ``answers`` (wrong answers of the fixtures)."""
    exercises = {e.grade_id: e for e in lab_module(LAB).LAB.exercises}
    total, lost = 8.0, []
    for answer in answers.values():
        parts = answer.get("parts") or [p.key for p in exercises[answer["test"]].parts]
        total -= sum(exercises[answer["test"]].part(key).points for key in parts)
        lost.append(answer["test"])
    return total, sorted(lost)


def build_class(student_nb, hand_in):
    """Write the hand-ins (LMS names: <id>_<anything>.ipynb); return {student: (expected score, problems, lost)}."""
    def fill(answers=None):
        return filled(LAB, student_nb, answers)

    expected = {}
    # correct, untouched, and the wrong answers of the lab
    write(hand_in, "s01_01_toy_model.ipynb", fill()); expected["s01"] = (8, [], [])
    write(hand_in, "s02_Copy of 01_toy_model.ipynb", nbformat.read(student_nb, as_version=4))
    expected["s02"] = (0, ["ex1_captum_target1 not answered"], ["ex1_tests", "ex2_tests", "ex3_tests", "ex4_tests"])
    for k, student in enumerate(["s03", "s04"]):
        nb, _ = wrong_submission(LAB, student_nb, k)
        write(hand_in, f"{student}_lab1.ipynb", nb)
        score, lost = expected_score(submissions(LAB)[k])
        expected[student] = (score, [], lost)
    # broken hand-ins
    write(hand_in, "s05_lab1.ipynb", fill({"ex2_toy_ig_by_hand": "def toy_ig_target0(inputs)\n    return inputs\n"}))
    expected["s05"] = (6, ["syntax error in ex2_toy_ig_by_hand"], ["ex2_tests"])
    write(hand_in, "s06_lab1.ipynb", fill({"ex1_captum_target1": CORRECT_EX1.replace("target=1", "target=7")}))
    expected["s06"] = (6, ["exception in ex1_captum_target1"], ["ex1_tests"])
    write(hand_in, "s08_lab1.ipynb", without(fill(), "ex2_tests", "ex3_completeness"))
    expected["s08"] = (6, ["answer cell ex3_completeness missing"], ["ex3_tests"])
    nb = fill()
    for cell_id in ("ex1_tests", "ex4_batch"):
        index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == cell_id)
        nb.cells.insert(index + 1, copy.deepcopy(nb.cells[index]))
    write(hand_in, "s09_lab1.ipynb", nb)
    expected["s09"] = (8, ["cell ex1_tests duplicated", "cell ex4_batch duplicated"], [])
    nb = fill()
    tests4 = next(c.source for c in nb.cells if grade_id(c) == "ex4_tests")
    write(hand_in, "s10_lab1.ipynb", retyped(retyped(nb, "ex2_toy_ig_by_hand", CORRECT_EX2), "ex4_tests", tests4))
    expected["s10"] = (8, ["answer cell ex2_toy_ig_by_hand found by its position"], [])
    nb = fill()
    for cell in nb.cells:  # Colab dropped every cell's metadata (the cell ids stay)
        cell.metadata.pop("nbgrader", None)
    write(hand_in, "s11_lab1.ipynb", nb)
    expected["s11"] = (8, [], [])
    nb = fill()
    for cell in nb.cells:  # metadata and cell ids lost: answers are found between the lab's own cells
        cell.metadata.pop("nbgrader", None)
        cell["id"] = uuid.uuid4().hex[:8]
    write(hand_in, "s18_lab1.ipynb", nb)
    expected["s18"] = (8, ["answer cell ex1_captum_target1 found by its position"], [])
    nb = fill({"ex3_completeness": submissions(LAB)[0]["ex3_completeness"]["source"]})
    next(c for c in nb.cells if grade_id(c) == "ex3_tests").source = "print('Exercise 3: correct.')\n"
    write(hand_in, "s12_lab1.ipynb", nb)
    expected["s12"] = (6, ["locked cell ex3_tests edited (the original runs)"], ["ex3_tests"])
    (hand_in / "s13_lab1.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "print(1)"')
    expected["s13"] = (0, [], None)
    nb = fill({"ex1_captum_target1": CORRECT_EX1 + "print('spam ' * 2_000_000)\n"})
    next(c for c in nb.cells if grade_id(c) == "ex1_captum_target1").outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="x" * 100_000_000)]
    write(hand_in, "s14_lab1.ipynb", nb)
    expected["s14"] = (8, ["submitted file is 100 MB", "output of cell"], [])
    write(hand_in, "s15_lab1.ipynb", fill({"ex2_toy_ig_by_hand": (
        "def toy_ig_target0(inputs):\n    return reference.integrated_gradients(model, inputs, target=0)\n")}))
    expected["s15"] = (6, [], ["ex2_tests"])
    # Patching libraries in the kernel changes nothing: the answers are checked outside it (correct answers here).
    write(hand_in, "s16_lab1.ipynb", fill({"ex1_captum_target1": CORRECT_EX1 + "torch.allclose = lambda *a, **k: True\n"}))
    expected["s16"] = (8, [], [])
    source = next(c.source for c in fill().cells if grade_id(c) == "ex3_completeness")
    write(hand_in, "s17_lab1.ipynb", fill({"ex3_completeness": source.rstrip() + (
        "\nimport helpers.checks\nhelpers.checks.check_attribution = lambda *args, **kwargs: None\n")}))
    expected["s17"] = (8, [], [])
    return expected


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class01")
    os.environ["XAI_GRADING_DIR"] = str(tmp / "grading")
    try:
        student_nb = release_lab(LAB, tmp)
        expected = build_class(student_nb, tmp / "hand_in")
        write(tmp / "late", "s07_lab1.ipynb", filled(LAB, student_nb, {"ex4_batch": "while True:\n    pass\n"}))
        expected["s07"] = (6, ["timeout in ex4_batch"], ["ex4_tests"])
        out = {"collect": cli("collect", LAB, str(tmp / "hand_in"))}
        out["autograde"] = cli("autograde", LAB, "--jobs", "2")
        cli("collect", LAB, str(tmp / "late"))  # a late hand-in, graded with a short cell time limit
        out["late"] = cli("autograde", LAB, "--jobs", "2", "--cell-timeout", "30")
        out["feedback"] = cli("feedback", LAB)
        out["export"] = cli("export")
        out["summary"] = cli("summary", LAB)
        yield expected, out
    finally:
        del os.environ["XAI_GRADING_DIR"]


def test_collect_files_every_hand_in_as_the_lab_notebook(graded_class):
    expected, out = graded_class
    for student in expected:
        assert course.submitted_path(LAB, student).is_file(), out["collect"]


def test_every_submission_gets_the_right_marks(graded_class):
    expected, _ = graded_class
    points = graded_points(LAB)
    for student, (score, _, lost) in expected.items():
        result = report(LAB, student)
        assert result["score"] == score and result["max_score"] == sum(points.values()), (student, result)
        if lost is not None:
            assert sorted(result["failed"]) == lost, (student, result)
            assert all(result["tests"][t][0] < points[t] == result["tests"][t][1] for t in lost), (student, result)


def test_every_problem_is_reported_with_a_clear_message(graded_class):
    expected, _ = graded_class
    for student, (_, problems, _) in expected.items():
        result = report(LAB, student)
        for problem in problems:
            assert any(problem in p for p in result["problems"]), (student, problem, result["problems"])
    assert report(LAB, "s13")["status"] == "failed" and "invalid notebook" in report(LAB, "s13")["reason"]
    assert all(report(LAB, s)["status"] == "graded" for s in expected if s != "s13")


def test_a_reference_called_in_a_from_scratch_exercise_fails_by_construction(graded_class):
    message = report(LAB, "s15")["failed"]["ex2_tests"]
    assert "raised NameError" in message, message  # helpers.reference does not exist in the from-scratch sandbox


def test_wrong_answers_feedback_contains_the_diagnosis(graded_class):
    for student, k in (("s03", 0), ("s04", 1)):
        page = feedback_text(LAB, student).lower()
        for answer in submissions(LAB)[k].values():
            assert answer["diagnosis"].lower() in page, (student, answer["mistake"])
            assert answer["diagnosis"].lower() in report(LAB, student)["failed"][answer["test"]].lower()


def test_no_grade_is_lost_export_and_summary(graded_class):
    expected, out = graded_class
    with open(course.grading_workspace() / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f) if row["assignment"] == LAB}
    assert sorted(rows) == sorted(expected)
    for student, (score, _, _) in expected.items():
        assert float(rows[student]["raw_score"]) == score, (student, rows[student])
    line = out["summary"].strip().splitlines()[-1]
    mean = sum(score for score, _, _ in expected.values()) / len(expected)
    assert line.startswith(f"{LAB}: {len(expected)} submissions graded, mean {mean:.2f} / 8 autograded points"), line
    assert "1 failures" in line and "s13: FAILED (invalid notebook" in line and "s07: timeout in ex4_batch" in line
    assert "s07" in out["late"] and f"{len(expected) - 1} already graded, skipped" in out["late"], out["late"]


def test_autograde_resumes_and_force_regrades(graded_class):
    out = cli("autograde", LAB, "--student", "s01")
    assert "grading 0 submissions" in out and "1 already graded" in out, out
    out = cli("autograde", LAB, "--student", "s01", "--force")
    assert "grading 1 submissions" in out and "s01: 8/8" in out, out


def test_cli_rejects_an_unknown_lab():
    result = subprocess.run([sys.executable, "-m", "helpers.course", "autograde", "no_such_lab"], cwd=course.REPO,
                            capture_output=True, text=True)
    assert result.returncode == 2 and "lab should be one of" in result.stderr
