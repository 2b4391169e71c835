"""helpers.reference against Captum 0.9 (the independent implementation) and against analytic results."""
from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
import torchvision
from captum.attr import (
    Deconvolution,
    FeatureAblation,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    KernelShap,
    LayerConductance,
    LayerGradCam,
    LayerIntegratedGradients,
    Lime,
    NeuronGradient,
    NeuronIntegratedGradients,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import nn

from helpers import reference as R
from helpers.models import ReLU6ForGuidedBackprop, SmallCNN, ToyModel, for_guided_backprop

pytestmark = pytest.mark.filterwarnings("ignore:Setting backward hooks:UserWarning",
                                        "ignore:You are providing multiple inputs:UserWarning")


def assert_matches(actual: torch.Tensor, expected: torch.Tensor, scale: float = 0.0) -> None:
    """Within 1e-5 relative to the largest expected value (or to ``scale``, the outputs' size, when the method
    subtracts outputs: their float32 rounding, which depends on the batch size of each forward pass, is what
    remains); the expected map must not be all zeros."""
    expected = expected.detach()
    assert expected.abs().max() > 0, "degenerate comparison: Captum returned all zeros"
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5 * max(float(expected.abs().max()), scale))


def _output_scale(method: str, model, x) -> float:
    """The largest |output| for the methods that take differences of outputs (occlusion, feature ablation)."""
    if method not in ("occlusion", "feature_ablation"):
        return 0.0
    with torch.no_grad():
        return float(model(x).abs().max())


# ---------------------------------------------------------------- models and inputs
@functools.lru_cache(maxsize=None)
def _model(name: str):
    """(model, layer for layer methods, neuron selector, input shape without batch, classes)."""
    if name == "toy":
        model = ToyModel()
        return model, model.lin1, 2, (3,), 2
    if name == "cnn1":
        model = SmallCNN(in_channels=1, seed=1)
        return model, model.conv2, (3, 2, 5), (1, 28, 28), 10
    if name == "cnn3":
        model = SmallCNN(in_channels=3, seed=2)
        return model, model.conv2, (5, 4, 1), (3, 32, 32), 10
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    return model, model.layer4, (7, 3, 2), (3, 224, 224), 1000


