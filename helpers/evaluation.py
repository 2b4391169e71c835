"""Reference implementations of metrics that evaluate explanations (lab 10), in plain PyTorch.

Conventions:

- An **importance map** ``maps`` has one value per pixel, shape (N, H, W) (or (N, 1, H, W)); higher means more
  important. :func:`attribution_map` turns Captum attributions (N, C, h, w) into one, as
  ``captum.attr.visualization`` does: sum over channels, then the absolute value (or the positive part).
- A **mask** is a bool tensor (N, H, W) (or (N, 1, H, W)), True on the ground-truth object.
- ``model`` returns raw scores (N, classes) and ``target`` picks one column (an int or one class per sample),
  as in Captum; wrap the model in ``torch.nn.Sequential(model, torch.nn.Softmax(dim=1))`` to score
  probabilities (as Petsiuk et al. do for deletion/insertion).

Localisation: :func:`pointing_game`, :func:`relevance_mass`. Faithfulness: :func:`deletion_curve`,
:func:`insertion_curve`, :func:`area_under_curve`, :func:`random_order_auc` (with :func:`blurred` images
as a baseline), and Captum's
``captum.metrics.infidelity`` (with :func:`noise_perturbation`) and ``captum.metrics.sensitivity_max``.
Sanity checks: :func:`cascading_randomization`, :func:`rank_correlation`.
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "attribution_map",
    "pointing_game",
    "relevance_mass",
    "deletion_curve",
    "insertion_curve",
    "area_under_curve",
    "random_order_auc",
    "blurred",
    "noise_perturbation",
    "cascading_randomization",
    "rank_correlation",
]

Target = Union[int, Sequence[int], torch.Tensor]
SIGNS = ("absolute_value", "positive", "all")


# --------------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------------
def _tensor(name: str, value) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def _per_pixel(name: str, value, *, bool_mask: bool = False) -> torch.Tensor:
    """(N, H, W) from (N, H, W) or (N, 1, H, W); float maps or bool masks."""
    value = _tensor(name, value)
    if value.dim() == 4 and value.shape[1] == 1:
        value = value[:, 0]
    if value.dim() != 3:
        raise ValueError(f"{name} must have shape (N, H, W) or (N, 1, H, W), got {tuple(value.shape)}"
                         + (" (reduce the channels first, e.g. with attribution_map)" if value.dim() == 4 else ""))
    if bool_mask and value.dtype != torch.bool:
        raise TypeError(f"{name} must be a bool tensor (True on the object), got dtype {value.dtype}")
    if not bool_mask and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


def _maps_and_masks(maps, masks) -> tuple[torch.Tensor, torch.Tensor]:
    maps, masks = _per_pixel("maps", maps), _per_pixel("masks", masks, bool_mask=True)
    if maps.shape != masks.shape:
        raise ValueError(f"maps and masks must have the same (N, H, W) shape, got {tuple(maps.shape)} and "
                         f"{tuple(masks.shape)}")
    return maps, masks


def _target(target: Target, n: int) -> torch.Tensor:
    if isinstance(target, bool) or not isinstance(target, (int, list, tuple, torch.Tensor)):
        raise TypeError(f"target must be an int or one class per sample, got {type(target).__name__}")
    target = torch.as_tensor(target, dtype=torch.long)
    if target.dim() == 0:
        return target.expand(n)
    if target.shape != (n,):
        raise ValueError(f"target must be an int or hold one class per sample ({n}), got shape {tuple(target.shape)}")
    return target


# --------------------------------------------------------------------------------------------------
# Localisation against a ground-truth mask
# --------------------------------------------------------------------------------------------------
def attribution_map(attributions: torch.Tensor, sign: str = "absolute_value", size=None) -> torch.Tensor:
    """Importance map (N, H, W) of attributions (N, C, h, w): ``sum_c a_c``, then ``|.|`` ("absolute_value"),
    ``max(., 0)`` ("positive") or nothing ("all"), as ``captum.attr.visualization.visualize_image_attr``
    does; resized to ``size`` = (H, W) by bilinear interpolation if given (e.g. a Grad-CAM map of a conv layer).
    """
    attributions = _tensor("attributions", attributions)
    if attributions.dim() != 4:
        raise ValueError(f"attributions must have shape (N, C, H, W), got {tuple(attributions.shape)}")
    if sign not in SIGNS:
        raise ValueError(f"sign must be one of {SIGNS}, got {sign!r}")
    combined = attributions.detach().sum(dim=1, keepdim=True)
    combined = {"absolute_value": combined.abs(), "positive": combined.clamp(min=0), "all": combined}[sign]
    if size is not None and tuple(size) != tuple(combined.shape[2:]):
        combined = F.interpolate(combined, size=tuple(size), mode="bilinear", align_corners=False)
    return combined[:, 0]


def pointing_game(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Hit (True) when the most important pixel lies on the object: ``mask[argmax(map)]``, per sample (N,).

    Ties go to the first maximum in row-major order (``torch.argmax``). The hit rate of a map that points at
    a random pixel is the object's share of the image. Zhang et al., "Top-down neural attention by
    excitation backprop", IJCV 2018 (without their 15-pixel tolerance).
    """
    maps, masks = _maps_and_masks(maps, masks)
    top = maps.flatten(1).argmax(dim=1)
    return masks.flatten(1).gather(1, top[:, None])[:, 0]


