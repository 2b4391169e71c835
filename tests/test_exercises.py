"""Every lab's graded test cells and its exercise module (helpers/exercises/labNN.py) agree, and the module works
where the grader uses it: in the from-scratch sandbox, without Captum, helpers.reference and helpers.evaluation.
"""
import json
import re
import subprocess
import sys

import nbformat
import pytest

from helpers import course
from helpers.exercises import lab_module
from helpers.exercises.core import FunctionExercise, ValueExercise
from helpers.grader.submission import HIDDEN_CALL, HIDDEN_REGION

LABS = course.labs()


def graded_cells(lab):
    nb = nbformat.read(course.solution_path(lab), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]


@pytest.mark.parametrize("lab", LABS)
def test_each_test_cell_is_one_exercise_with_the_same_points(lab):
    module = lab_module(lab)
    cells = {c.metadata.nbgrader["grade_id"]: c for c in graded_cells(lab)}
    assert sorted(cells) == sorted(e.grade_id for e in module.LAB.exercises), \
        f"test cells of {lab} and exercises of helpers/exercises differ"
    for exercise in module.LAB.exercises:
        cell = cells[exercise.grade_id]
        assert float(cell.metadata.nbgrader["points"]) == exercise.points, (exercise.grade_id, exercise.points)
        visible = HIDDEN_REGION.sub("", cell.source)
        assert f'self_check("{exercise.grade_id}")' in visible, f"{exercise.grade_id}: the cell must call self_check"
        assert f"({exercise.points:g} point" in visible, f"{exercise.grade_id}: say the points in the first line"
        hidden = [call for region in HIDDEN_REGION.findall(cell.source) for call in HIDDEN_CALL.findall(region)]
        if isinstance(exercise, FunctionExercise):
            assert len(hidden) == 1 and hidden[0][0] == exercise.grade_id and int(hidden[0][1]) != 0, \
                f"{exercise.grade_id}: hidden tests = one self_check(..., variant=N) with a secret N != 0"
        else:
            assert isinstance(exercise, ValueExercise) and not hidden, \
                f"{exercise.grade_id}: a value exercise has no hidden variant (its values come from the notebook)"
        assert len({p.key for p in exercise.parts}) == len(exercise.parts) and all(p.points > 0 for p in exercise.parts)


@pytest.mark.parametrize("lab", LABS)
def test_function_cases_cover_every_part_in_the_self_check_and_in_the_hidden_variant(lab):
    for exercise in lab_module(lab).LAB.exercises:
        if not isinstance(exercise, FunctionExercise):
            continue
        for variant in (0, 98765):
            parts = {case.part for case in exercise.cases(variant)}
            assert parts == {p.key for p in exercise.parts}, (exercise.grade_id, variant, parts)


BLOCKED_IMPORT = """
import json, sys
from helpers.grader.unsandboxed import _Blocker
sys.meta_path.insert(0, _Blocker(["captum", "helpers.reference", "helpers.evaluation"]))
from helpers.exercises import lab_module
from helpers.exercises.core import FunctionExercise
lab = lab_module(__LAB__).LAB
counts = {e.grade_id: [len(e.cases(0)), len(e.cases(98765))] for e in lab.exercises if isinstance(e, FunctionExercise)}
exec(lab.scratch_imports, {})
print(json.dumps(counts))
"""


@pytest.mark.parametrize("lab", LABS)
def test_cases_are_built_without_captum_or_the_references(lab):
    """What the from-scratch sandbox does before it runs the student's code."""
    code = BLOCKED_IMPORT.replace("__LAB__", repr(lab))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                            env={"XAI_OFFLINE": "1", "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(visible > 0 and hidden > 0 for visible, hidden in counts.values()), counts


def test_the_hidden_variant_pattern_finds_the_call():
    region = HIDDEN_REGION.findall("x\n### BEGIN HIDDEN TESTS\nself_check('ex1_tests', variant=12)\n### END HIDDEN TESTS\n")
    assert HIDDEN_CALL.findall(region[0]) == [("ex1_tests", "12")]
    assert re.search(HIDDEN_CALL, 'self_check("ex2_tests")') is None
