"""Every lab graded through nbgrader itself (helpers.course.autograde): the simulated class of each lab.

For each lab in solutions/ (lab 01 is graded through the CLI with its broken hand-ins in test_course_cli.py):
the solution's code gets full marks, the untouched student notebook gets 0, and each submission built from
tests/wrong_answers/<lab>.py loses exactly the points of the exercises it answers wrongly, with the checker's
diagnosis in the report and in the feedback HTML.
"""
import os
import re
import time
from collections import Counter

import pytest

from helpers import course
from helpers.exercises import lab_module
from helpers.exercises.core import FunctionExercise
from helpers.grader import submission
from simulated_class import (feedback_text, filled, function_submissions, graded_points, read, release_lab,
                             submissions, wrong_answers, wrong_submission, write)
from test_course_cli import LAB as CLI_LAB

CLASS_LABS = [lab for lab in course.labs() if lab != CLI_LAB]


def grading_env(tmp):
    previous = os.environ.get("XAI_GRADING_DIR")
    os.environ["XAI_GRADING_DIR"] = str(tmp / "grading")
    return previous


def restore_env(name, previous):
    if previous is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = previous


def hand_in(lab, student, nb):
    write(course.grading_workspace() / "submitted" / student / lab, f"{lab}.ipynb", nb)


class SimulatedClass:
    """The simulated class of one lab (a test class per lab below: pytest-xdist's --dist loadscope sends each to one
    worker, and the labs spread over the workers)."""

    lab = ""

    @pytest.fixture(scope="class")
    def graded_lab(self, tmp_path_factory):
        lab = self.lab
        tmp = tmp_path_factory.mktemp(lab)
        previous = grading_env(tmp)
        try:
            student_nb = release_lab(lab, tmp)
            hand_in(lab, "correct", filled(lab, student_nb))
            hand_in(lab, "untouched", read(student_nb))
            expected = {}
            for k in range(len(submissions(lab))):
                nb, expected[f"wrong{k}"] = wrong_submission(lab, student_nb, k)
                hand_in(lab, f"wrong{k}", nb)
            reports = {r["student"]: r for r in course.autograde(lab, jobs=2)}
            course.feedback(lab, sorted(expected))
            yield lab, reports, expected
        finally:
            restore_env("XAI_GRADING_DIR", previous)


    def test_correct_submission_gets_full_marks(self, graded_lab):
        lab, reports, _ = graded_lab
        report = reports["correct"]
        assert report["status"] == "graded" and report["failed"] == {}, report
        assert report["score"] == report["max_score"] == sum(graded_points(lab).values()), report


    def test_untouched_student_notebook_gets_zero(self, graded_lab):
        lab, reports, _ = graded_lab
        report = reports["untouched"]
        assert report["status"] == "graded" and report["score"] == 0, report
        assert sorted(report["failed"]) == sorted(graded_points(lab)), report


    def test_each_wrong_answer_loses_exactly_the_points_of_its_parts(self, graded_lab):
        lab, reports, expected = graded_lab
        assert expected, f"no wrong answers for {lab}: write tests/wrong_answers/{lab}.py"
        points = graded_points(lab)
        exercises = {e.grade_id: e for e in lab_module(lab).LAB.exercises}
        for student, wrong in expected.items():
            report = reports[student]
            assert sorted(report["failed"]) == sorted(wrong), (student, {t: a["mistake"] for t, a in wrong.items()}, report)
            lost = 0.0
            for test, answer in wrong.items():
                parts = answer.get("parts") or [p.key for p in exercises[test].parts]
                failed = sorted(key for key, passed in report["parts"][test].items() if not passed)
                assert failed == sorted(parts), (student, answer["mistake"], report["parts"][test], report["failed"][test])
                lost += sum(exercises[test].part(key).points for key in parts)
                assert answer["diagnosis"].lower() in report["failed"][test].lower(), (answer["mistake"], report["failed"][test])
            assert report["score"] == sum(points.values()) - lost, (student, report)


    def test_each_wrong_answer_also_fails_its_self_check(self, graded_lab):
        """The property that makes self-checks fair: a graded mistake is visible before handing in. The trusted checker
        computes the self-check's verdict (the self-check's own cases only) on the same recorded data."""
        lab, reports, expected = graded_lab
        points = graded_points(lab)
        assert reports["correct"]["self_check"] == {t: p for t, p in points.items()}, reports["correct"]["self_check"]
        for student, wrong in expected.items():
            for test, answer in wrong.items():
                assert reports[student]["self_check"][test] < points[test], (student, answer["mistake"])


    def test_feedback_html_contains_the_diagnosis(self, graded_lab):
        lab, _, expected = graded_lab
        for student, wrong in expected.items():
            page = feedback_text(lab, student).lower()
            for answer in wrong.values():
                assert answer["diagnosis"].lower() in page, (student, answer["mistake"], answer["diagnosis"])


for _lab in CLASS_LABS:
    globals()[f"TestClass_{_lab}"] = type(f"TestClass_{_lab}", (SimulatedClass,), {"lab": _lab})


