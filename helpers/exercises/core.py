"""The exercise framework: what a graded exercise checks, written once, run by the notebook and by the grader.

Every lab has a module ``helpers/exercises/labNN.py`` that lists its graded exercises. A notebook's self-check cell
is one call, ``self_check("ex1_tests")``; the instructor's grader (:mod:`helpers.grader`) runs *the same cases and
the same checks* in a trusted process, on values recorded while the notebook ran in a sandbox. So a self-check that
passes means the points, and the grader never trusts anything computed in the student's kernel but data.

Two kinds of exercises:

- :class:`FunctionExercise` ("from scratch"): the student writes a function (``vanilla_gradient``). Its
  :meth:`~FunctionExercise.cases` are calls on models and inputs built in code: ``variant=0`` gives the cases the
  self-check shows; the grader adds a secret ``variant`` (the hidden tests: same kinds of calls, other models and
  inputs). :meth:`~FunctionExercise.check` compares one result with the reference.
- :class:`ValueExercise` ("apply Captum"): the student computes variables (``tiger_saliency``); its
  :meth:`~ValueExercise.checks` compare them with references computed on the lab's model.

Each exercise has :class:`Part` s with their own points (one behaviour each: ``abs=False``, batches, ...): a part's
points are earned when every check of that part passes. :class:`Lab` gathers a lab's exercises and gives the two
notebook entry points, ``self_check`` and ``show_progress``.
"""
from __future__ import annotations

import ast
import builtins
import dis
import hashlib
import io
import linecache
import os
import sys
import types
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch

from helpers.exercises import records

__all__ = ["Part", "Case", "Result", "Exercise", "FunctionExercise", "ValueExercise", "Lab", "NotAnswered",
           "SelfCheckFailed", "variant_generator", "RECORD_ENV", "DEFAULT_SCRATCH_IMPORTS"]

#: Set by the grader inside its sandbox: the folder where self-check cells record the values they check.
RECORD_ENV = "XAI_GRADING_RECORD"

#: What a from-scratch answer may use besides its own cell: the grader runs answer cells after these imports only.
DEFAULT_SCRATCH_IMPORTS = """\
import itertools
import math
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
"""


@dataclass(frozen=True)
class Part:
    """One behaviour of an exercise, worth ``points`` on its own (e.g. "abs=False", "one target per sample")."""

    key: str
    points: float
    description: str


@dataclass
class Case:
    """One call of the student's function: ``function(*args, **kwargs)`` after ``torch.manual_seed(seed)`` (and
    ``np.random.seed(seed)``) when ``seed`` is not None. ``label`` says what it is, without secret values."""

    part: str
    label: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    seed: int | None = None


@dataclass
class Result:
    """The outcome of one check: ``error`` is None when it passed."""

    part: str
    label: str
    error: str | None = None
    hidden: bool = False
    not_answered: bool = False


def variant_generator(variant: int, salt: str = "") -> torch.Generator:
    """A torch.Generator seeded from ``variant`` (and ``salt``), the same in every process and on every machine."""
    digest = hashlib.sha256(f"{variant}:{salt}".encode()).hexdigest()
    return torch.Generator().manual_seed(int(digest[:12], 16))


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


class NotAnswered(AssertionError):
    """Raised by a self-check when its exercise has no answer yet: one line, no traceback."""

    def _render_traceback_(self):
        return [f"\x1b[1;33m{self}\x1b[0m"]


class SelfCheckFailed(AssertionError):
    """Raised by a self-check when a check fails; the per-part report was printed just before."""

    def _render_traceback_(self):
        return [f"\x1b[0;31m{type(self).__name__}: {self}\x1b[0m"]


