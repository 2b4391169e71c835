"""helpers.checks: the checker passes right answers and names each typical mistake.

Mistakes are built from real Captum attributions on SmallCNN where easy, synthetic tensors otherwise.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from captum.attr import IntegratedGradients, LayerGradCam, Occlusion, Saliency

from helpers.checks import assert_close_scalar, check_attribution, check_ranking
from helpers.models import SmallCNN

TARGET = 3


@pytest.fixture(scope="module")
def model():
    return SmallCNN(in_channels=3, seed=0)


@pytest.fixture(scope="module")
def inputs():
    return torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)).requires_grad_()


@pytest.fixture(scope="module")
def signed(model, inputs):
    """Captum's signed saliency, (2, 3, 16, 16)."""
    return Saliency(model).attribute(inputs, target=TARGET, abs=False)


@pytest.fixture(scope="module")
def absolute(model, inputs):
    """Captum's default saliency |dF/dx|, (2, 3, 16, 16)."""
    return Saliency(model).attribute(inputs, target=TARGET)


def message_of(actual, expected, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        check_attribution(actual, expected, **kwargs)
    return str(info.value)


# --- passing ---------------------------------------------------------------------------------------------


def test_passes_an_independent_gradient(model, inputs, signed):
    x = inputs.detach().clone().requires_grad_()
    (gradient,) = torch.autograd.grad(model(x)[:, TARGET].sum(), x)
    assert check_attribution(gradient, signed) is None


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_tolerance_is_scale_free(signed, scale):
    expected = signed * scale
    check_attribution(expected * (1 + 5e-5), expected)  # inside rtol=1e-4
    assert "close but not within tolerance" in message_of(expected * (1 + 5e-4), expected)


def test_default_atol_is_relative_to_the_largest_value(signed):
    nudged = signed + 5e-6 * signed.abs().max()  # below atol = 1e-5 * max|expected| everywhere
    check_attribution(nudged, signed, rtol=0)
    with pytest.raises(AssertionError):
        check_attribution(signed + 2e-5 * signed.abs().max(), signed, rtol=0)


def test_explicit_atol_is_used(signed):
    check_attribution(signed + 0.5, signed, atol=1.0)
    with pytest.raises(AssertionError):
        check_attribution(signed + 0.5, signed, atol=0.1)


# --- 1. type -------------------------------------------------------------------------------------------


def test_numpy_array_is_named_and_its_values_still_checked(signed):
    message = message_of(signed.numpy(), signed)
    assert "NumPy" in message and "torch.Tensor" in message and "your values are right" in message
    assert "negative" in message_of(-signed.numpy(), signed)


def test_tuple_of_one_tensor(signed):
    message = message_of((signed,), signed)
    assert "tuple" in message and "single tensor" in message and "your values are right" in message


def test_none_is_named(signed):
    assert "None" in message_of(None, signed)


class ArrayRaises:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    "broken",
    ["a string", [[1.0, 2.0], [3.0]], ArrayRaises(), np.array([object(), "x"], dtype=object), 3.5,
     (torch.ones(2), torch.ones(2))],
    ids=["str", "ragged-list", "array-raises", "object-array", "float", "tuple-of-two"],
)
def test_broken_input_gives_assertion_error(signed, broken):
    message = message_of(broken, signed)
    assert "torch.Tensor" in message


def test_complex_tensor_gives_assertion_error(signed):
    assert "complex64" in message_of(signed.to(torch.complex64), signed)


def test_sparse_tensor_is_named(signed):
    message = message_of(signed.to_sparse(), signed)
    assert "dense" in message and "your values are right" in message


def test_exception_inside_the_diagnosis_gives_a_short_assertion_error(signed):
    class Exploding(torch.Tensor):  # every torch operation on it raises a long error
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            raise RuntimeError("kaboom\n" + "detail " * 1000)

    message = message_of(signed.as_subclass(Exploding), signed)
    assert "kaboom" in message and "detail" not in message


# --- 2. NaN / inf --------------------------------------------------------------------------------------


def test_nan_and_inf_are_counted(signed):
    broken = signed.clone()
    broken[0, 0, 0, 0] = float("nan")
    broken[0, 0, 0, 1] = float("inf")
    message = message_of(broken, signed)
    assert "1 NaN" in message and "1 infinite" in message


# --- 3. shape ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reduce, words",
    [
        (lambda t: t.sum(1), "the sum over the channels"),
        (lambda t: t.mean(1), "the mean over the channels"),
        (lambda t: t.amax(1), "the max over the channels"),
        (lambda t: t.abs().amax(1, keepdim=True), "the max of absolute values over the channels"),
    ],
    ids=["sum", "mean", "max", "max-abs-keepdim"],
)
def test_channel_reduction_is_named(signed, reduce, words):
    message = message_of(reduce(signed), signed)
    assert "do not reduce over the channels" in message and words in message