@pytest.mark.parametrize("lab, k", [(lab, k) for lab in course.labs() for k in range(len(function_submissions(lab)))])
def test_each_further_wrong_function_loses_exactly_the_points_of_its_parts(lab, k, tmp_path):
    """The wrong from-scratch functions that no submission of the class holds: graded by the grader's own from-scratch
    sandboxes (self-check cases, hidden variants) and trusted checker, without running the notebook (a function's
    grade depends on the answer cells only)."""
    chosen = function_submissions(lab)[k]
    nb = filled(lab, course.NOTEBOOKS / lab / f"{lab}.ipynb", {cell: a["source"] for cell, a in chosen.items()})
    answers = [c.source for c in nb.cells if submission._is_answer(c) and c.cell_type == "code"]
    exercises = [e for e in lab_module(lab).LAB.exercises if isinstance(e, FunctionExercise)]
    variants = submission.hidden_variants(read(course.solution_path(lab)).cells)
    options = course.grading_options(jobs=1)
    (tmp_path / "kernel").mkdir()
    checker = submission._start_checker({"lab": lab, "kernel": str(tmp_path / "kernel"),
                                         "visible": str(tmp_path / "scratch-visible" / "results"),
                                         "hidden": str(tmp_path / "scratch-hidden" / "results"),
                                         "hidden_variants": variants}, tmp_path, options)
    boxes = [submission._start_scratch(lab, answers, {e.grade_id: [0] for e in exercises}, "v",
                                       tmp_path / "scratch-visible", options),
             submission._start_scratch(lab, answers, variants, "h", tmp_path / "scratch-hidden", options)]
    try:
        for box, _ in boxes:
            assert submission._wait(box, time.monotonic() + options.scratch_timeout, options.limits.results_mb) is None
    finally:
        for box, _ in boxes:
            box.close()
    checked = submission._finish_checker(checker, tmp_path, options)
    wrong = {answer["test"]: answer for answer in chosen.values()}
    for exercise in exercises:
        result = checked[exercise.grade_id]
        answer = wrong.get(exercise.grade_id)
        if answer is None:
            assert result["score"] == exercise.points, (exercise.grade_id, result["message"])
            continue
        parts = answer.get("parts") or [p.key for p in exercise.parts]
        failed = sorted(key for key, passed in result["parts"].items() if not passed)
        assert failed == sorted(parts), (answer["mistake"], result["message"])
        assert result["score"] == exercise.points - sum(exercise.part(key).points for key in parts)
        assert answer["diagnosis"].lower() in result["message"].lower(), (answer["mistake"], result["message"])
        assert result["self_check_score"] < exercise.points, (answer["mistake"], "passes the self-check")


@pytest.mark.parametrize("lab", course.labs())
def test_every_graded_exercise_has_two_wrong_answers(lab):
    solution = read(course.solution_path(lab))
    answer_cells = {c.metadata.nbgrader["grade_id"] for c in solution.cells
                    if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    answers = wrong_answers(lab)
    for answer in answers:
        assert answer["cell"] in answer_cells and answer["test"] in graded_points(lab), answer["mistake"]
        assert answer["diagnosis"].strip() and answer["mistake"].strip()
    counts = Counter(answer["test"] for answer in answers)
    held = Counter(answer["test"] for chosen in submissions(lab) + function_submissions(lab) for answer in chosen.values())
    assert held == counts, f"every wrong answer of {lab} is graded: in a submission, or as a further function"
    assert {test: counts[test] for test in graded_points(lab) if counts[test] < 2} == {}, \
        f"tests/wrong_answers/{lab}.py needs at least two wrong answers for each of these tests"


def heaviest_demo_lab() -> str:
    """The lab whose demonstrations change most under light settings (most uses of demo_setting / LIGHT_DEMOS)."""
    uses = {lab: len(re.findall(r"demo_setting\(|LIGHT_DEMOS", course.solution_path(lab).read_text()))
            for lab in course.labs()}
    return max(sorted(uses), key=lambda lab: uses[lab])


def test_full_marks_with_light_and_with_full_demos(tmp_path):
    lab = heaviest_demo_lab()
    previous, previous_full = grading_env(tmp_path), os.environ.get("XAI_FULL_DEMOS")
    try:
        nb = filled(lab, release_lab(lab, tmp_path))
        hand_in(lab, "light", nb)
        hand_in(lab, "full", nb)
        os.environ.pop("XAI_FULL_DEMOS", None)
        light = course.autograde(lab, student_ids=["light"])[0]
        os.environ["XAI_FULL_DEMOS"] = "1"
        full = course.autograde(lab, student_ids=["full"])[0]
    finally:
        restore_env("XAI_GRADING_DIR", previous)
        restore_env("XAI_FULL_DEMOS", previous_full)
    total = sum(graded_points(lab).values())
    assert light["score"] == full["score"] == total, (lab, light, full)
    assert light["tests"] == full["tests"]
