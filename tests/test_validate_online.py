"""The online path (Colab: torchvision's ResNet18) passes nbgrader validate in every lab.

Offline (EfficientNet-Lite0), each solution runs under nbval (tests/ solutions/, outputs checked), the simulated class
gives it full marks through the grader (tests/test_autograde.py, a stronger check than validate: the scores come from
the trusted checker), and nbgrader validate --invert runs every student notebook (tests/test_validate_invert.py).

No network here: random ResNet18 weights stand in for the real ones in a temporary torch hub cache, from where
torchvision loads them without downloading. Predictions are then meaningless, so this proves the code paths and that
nothing in a lab assumes the offline model (every check compares with references computed on the model in use).
"""
import os
import subprocess
import sys

import pytest
import torch
from torchvision.models import resnet18

from helpers import course

LABS = course.labs()


@pytest.fixture(scope="module")
def torch_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("torch_home")
    checkpoints = home / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(resnet18(weights=None).state_dict(), checkpoints / "resnet18-f37072fd.pth")
    return home


class ValidateOnline:
    """One lab (a test class per lab below: pytest-xdist's --dist loadscope spreads them over the workers)."""

    lab = ""

    def test_solution_passes_validate_with_resnet18(self, torch_home):
        result = course.nbgrader("validate", str(course.solution_path(self.lab)), check=False,
                                 env={"TORCH_HOME": str(torch_home), "XAI_OFFLINE": ""})
        assert "Success! Your notebook passes all the tests." in result.stdout, \
            result.stdout[-4000:] + result.stderr[-2000:]


for _lab in LABS:
    globals()[f"TestOnline_{_lab}"] = type(f"TestOnline_{_lab}", (ValidateOnline,), {"lab": _lab})


def test_the_stand_in_weights_give_resnet18(torch_home):
    """The fixture really puts the labs on the online path."""
    code = "from helpers.imagenet import load_imagenet_model; print(load_imagenet_model().name)"
    env = {**os.environ, "TORCH_HOME": str(torch_home), "XAI_OFFLINE": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "resnet18", result.stdout + result.stderr