def test_channel_reduction_of_unknown_kind(signed):
    message = message_of(signed.norm(dim=1), signed)
    assert "do not reduce over the channels" in message and "Your values are the" not in message


def test_gradcam_not_summed_over_channels(model, inputs):
    """Weights * activations per channel of conv2, summed over channels, is Captum's Grad-CAM."""
    expected = LayerGradCam(model, model.conv2).attribute(inputs, target=TARGET)
    captured = {}
    handle = model.conv2.register_forward_hook(lambda module, args, output: captured.setdefault("a", output))
    try:
        output = model(inputs)
    finally:
        handle.remove()
    (gradients,) = torch.autograd.grad(output[:, TARGET].sum(), captured["a"])
    per_channel = gradients.mean(dim=(2, 3), keepdim=True) * captured["a"]
    message = message_of(per_channel.detach(), expected, method="gradcam")
    assert "reduce over the channels" in message
    assert "The sum over the channels of your values gives the expected ones" in message
    assert "sum weights*activations over channels" in message


def test_missing_batch_dimension(signed):
    expected = signed[:1]
    message = message_of(expected[0], expected)
    assert "batch dimension is missing" in message and "your values are right" in message


def test_extra_leading_dimension(signed):
    message = message_of(signed[None], signed)
    assert "extra leading dimension" in message


def test_size_one_channel_dimension(absolute):
    expected = absolute.amax(1, keepdim=True)
    message = message_of(expected[:, 0], expected)
    assert "dimension of size 1" in message and "your values are right" in message


def test_channels_last_layout(signed):
    message = message_of(signed.permute(0, 2, 3, 1), signed)
    assert "channels-last" in message and "your values are right" in message


def test_other_shape(signed):
    message = message_of(signed[:, :, :8], signed)
    assert "shape (2, 3, 8, 16)" in message and "(2, 3, 16, 16) is expected" in message


def test_wrong_batch_size(signed):
    assert "attribute every input" in message_of(signed[:1], signed)


# --- 4. dtype / device ---------------------------------------------------------------------------------


def test_float64_is_named_and_values_still_checked(signed):
    message = message_of(signed.double(), signed)
    assert "float64" in message and "float32" in message and "your values are right" in message
    message = message_of(-signed.double(), signed)
    assert "float64" in message and "sign is flipped" in message


# --- 5. values -----------------------------------------------------------------------------------------


def test_occlusion_sign_flipped(model, inputs):
    occlusion = Occlusion(model)
    expected = occlusion.attribute(inputs, target=TARGET, sliding_window_shapes=(3, 4, 4), strides=(3, 2, 2))
    message = message_of(-expected, expected, method="occlusion")
    assert "sign is flipped" in message and "F(x) - F(x_occluded)" in message


def test_absolute_value_missing(signed, absolute):
    message = message_of(signed, absolute, method="saliency")
    assert "absolute value is missing" in message and "abs=True" in message


def test_absolute_value_extra(signed, absolute):
    message = message_of(absolute, signed, method="saliency")
    assert "absolute values of the expected ones" in message and "abs=False" in message


def test_relu_missing_and_extra(model, inputs):
    gradcam = LayerGradCam(model, model.conv2)
    plain = gradcam.attribute(inputs, target=TARGET)
    with_relu = gradcam.attribute(inputs, target=TARGET, relu_attributions=True)
    assert (plain < 0).any(), "the test needs negative Grad-CAM values"
    assert "ReLU" in message_of(plain, with_relu, method="gradcam")
    assert "negative values are set to 0" in message_of(with_relu, plain, method="gradcam")


def test_squared(absolute):
    assert "squares" in message_of(absolute**2, absolute)


def test_gradient_accumulated_twice(model, inputs, signed):
    x = inputs.detach().clone().requires_grad_()
    for _ in range(2):  # the mistake: backward() twice without zeroing x.grad
        model(x)[:, TARGET].sum().backward()
    message = message_of(x.grad, signed)
    assert "scaled by a constant factor of 2" in message and "accumulated twice" in message


@pytest.mark.parametrize("k, words", [(3.7, "factor of 3.7"), (5.0, "sum over 5 items"),
                                      (0.25, "mean over 4 items"), (-3.0, "sign is flipped too")])
def test_scaled_by_a_constant(signed, k, words):
    message = message_of(signed * k, signed)
    assert "scaled by a constant factor" in message and words in message


def test_alternatives_are_named(model, inputs, signed):
    other_target = Saliency(model).attribute(inputs, target=5, abs=False)
    softmax = Saliency(lambda x: torch.softmax(model(x), dim=1)).attribute(inputs, target=TARGET, abs=False)
    alternatives = {
        "the attribution for target 5 instead of 3": other_target,
        "the gradient of the softmax probability instead of the raw logit": softmax,
    }
    assert "target 5 instead of 3" in message_of(other_target, signed, alternatives=alternatives)
    assert "softmax probability" in message_of(softmax, signed, alternatives=alternatives)


