"""The graded exercises of every lab, one module each (``lab01`` ... ): their cases, parts and checks.

A notebook imports its lab's ``self_check`` and ``show_progress``; the instructor's grader (:mod:`helpers.grader`)
imports the same module to check recorded answers in a trusted process. See :mod:`helpers.exercises.core`.
"""
import importlib


def lab_module(lab: str):
    """The exercise module of ``lab`` (e.g. ``"02_saliency"`` -> ``helpers.exercises.lab02``)."""
    number = lab.split("_")[0]
    if not number.isdigit():
        raise ValueError(f"lab should start with its number, e.g. '02_saliency', got {lab!r}")
    return importlib.import_module(f"helpers.exercises.lab{number}")
