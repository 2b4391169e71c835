"""Run-time settings shared by the notebooks.

``LIGHT_DEMOS`` is True while nbgrader executes a notebook (``nbgrader validate`` or ``nbgrader autograde`` set
the environment variable ``NBGRADER_EXECUTION``). Demonstration cells may then use lighter settings (fewer
steps or samples, fewer plots); graded cells never read it, so grades do not depend on it. Set
``XAI_FULL_DEMOS=1`` to run the full demonstrations during grading as well.
"""
from __future__ import annotations

import os

NBGRADER_EXECUTION = os.environ.get("NBGRADER_EXECUTION", "")
LIGHT_DEMOS = bool(NBGRADER_EXECUTION) and os.environ.get("XAI_FULL_DEMOS", "") != "1"


def demo_setting(full, light):
    """Return ``light`` while nbgrader grades the notebook (see ``LIGHT_DEMOS``), ``full`` otherwise."""
    return light if LIGHT_DEMOS else full