class Exercise:
    """A graded exercise: ``grade_id`` is the nbgrader id of its test cell; ``parts`` give its points."""

    grade_id: str = ""
    parts: tuple[Part, ...] = ()

    @property
    def number(self) -> str:
        return self.grade_id.removeprefix("ex").split("_")[0]

    @property
    def title(self) -> str:
        return f"Exercise {self.number}"

    @property
    def points(self) -> float:
        return float(sum(part.points for part in self.parts))

    def part(self, key: str) -> Part:
        for part in self.parts:
            if part.key == key:
                return part
        raise KeyError(f"{self.grade_id} has no part {key!r}; parts: {[p.key for p in self.parts]}")

    def score(self, results: list[Result]) -> float:
        """Points earned: a part counts when it has at least one check and every one of them passed."""
        return float(sum(part.points for part in self.parts
                         if any(r.part == part.key for r in results)
                         and all(r.error is None for r in results if r.part == part.key)))


class FunctionExercise(Exercise):
    """The student writes a function named ``function``; it is called on :meth:`cases` and checked by :meth:`check`.

    ``detached = True``: tensors returned must not require gradients. Inputs must never be changed in place, and
    hooks registered on a model must be removed before returning.
    """

    function: str = ""
    detached: bool = True

    def cases(self, variant: int) -> list[Case]:
        """The calls to check: ``variant=0`` for the self-check, other variants for the grader's hidden cases."""
        raise NotImplementedError

    def check(self, case: Case, result: Any) -> None:
        """Raise AssertionError (with a diagnosis) unless ``result`` is right for ``case``."""
        raise NotImplementedError

    # -- running the student's function -----------------------------------------------------------------------
    def call(self, function: Callable, case: Case) -> tuple[Any, dict]:
        """``function`` on ``case``; returns ``(result, flags)``: inputs changed in place, hooks left on models.

        Exceptions of the student's function propagate.
        """
        __tracebackhide__ = True
        tensors = [value for value in (*case.args, *case.kwargs.values()) if isinstance(value, torch.Tensor)]
        before = [tensor.detach().clone() for tensor in tensors]
        modules = [value for value in (*case.args, *case.kwargs.values()) if isinstance(value, torch.nn.Module)]
        hooks_before = [_hook_ids(module) for module in modules]
        if case.seed is not None:
            seed_everything(case.seed)
        result = function(*case.args, **case.kwargs)
        changed = any(not torch.equal(tensor.detach(), copy) for tensor, copy in zip(tensors, before))
        hooks_left = 0
        for module, ids in zip(modules, hooks_before):
            hooks_left += _remove_new_hooks(module, ids)
        return result, {"inputs_changed": bool(changed), "hooks_left": hooks_left}

    def judge(self, case: Case, result: Any, flags: dict) -> str | None:
        """The diagnosis of one recorded result (None when right): generic problems first, then :meth:`check`."""
        name = case.label
        if isinstance(result, records.RaisedError) and result.type_name == "NotImplementedError":
            return f"{self.title} is not answered yet: complete `{self.function}` and run its cell."
        if isinstance(result, records.RaisedError):
            detail = f" ({result.name})" if result.name else ""
            return f"{name}: your function raised {result.type_name}{detail}. Run the self-check to see where."
        if isinstance(result, records.Missing):
            return f"{name}: no result was recorded ({result.reason}); did the function run past the time limit?"
        if flags.get("inputs_changed"):
            return (f"{name}: your function changed its inputs in place; work on a copy "
                    "(e.g. inputs.detach().clone()) and leave the caller's tensors as they were.")
        if flags.get("hooks_left"):
            return (f"{name}: your function left {flags['hooks_left']} hook(s) registered on the model; remove each "
                    "one (handle.remove()) before returning, e.g. in a try/finally block.")
        if self.detached and _requires_grad(result):
            return (f"{name}: the result still requires gradients (it is attached to the autograd graph): return "
                    "tensors that do not, e.g. with .detach().")
        try:
            self.check(case, _detached(result))
        except AssertionError as error:
            return str(error) if str(error).startswith(name) else f"{name}: {error}"
        except Exception as error:  # the checks never fail on student values; keep the batch going if they do
            return f"{name}: your result could not be checked ({type(error).__name__}: {str(error)[:200]})."
        return None


