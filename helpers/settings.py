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


def choose_device(verbose: bool = True):
    """The lab's device, chosen once at the top of every lab: ``cuda`` when a GPU is available, else ``cpu``.

    ``XAI_DEVICE=cpu`` forces the CPU. On a GPU it turns TF32 off (matrix products and convolutions then round like
    float32 on the CPU, so the self-checks' tolerances hold). Prints one line saying which device and why.
    """
    import torch

    wanted = os.environ.get("XAI_DEVICE", "").strip().lower()
    if wanted not in ("", "cpu", "cuda"):
        raise ValueError(f"XAI_DEVICE should be 'cpu', 'cuda' or unset, got {wanted!r}")
    use_cuda = torch.cuda.is_available() and wanted != "cpu"
    if use_cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    device = torch.device("cuda" if use_cuda else "cpu")
    if verbose:
        reason = (torch.cuda.get_device_name(0) if use_cuda else
                  "XAI_DEVICE=cpu" if wanted == "cpu" and torch.cuda.is_available() else "no GPU found")
        print(f"Device: {device} ({reason})")
    return device
