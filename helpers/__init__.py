"""Helpers for the explainable-AI course: reference implementations, models, images, checks.

Import what you need from the submodules, e.g. ``from helpers import reference`` or
``from helpers.checks import check_attribution``. Importing ``helpers`` itself is cheap.
"""
__version__ = "0.1.0"
