"""Guards used by the graded test cells of the labs.

- :func:`from_scratch` runs a student's from-scratch function and fails if it called Captum or the course's
  reference implementations (those exercises ask for the method written by hand).
- :func:`assert_untampered` fails if the notebook replaced functions of ``torch``, ``captum``, ``numpy`` or
  ``helpers`` (e.g. ``torch.allclose = lambda *a: True`` or ``helpers.checks.check_attribution = ...``): a
  patched library would make the checks meaningless.

Both raise ``AssertionError`` with a message for the student, so a test cell fails with an explanation and
the rest of the notebook is still graded.
"""
from __future__ import annotations

import contextlib
import sys
import sysconfig
import types
from pathlib import Path

import numpy
import torch

import helpers

_FORBIDDEN_DIRS = {
    "the course's reference implementation": str(Path(helpers.__file__).resolve().parent / "reference.py"),
    "the course's reference metrics": str(Path(helpers.__file__).resolve().parent / "evaluation.py"),
}


def _captum_dir() -> str | None:
    try:
        import captum
    except ImportError:  # pragma: no cover - captum is a dependency
        return None
    return str(Path(captum.__file__).resolve().parent)


def from_scratch(function, *args, **kwargs):
    """Call ``function(*args, **kwargs)`` and fail if it used Captum, ``helpers.reference`` or ``helpers.evaluation``.

    Returns what the function returned. The check uses ``sys.setprofile``, so it also sees calls made through
    aliases (``from helpers.reference import vanilla_gradient as vg``).
    """
    forbidden = dict(_FORBIDDEN_DIRS)
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
        name = getattr(function, "__name__", "your function")
        raise AssertionError(
            f"{name} called {seen[0]}. This exercise asks you to implement the method yourself with plain "
            "PyTorch (torch.autograd.grad, tensor operations); Captum and helpers.reference are for checking only."
        )
    return result


def _library_dirs() -> list[str]:
    """Folders whose code counts as library code: the standard library, installed packages, helpers, torch."""
    dirs = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs |= {str(Path(module.__file__).parent) for module in (torch, numpy, helpers)}
    captum_dir = _captum_dir()
    if captum_dir:
        dirs.add(captum_dir)
    return sorted(str(Path(d).resolve()) for d in dirs)


def _patched_functions(namespace, label: str, library_dirs: list[str]) -> list[str]:
    """Names in ``namespace`` bound to Python functions whose code is not library code (notebook code)."""
    found = []
    for attr, value in list(vars(namespace).items()):
        code = getattr(value, "__code__", None)
        if code is None or not isinstance(value, (types.FunctionType, types.MethodType)):
            continue
        filename = code.co_filename
        if filename.startswith("<") or not any(str(Path(filename).resolve()).startswith(d) for d in library_dirs):
            found.append(f"{label}.{attr}")
    return found


def _rebound_names(caller_globals: dict) -> list[str]:
    """Names the test cells use (``check_attribution``, ``reference``, ``torch``, ...) that the notebook rebound."""
    import helpers.checks
    import helpers.reference

    genuine = {"torch": torch, "np": numpy, "numpy": numpy, "reference": helpers.reference,
               "from_scratch": from_scratch, "assert_untampered": assert_untampered}
    genuine.update({name: getattr(helpers.checks, name) for name in ("check_attribution", "check_ranking",
                                                                     "assert_close_scalar")
                    if hasattr(helpers.checks, name)})
    return [name for name, obj in genuine.items() if name in caller_globals and caller_globals[name] is not obj]


def assert_untampered() -> None:
    """Fail if torch, numpy, captum or helpers functions were replaced by code written in the notebook, or if the
    notebook rebound a name the tests use (e.g. ``check_attribution = lambda *args, **kwargs: None``)."""
    import torch.nn.functional
    import torch.testing

    allowed = _library_dirs()
    namespaces = {
        "torch": torch, "torch.Tensor": torch.Tensor, "torch.nn.functional": torch.nn.functional,
        "torch.autograd": torch.autograd, "torch.testing": torch.testing, "numpy": numpy,
    }
    for name, module in list(sys.modules.items()):
        if name == "helpers" or name.startswith("helpers.") or name == "captum.attr":
            namespaces[name] = module
    patched = []
    for label, namespace in namespaces.items():
        patched += _patched_functions(namespace, label, allowed)
    if patched:
        raise AssertionError(
            "Your notebook replaced library functions: " + ", ".join(sorted(patched)[:5])
            + ". Restart the kernel and do not reassign functions of torch, numpy, captum or helpers; "
            "the tests cannot be trusted otherwise."
        )
    rebound = _rebound_names(sys._getframe(1).f_globals)
    if rebound:
        raise AssertionError(
            "Your notebook redefined " + ", ".join(rebound) + ", which the tests use. Restart the kernel, remove "
            "those assignments and run the notebook again: the tests cannot be trusted otherwise."
        )