class ValueExercise(Exercise):
    """The student computes the notebook variables ``names``; :meth:`checks` compares them with references."""

    names: tuple[str, ...] = ()

    def checks(self, values: dict[str, Any]) -> Iterable[tuple[str, str, Callable[[], None]]]:
        """``(part, label, check)`` triples; ``check()`` raises AssertionError with a diagnosis when wrong."""
        raise NotImplementedError

    def judge_all(self, values: dict[str, Any]) -> list[Result]:
        missing = [name for name in self.names if isinstance(values.get(name), records.Missing)]
        if missing:
            unreadable = [n for n in missing if isinstance(values[n], records.Unreadable)]
            if unreadable:
                text = f"{self.title}: {', '.join(unreadable)}: the recorded value could not be read."
            else:
                text = (f"{self.title} is not answered yet: {', '.join(f'`{n}`' for n in missing)} not defined when "
                        "the self-check ran. Complete the cell above, run it, then run this one.")
            return [Result(part.key, part.description, text, not_answered=not unreadable) for part in self.parts]
        results = []
        for part, label, check in self.checks(values):
            try:
                check()
                results.append(Result(part, label))
            except AssertionError as error:
                results.append(Result(part, label, str(error)))
            except Exception as error:
                results.append(Result(part, label, f"{label}: could not be checked ({type(error).__name__}: "
                                                   f"{str(error)[:200]})."))
        return results


