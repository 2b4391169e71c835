"""The trusted checker: scores decided from data, in a fresh process where no student code ever runs.

``python -m helpers.grader.trusted INPUT.json OUTPUT.json``

INPUT.json: ``{"lab", "kernel": folder recorded by the notebook's self-check cells in the kernel sandbox,
"visible": folder of the from-scratch sandbox for the self-check's cases, "hidden": folder of the from-scratch
sandbox for the hidden variants, "hidden_variants": {grade_id: [variant, ...]}}``.

For every exercise of the lab it rebuilds the cases itself, loads the recorded values as data
(:func:`helpers.exercises.records.load`: no pickle, regular files only, sizes capped), computes the references and
runs the exercise's checks. OUTPUT.json: ``{grade_id: {"score", "max_score", "self_check_score", "message",
"results": [{"part", "label", "error", "hidden"}]}}``. Results of hidden cases carry no detail that the student's
code could have chosen (no numbers, shapes or names): the process that produced them knew the hidden cases.
"""
from __future__ import annotations

import builtins
import json
import sys
from pathlib import Path

from helpers.exercises import lab_module, records
from helpers.exercises.core import FunctionExercise, Result, ValueExercise

_BUILTIN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                       if isinstance(value, type) and issubclass(value, BaseException)}


def _not_answered(value) -> bool:
    return (isinstance(value, records.RaisedError) and value.type_name == "NotImplementedError") or \
        (isinstance(value, records.Missing) and "not defined" in value.reason)


def _hidden_error(exercise: FunctionExercise, case, value, flags: dict) -> str | None:
    """The verdict on a hidden case, in words that depend on nothing the student's code chose."""
    part = exercise.part(case.part).description
    where = f"{exercise.title}, {part}: on the grader's own inputs ({case.label})"
    if isinstance(value, records.RaisedError):
        kind = value.type_name if value.type_name in _BUILTIN_EXCEPTIONS else "an exception"
        return f"{where}, your function raised {kind}."
    if isinstance(value, records.Missing):
        return f"{where}, no result was recorded (the function was missing or ran past the time limit)."
    if exercise.judge(case, value, flags) is None:
        return None
    return (f"{where}, the result is wrong, although the self-check's cases of this kind may pass: does your function "
            "depend on the self-check's inputs (a fixed shape, class, batch size, layer or model)?")


def check_lab(config: dict) -> dict:
    lab = lab_module(config["lab"]).LAB
    kernel, visible, hidden = (Path(config[key]) for key in ("kernel", "visible", "hidden"))
    output = {}
    for exercise in lab.exercises:
        if isinstance(exercise, ValueExercise):
            values = {name: records.load(kernel, f"{exercise.grade_id}.{name}")[0] for name in exercise.names}
            shown = exercise.judge_all(values)
            secret: list[Result] = []
        else:
            shown = []
            for k, case in enumerate(exercise.cases(0)):
                value, record = records.load(visible, f"{exercise.grade_id}.v0.c{k}")
                shown.append(Result(case.part, case.label, exercise.judge(case, value, record.get("flags") or {}),
                                    not_answered=_not_answered(value)))
            secret = []
            for index, variant in enumerate(config["hidden_variants"].get(exercise.grade_id, [])):
                for k, case in enumerate(exercise.cases(variant)):
                    value, record = records.load(hidden, f"{exercise.grade_id}.h{index}.c{k}")
                    error = _hidden_error(exercise, case, value, record.get("flags") or {})
                    secret.append(Result(case.part, case.label, error, hidden=True, not_answered=_not_answered(value)))
        results = shown + secret
        score = exercise.score(results)
        output[exercise.grade_id] = {
            "score": score, "max_score": exercise.points, "self_check_score": exercise.score(shown),
            "message": _message(exercise, results, score),
            "parts": {part.key: exercise.score([r for r in results if r.part == part.key]) == part.points
                      for part in exercise.parts},
            "results": [vars(r) for r in results],
        }
    return output


def _message(exercise, results: list[Result], score: float) -> str:
    """What the student reads in the feedback for this exercise."""
    hidden = sum(r.hidden for r in results)
    if score == exercise.points and all(r.error is None for r in results):
        extra = f", {hidden} of them on the grader's own inputs" if hidden else ""
        return f"{exercise.title}: correct: {score:g}/{exercise.points:g} points ({len(results)} checks passed{extra})."
    if all(r.not_answered for r in results if r.error):
        first = next(r for r in results if r.error)
        return f"{exercise.title}: not answered: 0/{exercise.points:g} points. {first.error}"
    lines = [f"{exercise.title}: {score:g}/{exercise.points:g} points."]
    for part in exercise.parts:
        failed = [r for r in results if r.part == part.key and r.error]
        mark = "✘" if failed or not any(r.part == part.key for r in results) else "✔"
        text = failed[0].error if failed else ("passed" if mark == "✔" else "not checked")
        lines.append(f"  {mark} {part.description} ({part.points:g} point{'s' if part.points != 1 else ''}): {text}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``INPUT.json OUTPUT.json [--wait]``. With ``--wait`` the checker starts while the sandboxes still run: it
    imports the lab's module and loads the model first, then waits for the line ``go`` on stdin (the grader writes
    it when every sandbox has stopped) before it reads any recorded value."""
    config = json.loads(Path(argv[0]).read_text())
    if "--wait" in argv:
        from helpers.exercises import context

        lab_module(config["lab"])
        context.imagenet()
        if sys.stdin.readline().strip() != "go":
            return 1
    Path(argv[1]).write_text(json.dumps(check_lab(config), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
