"""Plain-PyTorch reference implementations of the attribution methods taught in the course.

Each function mirrors the arguments and defaults of the corresponding Captum ``attribute()`` call and
returns the same numbers (the tests in ``tests/test_reference.py`` compare them with Captum 0.9).
Captum is not imported here: read these functions to see what Captum computes.

Conventions shared by every function:

- ``inputs`` is a float tensor with a batch dimension ``(N, ...)``; it is never modified in place and
  results are detached.
- ``target`` selects the **raw model output** (logit) ``F(x)[:, target]``, no softmax: ``None`` (only
  for a model with one output per sample), an int, or one class per sample (a list or 1-D tensor of
  length N).
- Gradients come from ``torch.autograd.grad``: nothing is left in ``.grad`` of parameters or inputs.
  Because every sample's output depends only on that sample (eval mode), the gradient of the batch sum
  is each sample's own gradient.
- ``baselines`` (the "absent" input) is a number or a tensor broadcastable to ``inputs``; 0 in a
  normalised input space is the dataset's mean colour, not black.
"""
from __future__ import annotations

import contextlib
import itertools
import math
import warnings
from typing import Callable, Iterator, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "vanilla_gradient",
    "input_x_gradient",
    "integrated_gradients",
    "smoothgrad",
    "occlusion",
    "feature_ablation",
    "gradcam",
    "upsample",
    "guided_backprop",
    "deconvolution",
    "guided_gradcam",
    "fgsm",
    "pgd",
    "superpixel_mask",
    "lime",
    "kernel_shap",
    "layer_integrated_gradients",
    "layer_conductance",
    "neuron_gradient",
    "neuron_integrated_gradients",
    "cav_classifier",
    "cav",
    "layer_gradient",
    "directional_derivatives",
    "tcav_scores",
]

Target = Union[None, int, Sequence[int], torch.Tensor]
Baselines = Union[None, int, float, torch.Tensor]
NeuronSelector = Union[int, tuple, Callable[[torch.Tensor], torch.Tensor]]

IG_METHODS = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")
NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


# --------------------------------------------------------------------------------------------------
# Shared checks and building blocks
# --------------------------------------------------------------------------------------------------
def _check_inputs(inputs: torch.Tensor) -> None:
    if not isinstance(inputs, torch.Tensor):
        raise TypeError(f"inputs must be a torch.Tensor, got {type(inputs).__name__}")
    if not inputs.is_floating_point():
        raise TypeError(
            f"inputs must be a floating-point tensor, got dtype {inputs.dtype}; convert it with "
            "inputs.float() (and normalise it the way the model expects)"
        )
    if inputs.dim() < 2:
        raise ValueError(
            f"inputs must have a batch dimension (N, ...), got shape {tuple(inputs.shape)}; "
            "add one with inputs.unsqueeze(0)"
        )


def _check_model_and_inputs(model: Callable, inputs: torch.Tensor) -> None:
    """Type, dtype and shape of ``inputs``; same device as the model; model in eval mode."""
    _check_inputs(inputs)
    if not isinstance(model, nn.Module):
        return
    parameter = next(model.parameters(), None)
    if parameter is not None and parameter.device != inputs.device:
        raise ValueError(
            f"model parameters are on device {parameter.device} but inputs are on device "
            f"{inputs.device}; move one of them, e.g. inputs.to({str(parameter.device)!r})"
        )
    if model.training:
        warnings.warn(
            "model is in training mode (dropout/batch norm make attributions random and couple the "
            "samples of a batch); call model.eval() first",
            UserWarning,
            stacklevel=3,
        )


def _check_layer(model: nn.Module, layer: nn.Module) -> None:
    if not isinstance(layer, nn.Module) or not any(m is layer for m in model.modules()):
        raise ValueError(
            f"layer must be a submodule of model (e.g. model.layer4), got {type(layer).__name__}"
        )


def _format_target(target: Target, n: int, device: torch.device) -> torch.Tensor | None:
    """None, an int or one class per sample -> None or a LongTensor of shape (n,)."""
    if target is None:
        return None
    if isinstance(target, torch.Tensor):
        if target.is_floating_point() or target.dtype == torch.bool:
            raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
        if target.numel() == 1:
            target = int(target.item())
    if isinstance(target, (bool, np.bool_)):
        raise TypeError("target must be an int class index, got a bool")
    if isinstance(target, (int, np.integer)):
        return torch.full((n,), int(target), dtype=torch.long, device=device)
    if isinstance(target, (list, torch.Tensor)):
        target = torch.as_tensor(target, device=device)
        if target.dim() != 1 or target.numel() != n or target.is_floating_point():
            raise ValueError(
                f"target must be an int or one integer class per sample (length {n}), got "
                f"{'dtype ' + str(target.dtype) if target.is_floating_point() else 'shape ' + str(tuple(target.shape))}"
            )
        return target.long()
    raise TypeError(f"target must be None, an int, a list or a 1-D tensor, got {type(target).__name__}")


def _select_target(outputs: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    """``F(x)[:, target]``: the raw output (logit) of the target class for every row, shape (rows,)."""
    if target is None:
        if outputs.dim() == 1 or outputs[0].numel() == 1:
            return outputs.reshape(-1)
        raise ValueError(
            f"target is None but the model returns {tuple(outputs.shape[1:])} outputs per sample; "
            "pass target=<class index>"
        )
    if outputs.dim() != 2:
        raise ValueError(f"expected model outputs of shape (N, classes), got {tuple(outputs.shape)}")
    num_classes = outputs.shape[1]
    if int(target.min()) < 0 or int(target.max()) >= num_classes:
        bad = sorted({t for t in target.tolist() if not 0 <= t < num_classes})
        raise ValueError(
            f"target {bad} out of range: the model has {num_classes} classes (0..{num_classes - 1})"
        )
    return outputs.gather(1, target.view(-1, 1)).squeeze(1)


def _repeat_target(target: torch.Tensor | None, times: int) -> torch.Tensor | None:
    """Target for ``times`` stacked copies of the batch (copy-major rows, like ``x.repeat``)."""
    return None if target is None else target.repeat(times)


def _format_baselines(baselines: Baselines, inputs: torch.Tensor) -> torch.Tensor:
    """None (zeros), a number or a broadcastable tensor -> a tensor of the shape of ``inputs``."""
    if baselines is None:
        baselines = 0.0
    if isinstance(baselines, (int, float)):
        return torch.full_like(inputs, float(baselines))
    if not isinstance(baselines, torch.Tensor):
        raise TypeError(f"baselines must be None, a number or a tensor, got {type(baselines).__name__}")
    try:
        return baselines.to(inputs.device, inputs.dtype).expand_as(inputs).contiguous()
    except RuntimeError:
        raise ValueError(
            f"baselines of shape {tuple(baselines.shape)} cannot be broadcast to inputs of shape "
            f"{tuple(inputs.shape)}"
        ) from None


def _gradient(objective: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor) -> torch.Tensor:
    """``d objective(x) / dx`` where ``objective`` returns one scalar per row (summed over rows)."""
    x = inputs.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(objective(x).sum(), x)
    return grad


def _target_gradient(model: Callable, inputs: torch.Tensor, target: torch.Tensor | None) -> torch.Tensor:
    return _gradient(lambda x: _select_target(model(x), target), inputs)


@contextlib.contextmanager
def _hooks(handles: list) -> Iterator[None]:
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _single_tensor(output: object, layer: nn.Module) -> torch.Tensor:
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"layer {type(layer).__name__} must output a single tensor, got {type(output).__name__}")
    return output


