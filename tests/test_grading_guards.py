"""helpers.grading: from-scratch exercises may not call Captum or the reference; patched libraries are detected."""
import pytest
import torch
from captum.attr import Saliency

import helpers.checks
from helpers import reference
from helpers.grading import assert_untampered, from_scratch
from helpers.models import SmallCNN

MODEL = SmallCNN(in_channels=1)
X = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def own_gradient(model, inputs, target):
    inputs = inputs.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(inputs)[:, target].sum(), inputs)
    return grad.abs()


def test_from_scratch_returns_the_result_of_an_own_implementation():
    result = from_scratch(own_gradient, MODEL, X, 3)
    torch.testing.assert_close(result, reference.vanilla_gradient(MODEL, X, target=3))


@pytest.mark.parametrize("shortcut", [
    lambda model, inputs, target: reference.vanilla_gradient(model, inputs, target),
    lambda model, inputs, target: Saliency(model).attribute(inputs, target=target),
])
def test_from_scratch_rejects_calls_to_the_reference_or_captum(shortcut):
    with pytest.raises(AssertionError, match="implement the method yourself"):
        from_scratch(shortcut, MODEL, X, 3)


def test_from_scratch_sees_aliases():
    alias = reference.vanilla_gradient
    with pytest.raises(AssertionError, match="reference implementation"):
        from_scratch(lambda m, x, t: alias(m, x, t), MODEL, X, 3)


def test_assert_untampered_passes_on_a_clean_session():
    assert_untampered()


def test_assert_untampered_detects_a_patched_torch_function(monkeypatch):
    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    with pytest.raises(AssertionError, match="torch.allclose"):
        assert_untampered()


def test_assert_untampered_detects_a_patched_checker(monkeypatch):
    monkeypatch.setattr(helpers.checks, "check_attribution", lambda *args, **kwargs: None)
    with pytest.raises(AssertionError, match="check_attribution"):
        assert_untampered()


def test_assert_untampered_detects_a_rebound_name_in_the_notebook():
    namespace = {"assert_untampered": assert_untampered, "check_attribution": lambda *args, **kwargs: None}
    with pytest.raises(AssertionError, match="redefined check_attribution"):
        exec("assert_untampered()", namespace)
    namespace["check_attribution"] = helpers.checks.check_attribution
    exec("assert_untampered()", namespace)