def _inputs(name: str, batch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(batch)
    shape = _model(name)[3]
    return torch.rand((batch, *shape), generator=generator) if name == "toy" else torch.randn((batch, *shape), generator=generator)


def _target(name: str, batch: int, kind: str):
    classes = _model(name)[4]
    if kind == "int":
        return 1
    return torch.tensor([(1 + 7 * i) % classes for i in range(batch)])  # one class per sample


def _occlusion_args(shape: tuple) -> dict:
    if len(shape) == 1:
        return dict(sliding_window_shapes=(2,), strides=(1,))
    if shape[-1] == 224:
        return dict(sliding_window_shapes=(3, 112, 112), strides=(3, 112, 112), perturbations_per_eval=4)
    return dict(sliding_window_shapes=(shape[0], 5, 5), strides=(shape[0], 3, 4), perturbations_per_eval=6)


def _ablation_args(shape: tuple) -> dict:
    """A feature mask of a few regions (labels from 1 on images: FeatureAblation takes them as given), a baseline."""
    if len(shape) == 1:
        return dict(feature_mask=torch.tensor([[0, 1, 0]]), baselines=0.2)
    size = shape[-1] // 4
    blocks = (torch.arange(shape[-1]) // size).view(-1, 1) * 4 + torch.arange(shape[-1]) // size
    baselines = torch.linspace(-1, 1, shape[0]).view(1, -1, 1, 1)
    return dict(feature_mask=(blocks + 1)[None, None], baselines=baselines, perturbations_per_eval=3)


# method -> (reference call, Captum call), both f(model, layer, neuron, inputs, target)
PAIRS = {
    "saliency": (lambda m, l, n, x, t: R.vanilla_gradient(m, x, t),
                 lambda m, l, n, x, t: Saliency(m).attribute(x, target=t)),
    "saliency_signed": (lambda m, l, n, x, t: R.vanilla_gradient(m, x, t, abs=False),
                        lambda m, l, n, x, t: Saliency(m).attribute(x, target=t, abs=False)),
    "input_x_gradient": (lambda m, l, n, x, t: R.input_x_gradient(m, x, t),
                         lambda m, l, n, x, t: InputXGradient(m).attribute(x, target=t)),
    "ig": (lambda m, l, n, x, t: R.integrated_gradients(m, x, t, n_steps=4),
           lambda m, l, n, x, t: IntegratedGradients(m).attribute(x, target=t, n_steps=4)),
    "ig_trapezoid_baseline_batched": (
        lambda m, l, n, x, t: R.integrated_gradients(m, x, t, baselines=0.3, n_steps=5, method="riemann_trapezoid", internal_batch_size=2 * len(x)),
        lambda m, l, n, x, t: IntegratedGradients(m).attribute(x, baselines=0.3, target=t, n_steps=5, method="riemann_trapezoid", internal_batch_size=2 * len(x))),
    "occlusion": (lambda m, l, n, x, t: R.occlusion(m, x, t, **_occlusion_args(x.shape[1:])),
                  lambda m, l, n, x, t: Occlusion(m).attribute(x, target=t, **_occlusion_args(x.shape[1:]))),
    "feature_ablation": (lambda m, l, n, x, t: R.feature_ablation(m, x, t, **_ablation_args(x.shape[1:])),
                         lambda m, l, n, x, t: FeatureAblation(m).attribute(x, target=t, **_ablation_args(x.shape[1:]))),
    "gradcam": (lambda m, l, n, x, t: R.gradcam(m, l, x, t),
                lambda m, l, n, x, t: LayerGradCam(m, l).attribute(x, target=t)),
    "guided_backprop": (lambda m, l, n, x, t: R.guided_backprop(m, x, t),
                        lambda m, l, n, x, t: GuidedBackprop(m).attribute(x, target=t)),
    "deconvolution": (lambda m, l, n, x, t: R.deconvolution(m, x, t),
                      lambda m, l, n, x, t: Deconvolution(m).attribute(x, target=t)),
    "layer_ig": (lambda m, l, n, x, t: R.layer_integrated_gradients(m, l, x, t, baselines=0.1, n_steps=3),
                 lambda m, l, n, x, t: LayerIntegratedGradients(m, l).attribute(x, baselines=0.1, target=t, n_steps=3)),
    "layer_conductance": (lambda m, l, n, x, t: R.layer_conductance(m, l, x, t, baselines=0.1, n_steps=3),
                          lambda m, l, n, x, t: LayerConductance(m, l).attribute(x, baselines=0.1, target=t, n_steps=3)),
    "layer_conductance_trapezoid": (
        lambda m, l, n, x, t: R.layer_conductance(m, l, x, t, n_steps=4, method="riemann_trapezoid"),
        lambda m, l, n, x, t: LayerConductance(m, l).attribute(x, target=t, n_steps=4, method="riemann_trapezoid")),
    "neuron_gradient": (lambda m, l, n, x, t: R.neuron_gradient(m, l, x, n),
                        lambda m, l, n, x, t: NeuronGradient(m, l).attribute(x, n)),
    "neuron_ig": (lambda m, l, n, x, t: R.neuron_integrated_gradients(m, l, x, n, n_steps=4, method="riemann_right"),
                  lambda m, l, n, x, t: NeuronIntegratedGradients(m, l).attribute(x, n, n_steps=4, method="riemann_right")),
}
IMAGE_PAIRS = {
    "guided_gradcam": (lambda m, l, n, x, t: R.guided_gradcam(m, l, x, t),
                       lambda m, l, n, x, t: GuidedGradCam(m, l).attribute(x, target=t)),
    "gradcam_upsampled_relu": (
        lambda m, l, n, x, t: R.upsample(R.gradcam(m, l, x, t, relu_attributions=True), x.shape[2:], mode="bilinear"),
        lambda m, l, n, x, t: LayerGradCam.interpolate(LayerGradCam(m, l).attribute(x, target=t, relu_attributions=True), x.shape[2:], "bilinear")),
}


def _run_pair(pair, name, x, target):
    model, layer, neuron, _, _ = _model(name)
    reference, captum = pair
    return reference(model, layer, neuron, x, target), captum(model, layer, neuron, x, target)


SMALL_CASES = [(method, name) for name in ["toy", "cnn1", "cnn3"] for method in sorted(PAIRS)] + [
    (method, name) for name in ["cnn1", "cnn3"] for method in sorted(IMAGE_PAIRS)  # need (H, W) inputs
]


@pytest.mark.parametrize("method,name", SMALL_CASES)
@pytest.mark.parametrize("batch,kind", [(1, "int"), (1, "tensor"), (4, "int"), (4, "tensor")])
def test_matches_captum_small_models(method, name, batch, kind):
    pair = PAIRS.get(method) or IMAGE_PAIRS[method]
    x = _inputs(name, batch)
    actual, expected = _run_pair(pair, name, x, _target(name, batch, kind))
    assert_matches(actual, expected, _output_scale(method, _model(name)[0], x))


@pytest.mark.parametrize("method", ["ig", "occlusion", "feature_ablation", "gradcam", "layer_ig", "layer_conductance", "guided_gradcam",
                                    "guided_backprop", "deconvolution"])
def test_matches_captum_resnet18(method):
    pair = PAIRS.get(method) or IMAGE_PAIRS[method]
    model = _model("resnet18")[0]
    x = _inputs("resnet18", 2)
    if method == "guided_gradcam":  # layer4[-1], the other documented choice
        actual = R.guided_gradcam(model, model.layer4[-1], x, torch.tensor([3, 500]))
        expected = GuidedGradCam(model, model.layer4[-1]).attribute(x, target=torch.tensor([3, 500]))
    else:
        actual, expected = _run_pair(pair, "resnet18", x, torch.tensor([3, 500]))
    assert_matches(actual, expected, _output_scale(method, model, x))


def test_feature_ablation_per_sample_masks_no_mask_and_side_effects():
    model = _model("cnn1")[0]
    x = _inputs("cnn1", 2).requires_grad_()
    before = x.detach().clone()
    blocks = (torch.arange(28) // 7).view(-1, 1) * 4 + torch.arange(28) // 7
    per_sample = torch.stack([blocks, blocks.flip(-1).transpose(0, 1)])[:, None]  # (2, 1, 28, 28)
    assert_matches(R.feature_ablation(model, x, [3, 8], feature_mask=per_sample, perturbations_per_eval=4),
                   FeatureAblation(model).attribute(x, target=[3, 8], feature_mask=per_sample, perturbations_per_eval=4))
    result = R.feature_ablation(model, x, 5, baselines=0.5, perturbations_per_eval=200)  # every pixel a feature
    assert_matches(result, FeatureAblation(model).attribute(x, target=5, baselines=0.5, perturbations_per_eval=200))
    assert not result.requires_grad and x.grad is None and torch.equal(x.detach(), before)


# ---------------------------------------------------------------- seeded methods: bitwise
@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
@pytest.mark.parametrize("wrapped", ["saliency", "input_x_gradient", "ig"])
def test_smoothgrad_bitwise_equal_to_noise_tunnel(nt_type, wrapped):
    model = _model("cnn3")[0]
    x, target = _inputs("cnn3", 3), torch.tensor([1, 4, 9])
    reference_fn, captum_method, kwargs = {
        "saliency": (R.vanilla_gradient, Saliency(model), {}),
        "input_x_gradient": (R.input_x_gradient, InputXGradient(model), {}),
        "ig": (R.integrated_gradients, IntegratedGradients(model), dict(n_steps=3, baselines=torch.rand(3, 3, 32, 32))),
    }[wrapped]
    torch.manual_seed(7)
    actual = R.smoothgrad(functools.partial(reference_fn, model), x, nt_type=nt_type, nt_samples=4, stdevs=0.2,
                          target=target, **kwargs)
    torch.manual_seed(7)
    expected = NoiseTunnel(captum_method).attribute(x, nt_type=nt_type, nt_samples=4, stdevs=0.2, target=target, **kwargs)
    assert expected.abs().max() > 0
    assert torch.equal(actual, expected)


def test_smoothgrad_adds_noise_of_the_given_scale():
    """Independent of Captum: on a linear model the gradient is constant, so vargrad of the *input*
    (IxG of a model with unit weights) is the noise variance stdevs^2."""
    model = nn.Linear(200, 1, bias=False).eval()
    nn.init.ones_(model.weight)
    torch.manual_seed(0)
    variance = R.smoothgrad(functools.partial(R.input_x_gradient, model), torch.zeros(1, 200), nt_type="vargrad",
                            nt_samples=400, stdevs=0.5)
    assert variance.mean().item() == pytest.approx(0.25, rel=0.05)


def _block_image(channels: int = 3, size: int = 32, blocks: int = 4, seed: int = 0) -> torch.Tensor:
    """A [0, 1] image of blocks x blocks flat-coloured squares (SLIC finds them)."""
    generator = torch.Generator().manual_seed(seed)
    small = torch.rand(1, channels, blocks, blocks, generator=generator)
    return small.repeat_interleave(size // blocks, 2).repeat_interleave(size // blocks, 3)


@pytest.mark.parametrize("method", ["lime", "kernel_shap"])
@pytest.mark.parametrize("batch,perturbations_per_eval,return_input_shape", [(1, 1, True), (1, 16, True), (2, 5, False)])
def test_lime_and_kernel_shap_bitwise_equal_to_captum(method, batch, perturbations_per_eval, return_input_shape):
    model = _model("cnn3")[0]
    x = _inputs("cnn3", batch)
    mask = R.superpixel_mask(_block_image(), n_segments=16)
    target = [2, 7][:batch]
    reference_fn, captum_cls = {"lime": (R.lime, Lime), "kernel_shap": (R.kernel_shap, KernelShap)}[method]
    kwargs = dict(feature_mask=mask, n_samples=40, perturbations_per_eval=perturbations_per_eval,
                  return_input_shape=return_input_shape)
    torch.manual_seed(11)
    actual = reference_fn(model, x, target, **kwargs)
    after_reference = torch.rand(3)
    torch.manual_seed(11)
    expected = captum_cls(model).attribute(x, target=target, **kwargs)
    after_captum = torch.rand(3)
    assert expected.abs().max() > 0
    assert torch.equal(actual, expected)
    assert torch.equal(after_reference, after_captum), "the random stream after the call differs from Captum's"


# ---------------------------------------------------------------- analytic truths
@pytest.fixture()
def linear():
    generator = torch.Generator().manual_seed(3)
    model = nn.Linear(6, 3)
    with torch.no_grad():
        model.weight.copy_(torch.randn(3, 6, generator=generator))
        model.bias.copy_(torch.randn(3, generator=generator))
    x = torch.randn(4, 6, generator=generator)
    return model.eval(), x, torch.tensor([0, 2, 1, 2])


def test_linear_gradient_is_the_weight_row(linear):
    model, x, target = linear
    assert torch.equal(R.vanilla_gradient(model, x, target, abs=False), model.weight.detach()[target])


@pytest.mark.parametrize("method", R.IG_METHODS)
def test_linear_ig_is_input_minus_baseline_times_weight(linear, method):
    model, x, target = linear
    baseline = torch.linspace(-1, 1, 6)
    # Captum's trapezoid weights are 1/n (halved at both ends) for n points spaced 1/(n-1): they sum to (n-1)/n
    weight_sum = 6 / 7 if method == "riemann_trapezoid" else 1.0
    expected = (x - baseline) * model.weight.detach()[target] * weight_sum
    attributions, delta = R.integrated_gradients(model, x, target, baselines=baseline, method=method, n_steps=7,
                                                 return_convergence_delta=True)
    torch.testing.assert_close(attributions, expected, rtol=1e-6, atol=1e-6)
    if method != "riemann_trapezoid":
        assert delta.abs().max() < 1e-5


def test_linear_occlusion_analytic(linear):
    model, x, target = linear
    w = model.weight.detach()[target]
    torch.testing.assert_close(R.occlusion(model, x, target, sliding_window_shapes=(1,), baselines=0.5),
                               w * (x - 0.5), rtol=1e-6, atol=1e-6)
    # windows of 3 with stride 2 on 6 features start at 0, 2, 4 (the last is cut to 2 features)
    contribution = w * x
    windows = [range(0, 3), range(2, 5), range(4, 6)]
    drops = [contribution[:, list(window)].sum(1) for window in windows]
    expected = torch.stack([
        torch.stack([drops[k] for k, window in enumerate(windows) if j in window]).mean(0) for j in range(6)
    ], dim=1)
    torch.testing.assert_close(R.occlusion(model, x, target, sliding_window_shapes=(3,), strides=(2,)),
                               expected, rtol=1e-6, atol=1e-6)


def test_toy_model_ig_structure():
    """ToyModel, target 0, baseline 0, inputs in [0, 1): h0 = relu(-4x0-3x1-2x2) = 0 on the whole path,
    h2 > 0, h1 = relu(x2 - x0) is on iff x2 > x0. The gradient is constant along the path, so
    IG = x * grad: (0, -3 x1, -6 x2) if x2 > x0 (feature 0 exactly 0), else (-2 x0, -3 x1, -4 x2)."""
    torch.manual_seed(0)
    x = torch.rand(64, 3)
    attributions = R.integrated_gradients(ToyModel(), x, target=0)
    on = x[:, 2] > x[:, 0]
    assert on.any() and (~on).any()
    expected = torch.where(on[:, None], x * torch.tensor([0.0, -3.0, -6.0]), x * torch.tensor([-2.0, -3.0, -4.0]))
    torch.testing.assert_close(attributions, expected, rtol=1e-5, atol=1e-6)
    assert torch.all(attributions[on, 0] == 0)
    assert torch.all(attributions[:, 1:] < 0)


def test_ig_completeness_on_small_cnn():
    model = _model("cnn3")[0]
    x, baseline = _inputs("cnn3", 2), torch.full((1, 3, 32, 32), -0.5)
    attributions, delta = R.integrated_gradients(model, x, [3, 6], baselines=baseline, n_steps=300,
                                                 return_convergence_delta=True)
    with torch.no_grad():
        gap = model(x)[[0, 1], [3, 6]] - model(baseline.expand_as(x))[[0, 1], [3, 6]]
    torch.testing.assert_close(attributions.sum(dim=(1, 2, 3)) - gap, delta, rtol=0, atol=1e-5)
    assert delta.abs().max() < 1e-2 * gap.abs().max()  # ReLU kinks: about 0.2% at 300 steps


def test_gradcam_by_hand():
    """A = conv1x1(x) = (1 x, 2 x); F = V @ mean_ij(A): dF_1/dA_k = V[1, k] / (H W), so
    Grad-CAM_1 = sum_k V[1, k] / (H W) * A_k = (0 * 1 + 3 * 2) x / (H W) = 6 x / 16."""
    conv = nn.Conv2d(1, 2, 1, bias=False)
    head = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 2.0]).view(2, 1, 1, 1))
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 3.0]]))
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head).eval()
    x = torch.randn(2, 1, 4, 4)
    torch.testing.assert_close(R.gradcam(model, conv, x, target=1), 6 * x / 16)