def relevance_mass(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of the importance that falls on the object, per sample (N,):
    ``sum_{p in mask} m_p / sum_p m_p`` for a non-negative map ``m`` (0 for an all-zero map).

    A uniform map scores the object's share of the image, a perfect one 1. Arras, Osman, Samek,
    "CLEVR-XAI: a benchmark dataset for the ground truth evaluation of neural network explanations",
    Information Fusion 2022 ("relevance mass accuracy", computed on positive relevance).
    """
    maps, masks = _maps_and_masks(maps, masks)
    if bool((maps < 0).any()):
        raise ValueError("maps must be non-negative for relevance_mass: use attribution_map(..., sign="
                         "'absolute_value' or 'positive'), or .abs() / .clamp(min=0)")
    inside = (maps * masks).flatten(1).sum(dim=1)
    total = maps.flatten(1).sum(dim=1)
    return torch.where(total > 0, inside / total.clamp(min=torch.finfo(maps.dtype).tiny), torch.zeros_like(total))


# --------------------------------------------------------------------------------------------------
# Faithfulness: deletion and insertion (Petsiuk et al., RISE, BMVC 2018)
# --------------------------------------------------------------------------------------------------
def _perturbation_curve(model, inputs, maps, target, baselines, step, batch_size, insert: bool):
    inputs = _tensor("inputs", inputs)
    if inputs.dim() != 4 or not inputs.is_floating_point():
        raise ValueError(f"inputs must be a float tensor (N, C, H, W), got {tuple(inputs.shape)} {inputs.dtype}")
    maps = _per_pixel("maps", maps)
    n, _, height, width = inputs.shape
    if maps.shape != (n, height, width):
        raise ValueError(f"maps must have shape (N, H, W) = {(n, height, width)} to match inputs, got "
                         f"{tuple(maps.shape)}")
    if not isinstance(step, int) or isinstance(step, bool) or step < 1:
        raise ValueError(f"step must be a positive int (pixels per step), got {step!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    target = _target(target, n).cpu()
    if not isinstance(baselines, (int, float, torch.Tensor)) or isinstance(baselines, bool):
        raise TypeError(f"baselines must be a number or a tensor broadcastable to inputs, got {type(baselines).__name__}")
    try:
        baselines = torch.broadcast_to(torch.as_tensor(baselines, dtype=inputs.dtype, device=inputs.device),
                                       inputs.shape)
    except RuntimeError:
        raise ValueError(f"baselines of shape {tuple(baselines.shape)} cannot be broadcast to inputs "
                         f"{tuple(inputs.shape)}") from None

    num_pixels = height * width
    counts = torch.arange(0, math.ceil(num_pixels / step) + 1) * step
    counts[-1] = num_pixels
    order = maps.detach().cpu().flatten(1).argsort(dim=1, descending=True, stable=True)
    ranks = torch.empty_like(order).scatter_(1, order, torch.arange(num_pixels).expand(n, -1))  # rank of each pixel
    scores = torch.empty(n, len(counts))
    with torch.no_grad():
        for i in range(n):
            changed = (ranks[i][None, :] < counts[:, None]).view(len(counts), 1, height, width)  # (K, 1, H, W)
            changed = changed.to(inputs.device)
            start, end = (baselines[i], inputs[i]) if insert else (inputs[i], baselines[i])
            for first in range(0, len(counts), batch_size):
                chunk = torch.where(changed[first:first + batch_size], end, start)
                scores[i, first:first + batch_size] = model(chunk)[:, target[i]].detach().cpu()
    return counts.to(torch.float32) / num_pixels, scores


def deletion_curve(model: Callable, inputs: torch.Tensor, maps: torch.Tensor, target: Target,
                   baselines: float | torch.Tensor = 0.0, step: int = 1, batch_size: int = 256):
    """Deletion: replace the pixels (all channels) by ``baselines`` in decreasing order of ``maps``, ``step``
    pixels at a time, and record the target score ``F_t`` after each step.

    Returns ``(fractions, scores)``: ``fractions`` (K,) the share of pixels removed, ``0, step/HW, 2 step/HW,
    ..., 1`` (K = ceil(HW / step) + 1; the last step may be shorter), and ``scores`` (N, K), where
    ``scores[:, 0]`` is ``F_t(x)`` and ``scores[:, -1]`` is ``F_t(baseline)``. Ties in ``maps`` keep
    row-major pixel order (stable sort). A faithful map makes the score drop fast: a low area under the curve.
    Petsiuk, Das, Saenko, "RISE: randomized input sampling for explanation of black-box models", BMVC 2018.
    """
    return _perturbation_curve(model, inputs, maps, target, baselines, step, batch_size, insert=False)


def insertion_curve(model: Callable, inputs: torch.Tensor, maps: torch.Tensor, target: Target,
                    baselines: float | torch.Tensor = 0.0, step: int = 1, batch_size: int = 256):
    """Insertion: start from ``baselines`` and put the pixels of ``inputs`` back in decreasing order of
    ``maps``; same output as :func:`deletion_curve` (``scores[:, 0]`` is ``F_t(baseline)``, ``scores[:, -1]``
    is ``F_t(x)``). A faithful map makes the score rise fast: a high area under the curve (RISE, BMVC 2018).
    """
    return _perturbation_curve(model, inputs, maps, target, baselines, step, batch_size, insert=True)


def area_under_curve(fractions: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Trapezoidal area under each curve, (N,): ``sum_j (f_{j+1} - f_j) (s_j + s_{j+1}) / 2``."""
    fractions, scores = _tensor("fractions", fractions), _tensor("scores", scores)
    if fractions.dim() != 1 or scores.dim() != 2 or scores.shape[1] != len(fractions):
        raise ValueError(f"fractions must have shape (K,) and scores (N, K), got {tuple(fractions.shape)} "
                         f"and {tuple(scores.shape)}")
    return torch.trapezoid(scores, fractions.to(scores.dtype), dim=1)


def random_order_auc(model: Callable, inputs: torch.Tensor, target: Target, curve: str = "deletion",
                     n_orders: int = 5, seed: int = 0, baselines: float | torch.Tensor = 0.0, step: int = 1,
                     batch_size: int = 256) -> torch.Tensor:
    """The baseline for :func:`deletion_curve` / :func:`insertion_curve` (``curve``): the mean area under
    the curve over ``n_orders`` uniformly random pixel orders (drawn from ``seed``), per sample (N,)."""
    curves = {"deletion": deletion_curve, "insertion": insertion_curve}
    if curve not in curves:
        raise ValueError(f"curve must be 'deletion' or 'insertion', got {curve!r}")
    if not isinstance(n_orders, int) or n_orders < 1:
        raise ValueError(f"n_orders must be a positive int, got {n_orders!r}")
    inputs = _tensor("inputs", inputs)
    if inputs.dim() != 4:
        raise ValueError(f"inputs must have shape (N, C, H, W), got {tuple(inputs.shape)}")
    generator = torch.Generator().manual_seed(seed)
    shape = (len(inputs), *inputs.shape[2:])
    areas = [area_under_curve(*curves[curve](model, inputs, torch.rand(shape, generator=generator), target,
                                             baselines=baselines, step=step, batch_size=batch_size))
             for _ in range(n_orders)]
    return torch.stack(areas).mean(dim=0)


def blurred(inputs: torch.Tensor, kernel_size: int = 9) -> torch.Tensor:
    """Box-blurred images (mean over a ``kernel_size`` square, edges replicated): a baseline for deletion and
    insertion that removes the shapes but keeps the colours, so the perturbed images stay closer to the data
    than black ones (RISE blurs the image for insertion)."""
    inputs = _tensor("inputs", inputs)
    if inputs.dim() != 4 or not inputs.is_floating_point():
        raise ValueError(f"inputs must be a float tensor (N, C, H, W), got {tuple(inputs.shape)} {inputs.dtype}")
    if not isinstance(kernel_size, int) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
    pad = kernel_size // 2
    return F.avg_pool2d(F.pad(inputs.detach(), (pad, pad, pad, pad), mode="replicate"), kernel_size, stride=1)


def noise_perturbation(std: float) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """A ``perturb_func`` for ``captum.metrics.infidelity``: ``I ~ N(0, std^2)`` per input element, returns
    ``(I, x - I)``. Infidelity (Yeh et al., NeurIPS 2019) is ``E_I[(I . a - (F(x) - F(x - I)))^2]``: how well
    the attributions ``a`` predict the change of the output under small perturbations. The noise comes from
    the global random state of the CPU (also for inputs on a GPU, so the same seed gives the same noise on every
    device): call ``torch.manual_seed`` first to reproduce a value."""
    if not isinstance(std, (int, float)) or std <= 0:
        raise ValueError(f"std must be a positive number, got {std!r}")

    def perturb(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        noise = (torch.randn(inputs.shape, dtype=inputs.dtype) * std).to(inputs.device)
        return noise, inputs - noise

    return perturb


# --------------------------------------------------------------------------------------------------
# Sanity checks (Adebayo et al., "Sanity checks for saliency maps", NeurIPS 2018)
# --------------------------------------------------------------------------------------------------
def cascading_randomization(model: nn.Module, seed: int = 0) -> list[tuple[str, nn.Module]]:
    """Cascading model-parameter randomisation: copies of ``model`` in which the layers with parameters are
    re-initialised (``reset_parameters()``, i.e. PyTorch's initialisation, drawn from ``seed``) one more at
    a time, **from the output layer down**. Returns ``[(layer name, model with that layer and all layers
    after it random), ...]``, the last one fully random; ``model`` itself is not changed.

    Explain the same inputs with every copy and compare with the original explanation
    (:func:`rank_correlation`): a method whose maps stay the same does not depend on what the model learned.
    The new weights are drawn on the CPU and the copies then moved to the model's device, so a seed gives the same
    copies on every device.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers = [name for name, module in model.named_modules() if any(True for _ in module.parameters(recurse=False))]
    if not layers:
        raise ValueError("model has no parameters to randomise")
    for name in layers:
        if not hasattr(model.get_submodule(name), "reset_parameters"):
            raise ValueError(f"layer {name!r} has parameters but no reset_parameters() to re-initialise them")
    device = next(model.parameters()).device
    randomized, copies = copy.deepcopy(model).cpu(), []
    for index, name in enumerate(reversed(layers)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + index)
            randomized.get_submodule(name).reset_parameters()
        copies.append((name, copy.deepcopy(randomized).to(device)))
    return copies


def _average_ranks(values: torch.Tensor) -> torch.Tensor:
    """Ranks 1..M along dim 1, ties getting their average rank (like ``scipy.stats.rankdata``)."""
    sorted_values, order = values.sort(dim=1, stable=True)
    ranks = torch.empty_like(values, dtype=torch.float64)
    for row in range(len(values)):
        _, inverse, counts = torch.unique_consecutive(sorted_values[row], return_inverse=True, return_counts=True)
        ends = counts.cumsum(0).to(torch.float64)
        average = ends - (counts.to(torch.float64) - 1) / 2  # mean of the ranks end-count+1 .. end
        ranks[row, order[row]] = average[inverse]
    return ranks


def rank_correlation(a: torch.Tensor, b: torch.Tensor, absolute: bool = True) -> torch.Tensor:
    """Spearman rank correlation between the maps ``a`` and ``b`` of each sample, (N,): the Pearson
    correlation of their ranks (ties get their average rank, as ``scipy.stats.spearmanr``), over all
    non-batch elements; of ``|a|`` and ``|b|`` when ``absolute`` (Adebayo et al. compare absolute maps).
    A constant map has no ranking: its correlation is NaN."""
    a, b = _tensor("a", a), _tensor("b", b)
    if a.shape != b.shape or a.dim() < 2:
        raise ValueError(f"a and b must have the same shape (N, ...), got {tuple(a.shape)} and {tuple(b.shape)}")
    a, b = a.detach().flatten(1).double(), b.detach().flatten(1).double()
    if absolute:
        a, b = a.abs(), b.abs()
    ra, rb = _average_ranks(a), _average_ranks(b)
    ra, rb = ra - ra.mean(dim=1, keepdim=True), rb - rb.mean(dim=1, keepdim=True)
    return ((ra * rb).sum(dim=1) / (ra.norm(dim=1) * rb.norm(dim=1))).float()