def _hook_ids(module: torch.nn.Module) -> list[set]:
    return [set(getattr(m, attr).keys()) for m in module.modules()
            for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")]


def _remove_new_hooks(module: torch.nn.Module, before: list[set]) -> int:
    removed, index = 0, 0
    for m in module.modules():
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            hooks = getattr(m, attr)
            for key in [k for k in hooks if k not in before[index]]:
                del hooks[key]
                removed += 1
            index += 1
    return removed


def _requires_grad(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(value.requires_grad)
    if isinstance(value, (tuple, list)):
        return any(_requires_grad(item) for item in value)
    return False


def _detached(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, tuple):
        return tuple(_detached(item) for item in value)
    if isinstance(value, list):
        return [_detached(item) for item in value]
    return value


# ----------------------------------------------------------------------------------------------------------------
# A lab: its exercises, and the notebook entry points.


class Lab:
    """The graded exercises of one lab and the two functions its notebook calls.

    ``scratch_imports``: the imports a from-scratch answer may rely on (the grader runs the answer cells after them
    in a sandbox without Captum, ``helpers.reference`` and ``helpers.evaluation``).
    """

    def __init__(self, name: str, exercises: list[Exercise], scratch_imports: str = DEFAULT_SCRATCH_IMPORTS):
        ids = [exercise.grade_id for exercise in exercises]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate exercise ids in {name}: {ids}")
        self.name, self.exercises, self.scratch_imports = name, list(exercises), scratch_imports
        self._cache: dict[str, tuple] = {}

    def exercise(self, grade_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.grade_id == grade_id:
                return exercise
        raise KeyError(f"{self.name} has no exercise {grade_id!r}; it has {[e.grade_id for e in self.exercises]}")

    @property
    def function_names(self) -> set[str]:
        return {e.function for e in self.exercises if isinstance(e, FunctionExercise)}

    def scratch_names(self) -> set[str]:
        """Names bound by :attr:`scratch_imports`."""
        names = set()
        for node in ast.walk(ast.parse(self.scratch_imports)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        return names

    # -- notebook entry points ------------------------------------------------------------------------------------
    def self_check(self, grade_id: str, variant: int = 0, namespace: dict | None = None) -> None:
        """Check the exercise ``grade_id`` on the notebook's answer; print one line per part; raise if any fails.

        ``variant`` other than 0 runs the grader's hidden cases (the instructor's notebook does that).
        While the grader runs the notebook, this records the values instead (see :data:`RECORD_ENV`).
        """
        __tracebackhide__ = True
        namespace = namespace if namespace is not None else sys._getframe(1).f_globals
        exercise = self.exercise(grade_id)
        folder = os.environ.get(RECORD_ENV)
        if folder:
            self._record(exercise, namespace, Path(folder))
            return
        results = self._evaluate(exercise, namespace, variant)
        _report(exercise, results, variant)

    def show_progress(self, namespace: dict | None = None) -> None:
        """Print one line per exercise: passed / not answered yet / failing, with points (see :meth:`progress`)."""
        namespace = namespace if namespace is not None else sys._getframe(1).f_globals
        if os.environ.get(RECORD_ENV):
            print("Your progress: computed by the grader from your answers.")
            return
        rows = self.progress(namespace)
        for title, status, score, points in rows:
            print(f"{title} ({points:g} points): {status} [{score:g}/{points:g}]")
        earned, total = sum(r[2] for r in rows), sum(r[3] for r in rows)
        print(f"Autograded points: {earned:g}/{total:g}. Written questions are graded by your instructor. The grader "
              "re-runs your functions on other models and inputs of the same kinds as the self-checks.")

    def progress(self, namespace: dict) -> list[tuple[str, str, float, float]]:
        """``(exercise title, status, points earned, points)`` per exercise; re-checks only answers that changed
        since their last self-check."""
        rows = []
        for exercise in self.exercises:
            try:
                with redirect_stdout(io.StringIO()):
                    results = self._evaluate(exercise, namespace, 0, use_cache=True)
            except Exception as error:  # the student's own function crashed
                results = [Result(p.key, p.description, f"raised {type(error).__name__}: {str(error)[:100]}")
                           for p in exercise.parts]
            score = exercise.score(results)
            if any(r.not_answered for r in results):
                status = "not answered yet"
            elif score == exercise.points:
                status = "passed"
            else:
                first = next(r for r in results if r.error)
                status = f"failing: {first.error.splitlines()[0][:110]}"
            rows.append((exercise.title, status, score, exercise.points))
        return rows

    # -- evaluation --------------------------------------------------------------------------------------------------
    def _evaluate(self, exercise: Exercise, namespace: dict, variant: int, use_cache: bool = False) -> list[Result]:
        """Check ``exercise`` on the notebook's answer; ``use_cache`` reuses the last results if the answer is the
        same object (a function) or holds the same values (variables)."""
        __tracebackhide__ = True
        if isinstance(exercise, ValueExercise):
            values = {name: records.round_trip(namespace[name]) if name in namespace else records.Missing()
                      for name in exercise.names}
            key, keep = ("values", _fingerprint(values), variant), None
        else:
            function = namespace.get(exercise.function)
            if not callable(function):
                return [Result(p.key, p.description, f"{exercise.title} is not answered yet: `{exercise.function}` "
                               "is not defined. Complete the cell above and run it.", not_answered=True)
                        for p in exercise.parts]
            key, keep = ("function", id(function), id(getattr(function, "__code__", None)), variant), function
        cached = self._cache.get(exercise.grade_id)
        if use_cache and cached is not None and cached[0] == key:
            return cached[1]
        if isinstance(exercise, ValueExercise):
            results = exercise.judge_all(values)
        else:
            results = self._evaluate_function(exercise, function, variant)
        self._cache[exercise.grade_id] = (key, results, keep)  # keep: the function stays alive, its id unique
        return results

    def _evaluate_function(self, exercise: FunctionExercise, function: Callable, variant: int) -> list[Result]:
        __tracebackhide__ = True
        from helpers.exercises.guard import from_scratch

        foreign = foreign_globals(function, self.scratch_names() | self.function_names)
        if foreign:
            message = (f"{exercise.function} uses {', '.join(f'`{n}`' for n in foreign)}, defined elsewhere in the "
                       "notebook. The grader runs your answer cells after the lab's imports only: define "
                       f"{'it' if len(foreign) == 1 else 'them'} in this answer cell or inside the function.")
            return [Result(p.key, p.description, message) for p in exercise.parts]
        results = []
        for case in exercise.cases(variant):
            try:
                result, flags = from_scratch(exercise.call, function, case, name=exercise.function)
            except NotImplementedError:
                return [Result(p.key, p.description, f"{exercise.title} is not answered yet: complete "
                               f"`{exercise.function}` in the cell above (replace `raise NotImplementedError()`), "
                               "run that cell, then this one.", not_answered=True) for p in exercise.parts]
            except AssertionError as error:
                if "implement the method yourself" in str(error):  # from_scratch: Captum or the reference was called
                    results.append(Result(case.part, case.label, f"{case.label}: {error}", hidden=variant != 0))
                    continue
                _print_results(exercise, results, variant)
                raise
            except Exception:
                _print_results(exercise, results, variant)
                raise
            error = exercise.judge(case, records.round_trip(result), flags)
            results.append(Result(case.part, case.label, error, hidden=variant != 0))
        return results

    def _record(self, exercise: Exercise, namespace: dict, folder: Path) -> None:
        """Inside the grading sandbox: write the exercise's values for the trusted checker; check nothing here."""
        if isinstance(exercise, ValueExercise):
            for name in exercise.names:
                key = f"{exercise.grade_id}.{name}"
                if name in namespace:
                    records.save(folder, key, namespace[name])
                else:
                    records.save(folder, key, description={"kind": "missing", "reason": f"{name} not defined"})
            print(f"{exercise.title}: answer recorded; the grader checks it outside the notebook.")
        else:
            print(f"{exercise.title}: the grader runs `{exercise.function}` in its own sandbox.")


def _fingerprint(values: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(values):
        description, arrays = records.snapshot(values[name])
        digest.update(name.encode() + repr(description).encode())
        for array in arrays:
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def foreign_globals(function: Callable, allowed: set[str]) -> list[str]:
    """Global names ``function`` reads that the grader's sandbox would not define: not builtins, not in ``allowed``,
    and not bound at the top level of the notebook cell that defined the function. Empty when the function's cell
    source is unknown (not defined in a notebook)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return []
    cell_source = "".join(linecache.getlines(code.co_filename))
    if not cell_source:
        return []
    try:
        cell_names = _top_level_names(ast.parse(cell_source))
    except SyntaxError:
        return []
    used = set()
    stack = [code]
    while stack:
        current = stack.pop()
        for instruction in dis.get_instructions(current):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(instruction.argval, str):
                used.add(instruction.argval)
        stack += [c for c in current.co_consts if isinstance(c, types.CodeType)]
    known = allowed | cell_names | set(dir(builtins)) | {"__name__", "__file__"}
    return sorted(name for name in used - known if name in function.__globals__)


def _top_level_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    return names


# ----------------------------------------------------------------------------------------------------------------
# What the student sees.


def _print_results(exercise: Exercise, results: list[Result], variant: int) -> None:
    which = "" if variant == 0 else " (hidden cases)"
    print(f"{exercise.title}{which} ({exercise.points:g} points):")
    for part in exercise.parts:
        mine = [r for r in results if r.part == part.key]
        failed = [r for r in mine if r.error]
        if not mine:
            mark, text = "·", "not checked yet"
        elif failed:
            mark, text = "✘", failed[0].error
        else:
            mark, text = "✔", f"{len(mine)} check{'s' if len(mine) > 1 else ''} passed"
        print(f"  {mark} {part.description} ({part.points:g} point{'s' if part.points != 1 else ''}): {text}")


def _report(exercise: Exercise, results: list[Result], variant: int) -> None:
    """Print the per-part lines; raise NotAnswered or SelfCheckFailed unless every check passed."""
    __tracebackhide__ = True
    unanswered = next((r for r in results if r.not_answered), None)
    if unanswered is not None:
        raise NotAnswered(unanswered.error)
    score = exercise.score(results)
    which = "" if variant == 0 else " on the hidden cases"
    if score == exercise.points and all(r.error is None for r in results):
        print(f"{exercise.title}: correct{which}: {score:g}/{exercise.points:g} points "
              f"({len(results)} checks passed).")
        return
    _print_results(exercise, results, variant)
    first = next(r for r in results if r.error)
    raise SelfCheckFailed(f"{exercise.title}{which}: {score:g}/{exercise.points:g} points so far. {first.error}")