def test_ig_without_multiplying_by_inputs(model, inputs):
    expected = IntegratedGradients(model).attribute(inputs, target=TARGET, n_steps=16)
    student = IntegratedGradients(model, multiply_by_inputs=False).attribute(inputs, target=TARGET, n_steps=16)
    message = message_of(student, expected, method="integrated_gradients")
    assert "(inputs - baselines)" in message and "correlation" in message


def test_uncorrelated(signed):
    noise = torch.randn(signed.shape, generator=torch.Generator().manual_seed(1))
    message = message_of(noise, signed)
    assert "uncorrelated" in message and "another target class" in message


def test_all_zero(signed):
    assert "all zero" in message_of(torch.zeros_like(signed), signed)


# --- caller errors -------------------------------------------------------------------------------------


def test_bad_reference_arguments_raise(signed):
    with pytest.raises(TypeError, match="expected"):
        check_attribution(signed, signed.numpy())
    with pytest.raises(ValueError, match="method"):
        check_attribution(signed, signed, method="salience")
    with pytest.raises(ValueError, match="alternatives"):
        check_attribution(signed, signed, alternatives={"wrong shape": signed[0]})
    with pytest.raises(ValueError, match="rtol"):
        check_attribution(signed, signed, rtol=-1)


# --- check_ranking -------------------------------------------------------------------------------------


def test_ranking_passes_a_noisy_monotone_transform(absolute):
    noise = torch.rand(absolute.shape, generator=torch.Generator().manual_seed(2))
    noisy = absolute**3 + 1e-3 * absolute.max() ** 3 * noise
    assert not torch.equal(noisy.flatten().argsort(), absolute.flatten().argsort()), "the noise must change ranks"
    check_ranking(noisy, absolute, min_spearman=0.9)


def test_ranking_fails_shuffled_values_naming_spearman(absolute):
    shuffled = absolute.flatten()[torch.randperm(absolute.numel(), generator=torch.Generator().manual_seed(3))]
    with pytest.raises(AssertionError, match="Spearman.*uncorrelated"):
        check_ranking(shuffled.reshape(absolute.shape), absolute)


def test_ranking_threshold_matches_scipy_with_ties():
    generator = torch.Generator().manual_seed(4)
    expected = torch.randint(0, 6, (200,), generator=generator).float()  # many ties, like superpixels
    actual = expected + 3 * torch.randn(200, generator=generator)
    rho = scipy.stats.spearmanr(actual.numpy(), expected.numpy()).statistic
    assert 0.3 < rho < 0.95
    check_ranking(actual, expected, min_spearman=rho - 1e-9)
    with pytest.raises(AssertionError, match=f"{rho:.3f}"):
        check_ranking(actual, expected, min_spearman=rho + 1e-9)


def test_ranking_names_a_flipped_sign(signed):
    with pytest.raises(AssertionError, match="sign is flipped"):
        check_ranking(-signed, signed)


def test_ranking_top_k_overlap():
    expected = torch.arange(10.0)
    swapped = expected.clone()
    swapped[[9, 0]] = swapped[[0, 9]]  # the largest entry moves to the bottom: Spearman stays high
    check_ranking(swapped, expected, min_spearman=0.0, top_k=3, min_top_k_overlap=0.6)
    with pytest.raises(AssertionError, match="top 3"):
        check_ranking(swapped, expected, min_spearman=0.0, top_k=3, min_top_k_overlap=0.9)


def test_ranking_shares_structural_diagnostics(absolute):
    with pytest.raises(AssertionError, match="NumPy"):
        check_ranking(absolute.numpy().astype(np.float32) * 2, absolute.double())
    with pytest.raises(AssertionError, match="do not reduce over the channels"):
        check_ranking(absolute.sum(1), absolute)
    with pytest.raises(AssertionError, match="torch.Tensor"):
        check_ranking("not a tensor", absolute)


# --- assert_close_scalar -------------------------------------------------------------------------------


def test_assert_close_scalar():
    assert_close_scalar(torch.tensor(3), 3, name="predicted class")
    assert_close_scalar(np.float32(0.5), 0.50001, name="delta")
    with pytest.raises(AssertionError, match="predicted class: expected 3, got 4"):
        assert_close_scalar(torch.tensor([4]), 3, name="predicted class")
    with pytest.raises(AssertionError, match=r"shape \(2,\).*item"):
        assert_close_scalar(torch.tensor([3, 4]), 3, name="predicted class")
    with pytest.raises(AssertionError, match="str"):
        assert_close_scalar("3", 3, name="predicted class")
