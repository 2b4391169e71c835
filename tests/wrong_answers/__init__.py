"""Realistic wrong answers for every graded exercise of every lab (the simulated class of tests/test_autograde.py).

Each lab has a module ``tests/wrong_answers/<lab>.py`` defining ``WRONG_ANSWERS``: a list of dicts with
- ``cell``: the grade_id of the solution cell the student fills,
- ``test``: the grade_id of the test cell that grades it,
- ``mistake``: what the student did wrong (from shared/notes/captum-conventions.md where it applies),
- ``diagnosis``: words that the failing test's message must contain (case-insensitive), so the feedback helps,
- ``source``: the whole source of the student's cell,
- ``parts`` (optional): the keys of the exercise's parts (``helpers/exercises/labNN.py``) that this mistake fails;
  all of the exercise's parts when absent.
Each graded code exercise has at least two. Submission k of a lab takes the k-th wrong answer of each exercise,
so every submission must lose exactly the points of the parts it answers wrongly, and fail the self-check too.
A lab has as many submissions as its value exercise with the most wrong answers (at least two): a whole notebook
runs for each. The further wrong answers of from-scratch functions, whose grade depends on the answer cells only,
are graded by the same from-scratch sandboxes and trusted checker without the notebook (``function_submissions``).
"""
import importlib.util
from pathlib import Path

HERE = Path(__file__).parent


def wrong_answers(lab: str) -> list[dict]:
    path = HERE / f"{lab}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"wrong_answers_{lab}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG_ANSWERS


def _by_test(lab: str) -> dict[str, list[dict]]:
    by_test: dict[str, list[dict]] = {}
    for answer in wrong_answers(lab):
        by_test.setdefault(answer["test"], []).append(answer)
    return by_test


def _function_tests(lab: str) -> set[str]:
    from helpers.exercises import lab_module
    from helpers.exercises.core import FunctionExercise

    return {e.grade_id for e in lab_module(lab).LAB.exercises if isinstance(e, FunctionExercise)}


def _pack(by_test: dict[str, list[dict]], start: int, stop: int) -> list[dict[str, dict]]:
    return [{v[k]["cell"]: v[k] for v in by_test.values() if k < len(v)} for k in range(start, stop)]


def _class_size(lab: str) -> int:
    by_test, functions = _by_test(lab), _function_tests(lab)
    most = max((len(v) for v in by_test.values()), default=0)
    values = max((len(v) for test, v in by_test.items() if test not in functions), default=0)
    return min(most, max(values, 2))


def submissions(lab: str) -> list[dict[str, dict]]:
    """The wrong submissions of a lab: a list of {solution cell id: wrong answer} (k-th answer of each test)."""
    return _pack(_by_test(lab), 0, _class_size(lab))


def function_submissions(lab: str) -> list[dict[str, dict]]:
    """The from-scratch functions' wrong answers that no submission holds, packed the same way."""
    functions, n = _function_tests(lab), _class_size(lab)
    by_test = {test: answers for test, answers in _by_test(lab).items() if test in functions and len(answers) > n}
    return _pack(by_test, n, max((len(v) for v in by_test.values()), default=n))
