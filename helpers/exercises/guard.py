"""A hint for honest students, in their own kernel: a from-scratch function that calls Captum, ``helpers.reference``
or ``helpers.evaluation`` is told so at once by its self-check.

It is a hint, not a guard: code in the kernel can defeat a profiler hook. The grader does not rely on it: it runs
from-scratch functions in a sandbox where those modules do not exist (:mod:`helpers.grader.scratch`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import helpers

__all__ = ["from_scratch"]

_PACKAGE = Path(helpers.__file__).resolve().parent
_FORBIDDEN = {"the course's reference implementation": str(_PACKAGE / "reference.py"),
              "the course's reference metrics": str(_PACKAGE / "evaluation.py")}


def _captum_dir() -> str | None:
    try:
        import captum
    except ImportError:  # pragma: no cover - captum is a dependency
        return None
    return str(Path(captum.__file__).resolve().parent)


def from_scratch(function, *args, name: str | None = None, **kwargs):
    """``function(*args, **kwargs)``; AssertionError if it called Captum, ``helpers.reference`` or
    ``helpers.evaluation`` (seen with ``sys.setprofile``, so aliases are seen too). ``name`` names the student's
    function in the message (default: ``function.__name__``)."""
    forbidden = dict(_FORBIDDEN)
    captum_dir = _captum_dir()
    if captum_dir:
        forbidden["Captum"] = captum_dir
    seen: list[str] = []

    def profiler(frame, event, arg):
        if event != "call" or seen:
            return
        filename = frame.f_code.co_filename
        for what, path in forbidden.items():
            if filename.startswith(path):
                seen.append(f"{what} ({frame.f_code.co_name} in {Path(filename).name})")

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        result = function(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    if seen:
        name = name or getattr(function, "__name__", "your function")
        raise AssertionError(
            f"{name} called {seen[0]}. This exercise asks you to implement the method yourself with plain "
            "PyTorch (torch.autograd.grad, tensor operations); Captum and helpers.reference are for checking only.")
    return result
