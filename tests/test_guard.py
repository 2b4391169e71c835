"""helpers.exercises.guard: the self-check tells a student whose from-scratch function calls Captum or the reference."""
import pytest
import torch
from captum.attr import Saliency

from helpers import reference
from helpers.exercises.guard import from_scratch
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


def test_from_scratch_names_the_students_function():
    with pytest.raises(AssertionError, match="^vanilla_gradient called Captum"):
        from_scratch(lambda m, x, t: Saliency(m).attribute(x, target=t), MODEL, X, 3, name="vanilla_gradient")
