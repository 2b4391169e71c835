"""The from-scratch sandbox: run a student's from-scratch functions on the exercises' cases and record the results.

``python -m helpers.grader.scratch INPUT.json RESULTS_DIR`` runs inside a grading sandbox whose view has no Captum,
no ``helpers.reference`` and no ``helpers.evaluation``: a function that calls them fails here by construction.

INPUT.json: ``{"lab": "02_saliency", "sources": [answer cell sources, in notebook order],
"variants": {grade_id: [variant, ...]}, "prefix": "v", "case_timeout": 60}``. The cases of every variant are built
first, then the lab's scratch imports and the answer cells run (each one's errors ignored), then each from-scratch
function is called on each case and its result recorded under ``<grade_id>.<prefix><i>.c<k>`` (``i`` = index of
the variant in the exercise's list).
The grader runs this twice: once for the self-check's cases (``variants=[0]``), once for the hidden variants, so
that nothing of the hidden cases is known to the process whose results may be shown in detail.
"""
from __future__ import annotations

import builtins
import json
import signal
import sys
from contextlib import contextmanager
from pathlib import Path


class _CaseTimeout(BaseException):
    pass


@contextmanager
def _time_limit(seconds: float):
    def expire(signum, frame):
        raise _CaseTimeout()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _raised(error: BaseException) -> dict:
    if isinstance(error, _CaseTimeout):
        return {"kind": "raised", "type": "TimeoutError", "name": "ran past the time limit"}
    name = getattr(error, "name", None)
    return {"kind": "raised", "type": type(error).__name__[:60], "name": name if isinstance(name, str) else None}


def main(argv: list[str]) -> int:
    config = json.loads(Path(argv[0]).read_text())
    results = Path(argv[1])
    # Everything of ours is imported and every case is built before any student code runs.
    from helpers.exercises import lab_module, records
    from helpers.exercises.core import FunctionExercise

    lab = lab_module(config["lab"]).LAB
    timeout = float(config.get("case_timeout", 60))
    prefix = config.get("prefix", "v")
    save = records.save
    exercises = [e for e in lab.exercises if isinstance(e, FunctionExercise)]
    plan = [(exercise, index, exercise.cases(variant)) for exercise in exercises
            for index, variant in enumerate(config["variants"].get(exercise.grade_id, []))]
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(lab.scratch_imports, "<lab imports>", "exec"), namespace)
    for number, source in enumerate(config["sources"]):
        try:
            with _time_limit(timeout):
                exec(compile(source, f"<answer cell {number + 1}>", "exec"), namespace)
        except BaseException:  # an apply-Captum answer fails here (no Captum): that is expected
            pass
    for exercise, index, cases in plan:
        function = namespace.get(exercise.function)
        for k, case in enumerate(cases):
            key = f"{exercise.grade_id}.{prefix}{index}.c{k}"
            if not callable(function):
                save(results, key, description={"kind": "missing", "reason": f"{exercise.function} is not defined"})
                continue
            try:
                with _time_limit(timeout):
                    result, flags = exercise.call(function, case)
                save(results, key, result, extra={"flags": flags})
            except BaseException as error:
                save(results, key, description=_raised(error))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