def _layer_output(model: nn.Module, layer: nn.Module, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model(inputs)``; return (model output, a clone of ``layer``'s output, still in the graph).

    With a layer called several times (reused modules), the last call wins, as in Captum.
    """
    saved = {}

    def hook(module, args, output):
        saved["out"] = _single_tensor(output, module).clone()

    with _hooks([layer.register_forward_hook(hook)]):
        outputs = model(inputs)
    return outputs, saved["out"]


def _model_with_layer_output(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, layer_out: torch.Tensor) -> torch.Tensor:
    """``model(inputs)`` with ``layer``'s output replaced by ``layer_out``."""
    with _hooks([layer.register_forward_hook(lambda module, args, output: layer_out.clone())]):
        return model(inputs)


def _select_neuron(layer_out: torch.Tensor, neuron_selector: NeuronSelector) -> torch.Tensor:
    """One value per sample: ``layer_out[:, *neuron_selector]`` (summed if it selects several)."""
    if callable(neuron_selector):
        return neuron_selector(layer_out)
    index = (neuron_selector,) if isinstance(neuron_selector, int) else neuron_selector
    if not isinstance(index, tuple) or len(index) > layer_out.dim() - 1:
        raise ValueError(
            f"neuron_selector must be an int or a tuple of at most {layer_out.dim() - 1} indices into the "
            f"layer output of shape {tuple(layer_out.shape[1:])} (without batch dim), got {neuron_selector!r}"
        )
    for i, size in zip(index, layer_out.shape[1:]):
        if isinstance(i, int) and not -size <= i < size:
            raise ValueError(
                f"neuron_selector {neuron_selector!r} is out of range for the layer output of shape "
                f"{tuple(layer_out.shape[1:])} (without batch dim)"
            )
    selected = layer_out[(slice(None), *index)]
    return selected.reshape(selected.shape[0], -1).sum(1)


def _alphas_and_weights(method: str, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points ``alpha_i`` in [0, 1] and weights ``w_i`` of the integral approximation (as in Captum)."""
    if method not in IG_METHODS:
        raise ValueError(f"method must be one of {IG_METHODS}, got {method!r}")
    if not isinstance(n_steps, int) or n_steps < (1 if method == "gausslegendre" else 2):
        raise ValueError(f"n_steps must be an int >= {1 if method == 'gausslegendre' else 2}, got {n_steps!r}")
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)  # on [-1, 1]; rescale to [0, 1]
        return torch.tensor(0.5 * (1 + nodes)).float(), torch.tensor(0.5 * weights).float()
    weights = np.full(n_steps, 1 / n_steps)
    if method == "riemann_trapezoid":
        weights[0] /= 2
        weights[-1] /= 2
    first, last = {
        "riemann_left": (0, 1 - 1 / n_steps),
        "riemann_right": (1 / n_steps, 1),
        "riemann_middle": (1 / (2 * n_steps), 1 - 1 / (2 * n_steps)),
        "riemann_trapezoid": (0, 1),
    }[method]
    return torch.linspace(first, last, n_steps), torch.tensor(weights).float()


def _integrate(
    path_gradient: Callable[[torch.Tensor, int], torch.Tensor],
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    n_steps: int,
    method: str,
    internal_batch_size: int | None,
) -> torch.Tensor:
    """``(x - x') * sum_i w_i * grad(x' + alpha_i (x - x'))``.

    ``path_gradient(points, k)`` returns the gradient at ``k`` stacked copies of the batch (step-major
    rows); ``internal_batch_size`` limits the rows per pass (``internal_batch_size // N`` steps).
    """
    alphas, weights = _alphas_and_weights(method, n_steps)
    n = inputs.shape[0]
    steps_per_pass = n_steps if internal_batch_size is None else max(1, internal_batch_size // n)
    step_shape = (-1,) + (1,) * inputs.dim()
    total = torch.zeros_like(inputs)
    for start in range(0, n_steps, steps_per_pass):
        alpha, weight = alphas[start : start + steps_per_pass], weights[start : start + steps_per_pass]
        k = len(alpha)
        points = baselines + alpha.to(inputs.device).view(step_shape) * (inputs - baselines)
        grads = path_gradient(points.reshape(k * n, *inputs.shape[1:]), k)
        total += (grads.reshape(k, -1) * weight.to(grads.device).view(k, 1)).reshape(k, *inputs.shape).sum(0)
    return total * (inputs - baselines)


def _convergence_delta(model: Callable, attributions, inputs, baselines, target) -> torch.Tensor:
    """Completeness error per sample: ``sum(attr) - (F(x)[t] - F(x')[t])``."""
    with torch.no_grad():
        difference = _select_target(model(inputs), target) - _select_target(model(baselines), target)
        return attributions.reshape(len(attributions), -1).sum(1) - difference


# --------------------------------------------------------------------------------------------------
# Gradient methods
# --------------------------------------------------------------------------------------------------
def vanilla_gradient(model: Callable, inputs: torch.Tensor, target: Target = None, abs: bool = True) -> torch.Tensor:
    """Saliency: ``|dF_t(x)/dx|`` (signed if ``abs=False``), per channel, shape of ``inputs``.

    Captum: ``Saliency(model).attribute(inputs, target=target, abs=abs)``.
    """
    _check_model_and_inputs(model, inputs)
    grad = _target_gradient(model, inputs, _format_target(target, len(inputs), inputs.device))
    return grad.abs() if abs else grad


def input_x_gradient(model: Callable, inputs: torch.Tensor, target: Target = None) -> torch.Tensor:
    """``x * dF_t(x)/dx``.  Captum: ``InputXGradient(model).attribute(inputs, target=target)``."""
    _check_model_and_inputs(model, inputs)
    return inputs.detach() * _target_gradient(model, inputs, _format_target(target, len(inputs), inputs.device))


def integrated_gradients(
    model: Callable,
    inputs: torch.Tensor,
    target: Target = None,
    baselines: Baselines = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
    return_convergence_delta: bool = False,
):
    """``IG(x) = (x - x') * integral_0^1 dF_t(x' + a (x - x'))/dx da`` ~ ``(x - x') * sum_i w_i grad_i``.

    ``method`` picks the points and weights: "gausslegendre" (Captum's default) or
    "riemann_left|right|middle|trapezoid" (as in Captum, the trapezoid weights are 1/n halved at
    both ends, so they sum to (n-1)/n: even a linear model gets (n-1)/n of the exact IG). With ``return_convergence_delta`` also returns
    ``sum(IG) - (F_t(x) - F_t(x'))`` per sample (completeness error).
    Captum: ``IntegratedGradients(model).attribute(inputs, baselines, target, n_steps=n_steps,
    method=method, internal_batch_size=..., return_convergence_delta=...)``.
    """
    _check_model_and_inputs(model, inputs)
    inputs = inputs.detach()
    target = _format_target(target, len(inputs), inputs.device)
    baselines = _format_baselines(baselines, inputs)
    attributions = _integrate(
        lambda points, k: _target_gradient(model, points, _repeat_target(target, k)),
        inputs, baselines, n_steps, method, internal_batch_size,
    )
    if return_convergence_delta:
        return attributions, _convergence_delta(model, attributions, inputs, baselines, target)
    return attributions


def smoothgrad(
    attribution_fn: Callable,
    inputs: torch.Tensor,
    nt_type: str = "smoothgrad",
    nt_samples: int = 5,
    stdevs: float = 1.0,
    target: Target = None,
    **kwargs,
):
    """Average an attribution over ``nt_samples`` noisy copies ``x + N(0, stdevs^2)`` of each input.

    ``nt_type``: "smoothgrad" = mean of the attributions, "smoothgrad_sq" = mean of their squares,
    "vargrad" = their variance ``E[a^2] - E[a]^2``. ``stdevs`` is absolute (in input units), not a
    fraction of the input range as in the SmoothGrad paper. ``attribution_fn(noisy, target=..., **kwargs)``
    is any method above, e.g. ``functools.partial(vanilla_gradient, model)``.
    Captum: ``NoiseTunnel(Saliency(model)).attribute(inputs, nt_type=..., nt_samples=..., stdevs=...,
    target=...)``; under the same ``torch.manual_seed`` the noise (one ``torch.normal`` call for all
    N * nt_samples copies) and the result are identical.
    """
    _check_inputs(inputs)
    if nt_type not in NT_TYPES:
        raise ValueError(f"nt_type must be one of {NT_TYPES}, got {nt_type!r}")
    if not isinstance(nt_samples, int) or nt_samples < 1:
        raise ValueError(f"nt_samples must be a positive int, got {nt_samples!r}")
    if not isinstance(stdevs, (int, float)) or stdevs < 0:
        raise ValueError(f"stdevs must be a non-negative number, got {stdevs!r}")
    n = len(inputs)
    copies = inputs.detach().repeat_interleave(nt_samples, dim=0)  # sample-major: x0, x0, ..., x1, ...
    noise = torch.normal(0, torch.full(copies.shape, float(stdevs), device=inputs.device))
    if isinstance(target, (list, torch.Tensor)) and torch.as_tensor(target).numel() > 1:  # one per copy
        target = torch.as_tensor(target).repeat_interleave(nt_samples, dim=0)
    baselines = kwargs.get("baselines")
    if isinstance(baselines, torch.Tensor) and baselines.dim() > 0 and len(baselines) == n > 1:
        kwargs["baselines"] = baselines.repeat_interleave(nt_samples, dim=0)
    result = attribution_fn(copies + noise, target=target, **kwargs)
    attributions, delta = result if isinstance(result, tuple) else (result, None)
    per_sample = attributions.reshape(n, nt_samples, *attributions.shape[1:])
    mean = per_sample.sum(dim=1) / nt_samples
    mean_sq = per_sample.pow(2).sum(dim=1) / nt_samples
    smoothed = {"smoothgrad": mean, "smoothgrad_sq": mean_sq, "vargrad": mean_sq - mean * mean}[nt_type]
    return smoothed if delta is None else (smoothed, delta)


# --------------------------------------------------------------------------------------------------
# Perturbation methods
# --------------------------------------------------------------------------------------------------
def _shape_argument(name: str, value, ndim: int) -> tuple[int, ...]:
    value = (value,) * ndim if isinstance(value, int) else tuple(value)
    if len(value) != ndim or not all(isinstance(v, int) and v >= 1 for v in value):
        raise ValueError(
            f"{name} must be {ndim} positive ints, one per non-batch input dim (e.g. (3, 15, 15) for "
            f"(N, 3, H, W) inputs), got {value!r}"
        )
    return value


def occlusion(
    model: Callable,
    inputs: torch.Tensor,
    target: Target = None,
    sliding_window_shapes: tuple[int, ...] | None = None,
    strides: int | tuple[int, ...] = 1,
    baselines: Baselines = 0,
    perturbations_per_eval: int = 1,
) -> torch.Tensor:
    """Slide a window over the input (channels included), replace it by ``baselines`` and record
    ``F_t(x) - F_t(x_occluded)``; a feature's attribution is the mean over the windows covering it.

    Windows start at 0 and move by ``strides``: ``ceil((dim - window) / stride) + 1`` positions per
    dim (the last one may stick out and is cut). ``perturbations_per_eval`` windows share one
    forward pass. Captum: ``Occlusion(model).attribute(inputs, sliding_window_shapes, strides,
    baselines, target, perturbations_per_eval=...)``.
    """
    _check_model_and_inputs(model, inputs)
    feature_shape = tuple(inputs.shape[1:])
    window = _shape_argument("sliding_window_shapes", sliding_window_shapes, len(feature_shape))
    strides = _shape_argument("strides", strides, len(feature_shape))
    if any(w > d for w, d in zip(window, feature_shape)):
        raise ValueError(f"sliding_window_shapes {window} is larger than the input {feature_shape} (without batch dim)")
    if any(s > w and w < d for s, w, d in zip(strides, window, feature_shape)):
        raise ValueError(f"strides {strides} must not be larger than sliding_window_shapes {window} (pixels would be skipped)")
    if not isinstance(perturbations_per_eval, int) or perturbations_per_eval < 1:
        raise ValueError(f"perturbations_per_eval must be a positive int, got {perturbations_per_eval!r}")

    starts = [range(0, math.ceil((d - w) / s) * s + 1, s) for d, w, s in zip(feature_shape, window, strides)]
    windows = [tuple(slice(i, i + w) for i, w in zip(corner, window)) for corner in itertools.product(*starts)]
    n = len(inputs)
    target = _format_target(target, n, inputs.device)
    baselines = _format_baselines(baselines, inputs)
    total = torch.zeros_like(inputs)
    count = torch.zeros(feature_shape, dtype=inputs.dtype, device=inputs.device)
    with torch.inference_mode():
        x = inputs.detach()
        score = _select_target(model(x), target)
        for first in range(0, len(windows), perturbations_per_eval):
            chunk = windows[first : first + perturbations_per_eval]
            occluded = x.repeat(len(chunk), *(1,) * len(feature_shape))  # window-major rows
            for j, w in enumerate(chunk):
                occluded[(slice(j * n, (j + 1) * n), *w)] = baselines[(slice(None), *w)]
            drops = score.repeat(len(chunk)) - _select_target(model(occluded), _repeat_target(target, len(chunk)))
            for j, w in enumerate(chunk):
                total[(slice(None), *w)] += drops[j * n : (j + 1) * n].view(n, *(1,) * len(feature_shape))
                count[w] += 1
    return total / count  # outside inference_mode: a normal tensor


def feature_ablation(
    model: Callable,
    inputs: torch.Tensor,
    target: Target = None,
    baselines: Baselines = 0,
    feature_mask: torch.Tensor | None = None,
    perturbations_per_eval: int = 1,
) -> torch.Tensor:
    """Switch off one feature at a time: every element of feature ``f`` (``feature_mask == f``) takes the
    ``baselines`` value, and each element of ``f`` gets ``F_t(x) - F_t(x with f switched off)``.

    With a superpixel mask this is occlusion with superpixels as windows (the simplest perturbation method).
    ``feature_mask`` (integer labels, batch dim 1 or N, broadcast to ``inputs``; ``None``: every element is its
    own feature) is used as given: labels need not start at 0, and only the labels present are ablated.
    ``perturbations_per_eval`` features share one forward pass (it only batches). Captum:
    ``FeatureAblation(model).attribute(inputs, baselines, target, feature_mask=..., perturbations_per_eval=...)``.
    """
    _check_model_and_inputs(model, inputs)
    if not isinstance(perturbations_per_eval, int) or perturbations_per_eval < 1:
        raise ValueError(f"perturbations_per_eval must be a positive int, got {perturbations_per_eval!r}")
    n = len(inputs)
    if feature_mask is None:
        mask = torch.arange(inputs[0].numel(), device=inputs.device).reshape(1, *inputs.shape[1:])
    else:
        mask = _format_feature_mask(feature_mask, inputs, shift=False)
    mask = mask.expand(n, *inputs.shape[1:])
    target = _format_target(target, n, inputs.device)
    baselines = _format_baselines(baselines, inputs)
    x = inputs.detach()
    with torch.no_grad():
        score = _select_target(model(x), target)
        attributions = torch.zeros_like(x, dtype=score.dtype)
        features = torch.unique(mask).tolist()
        for first in range(0, len(features), perturbations_per_eval):
            chunk = features[first : first + perturbations_per_eval]
            off = torch.stack([mask == f for f in chunk])  # (k, N, ...): feature-major rows
            ablated = torch.where(off, baselines, x).reshape(-1, *x.shape[1:])
            drops = score.repeat(len(chunk)) - _select_target(model(ablated), _repeat_target(target, len(chunk)))
            attributions += (drops.view(len(chunk), n, *(1,) * (x.dim() - 1)) * off).sum(0)
    return attributions


def superpixel_mask(image, n_segments: int = 50, compactness: float = 10.0, start_label: int = 0) -> torch.Tensor:
    """SLIC superpixels (``skimage.segmentation.slic``) as a feature mask for LIME / Captum.

    ``image``: the **denormalised RGB image with values in [0, 1]** (not the normalised model input),
    as a tensor (1, C, H, W) or (C, H, W), or an (H, W, C) numpy array (uint8 0..255 also accepted).
    Returns a LongTensor of shape (1, 1, H, W) with contiguous labels ``start_label, start_label+1, ...``
    (keep 0 for Captum's ``feature_mask``; it broadcasts over channels).
    """
    from skimage.segmentation import slic

    if isinstance(image, torch.Tensor):
        if image.dim() == 4:
            if image.shape[0] != 1:
                raise ValueError(f"image must hold one image, got batch of {image.shape[0]}")
            image = image[0]
        if image.dim() != 3:
            raise ValueError(f"image tensor must be (1, C, H, W) or (C, H, W), got shape {tuple(image.shape)}")
        array = image.detach().cpu().permute(1, 2, 0).double().numpy()
    else:
        array = np.asarray(image)
        if array.dtype == np.uint8:
            array = array / 255.0
        if array.ndim == 2:
            array = array[..., None]
        if array.ndim != 3:
            raise ValueError(f"image array must be (H, W, C), got shape {array.shape}")
    if array.min() < -1e-3 or array.max() > 1 + 1e-3:
        raise ValueError(
            f"image must be denormalised to [0, 1], got values in [{array.min():.3g}, {array.max():.3g}]; "
            "undo the ImageNet normalisation first"
        )
    channel_axis = None if array.shape[-1] == 1 else -1
    segments = slic(array.squeeze(-1) if channel_axis is None else array, n_segments=n_segments,
                    compactness=compactness, start_label=0, channel_axis=channel_axis)
    _, labels = np.unique(segments, return_inverse=True)  # relabel 0..K-1 without gaps
    return torch.from_numpy(labels.reshape(segments.shape) + start_label).long()[None, None]


def _format_feature_mask(feature_mask, inputs: torch.Tensor, shift: bool = True) -> torch.Tensor:
    """One feature index per input element (broadcast to ``inputs``), shifted to start at 0 like Captum's Lime
    (``shift=False``: the labels as given, like Captum's FeatureAblation)."""
    if feature_mask is None:  # every input element is its own feature
        return torch.arange(inputs[0].numel(), device=inputs.device).reshape(1, *inputs.shape[1:])
    if not isinstance(feature_mask, torch.Tensor) or feature_mask.is_floating_point() or feature_mask.dtype == torch.bool:
        raise TypeError(
            "feature_mask must be an integer tensor of feature indices (e.g. from superpixel_mask), got "
            + (str(feature_mask.dtype) if isinstance(feature_mask, torch.Tensor) else type(feature_mask).__name__)
        )
    if feature_mask.dim() != inputs.dim() or feature_mask.shape[0] not in (1, len(inputs)):
        raise ValueError(
            f"feature_mask of shape {tuple(feature_mask.shape)} must have a batch dim of 1 or N and "
            f"broadcast to inputs of shape {tuple(inputs.shape)}, e.g. (1, 1, H, W)"
        )
    try:
        torch.broadcast_shapes(feature_mask.shape[1:], inputs.shape[1:])
    except RuntimeError:
        raise ValueError(f"feature_mask of shape {tuple(feature_mask.shape)} does not broadcast to inputs of shape {tuple(inputs.shape)}") from None
    low = int(feature_mask.min())
    if not shift:
        return feature_mask.to(inputs.device)
    if low != 0:
        warnings.warn("Minimum element in feature_mask is not 0, shifting indices to start at 0.", UserWarning, stacklevel=3)
    return feature_mask.to(inputs.device) - low


def _fit_surrogate(
    model, x, target, feature_mask, baselines, samples, sample_weights, perturbations_per_eval, regressor
) -> torch.Tensor:
    """Fit ``regressor`` on (binary sample z -> F_t(x with the features z == 0 set to baseline)).

    ``x`` is one example (1, ...); ``feature_mask`` (1, ...) maps elements to features; ``samples``
    (n, num_features) are the 0/1 draws; ``sample_weights(z, perturbed)`` gives the weight of each.
    Returns the coefficients, one per feature.
    """
    outputs, weights = [], []
    with torch.inference_mode():
        for chunk in samples.split(perturbations_per_eval):
            keep = chunk[:, feature_mask[0]].to(x.dtype)  # (k, *mask.shape[1:])
            perturbed = keep * x + (1 - keep) * baselines
            outputs.append(_select_target(model(perturbed), _repeat_target(target, len(chunk))).float())
            weights.append(sample_weights(chunk, perturbed))
    # Captum's fit also uses torch's random generator: a torch DataLoader draws a seed and an
    # nn.Linear (random init) receives the coefficients. Make the same draws, so that the next
    # example (or the next call) sees the same random stream as with Captum.
    torch.empty((), dtype=torch.int64).random_()
    regressor.fit(samples.float().cpu().numpy(), torch.cat(outputs).cpu().numpy(),
                  sample_weight=torch.cat(weights).cpu().numpy())
    nn.Linear(samples.shape[1], 1)
    return torch.as_tensor(regressor.coef_, dtype=torch.float32, device=x.device).flatten()


def _surrogate_per_example(model, inputs, target, feature_mask, baselines, return_input_shape, attribute_one):
    """Captum trains one surrogate per example: call ``attribute_one(x_i, target_i, mask_i, baseline_i)``."""
    _check_model_and_inputs(model, inputs)
    inputs = inputs.detach()
    target = _format_target(target, len(inputs), inputs.device)
    feature_mask = _format_feature_mask(feature_mask, inputs)
    num_features = int(feature_mask.max()) + 1
    baselines = _format_baselines(baselines, inputs)
    results = []
    for i in range(len(inputs)):
        mask = feature_mask[i : i + 1] if len(feature_mask) > 1 else feature_mask
        x = inputs[i : i + 1]
        coefficients = attribute_one(x, None if target is None else target[i : i + 1], mask,
                                     baselines[i : i + 1], num_features)
        # the attribution of an input element is the coefficient of its feature
        results.append(coefficients[mask].expand_as(x).clone() if return_input_shape else coefficients.view(1, -1))
    return torch.cat(results)


def lime(
    model: Callable,
    inputs: torch.Tensor,
    target: Target = None,
    feature_mask: torch.Tensor | None = None,
    n_samples: int = 25,
    baselines: Baselines = 0,
    perturbations_per_eval: int = 1,
    alpha: float = 0.01,
    kernel_width: float = 1.0,
    return_input_shape: bool = True,
) -> torch.Tensor:
    """LIME: fit a weighted Lasso ``F_t(x_z) ~ b + sum_f c_f z_f`` on ``n_samples`` random on/off
    patterns ``z`` of the features (``bernoulli(0.5)``; an "off" feature takes the baseline value);
    the attribution of a feature is its coefficient ``c_f``.

    Sample weight ``exp(-d^2 / (2 kernel_width^2))`` with ``d`` the cosine distance between ``x`` and
    ``x_z`` in model-input space. ``sklearn.linear_model.Lasso(alpha)`` (with intercept) is fitted on
    the float32 samples. With small outputs (probabilities) this Lasso returns all zeros; use logits.
    Captum: ``Lime(model).attribute(inputs, target=..., feature_mask=..., n_samples=...,
    baselines=..., perturbations_per_eval=...)``, identical under the same ``torch.manual_seed``.
    """
    from sklearn.linear_model import Lasso

    def attribute_one(x, target_i, mask, baseline, num_features):
        samples = torch.cat([torch.bernoulli(torch.full((1, num_features), 0.5)) for _ in range(n_samples)]).long()
        flat_x = x.flatten().float()

        def similarity(_, perturbed):  # computed one sample at a time, exactly as Captum does
            distance = torch.stack([1 - F.cosine_similarity(flat_x, p.flatten().float(), dim=0) for p in perturbed])
            exponent = -1 * distance**2 / (2 * kernel_width**2)
            return torch.tensor([math.exp(e) for e in exponent.tolist()])

        return _fit_surrogate(model, x, target_i, mask, baseline, samples.to(x.device), similarity,
                              perturbations_per_eval, Lasso(alpha=alpha))

    return _surrogate_per_example(model, inputs, target, feature_mask, baselines, return_input_shape, attribute_one)


def kernel_shap(
    model: Callable,
    inputs: torch.Tensor,
    target: Target = None,
    feature_mask: torch.Tensor | None = None,
    n_samples: int = 25,
    baselines: Baselines = 0,
    perturbations_per_eval: int = 1,
    return_input_shape: bool = True,
) -> torch.Tensor:
    """Kernel SHAP: LIME with the Shapley kernel, i.e. an (unregularised) linear regression on
    on/off patterns drawn so that a pattern with ``k`` of ``M`` features on has probability
    ``~ (M - 1) / (k (M - k))``; the all-on and all-off patterns come first with weight 1e6 (forcing
    ``sum c_f = F(x) - F(baseline)``), every other sample has weight 1.
    Captum: ``KernelShap(model).attribute(...)``, identical under the same ``torch.manual_seed``.
    """
    from sklearn.linear_model import LinearRegression

    def attribute_one(x, target_i, mask, baseline, num_features):
        sizes = torch.arange(num_features, dtype=torch.float)
        probabilities = torch.tensor(num_features - 1) / (sizes * (num_features - sizes))
        probabilities[0] = 0.0
        size_distribution = torch.distributions.Categorical(probabilities)
        samples = [torch.ones(1, num_features), torch.zeros(1, num_features)]
        while len(samples) < n_samples:
            k = size_distribution.sample()
            values = torch.randn(1, num_features)
            samples.append((values > torch.kthvalue(values, num_features - k).values.item()).float())
        samples = torch.cat(samples[:n_samples]).long()

        def shapley_weight(chunk, _):
            on = chunk.sum(dim=1)
            return torch.where((on == 0) | (on == num_features), 1000000.0, 1.0).float()

        return _fit_surrogate(model, x, target_i, mask, baseline, samples.to(x.device), shapley_weight,
                              perturbations_per_eval, LinearRegression())

    return _surrogate_per_example(model, inputs, target, feature_mask, baselines, return_input_shape, attribute_one)


# --------------------------------------------------------------------------------------------------
# Adversarial perturbations (captum.robust)
# --------------------------------------------------------------------------------------------------
def _perturbation_loss(forward_func: Callable, inputs: torch.Tensor, target, loss_func: Callable | None) -> torch.Tensor:
    """One loss per sample, as Captum's FGSM: ``loss_func(outputs, target)``, or by default ``-log(outputs)`` at
    the target (the outputs must then be probabilities, e.g. a model ending with a softmax)."""
    outputs = forward_func(inputs)
    if loss_func is not None:
        return loss_func(outputs, target)
    return _select_target(-torch.log(outputs), _format_target(target, len(inputs), inputs.device))


def fgsm(
    forward_func: Callable,
    inputs: torch.Tensor,
    epsilon: float,
    target,
    targeted: bool = False,
    loss_func: Callable | None = None,
    lower_bound: float = float("-inf"),
    upper_bound: float = float("inf"),
    mask: torch.Tensor | None = None,
    zero_thresh: float = 1e-6,
) -> torch.Tensor:
    """The fast gradient sign method (Goodfellow et al., 2015): one step of size ``epsilon`` along the sign of the
    gradient of the loss, ``x + epsilon * sign(dL(x, target)/dx)`` (untargeted: away from ``target``, the true
    label) or ``x - epsilon * sign(...)`` (``targeted=True``: towards ``target``), then clamped to
    ``[lower_bound, upper_bound]``. Elements whose gradient is at most ``zero_thresh`` in magnitude stay as they
    are; ``mask`` (0/1, the shape of ``inputs``) limits the step to some elements. The loss is one value per sample
    (see :func:`_perturbation_loss`; the default ``-log`` needs probabilities).

    Captum: ``FGSM(forward_func, loss_func, lower_bound, upper_bound).perturb(inputs, epsilon, target,
    targeted=targeted, mask=mask)`` (its attribute ``zero_thresh`` is 1e-6).
    """
    _check_model_and_inputs(forward_func, inputs)
    x = inputs.detach().requires_grad_(True)
    with torch.enable_grad():
        losses = _perturbation_loss(forward_func, x, target, loss_func)
        if losses.dim() == 0 or losses[0].numel() != 1:
            raise ValueError(f"the loss must give one value per sample (shape (N,)), got shape {tuple(losses.shape)}; "
                             "e.g. F.cross_entropy(outputs, target, reduction='none')")
        (grad,) = torch.autograd.grad(torch.unbind(losses), x)
    step = (-1 if targeted else 1) * epsilon * torch.sign(grad) * (1 if mask is None else mask)
    perturbed = torch.where(grad.abs() > zero_thresh, inputs.detach() + step, inputs.detach())
    return torch.clamp(perturbed, min=lower_bound, max=upper_bound)


def _project(center: torch.Tensor, point: torch.Tensor, radius: float, norm: str) -> torch.Tensor:
    """The point of the ``norm`` ball of ``radius`` around ``center`` closest to ``point`` (per sample)."""
    if norm == "Linf":
        return center + torch.clamp(point - center, -radius, radius)
    return center + torch.renorm(point - center, 2, 0, radius)


def pgd(
    forward_func: Callable,
    inputs: torch.Tensor,
    radius: float,
    step_size: float,
    step_num: int,
    target,
    targeted: bool = False,
    random_start: bool = False,
    norm: str = "Linf",
    loss_func: Callable | None = None,
    lower_bound: float = float("-inf"),
    upper_bound: float = float("inf"),
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Projected gradient descent (Madry et al., 2018): ``step_num`` FGSM steps of size ``step_size`` (without
    bounds), each followed by the projection onto the ``norm`` ball (``"Linf"`` or ``"L2"``) of ``radius`` around
    the **original** ``inputs``, then the clamp to ``[lower_bound, upper_bound]``. ``random_start``: start from a
    uniform random point of the ball (clamped), drawn from torch's global random state as Captum draws it
    (L-inf: ``torch.rand_like``; L2: ``torch.randn_like`` then ``torch.rand``).

    Captum: ``PGD(forward_func, loss_func, lower_bound, upper_bound).perturb(inputs, radius, step_size, step_num,
    target, targeted=targeted, random_start=random_start, norm=norm, mask=mask)``.
    """
    if norm not in ("Linf", "L2"):
        raise ValueError(f"norm must be 'Linf' or 'L2', got {norm!r}")
    if not isinstance(step_num, int) or step_num < 0:
        raise ValueError(f"step_num must be an int >= 0, got {step_num!r}")
    _check_model_and_inputs(forward_func, inputs)
    original = inputs.detach()
    weight = 1 if mask is None else mask
    perturbed = original
    if random_start:
        if norm == "Linf":
            noise = torch.rand_like(original) * radius * 2 - radius
        else:  # as Captum: a random direction, a radius r ~ radius * U^(1/d) (shape (N,), broadcast as Captum does)
            direction = F.normalize(torch.randn_like(original).view(len(original), -1)).view(original.shape)
            r = (torch.rand(len(original)) ** (1.0 / original[0].numel())) * radius
            noise = r * direction
        perturbed = torch.clamp(original + noise * weight, min=lower_bound, max=upper_bound)
    for _ in range(step_num):
        perturbed = fgsm(forward_func, perturbed, step_size, target, targeted, loss_func, mask=mask)
        perturbed = torch.clamp(_project(original, perturbed, radius, norm), min=lower_bound, max=upper_bound).detach()
    return perturbed


# --------------------------------------------------------------------------------------------------
# Layer and neuron methods
# --------------------------------------------------------------------------------------------------
def gradcam(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target: Target = None,
            relu_attributions: bool = False) -> torch.Tensor:
    """Grad-CAM: ``sum_k mean_ij(dF_t/dA_kij) * A_k`` over the channels ``k`` of ``layer``'s output ``A``.

    Shape (N, 1, h, w) at the layer's resolution; no ReLU unless ``relu_attributions=True`` (the paper
    applies one). Captum: ``LayerGradCam(model, layer).attribute(inputs, target, relu_attributions=...)``.
    """
    _check_model_and_inputs(model, inputs)
    _check_layer(model, layer)
    target = _format_target(target, len(inputs), inputs.device)
    saved = {}

    def hook(module, args, output):  # keep A in the graph; hand a copy on (in-place ops downstream)
        output = _single_tensor(output, module)
        saved["A"] = output if output.requires_grad else output.requires_grad_()
        return output.clone()

    with _hooks([layer.register_forward_hook(hook)]), torch.enable_grad():
        scores = _select_target(model(inputs.detach()), target)
        (grads,) = torch.autograd.grad(scores.sum(), saved["A"])
    activations = saved["A"].detach()
    weights = grads.mean(dim=tuple(range(2, grads.dim())), keepdim=True) if grads.dim() > 2 else grads
    cam = (weights * activations).sum(dim=1, keepdim=True)
    return F.relu(cam) if relu_attributions else cam


def upsample(attributions: torch.Tensor, size, mode: str = "nearest") -> torch.Tensor:
    """Resize a (N, 1, h, w) map to ``size`` = (H, W) with ``F.interpolate``.

    Captum: ``LayerAttribution.interpolate(attributions, size, interpolate_mode=mode)``. The Grad-CAM
    paper upsamples bilinearly (``mode="bilinear"``) and applies a ReLU.
    """
    return F.interpolate(attributions, size=tuple(size), mode=mode)


def guided_backprop(model: nn.Module, inputs: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Gradient in which every ``nn.ReLU`` module also passes back only positive gradients:
    the gradient reaching a ReLU's input is replaced by ``relu(gradient)``.

    Like Captum, a forward pre-hook on each ``nn.ReLU`` hooks its input tensor and hands a clone to the
    ReLU (safe with ``inplace=True``); ``F.relu`` calls are not affected.
    Captum: ``GuidedBackprop(model).attribute(inputs, target)``.
    """
    _check_model_and_inputs(model, inputs)

    def clamp_gradient(module, args):
        (x,) = args
        if x.requires_grad:
            x.register_hook(F.relu)
        return x.clone()

    handles = [m.register_forward_pre_hook(clamp_gradient) for m in model.modules() if isinstance(m, nn.ReLU)]
    with _hooks(handles):
        return _target_gradient(model, inputs, _format_target(target, len(inputs), inputs.device))


def deconvolution(model: nn.Module, inputs: torch.Tensor, target: Target = None) -> torch.Tensor:
    """Gradient in which every ``nn.ReLU`` module passes back ``relu(gradient at its output)``, ignoring where its
    input was negative (Zeiler & Fergus's deconvnet): guided backpropagation without the forward mask.

    Like Captum, a forward pre-hook on each ``nn.ReLU`` call hooks its input tensor (and hands a clone to the ReLU),
    a forward hook on the call records the gradient reaching its output; ``F.relu`` calls are not affected.
    Captum: ``Deconvolution(model).attribute(inputs, target)``.
    """
    _check_model_and_inputs(model, inputs)
    calls: dict[nn.Module, list[dict]] = {}

    def record_call(module, args):
        (x,) = args
        call: dict = {}
        calls.setdefault(module, []).append(call)
        if x.requires_grad:
            x.register_hook(lambda gradient: F.relu(call["grad_output"]) if "grad_output" in call else None)
        return x.clone()

    def record_output_gradient(module, args, output):
        call = calls[module].pop()
        if output.requires_grad:
            output.register_hook(lambda gradient: call.__setitem__("grad_output", gradient))

    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    handles = [m.register_forward_pre_hook(record_call) for m in relus]
    handles += [m.register_forward_hook(record_output_gradient) for m in relus]
    with _hooks(handles):
        return _target_gradient(model, inputs, _format_target(target, len(inputs), inputs.device))


def guided_gradcam(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target: Target = None,
                   interpolate_mode: str = "nearest") -> torch.Tensor:
    """Guided backprop times the Grad-CAM map (with ReLU) upsampled to the input size.

    Captum: ``GuidedGradCam(model, layer).attribute(inputs, target, interpolate_mode=...)``.
    """
    cam = gradcam(model, layer, inputs, target, relu_attributions=True)
    return guided_backprop(model, inputs, target) * upsample(cam, inputs.shape[2:], interpolate_mode)


def layer_integrated_gradients(
    model: nn.Module,
    layer: nn.Module,
    inputs: torch.Tensor,
    target: Target = None,
    baselines: Baselines = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
    return_convergence_delta: bool = False,
):
    """Integrated gradients in the space of ``layer``'s output ``A``:
    ``(A(x) - A(x')) * sum_i w_i dF_t/dA at A(x') + alpha_i (A(x) - A(x'))``.

    ``baselines`` are given in input space and pushed through the model; the path points replace the
    layer's output (forward hook). Shape of the layer output.
    Captum: ``LayerIntegratedGradients(model, layer).attribute(inputs, baselines, target, n_steps=...,
    method=..., internal_batch_size=..., return_convergence_delta=...)``.
    """
    _check_model_and_inputs(model, inputs)
    _check_layer(model, layer)
    inputs = inputs.detach()
    target = _format_target(target, len(inputs), inputs.device)
    baselines = _format_baselines(baselines, inputs)
    with torch.no_grad():
        layer_x, layer_baseline = (_layer_output(model, layer, z)[1] for z in (inputs, baselines))

    def path_gradient(points, k):
        copies = inputs.repeat(k, *(1,) * (inputs.dim() - 1))  # what runs before the layer is replaced
        return _gradient(lambda a: _select_target(_model_with_layer_output(model, layer, copies, a),
                                                  _repeat_target(target, k)), points)

    attributions = _integrate(path_gradient, layer_x, layer_baseline, n_steps, method, internal_batch_size)
    if return_convergence_delta:
        return attributions, _convergence_delta(model, attributions, inputs, baselines, target)
    return attributions


def layer_conductance(
    model: nn.Module,
    layer: nn.Module,
    inputs: torch.Tensor,
    target: Target = None,
    baselines: Baselines = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    return_convergence_delta: bool = False,
):
    """Conductance of every unit of ``layer``'s output ``A`` (Dhamdhere et al., 2018): the gradient of ``F_t``
    flowing through the unit along IG's straight path in *input* space (chain rule),
    ``sum_i dF_t/dA(x_i) * (A(x_{i+1}) - A(x_i))`` over the ``n_steps + 1`` points ``x_i = x' + alpha_i (x - x')``.

    As in Captum, ``alpha_i`` are the points of ``method`` for ``n_steps + 1`` steps (Gauss-Legendre points do
    not include 0 and 1, so the path stops just short of ``x'`` and ``x``; ``"riemann_trapezoid"`` includes them).
    Shape of the layer output; the units add up to about ``F_t(x) - F_t(x')`` (``return_convergence_delta``).
    Captum: ``LayerConductance(model, layer).attribute(inputs, baselines, target, n_steps=..., method=...)``.
    """
    _check_model_and_inputs(model, inputs)
    _check_layer(model, layer)
    inputs = inputs.detach()
    n = len(inputs)
    target = _format_target(target, n, inputs.device)
    baselines = _format_baselines(baselines, inputs)
    alphas, _ = _alphas_and_weights(method, n_steps + 1)
    points = baselines + alphas.to(inputs.device).view((-1,) + (1,) * inputs.dim()) * (inputs - baselines)
    saved = {}

    def hook(module, args, output):  # keep A in the graph; hand a copy on (in-place ops downstream)
        saved["A"] = _single_tensor(output, module)
        return saved["A"].clone()

    with _hooks([layer.register_forward_hook(hook)]), torch.enable_grad():
        x = points.reshape(-1, *inputs.shape[1:]).requires_grad_(True)
        scores = _select_target(model(x), _repeat_target(target, n_steps + 1))
        (grads,) = torch.autograd.grad(scores.sum(), saved["A"])
    activations = saved["A"].detach().reshape(n_steps + 1, n, *saved["A"].shape[1:])
    grads = grads.reshape(activations.shape)
    attributions = (grads[:-1] * (activations[1:] - activations[:-1])).sum(0)
    if return_convergence_delta:
        return attributions, _convergence_delta(model, attributions, inputs, baselines, target)
    return attributions


def neuron_gradient(model: nn.Module, layer: nn.Module, inputs: torch.Tensor,
                    neuron_selector: NeuronSelector) -> torch.Tensor:
    """Gradient of one neuron of ``layer``'s output, ``layer_out[:, *neuron_selector]``, w.r.t. the input
    (a selector with slices, or a callable, selects several neurons: their sum).
    Captum: ``NeuronGradient(model, layer).attribute(inputs, neuron_selector)``.
    """
    _check_model_and_inputs(model, inputs)
    _check_layer(model, layer)
    return _gradient(lambda x: _select_neuron(_layer_output(model, layer, x)[1], neuron_selector), inputs)


def neuron_integrated_gradients(
    model: nn.Module,
    layer: nn.Module,
    inputs: torch.Tensor,
    neuron_selector: NeuronSelector,
    baselines: Baselines = None,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
) -> torch.Tensor:
    """Integrated gradients of one neuron of ``layer`` (see :func:`neuron_gradient`) w.r.t. the input.
    Captum: ``NeuronIntegratedGradients(model, layer).attribute(inputs, neuron_selector, baselines,
    n_steps=..., method=..., internal_batch_size=...)``.
    """
    _check_model_and_inputs(model, inputs)
    _check_layer(model, layer)
    inputs = inputs.detach()
    neuron = lambda x: _select_neuron(_layer_output(model, layer, x)[1], neuron_selector)  # noqa: E731
    return _integrate(lambda points, k: _gradient(neuron, points), inputs,
                      _format_baselines(baselines, inputs), n_steps, method, internal_batch_size)


# --------------------------------------------------------------------------------------------------
# Concepts (TCAV)
# --------------------------------------------------------------------------------------------------
def _flat_activations(activations: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(activations, torch.Tensor) or not activations.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor of activations (N, ...), got "
                        f"{type(activations).__name__ if not isinstance(activations, torch.Tensor) else activations.dtype}")
    if activations.dim() < 2 or len(activations) == 0:
        raise ValueError(f"{name} must have a batch dimension and at least one example, got shape "
                         f"{tuple(activations.shape)}")
    return activations.detach().reshape(len(activations), -1)


def cav_classifier(concept_activations: torch.Tensor, random_activations: torch.Tensor, steps: int = 100,
                   lr: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """``(w, b)`` of the course's concept classifier (see :func:`cav`), in float64: an activation ``a`` (flattened)
    is classified as the concept when ``a . w + b > 0``."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    concept = _flat_activations(concept_activations, "concept_activations")
    random = _flat_activations(random_activations, "random_activations")
    if concept.shape[1] != random.shape[1]:
        raise ValueError(f"concept and random activations must have the same number of features, got "
                         f"{concept.shape[1]} and {random.shape[1]}")
    x = torch.cat([concept, random]).double()
    y = torch.cat([torch.ones(len(concept)), torch.zeros(len(random))]).to(x)
    w, b = torch.zeros(x.shape[1], dtype=x.dtype, device=x.device), torch.zeros((), dtype=x.dtype, device=x.device)
    for _ in range(steps):
        error = torch.sigmoid(x @ w + b) - y  # d(mean binary cross-entropy)/d(logit), times n
        w = w - lr * (x.T @ error) / len(x)
        b = b - lr * error.mean()
    return w, b


def cav(concept_activations: torch.Tensor, random_activations: torch.Tensor, steps: int = 100,
        lr: float = 0.01) -> torch.Tensor:
    """The concept activation vector (CAV): the unit normal of a linear classifier's decision boundary between the
    activations of concept examples and of random examples, pointing towards the concept.

    The course's classifier (deterministic): logistic regression on the flattened activations (``(N, ...)`` ->
    ``(N, D)``), label 1 for the concept and 0 for the random examples, weights ``w`` and bias ``b`` starting at 0,
    ``steps`` full-batch gradient-descent steps of size ``lr`` on the mean binary cross-entropy of all examples:
    ``w -= lr * X^T (sigmoid(X w + b) - y) / n``, ``b -= lr * mean(sigmoid(X w + b) - y)``. Returns ``w / |w|``,
    shape ``(D,)``, in the activations' dtype.

    Captum: ``TCAV(..., classifier=helpers.concepts.CAVClassifier(steps, lr))`` trains this classifier; its
    default classifier (scikit-learn's ``SGDClassifier``, a linear SVM trained on a random 67% split) gives
    another, random, normal.
    """
    w, _ = cav_classifier(concept_activations, random_activations, steps, lr)
    norm = w.norm()
    direction = w / norm if norm > 0 else w
    return direction.to(concept_activations.dtype)


def layer_gradient(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target: Target = None) -> torch.Tensor:
    """``dF_t/dA``: the gradient of the target's raw logit with respect to ``layer``'s output ``A``, shape of ``A``.
    Captum: ``LayerGradientXActivation(model, layer, multiply_by_inputs=False).attribute(inputs, target)`` (what
    ``TCAV`` uses by default).
    """
    _check_model_and_inputs(model, inputs)
    _check_layer(model, layer)
    target = _format_target(target, len(inputs), inputs.device)
    saved = {}

    def hook(module, args, output):  # keep A in the graph; hand a copy on (in-place ops downstream)
        output = _single_tensor(output, module)
        saved["A"] = output if output.requires_grad else output.requires_grad_()
        return output.clone()

    with _hooks([layer.register_forward_hook(hook)]), torch.enable_grad():
        scores = _select_target(model(inputs.detach()), target)
        (grads,) = torch.autograd.grad(scores.sum(), saved["A"])
    return grads


def directional_derivatives(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target: Target,
                            cav: torch.Tensor) -> torch.Tensor:
    """The conceptual sensitivity of Kim et al.: ``S(x) = dF_t/dA(x) . v``, the directional derivative of the
    target's raw logit along the CAV ``v`` (shape ``(D,)``, over ``layer``'s flattened output) at every input:
    shape ``(N,)``. Positive: moving the activations towards the concept raises the logit.
    Captum's ``TCAV`` computes it inside ``interpret`` (the layer gradient times its CAVs).
    """
    grads = layer_gradient(model, layer, inputs, target).reshape(len(inputs), -1)
    if not isinstance(cav, torch.Tensor) or cav.numel() != grads.shape[1]:
        raise ValueError(f"cav must be a tensor of {grads.shape[1]} values (the layer's flattened output), got "
                         f"{tuple(cav.shape) if isinstance(cav, torch.Tensor) else type(cav).__name__}")
    return grads @ cav.reshape(-1).to(grads)


def tcav_scores(model: nn.Module, layer: nn.Module, inputs: torch.Tensor, target: Target,
                cav: torch.Tensor) -> tuple[float, float]:
    """``(sign_count, magnitude)`` of the concept whose CAV is ``cav``, as Captum 0.9's ``TCAV.interpret`` computes
    them from the directional derivatives ``S`` (:func:`directional_derivatives`): the TCAV score of Kim et al.,
    the fraction of inputs with ``S > 0``, and ``mean(S)`` (Captum's "magnitude"; its docstring describes another
    formula, ``sum(S * (S > 0)) / sum(|S|)``, which its code does not compute).
    """
    sensitivities = directional_derivatives(model, layer, inputs, target, cav)
    return float((sensitivities > 0).float().mean()), float(sensitivities.mean())