@pytest.mark.parametrize("form", ["tensor4d", "tensor3d", "numpy_hwc", "uint8_hwc", "gray"])
def test_superpixel_mask_contiguous_from_zero(form):
    image = _block_image(channels=1 if form == "gray" else 3, size=48, blocks=3)
    source = {
        "tensor4d": image, "tensor3d": image[0], "gray": image,
        "numpy_hwc": image[0].permute(1, 2, 0).numpy(),
        "uint8_hwc": (image[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
    }[form]
    mask = R.superpixel_mask(source, n_segments=9)
    assert mask.dtype == torch.long and mask.shape == (1, 1, 48, 48)
    labels = mask.unique()
    assert torch.equal(labels, torch.arange(len(labels)))  # starts at 0, no gaps, covers every pixel
    assert len(labels) >= 9  # the 9 flat blocks are separated


def test_after_a_linear_head_conductance_equals_layer_ig():
    """SmallCNN's relu2 is followed by average pooling and a linear layer: dF_t/dA does not depend on the input, so
    layer IG is exact for any quadrature, and conductance over the whole path (the trapezoid points include 0 and 1)
    equals it."""
    model, x, target = SmallCNN(3, seed=5), _inputs("cnn3", 3), torch.tensor([1, 4, 7])
    ig, delta = R.layer_integrated_gradients(model, model.relu2, x, target, n_steps=2, return_convergence_delta=True)
    assert delta.abs().max() < 1e-5
    conductance = R.layer_conductance(model, model.relu2, x, target, n_steps=3, method="riemann_trapezoid")
    torch.testing.assert_close(conductance, ig, rtol=1e-5, atol=1e-6)

# ---------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    model, layer = _model("cnn3")[:2]
    x = _inputs("cnn3", 2)
    with pytest.raises(TypeError, match="inputs must be a floating-point"):
        R.vanilla_gradient(model, (x * 100).to(torch.uint8), 1)
    with pytest.raises(ValueError, match="inputs must have a batch dimension"):
        R.vanilla_gradient(ToyModel(), torch.rand(3), 1)
    with pytest.raises(ValueError, match=r"target \[10\] out of range.*10 classes"):
        R.integrated_gradients(model, x, 10, n_steps=2)
    with pytest.raises(ValueError, match="target must be an int or one integer class per sample"):
        R.vanilla_gradient(model, x, [1, 2, 3])
    with pytest.raises(ValueError, match="target is None"):
        R.vanilla_gradient(model, x)
    with pytest.raises(ValueError, match="baselines of shape"):
        R.integrated_gradients(model, x, 1, baselines=torch.zeros(3, 3, 32, 32), n_steps=2)
    with pytest.raises(ValueError, match="method must be one of"):
        R.integrated_gradients(model, x, 1, method="simpson")
    with pytest.raises(ValueError, match="nt_type must be one of"):
        R.smoothgrad(functools.partial(R.vanilla_gradient, model), x, nt_type="mean", target=1)
    with pytest.raises(ValueError, match="layer must be a submodule of model"):
        R.gradcam(model, nn.Conv2d(8, 16, 3), x, 1)
    with pytest.raises(ValueError, match="neuron_selector .* out of range"):
        R.neuron_gradient(model, layer, x, (16, 0, 0))


@pytest.mark.parametrize("kwargs,match", [
    (dict(sliding_window_shapes=(3, 4, 4), strides=(3, 5, 2)), "strides .* must not be larger than sliding_window_shapes"),
    (dict(sliding_window_shapes=(3, 40, 4)), "sliding_window_shapes .* larger than the input"),
    (dict(sliding_window_shapes=(4, 4)), "sliding_window_shapes must be 3 positive ints"),
    (dict(sliding_window_shapes=(3, 4, 4), strides=(1, 1)), "strides must be 3 positive ints"),
])
def test_occlusion_bad_windows(kwargs, match):
    with pytest.raises(ValueError, match=match):
        R.occlusion(_model("cnn3")[0], _inputs("cnn3", 1), 1, **kwargs)


def test_lime_bad_feature_masks():
    model, x = _model("cnn3")[0], _inputs("cnn3", 1)
    with pytest.raises(TypeError, match="feature_mask must be an integer tensor"):
        R.lime(model, x, 1, feature_mask=torch.zeros(1, 1, 32, 32))
    with pytest.raises(ValueError, match="feature_mask of shape"):
        R.lime(model, x, 1, feature_mask=torch.zeros(32, 32, dtype=torch.long))


def test_training_mode_warns():
    model = SmallCNN(3).train()
    with pytest.warns(UserWarning, match=r"call model.eval\(\)"):
        R.vanilla_gradient(model, _inputs("cnn3", 1), 1)


def test_device_mismatch_names_both_devices():
    model = SmallCNN(3).to("meta")
    with pytest.raises(ValueError, match="model parameters are on device meta but inputs are on device cpu"):
        R.vanilla_gradient(model, _inputs("cnn3", 1), 1)


@pytest.mark.parametrize("call", [
    lambda m, l, x: R.vanilla_gradient(m, x, 1),
    lambda m, l, x: R.integrated_gradients(m, x, 1, n_steps=2),
    lambda m, l, x: R.gradcam(m, l, x, 1),
    lambda m, l, x: R.guided_backprop(m, x, 1),
    lambda m, l, x: R.layer_integrated_gradients(m, l, x, 1, n_steps=2),
    lambda m, l, x: R.layer_conductance(m, l, x, 1, n_steps=2),
    lambda m, l, x: R.neuron_gradient(m, l, x, 0),
    lambda m, l, x: R.occlusion(m, x, 1, sliding_window_shapes=(3, 8, 8), strides=8),
], ids=["saliency", "ig", "gradcam", "guided_backprop", "layer_ig", "layer_conductance", "neuron_gradient", "occlusion"])
def test_no_side_effects(call):
    model, layer = _model("cnn3")[:2]
    x = _inputs("cnn3", 2).requires_grad_()
    before = x.detach().clone()
    result = call(model, layer, x)
    assert not result.requires_grad
    assert x.grad is None and all(p.grad is None for p in model.parameters())
    assert torch.equal(x.detach(), before)
    assert not layer._forward_hooks and not any(m._forward_pre_hooks for m in model.modules())
    result.mul_(2)  # a normal tensor (not an inference tensor): in-place edits work


def test_for_guided_backprop_keeps_outputs_and_hooks_every_relu_and_relu6():
    """ResNet18 (reused ReLU modules) and a ReLU6 network: same outputs; on the copy Captum's guided backprop and
    deconvolution equal the references; on ResNet18 they equal Captum's on the original (hooks fire per call); on the
    ReLU6 network the original gets the plain gradient (Captum hooks nn.ReLU only), the copy does not."""
    resnet = _model("resnet18")[0]
    relu6_net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU6(), nn.Conv2d(6, 4, 3), nn.ReLU6(), nn.Flatten(), nn.LazyLinear(5))
    x_small = torch.randn(2, 3, 10, 10, generator=torch.Generator().manual_seed(3)) * 4
    relu6_net(x_small)
    relu6_net.eval()
    for model, x, target in ((resnet, _inputs("resnet18", 2), torch.tensor([3, 500])), (relu6_net, x_small, 2)):
        copy = for_guided_backprop(model)
        torch.testing.assert_close(copy(x), model(x), rtol=0, atol=0)
        assert not any(type(m) is nn.ReLU6 for m in copy.modules())
        for method, captum in ((R.guided_backprop, GuidedBackprop), (R.deconvolution, Deconvolution)):
            assert_matches(method(copy, x, target), captum(copy).attribute(x, target=target))
    assert_matches(GuidedBackprop(resnet).attribute(_inputs("resnet18", 2), target=3),
                   GuidedBackprop(for_guided_backprop(resnet)).attribute(_inputs("resnet18", 2), target=3))
    gradient = Saliency(relu6_net).attribute(x_small, target=2, abs=False)
    assert_matches(GuidedBackprop(relu6_net).attribute(x_small, target=2), gradient)
    assert not torch.allclose(GuidedBackprop(for_guided_backprop(relu6_net)).attribute(x_small, target=2), gradient)
    assert sum(isinstance(m, ReLU6ForGuidedBackprop) for m in for_guided_backprop(for_guided_backprop(relu6_net)).modules()) == 2


# ---------------------------------------------------------------- concepts (TCAV)
def _tcav_setup(name: str):
    """(model, layer, layer name for Captum, concept images, random images, inputs, one target per input)."""
    if name == "resnet18":
        torch.manual_seed(0)
        model = torchvision.models.resnet18(weights=None).eval()
        layer, layer_name, shape = model.layer3, "layer3", (3, 64, 64)
    else:
        model = SmallCNN(in_channels=1 if name == "cnn1" else 3, seed=4)
        layer, layer_name = model.relu2, "relu2"
        shape = (1, 28, 28) if name == "cnn1" else (3, 32, 32)
    generator = torch.Generator().manual_seed(7)
    concept = torch.randn((12, *shape), generator=generator) + 0.5
    random = torch.randn((10, *shape), generator=generator)
    inputs = torch.randn((6, *shape), generator=generator)
    classes = 1000 if name == "resnet18" else 10
    return model, layer, layer_name, concept, random, inputs, torch.tensor([(3 + 5 * i) % classes for i in range(6)])


@pytest.mark.parametrize("name", ["cnn1", "cnn3", "resnet18"])
@pytest.mark.parametrize("kind", ["int", "per_sample"])
def test_tcav_scores_and_cav_classifier_match_captum_tcav(name, kind, tmp_path):
    """Captum's TCAV with the course's classifier (helpers.concepts.CAVClassifier) gives reference.tcav_scores of
    reference.cav for both concepts of the experimental set, whatever the order of their ids."""
    from captum.attr import LayerActivation
    from captum.concept import TCAV, Concept
    from torch.utils.data import DataLoader

    from helpers.concepts import CAVClassifier

    model, layer, layer_name, concept_images, random_images, inputs, targets = _tcav_setup(name)
    target = 2 if kind == "int" else targets
    activations = LayerActivation(model, layer)
    concept_acts, random_acts = activations.attribute(concept_images), activations.attribute(random_images)
    v = R.cav(concept_acts, random_acts, steps=30, lr=0.02)
    for concept_id, random_id in ((5, 2), (1, 9)):  # the concept's id after, then before the random one's
        concept = Concept(concept_id, "concept", DataLoader(concept_images, batch_size=5))
        random = Concept(random_id, "random", DataLoader(random_images, batch_size=4))
        tcav = TCAV(model, [layer_name], classifier=CAVClassifier(steps=30, lr=0.02),
                    save_path=str(tmp_path / f"cav{concept_id}"))
        scores = tcav.interpret(inputs, [[concept, random]], target=target)[f"{concept_id}-{random_id}"][layer_name]
        sign_count, magnitude = R.tcav_scores(model, layer, inputs, target, v)
        opposite = R.tcav_scores(model, layer, inputs, target, -v)
        torch.testing.assert_close(scores["sign_count"], torch.tensor([sign_count, opposite[0]]))
        torch.testing.assert_close(scores["magnitude"], torch.tensor([magnitude, opposite[1]]), rtol=1e-4,
                                   atol=1e-6 * (1 + abs(magnitude)))
        weights = tcav.cavs[f"{concept_id}-{random_id}"][layer_name].stats["weights"]
        row = 1 if concept_id > random_id else 0  # Captum sorts the classes: the concept's row
        torch.testing.assert_close(weights[row], v.flatten(), rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(weights[1 - row], -v.flatten(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["cnn1", "cnn3", "resnet18"])
def test_directional_derivatives_are_the_layer_gradient_of_captum_times_the_cav(name):
    from captum.attr import LayerGradientXActivation

    model, layer, _, _, _, inputs, targets = _tcav_setup(name)
    gradient = LayerGradientXActivation(model, layer, multiply_by_inputs=False).attribute(inputs, target=targets)
    assert_matches(R.layer_gradient(model, layer, inputs, targets), gradient)
    v = torch.randn(gradient[0].numel(), generator=torch.Generator().manual_seed(1))
    assert_matches(R.directional_derivatives(model, layer, inputs, targets, v), gradient.flatten(1) @ v)


def test_cav_is_logistic_regression_by_gradient_descent():
    """cav_classifier and cav: the same classifier written with autograd and torch.optim.SGD (an independent implementation)."""
    generator = torch.Generator().manual_seed(3)
    concept, random = torch.randn(15, 4, 3, 3, generator=generator) + 0.3, torch.randn(9, 4, 3, 3, generator=generator)
    x = torch.cat([concept, random]).flatten(1).double()
    y = torch.cat([torch.ones(15), torch.zeros(9)]).double()
    linear = nn.Linear(36, 1).double()
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.05)
    for _ in range(40):
        optimizer.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(linear(x).squeeze(1), y).backward()
        optimizer.step()
    expected = (linear.weight[0] / linear.weight.norm()).float().detach()
    w, b = R.cav_classifier(concept, random, steps=40, lr=0.05)
    torch.testing.assert_close(w, linear.weight[0].detach(), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(b, linear.bias[0].detach(), rtol=1e-9, atol=1e-12)
    v = R.cav(concept, random, steps=40, lr=0.05)
    assert v.shape == (36,) and v.dtype == torch.float32
    torch.testing.assert_close(v, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(R.cav(random, concept, steps=40, lr=0.05), -v, rtol=1e-4, atol=1e-5)
    # one step from zero, two sets of the same size: the difference of the means of the two sets
    one = R.cav(concept, random.mean(0, keepdim=True).expand_as(concept), steps=1)
    difference = concept.flatten(1).mean(0) - random.flatten(1).mean(0)
    torch.testing.assert_close(one, difference / difference.norm(), rtol=1e-5, atol=1e-6)
    assert torch.allclose(v.norm(), torch.tensor(1.0))


def test_concept_references_reject_bad_arguments():
    model = SmallCNN(seed=0)
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(ValueError, match="same number of features"):
        R.cav(torch.randn(3, 5), torch.randn(3, 6))
    with pytest.raises(ValueError, match="steps"):
        R.cav(torch.randn(3, 5), torch.randn(3, 5), steps=0)
    with pytest.raises(TypeError, match="floating-point"):
        R.cav(torch.ones(3, 5, dtype=torch.long), torch.randn(3, 5))
    with pytest.raises(ValueError, match="cav must be a tensor of 4096 values"):
        R.directional_derivatives(model, model.relu2, x, 0, torch.randn(10))
    with pytest.raises(ValueError, match="submodule"):
        R.directional_derivatives(model, nn.ReLU(), x, 0, torch.randn(4096))


# ---------------------------------------------------------------- adversarial perturbations (captum.robust)
def _cross_entropy(outputs, target):
    """One loss per sample (Captum's FGSM and PGD take the gradient of each sample's loss)."""
    target = torch.as_tensor(target, device=outputs.device)
    return nn.functional.cross_entropy(outputs, target.expand(len(outputs)) if target.dim() == 0 else target,
                                       reduction="none")


def _attack_setup(name: str, kind: str):
    """(model, inputs in [0, 1], target): ResNet18 and SmallCNN on images in [0, 1]."""
    model, _, _, shape, classes = _model(name)
    batch = 1 if name == "resnet18" else 3
    inputs = torch.rand((batch, *shape), generator=torch.Generator().manual_seed(11))
    target = 3 if kind == "int" else torch.tensor([(2 + 5 * i) % classes for i in range(batch)])
    return model, inputs, target


@pytest.mark.parametrize("name", ["cnn1", "cnn3", "resnet18"])
@pytest.mark.parametrize("kind", ["int", "per_sample"])
@pytest.mark.parametrize("targeted", [False, True])
@pytest.mark.parametrize("loss", ["softmax", "cross_entropy"])
def test_fgsm_bitwise_equal_to_captum(name, kind, targeted, loss):
    from captum.robust import FGSM

    model, inputs, target = _attack_setup(name, kind)
    if loss == "softmax":  # Captum's default loss, -log(output at the target), needs probabilities
        model, loss_func = nn.Sequential(model, nn.Softmax(dim=1)).eval(), None
    else:
        loss_func = _cross_entropy
    for bounds, mask in (({}, None), ({"lower_bound": 0.0, "upper_bound": 1.0}, (inputs > 0.3).float())):
        expected = FGSM(model, loss_func, **bounds).perturb(inputs.clone(), 0.05, target, targeted=targeted, mask=mask)
        actual = R.fgsm(model, inputs, 0.05, target, targeted=targeted, loss_func=loss_func, mask=mask, **bounds)
        assert torch.equal(actual, expected.detach())
        assert (actual != inputs).float().mean() > 0.2  # the step moved most elements


@pytest.mark.parametrize("name", ["cnn1", "cnn3", "resnet18"])
@pytest.mark.parametrize("norm", ["Linf", "L2"])
@pytest.mark.parametrize("random_start", [False, True])
def test_pgd_bitwise_equal_to_captum(name, norm, random_start):
    from captum.robust import PGD

    model, inputs, _ = _attack_setup(name, "int")
    if norm == "L2" and random_start:
        inputs = inputs[:1]  # Captum's L2 random start broadcasts its radii over the last dimension: one sample
    target = torch.arange(len(inputs)) + 4
    radius = 0.03 if norm == "Linf" else 0.5
    for targeted, mask in ((True, None), (False, (inputs < 0.8).float())):
        kwargs = dict(targeted=targeted, random_start=random_start, norm=norm, mask=mask)
        torch.manual_seed(5)
        expected = PGD(model, _cross_entropy, lower_bound=0.0, upper_bound=1.0).perturb(
            inputs.clone(), radius, radius / 4, 6, target, **kwargs)
        torch.manual_seed(5)
        actual = R.pgd(model, inputs, radius, radius / 4, 6, target, loss_func=_cross_entropy, lower_bound=0.0,
                       upper_bound=1.0, **kwargs)
        assert torch.equal(actual, expected)
        size = (actual - inputs).flatten(1).abs().amax(1) if norm == "Linf" else (actual - inputs).flatten(1).norm(dim=1)
        assert bool((size <= radius * (1 + 1e-5)).all()) and bool((size > radius / 2).all())
        assert actual.min() >= 0 and actual.max() <= 1


def test_fgsm_steps_by_epsilon_along_the_sign_and_pgd_projects_around_the_original():
    model = SmallCNN(in_channels=3, seed=2)
    inputs = 0.25 + 0.5 * torch.rand((2, 3, 32, 32), generator=torch.Generator().manual_seed(3))
    gradient = R.vanilla_gradient(model, inputs, 1, abs=False)  # d(-logit)/dx = -gradient with loss = -logit
    negative_logit = lambda outputs, target: -outputs[:, target]  # noqa: E731
    moved = gradient.abs() > 1e-6  # Captum's zero_thresh: smaller gradients leave the element as it is
    stepped = R.fgsm(model, inputs, 0.01, 1, loss_func=negative_logit)
    torch.testing.assert_close(stepped, torch.where(moved, inputs - 0.01 * gradient.sign(), inputs), rtol=0, atol=1e-7)
    towards = R.fgsm(model, inputs, 0.01, 1, targeted=True, loss_func=negative_logit)
    torch.testing.assert_close(towards, torch.where(moved, inputs + 0.01 * gradient.sign(), inputs), rtol=0, atol=1e-7)
    assert 0 < (~moved).sum() < 0.01 * moved.numel()
    far = R.pgd(model, inputs, 0.02, 0.015, 5, 1, loss_func=negative_logit)
    torch.testing.assert_close((far - inputs).abs().amax(), torch.tensor(0.02), rtol=0, atol=1e-6)
    assert not torch.equal(R.pgd(model, inputs, 0.02, 0.015, 0, 1, loss_func=negative_logit), far)
    with pytest.raises(ValueError, match="one value per sample"):
        R.fgsm(model, inputs, 0.01, 1, loss_func=lambda outputs, target: outputs[:, target].sum())
    with pytest.raises(ValueError, match="norm"):
        R.pgd(model, inputs, 0.02, 0.01, 2, 1, loss_func=negative_logit, norm="L1")
