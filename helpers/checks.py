"""Checks that compare a student's attributions with the reference and say what is likely wrong.

Self-check cells and hidden nbgrader tests call :func:`check_attribution` (deterministic methods) or
:func:`check_ranking` (random methods: LIME, SmoothGrad with other draws). Both return ``None`` when the
answer is right and otherwise raise :class:`AssertionError` whose message names the likely mistake in one
or two plain sentences (a flipped sign, a missing ``abs``, a channel reduction, a wrong target class, ...).

Whatever the student passes, they raise nothing but :class:`AssertionError`, so a grader never crashes.
Wrong *reference* arguments (``expected``, tolerances, ``method``, ``alternatives``) are the instructor's
mistake and raise :class:`TypeError` / :class:`ValueError`.

The diagnosis goes step by step: type, NaN/inf, shape, dtype/device, then values. A step that finds a
problem but can still make the values comparable (a NumPy array, a missing batch dimension, float64)
says so and lets the later steps go on, e.g. "... dtype float64 ... Apart from that, your values are right."
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch

__all__ = ["check_attribution", "check_ranking", "assert_close_scalar"]

# Hints per method, keyed by the kind of mistake found (the ``kind`` of a _Finding); appended to the
# diagnosis. The keys are also the accepted values of ``method``.
_METHOD_HINTS: dict[str, dict[str, str]] = {
    "saliency": {
        "abs_missing": "Saliency here is the absolute value of the gradient, |dF/dx| "
        "(Captum's Saliency uses abs=True by default).",
        "abs_extra": "Here the signed gradient dF/dx is asked for (Captum: Saliency(...).attribute(..., abs=False)).",
        "mismatch": "Take the gradient of the raw logit of the target class (no softmax, no loss), "
        "with the model in eval mode.",
    },
    "input_x_gradient": {
        "mismatch": "Multiply the gradient of the target logit by the input itself: x * dF/dx.",
    },
    "integrated_gradients": {
        "mismatch": "Did you multiply by (inputs - baselines)? Also check the baseline, n_steps and the "
        "integration method.",
        "scaled": "The path integral is a weighted average of the gradients (the weights sum to 1), "
        "times (inputs - baselines).",
    },
    "smoothgrad": {
        "mismatch": "Did you add noise? stdevs is absolute (not a fraction of the input range); check "
        "nt_samples and the seed.",
        "squared": "SmoothGrad averages the attributions; smoothgrad_sq averages their squares.",
        "scaled": "Average over the noisy samples (divide by nt_samples), do not sum.",
    },
    "occlusion": {
        "sign": "For occlusion, use F(x) - F(x_occluded).",
        "mismatch": "Check the window, the stride and the baseline, and average overlapping windows "
        "(divide each pixel's sum by the number of windows covering it).",
    },
    "gradcam": {
        "channel": "Average the gradients over space, then sum weights*activations over channels.",
        "mismatch": "Average the gradients over space, then sum weights*activations over channels; check "
        "the layer and whether a ReLU is asked for.",
        "relu_missing": "Apply a ReLU to the map (Captum: relu_attributions=True).",
        "relu_extra": "This map is asked for without ReLU (Captum's default relu_attributions=False).",
    },
    "adversarial": {
        "mismatch": "One step: the sign of the gradient of the cross-entropy loss of the raw outputs for `target`, "
        "times step_size, subtracted for a targeted step and added for an untargeted one (elements whose gradient is "
        "at most 1e-6 in magnitude stay), then back within `radius` of `original`, then clamped to [0, 1].",
    },
    "lime": {
        "mismatch": "Use superpixel features (a feature mask starting at 0), not pixels; check the seed, "
        "the number of samples and the similarity kernel.",
    },
    "feature_ablation": {
        "sign": "Feature ablation is F_t(x) - F_t(x with the feature switched off): positive where switching the "
        "feature off lowers the score.",
        "mismatch": "Switch off one feature at a time (every element with its label, in every channel, takes the "
        "baseline), take the raw logit of each sample's target, and give every element the drop of its own feature.",
    },
    "cav": {
        "sign": "Your CAV points away from the concept: label the concept examples 1 and the random examples 0 (were "
        "the labels swapped?).",
        "scaled": "Return the unit vector w / w.norm() (the direction of the classifier's weights, not the weights).",
        "mismatch": "Logistic regression on the flattened activations: weights and bias start at 0, then `steps` "
        "full-batch gradient steps of size `lr` on the mean binary cross-entropy (concept 1, random 0), with a bias.",
    },
    "tcav": {
        "sign": "Take the gradient of the target's raw logit and its dot product with the CAV as given (do not flip it).",
        "mismatch": "Take the gradient of each input's target logit (raw, no softmax) with respect to the layer's "
        "output, flatten it per input, and take its dot product with the CAV: one number per input.",
    },
}

# Channel reductions students use, (N, C, H, W) -> (N, H, W).
_CHANNEL_REDUCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sum": lambda t: t.sum(1),
    "mean": lambda t: t.mean(1),
    "max": lambda t: t.amax(1),
    "max of absolute values": lambda t: t.abs().amax(1),
}

# Mistakes that turn the expected values into the student's by a fixed transform, tried in this order.
# Each: kind, a function giving the pair (student's values, expected values) that then agree, or None
# when the mistake cannot apply, and the diagnosis.
_TRANSFORM_MISTAKES: tuple[tuple[str, Callable[[torch.Tensor, torch.Tensor], Any], str], ...] = (
    ("sign", lambda a, e: (a, -e),
     "The sign is flipped: your values are the negative of the expected ones."),
    ("abs_missing", lambda a, e: (a.abs(), e) if bool((a < 0).any()) else None,
     "The absolute value is missing: yours have negative values, the expected ones are their absolute "
     "values (.abs())."),
    ("abs_extra", lambda a, e: (a, e.abs()) if bool((e < 0).any()) else None,
     "Your values are the absolute values of the expected ones, which are signed: do not take .abs()."),
    ("relu_missing", lambda a, e: (a.clamp(min=0), e) if bool((a < 0).any()) else None,
     "Your positive values are right, but the expected ones have negative values set to 0 (a ReLU, "
     ".clamp(min=0)) and yours do not."),
    ("relu_extra", lambda a, e: (a, e.clamp(min=0)) if bool((e < 0).any()) else None,
     "Your negative values are set to 0 (a ReLU or .clamp(min=0)), but the expected values keep their sign."),
    ("squared", lambda a, e: (a, e * e),
     "Your values are the squares of the expected ones."),
)


@dataclass
class _Finding:
    """One problem found: ``kind`` selects a method hint; ``recovered`` is the student's answer made
    comparable (e.g. the tensor inside a tuple) so that later steps can go on, or None to stop."""

    kind: str
    text: str
    recovered: torch.Tensor | None = None


# ``matches(student_values, target_values)``: whether float64 tensors agree (within tolerance for
# check_attribution, in ranking for check_ranking).
_Matches = Callable[[torch.Tensor, torch.Tensor], bool]


def check_attribution(
    actual: Any,
    expected: torch.Tensor,
    *,
    method: str | None = None,
    name: str = "attributions",
    rtol: float = 1e-4,
    atol: float | None = None,
    alternatives: Mapping[str, torch.Tensor | Callable[[], torch.Tensor]] | None = None,
) -> None:
    """Pass silently if ``actual`` equals ``expected``, else raise AssertionError saying what is likely wrong.

    Equality is ``torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol)`` with
    ``atol = 1e-5 * max|expected|`` when None (scale-free). ``method`` (a key of the hint table, e.g.
    ``"saliency"``, ``"integrated_gradients"``, ``"occlusion"``, ``"gradcam"``, ``"smoothgrad"``, ``"lime"``)
    adds a method-specific hint; ``alternatives`` maps a description (``"the attribution for target 281
    instead of 285"``) to the tensor that mistake gives, computed with the reference implementations, or to a
    function without arguments that computes it: those are called only when the answer is wrong (a right answer
    costs no extra computation), and skipped when they raise, give another shape or give the expected values.
    """
    lazy = {d: make for d, make in (alternatives or {}).items() if callable(make) and not isinstance(make, torch.Tensor)}
    alternatives = _validate_reference(expected, method,
                                       {d: t for d, t in (alternatives or {}).items() if d not in lazy})
    if not isinstance(rtol, (int, float)) or rtol < 0:
        raise ValueError(f"rtol must be a number >= 0, got {rtol!r}")
    if atol is not None and (not isinstance(atol, (int, float)) or atol < 0):
        raise ValueError(f"atol must be None or a number >= 0, got {atol!r}")
    try:
        atol_used = atol if atol is not None else _default_atol(expected)
        try:
            if isinstance(actual, torch.Tensor):
                torch.testing.assert_close(actual, expected, rtol=rtol, atol=atol_used)
                return None
            assert_close_failure = "not a torch.Tensor"
        except Exception as error:  # AssertionError, or anything a strange tensor raises
            assert_close_failure = str(error)
        matches = _within_tolerance(rtol, atol)
        alternatives = {**alternatives, **_computed(lazy, expected, matches)}
        findings = _diagnose(
            actual, expected, matches,
            (_check_type, _check_finite, _check_shape, _check_dtype_device),
            lambda a, e: _attribution_values(a, e, matches, alternatives),
        )
        if findings:
            message = _message(name, findings, method)
        else:
            message = f"{name}: does not pass torch.testing.assert_close: {assert_close_failure}"
    except Exception as error:
        message = _crash_message(name, expected, error)
    raise AssertionError(message)


def check_ranking(
    actual: Any,
    expected: torch.Tensor,
    *,
    name: str = "attributions",
    min_spearman: float = 0.8,
    top_k: int | None = None,
    min_top_k_overlap: float | None = None,
) -> None:
    """For random methods: pass if ``actual`` ranks the entries like ``expected``, else raise AssertionError.

    Passes when the Spearman rank correlation of the flattened tensors (ties get their average rank,
    as ``scipy.stats.spearmanr``) is at least ``min_spearman`` and, if ``top_k`` is given, when the
    ``top_k`` largest entries of both share at least a fraction ``min_top_k_overlap`` of their positions
    (use per-feature values, not per-pixel maps where a superpixel's pixels tie). The same type, NaN,
    shape and sign diagnostics as :func:`check_attribution`; dtype and device are not checked.
    """
    _validate_reference(expected, None, None)
    if not isinstance(min_spearman, (int, float)) or not -1 <= min_spearman <= 1:
        raise ValueError(f"min_spearman must be a number in [-1, 1], got {min_spearman!r}")
    if (top_k is None) != (min_top_k_overlap is None):
        raise ValueError("top_k and min_top_k_overlap must be given together")
    if top_k is not None:
        if not isinstance(top_k, int) or not 1 <= top_k <= expected.numel():
            raise ValueError(f"top_k must be an int in [1, {expected.numel()}], got {top_k!r}")
        if not isinstance(min_top_k_overlap, (int, float)) or not 0 <= min_top_k_overlap <= 1:
            raise ValueError(f"min_top_k_overlap must be a number in [0, 1], got {min_top_k_overlap!r}")

    def matches(a: torch.Tensor, target: torch.Tensor) -> bool:
        rho = _spearman(a, target) if a.shape == target.shape else None
        return rho is not None and rho >= min_spearman

    def ranking_values(a: torch.Tensor, e: torch.Tensor) -> _Finding | None:
        rho = _spearman(a, e)
        overlap = _top_k_overlap(a, e, top_k) if top_k is not None else None
        ranked_right = rho is not None and rho >= min_spearman
        if ranked_right and (overlap is None or overlap >= min_top_k_overlap):
            return None
        return (None if ranked_right else _transform_mistake(a, e, matches)) or _ranking_mismatch(
            a, rho, min_spearman, overlap, top_k, min_top_k_overlap
        )

    try:
        findings = _diagnose(actual, expected, matches, (_check_type, _check_finite, _check_shape), ranking_values)
        if not findings:
            return None
        message = _message(name, findings, None)
    except Exception as error:
        message = _crash_message(name, expected, error)
    raise AssertionError(message)


def assert_close_scalar(actual: Any, expected: float, *, name: str, rtol: float = 1e-4) -> None:
    """Check one number (a predicted class index, a convergence delta): ``|actual - expected| <= rtol*|expected|``.

    ``actual`` may be a Python number, a NumPy scalar or a one-element tensor.
    """
    if isinstance(expected, bool) or not isinstance(expected, (int, float)):
        raise TypeError(f"expected must be an int or float, got {type(expected).__name__}")
    try:
        value = actual.item() if isinstance(actual, (torch.Tensor, np.ndarray, np.generic)) else actual
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if abs(value - expected) <= rtol * abs(expected):
                return None
            message = f"{name}: expected {expected!r}, got {value!r}."
        else:
            message = f"{name}: expected the number {expected!r}, got a {type(value).__name__}: {value!r:.80}."
    except Exception:
        shape = f" of shape {tuple(actual.shape)}" if isinstance(actual, (torch.Tensor, np.ndarray)) else ""
        message = (f"{name}: expected one number ({expected!r}), got a {type(actual).__name__}{shape}. "
                   "Return a single number, e.g. with .item().")
    raise AssertionError(message)


# ----------------------------------------------------------------------------------------------------
# The diagnosis: a driver and one small function per step.


def _diagnose(
    actual: Any,
    expected: torch.Tensor,
    matches: _Matches,
    structural_steps: tuple[Callable[[Any, torch.Tensor, _Matches], _Finding | None], ...],
    value_step: Callable[[torch.Tensor, torch.Tensor], _Finding | None],
) -> list[_Finding]:
    """Run the steps in order; an empty list means no problem found."""
    findings: list[_Finding] = []
    current = actual
    try:
        for step in structural_steps:
            finding = step(current, expected, matches)
            if finding is None:
                continue
            findings.append(finding)
            if finding.recovered is None:
                return findings
            current = finding.recovered
        finding = value_step(_float64(current), _float64(expected))
        if finding is not None:
            findings.append(finding)
        elif findings:
            findings.append(_Finding("ok", "Apart from that, your values are right."))
    except Exception as error:  # keep what was found so far
        findings.append(_Finding("error", f"Your answer could not be inspected further ({_short(error)})."))
    return findings


def _check_type(actual: Any, expected: torch.Tensor, matches: _Matches) -> _Finding | None:
    if isinstance(actual, torch.Tensor):
        if actual.layout == torch.strided:
            return None
        return _Finding("type", f"You returned a tensor with layout {actual.layout}: return a dense tensor "
                                "(.to_dense()).", recovered=actual.to_dense())
    if actual is None:
        return _Finding("type", "You returned None instead of a torch.Tensor: does your function end with "
                                "`return ...`?")
    if isinstance(actual, (tuple, list)) and len(actual) == 1 and isinstance(actual[0], torch.Tensor):
        return _Finding("type", f"You returned a {type(actual).__name__} holding one tensor. Captum returns a "
                                "tuple for tuple inputs; pass/return a single tensor (e.g. result[0]).",
                        recovered=actual[0])
    if isinstance(actual, np.ndarray):
        try:
            recovered = torch.as_tensor(actual)
        except Exception:
            recovered = None
        return _Finding("type", "You returned a NumPy array instead of a torch.Tensor: keep PyTorch tensors "
                                "(or convert with torch.from_numpy(array)).", recovered=recovered)
    what = f"a {type(actual).__name__}"
    if isinstance(actual, (tuple, list)):
        what += f" of {len(actual)} items"
    return _Finding("type", f"You returned {what} instead of a torch.Tensor of shape {tuple(expected.shape)}.")


def _check_finite(actual: torch.Tensor, expected: torch.Tensor, matches: _Matches) -> _Finding | None:
    finite = torch.isfinite(actual)
    if bool(finite.all()):
        return None
    nan = int(torch.isnan(actual).sum())
    infinite = int((~finite).sum()) - nan
    return _Finding("nonfinite", f"Your values contain {nan} NaN and {infinite} infinite entries (out of "
                                 f"{actual.numel()}). Look for a division by zero (e.g. normalising by a maximum "
                                 "that is 0), a log of 0 or an overflow.")


def _check_shape(actual: torch.Tensor, expected: torch.Tensor, matches: _Matches) -> _Finding | None:
    got, want = tuple(actual.shape), tuple(expected.shape)
    if got == want:
        return None
    channel_finding = _check_channel_reduction(actual, expected, matches)
    if channel_finding is not None:
        return channel_finding
    text = f"Your tensor has shape {got}, but shape {want} is expected."
    if actual.numel() == expected.numel() and _without_ones(got) == _without_ones(want):
        if got == want[1:] and len(want) > 1 and want[1] != 1:
            advice = "The batch dimension is missing: keep it (do not index [0]; or use .unsqueeze(0))."
        elif want == got[1:] and len(got) > 1 and got[1] != 1:
            advice = "There is an extra leading dimension: remove it (e.g. .squeeze(0))."
        else:
            advice = "A dimension of size 1 is missing or extra (e.g. keepdim=True, .unsqueeze(1) or .squeeze(1))."
        return _Finding("shape", f"{text} {advice}", recovered=actual.reshape(want))
    if len(want) in (3, 4) and got == want[:-3] + want[-2:] + want[-3:-2]:
        return _Finding("layout", f"{text} Your values are in channels-last layout (..., H, W, C); PyTorch puts "
                                  "the channels first (..., C, H, W): use .permute(...).",
                        recovered=actual.movedim(-1, -3))
    if len(got) == len(want) and got[1:] == want[1:]:
        return _Finding("shape", f"{text} You have {got[0]} rows for a batch of {want[0]} inputs: attribute "
                                 "every input of the batch.")
    return _Finding("shape", text)


def _check_channel_reduction(actual: torch.Tensor, expected: torch.Tensor, matches: _Matches) -> _Finding | None:
    """(N, C, H, W) against (N, H, W) or (N, 1, H, W), C > 1, either way round."""
    if _is_per_channel(expected.shape) and _pixel_shape(actual.shape) == _pixel_shape_of(expected.shape):
        student, target = _float64(actual).reshape(_pixel_shape(actual.shape)), _float64(expected)
        found = next((key for key, reduce in _CHANNEL_REDUCTIONS.items() if matches(student, reduce(target))), None)
        text = (f"Your tensor has shape {tuple(actual.shape)}, one value per pixel, but one value per channel is "
                f"expected, shape {tuple(expected.shape)}: do not reduce over the channels.")
        if found:
            text += f" Your values are the {found} over the channels of the expected ones."
        return _Finding("channel", text)
    if _is_per_channel(actual.shape) and _pixel_shape(expected.shape) == _pixel_shape_of(actual.shape):
        student, target = _float64(actual), _float64(expected).reshape(_pixel_shape(expected.shape))
        found = next((key for key, reduce in _CHANNEL_REDUCTIONS.items() if matches(reduce(student), target)), None)
        text = (f"Your tensor has shape {tuple(actual.shape)}, one value per channel, but one value per pixel is "
                f"expected, shape {tuple(expected.shape)}: reduce over the channels.")
        if found:
            text += f" The {found} over the channels of your values gives the expected ones."
        return _Finding("channel", text)
    return None


def _check_dtype_device(actual: torch.Tensor, expected: torch.Tensor, matches: _Matches) -> _Finding | None:
    problems = []
    if actual.dtype != expected.dtype:
        origin = " (float64 usually comes from NumPy or Python floats)" if actual.dtype == torch.float64 else ""
        problems.append(f"Your tensor has dtype {actual.dtype}, but {expected.dtype} is expected{origin}: "
                        f"convert with .to({expected.dtype}).")
    if actual.device != expected.device:
        problems.append(f"Your tensor is on device {actual.device}, but {expected.device} is expected: "
                        f"move it with .to('{expected.device}').")
    if not problems:
        return None
    return _Finding("dtype", " ".join(problems), recovered=None if actual.is_complex() else actual)


def _attribution_values(
    a: torch.Tensor, e: torch.Tensor, matches: _Matches, alternatives: Mapping[str, torch.Tensor]
) -> _Finding | None:
    if matches(a, e):
        return None
    return (_transform_mistake(a, e, matches) or _scaled(a, e, matches)
            or _alternative(a, alternatives, matches) or _mismatch(a, e))


def _transform_mistake(a: torch.Tensor, e: torch.Tensor, matches: _Matches) -> _Finding | None:
    for kind, transform, text in _TRANSFORM_MISTAKES:
        pair = transform(a, e)
        if pair is not None and matches(*pair):
            return _Finding(kind, text)
    return None


def _scaled(a: torch.Tensor, e: torch.Tensor, matches: _Matches) -> _Finding | None:
    """actual ~ k * expected, with k fitted by least squares: k = <a, e> / <e, e>."""
    energy = float((e * e).sum())
    if energy == 0:
        return None
    k = float((a * e).sum()) / energy
    if abs(k - 1) < 0.01 or k == 0 or not matches(a, k * e):  # near 1: reported as "close" by _mismatch
        return None
    text = f"Your values are the expected ones scaled by a constant factor of {k:.4g}."
    if abs(k - 2) < 1e-3:
        text += " Gradients accumulated twice? Use torch.autograd.grad, or zero .grad before each backward()."
    elif k < 0:
        text += " The sign is flipped too."
    elif _near_integer(k):
        text += (f" A factor of {round(k)} often means a sum over {round(k)} items (samples, steps, channels) "
                 "where their mean is asked for.")
    elif _near_integer(1 / k):
        text += (f" A factor of 1/{round(1 / k)} often means a mean over {round(1 / k)} items where their sum "
                 "is asked for.")
    return _Finding("scaled", text)


def _alternative(a: torch.Tensor, alternatives: Mapping[str, torch.Tensor], matches: _Matches) -> _Finding | None:
    for description, tensor in alternatives.items():
        if matches(a, _float64(tensor)):
            return _Finding("alternative", f"Your values match {description}.")
    return None


def _mismatch(a: torch.Tensor, e: torch.Tensor) -> _Finding:
    """Nothing recognised: say how far off the values are."""
    constant = _constant_values(a)
    if constant is not None:
        return constant
    difference = (a - e).abs()
    index = tuple(int(i) for i in np.unravel_index(int(difference.argmax()), tuple(a.shape)))
    largest = f"the largest difference is {float(difference.max()):.3g} at index {index}"
    r = _pearson(a, e)
    if r is None:  # constant expected values
        return _Finding("mismatch", f"Your values do not match the expected ones: {largest}.")
    if r > 0.99:
        verdict = "Your values are close but not within tolerance"
    elif r > 0.9:
        verdict = "Your values are similar to the expected ones but clearly differ"
    elif r > 0.3:
        verdict = "Your values are only partly correlated with the expected ones"
    elif r >= -0.3:
        verdict = "Your values are uncorrelated with the expected ones"
    else:
        verdict = "Your values are anti-correlated with the expected ones (check the sign)"
    relative = float((a - e).norm() / e.norm())
    text = f"{verdict} (relative error {relative:.3g}, Pearson correlation {r:.3f}); {largest}."
    if abs(r) < 0.3:
        text += " The computation differs, e.g. another target class, layer or input."
    return _Finding("mismatch", text)


def _ranking_mismatch(
    a: torch.Tensor, rho: float | None, min_spearman: float,
    overlap: float | None, top_k: int | None, min_top_k_overlap: float | None,
) -> _Finding:
    constant = _constant_values(a)
    if constant is not None:
        return constant
    if rho is None:
        return _Finding("mismatch", "The expected values are constant, so a ranking cannot be compared.")
    text = ""
    if rho < min_spearman:
        text = (f"Your values rank the entries differently from the expected ones: Spearman rank correlation "
                f"{rho:.3f}, at least {min_spearman} needed" + (" (uncorrelated)." if abs(rho) < 0.3 else "."))
    if overlap is not None and overlap < min_top_k_overlap:
        text += (f" Only a fraction {overlap:.2f} of your top {top_k} entries are among the expected top {top_k} "
                 f"(at least {min_top_k_overlap} needed).")
    return _Finding("mismatch", text.strip())


def _constant_values(a: torch.Tensor) -> _Finding | None:
    if a.numel() < 2 or not bool((a == a.flatten()[0]).all()):
        return None
    if float(a.flatten()[0]) == 0:
        return _Finding("zero", "Your values are all zero. Did the computation reach the input (a gradient needs "
                                "requires_grad and no torch.no_grad() or .detach() on the way)?")
    return _Finding("constant", f"Your values are all equal ({float(a.flatten()[0]):.4g}).")


# ----------------------------------------------------------------------------------------------------
# Small tools.


def _validate_reference(
    expected: Any, method: str | None, alternatives: Mapping[str, torch.Tensor] | None
) -> Mapping[str, torch.Tensor]:
    """Raise TypeError/ValueError for the instructor's arguments; return ``alternatives`` or {}."""
    if not isinstance(expected, torch.Tensor) or not expected.is_floating_point():
        raise TypeError(f"expected must be a floating-point torch.Tensor, got {type(expected).__name__}"
                        + (f" of dtype {expected.dtype}" if isinstance(expected, torch.Tensor) else ""))
    if not bool(torch.isfinite(expected).all()):
        raise ValueError("expected contains NaN or infinite values")
    if method is not None and method not in _METHOD_HINTS:
        raise ValueError(f"method must be None or one of {sorted(_METHOD_HINTS)}, got {method!r}")
    if alternatives is None:
        return {}
    if not isinstance(alternatives, Mapping):
        raise TypeError(f"alternatives must be a dict {{description: tensor}}, got {type(alternatives).__name__}")
    for description, tensor in alternatives.items():
        if not isinstance(tensor, torch.Tensor) or tensor.shape != expected.shape:
            raise ValueError(f"alternatives[{description!r}] must be a tensor of the expected shape "
                             f"{tuple(expected.shape)}, got {getattr(tensor, 'shape', type(tensor).__name__)}")
    return alternatives


def _computed(lazy: Mapping[str, Callable[[], Any]], expected: torch.Tensor, matches: _Matches) -> dict:
    """The lazy alternatives that apply: computed, finite, of the expected shape and different from ``expected``."""
    computed = {}
    for description, make in lazy.items():
        try:
            value = make()
        except Exception:  # an alternative that does not apply to this case
            continue
        if isinstance(value, torch.Tensor) and value.shape == expected.shape and value.is_floating_point() \
                and bool(torch.isfinite(value).all()) and not matches(_float64(value), _float64(expected)):
            computed[description] = value.detach().to(expected.dtype)
    return computed


def _default_atol(expected: torch.Tensor) -> float:
    return 1e-5 * float(expected.detach().abs().max()) if expected.numel() else 0.0


def _within_tolerance(rtol: float, atol: float | None) -> _Matches:
    """assert_close's rule |a - t| <= atol + rtol * |t|, with atol = 1e-5 * max|t| when None."""

    def matches(a: torch.Tensor, target: torch.Tensor) -> bool:
        if a.shape != target.shape:
            return False
        absolute = atol if atol is not None else _default_atol(target)
        return bool(((a - target).abs() <= absolute + rtol * target.abs()).all())

    return matches


def _float64(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.detach().to(device="cpu", dtype=torch.float64)


def _ranks(x: torch.Tensor) -> torch.Tensor:
    """1-based ranks of the flattened values; ties get their average rank (as scipy.stats.rankdata)."""
    _, inverse, counts = torch.unique(x.flatten(), return_inverse=True, return_counts=True)
    last = counts.cumsum(0).to(torch.float64)
    return (last - (counts - 1) / 2)[inverse]


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float | None:
    """Pearson correlation of the flattened values; None when either is constant."""
    a = a.flatten().to(torch.float64)
    b = b.flatten().to(torch.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = float(a.norm() * b.norm())
    return float(a @ b) / denominator if denominator > 0 else None


def _spearman(a: torch.Tensor, b: torch.Tensor) -> float | None:
    return _pearson(_ranks(a), _ranks(b))


def _top_k_overlap(a: torch.Tensor, e: torch.Tensor, k: int) -> float:
    mine = set(torch.topk(a.flatten(), k).indices.tolist())
    theirs = set(torch.topk(e.flatten(), k).indices.tolist())
    return len(mine & theirs) / k


def _near_integer(x: float) -> bool:
    return round(x) >= 2 and abs(x - round(x)) < 1e-3 * x


def _without_ones(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(size for size in shape if size != 1)


def _is_per_channel(shape: torch.Size) -> bool:
    return len(shape) == 4 and shape[1] > 1


def _pixel_shape(shape: torch.Size) -> tuple[int, ...] | None:
    """(N, H, W) for a shape (N, H, W) or (N, 1, H, W), else None."""
    if len(shape) == 3:
        return tuple(shape)
    if len(shape) == 4 and shape[1] == 1:
        return (shape[0], shape[2], shape[3])
    return None


def _pixel_shape_of(shape: torch.Size) -> tuple[int, ...]:
    """(N, H, W) of a per-channel shape (N, C, H, W)."""
    return (shape[0], shape[2], shape[3])


def _message(name: str, findings: list[_Finding], method: str | None) -> str:
    hints = _METHOD_HINTS.get(method, {}) if method else {}
    sentences = [finding.text + (" " + hints[finding.kind] if finding.kind in hints else "") for finding in findings]
    return f"{name}: " + " ".join(sentences)


def _crash_message(name: str, expected: torch.Tensor, error: Exception) -> str:
    return (f"{name}: your answer could not be compared with the expected one ({_short(error)}). "
            f"Return a torch.Tensor of shape {tuple(expected.shape)} and dtype {expected.dtype}.")


def _short(error: Exception) -> str:
    """The exception's type and the first line of its message, at most 200 characters."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200] if lines else ''}"
