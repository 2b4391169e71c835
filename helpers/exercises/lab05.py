"""Lab 5 (Input x Gradient and the saturation problem): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
Cases are built without Captum and without ``helpers.reference`` (the from-scratch sandbox has neither); the
references are computed in :meth:`check` / :meth:`checks` only.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from helpers.checks import check_attribution
from helpers.exercises import context
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN

#: Exercise 2: Captum's IntegratedGradients with these settings (Gauss-Legendre, Captum's default method).
IG_STEPS = 16
#: How many path points the references evaluate at once (memory; the results do not depend on it).
CHUNK = 8


def _softmax(model):
    return torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1 (from scratch): gradients along the straight path from the baselines to the inputs.


def _small_cnn(channels, generator):
    return SmallCNN(in_channels=channels, seed=int(torch.randint(0, 10_000, (1,), generator=generator)))


def _small_images(n, channels, generator):
    size = 32 if channels == 3 else 28
    return torch.randn(n, channels, size, size, generator=generator)


def _targets(n, generator):
    return torch.randint(0, 10, (n,), generator=generator)


def _alphas(k, generator):
    """k sorted alphas in (0, 1], the last one 1 (the input itself)."""
    values = torch.rand(k - 1, generator=generator).sort().values * 0.9 + 0.05
    return torch.cat([values, torch.ones(1)])


def _black(channels_mean, channels_std, like):
    """Black (pixel value 0) in the lab model's normalised space, shape (1, 3, H, W)."""
    mean = torch.tensor(channels_mean).view(1, 3, 1, 1)
    std = torch.tensor(channels_std).view(1, 3, 1, 1)
    return ((0 - mean) / std).expand(1, 3, *like.shape[-2:]).clone()


def _points(inputs, baselines, alpha):
    return baselines + float(alpha) * (inputs - baselines)


class PathGradients(FunctionExercise):
    grade_id = "ex1_tests"
    function = "path_gradients"
    parts = (Part("path", 1, "the path from the zero baseline, one int target, alphas as a list or a tensor"),
             Part("baselines", 1, "other baselines: a number, a tensor of one image, a tensor per sample"),
             Part("per_sample", 1, "a batch with one target per sample (a list or a tensor)"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab05.ex1")
        lab = context.imagenet()
        if variant == 0:
            name, ranks, pair_ranks = "cat", (0, 1), (0, 0)
            lab_alphas, other_alphas = [0.0, 0.5, 1.0], [0.25, 1.0]
        else:
            name = ("cat", "coffee")[int(torch.randint(0, 2, (1,), generator=generator))]
            ranks = tuple(int(i) for i in torch.randperm(10, generator=generator)[:2])
            pair_ranks = tuple(int(i) for i in torch.randint(0, 10, (2,), generator=generator))
            lab_alphas = [0.0] + _alphas(2, generator).tolist()
            other_alphas = _alphas(2, generator).tolist()
        photo = context.image(name)
        first, other = context.ranking(name)[ranks[0]], context.ranking(name)[ranks[1]]
        pair = torch.cat([context.image("cat"), context.image("coffee")])
        pair_targets = [context.ranking("cat")[pair_ranks[0]], context.ranking("coffee")[pair_ranks[1]]]
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        rgb_images, gray_images = _small_images(3, 3, generator), _small_images(2, 1, generator)
        return [
            Case("path", "path_gradients(lab model, 1 photo, int target, 3 alphas as a list)",
                 (lab.model, photo, first, lab_alphas)),
            Case("path", "path_gradients(SmallCNN 3 channels, 3 images, int target, 4 alphas as a tensor)",
                 (rgb, rgb_images, int(_targets(1, generator)), _alphas(4, generator))),
            Case("baselines", "path_gradients(lab model, 1 photo, int target, 2 alphas, baselines=black image "
                              "(1, 3, 224, 224))",
                 (lab.model, photo, other, other_alphas), {"baselines": _black(lab.mean, lab.std, photo)}),
            Case("baselines", "path_gradients(SmallCNN 1 channel, 2 images, int target, 3 alphas, baselines=a number)",
                 (gray, gray_images, int(_targets(1, generator)), _alphas(3, generator)),
                 {"baselines": round(float(torch.rand(1, generator=generator)) - 0.5, 2)}),
            Case("baselines", "path_gradients(SmallCNN 3 channels, 3 images, int target, 2 alphas, baselines=one "
                              "tensor per sample (3, 3, 32, 32))",
                 (rgb, rgb_images, int(_targets(1, generator)), _alphas(2, generator)),
                 {"baselines": torch.randn(3, 3, 32, 32, generator=generator)}),
            Case("per_sample", "path_gradients(lab model, cat and coffee, a list of 2 targets, 2 alphas)",
                 (lab.model, pair, pair_targets, other_alphas)),
            Case("per_sample", "path_gradients(SmallCNN 1 channel, 4 images, a tensor of 4 targets, 3 alphas)",
                 (gray, _small_images(4, 1, generator), _targets(4, generator), _alphas(3, generator))),
        ]

    def check(self, case, result):
        from helpers import reference

        model, inputs, target, alphas = case.args
        baselines = case.kwargs.get("baselines", 0)
        alphas = [float(a) for a in alphas]

        def along(m, path_inputs, path_baselines, t, scale=lambda a: 1.0):
            return torch.stack([scale(a) * reference.vanilla_gradient(m, _points(path_inputs, path_baselines, a), t,
                                                                      abs=False) for a in alphas])

        expected = along(model, inputs, baselines, target)
        if isinstance(result, (list, tuple)) and len(result) == len(alphas) and len(alphas) > 1 \
                and all(isinstance(item, torch.Tensor) for item in result):
            raise AssertionError(f"{case.label}: you returned a {type(result).__name__} of {len(result)} tensors, one "
                                 "per alpha: stack them into one tensor of shape (len(alphas), N, ...) with "
                                 "torch.stack(gradients).")
        if isinstance(result, torch.Tensor) and result.dim() == expected.dim() and len(alphas) != len(inputs) \
                and tuple(result.shape) == (len(inputs), len(alphas), *inputs.shape[1:]):
            raise AssertionError(f"{case.label}: your tensor has shape {tuple(result.shape)}, one row of alphas per "
                                 f"sample; the alphas come first: shape (len(alphas), N, ...) = "
                                 f"{tuple(expected.shape)} (torch.stack(gradients) over the alphas).")
        alternatives = {
            "the gradient at the inputs for every alpha: evaluate it at the path points x' + alpha (x - x')":
                lambda: torch.stack([reference.vanilla_gradient(model, inputs, target, abs=False)] * len(alphas)),
            "alpha times the expected gradients: differentiate with respect to the path point, not the inputs "
            "(the chain rule adds a factor alpha)":
                lambda: along(model, inputs, baselines, target, scale=lambda a: a),
            "the gradients times (inputs - baselines): return the gradients themselves, not IG's terms":
                lambda: expected * (inputs - baselines),
            "the path from the inputs to the baselines: alpha = 0 must give the baselines, alpha = 1 the inputs":
                lambda: along(model, baselines + torch.zeros_like(inputs), inputs, target),
            "the gradients of the softmax probability instead of the raw logit":
                lambda: along(_softmax(model), inputs, baselines, target),
        }
        if not (isinstance(baselines, (int, float)) and baselines == 0):
            alternatives["the gradients along the path from 0: the baselines are ignored"] = \
                lambda: along(model, inputs, 0, target)
        if isinstance(target, (list, torch.Tensor)):
            classes = [int(t) for t in target]
            alternatives["the gradient of the sum of the logits of all the listed targets for every sample (index "
                         "one logit per sample: outputs[torch.arange(len(points)), target])"] = \
                lambda: sum(along(model, inputs, baselines, t) for t in classes)
        if len(inputs) > 1:
            alternatives["the gradient of the first sample only (the other samples get 0): take one logit per "
                         "sample, outputs[torch.arange(len(points)), target]"] = \
                lambda: expected * (torch.arange(len(inputs)) == 0).view(1, -1, *[1] * (inputs.dim() - 1))
        check_attribution(result, expected, name=case.label, method="saliency", alternatives=alternatives)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2 (apply Captum): completeness of Input x Gradient and of Integrated Gradients on the coffee photo.


def _number(value):
    """A Python float from an int/float, a NumPy scalar or a one-element tensor/array; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        return float(value.detach().reshape(-1)[0])
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.reshape(-1)[0])
    return None


def _check_number(value, expected, *, name, tolerance, alternatives):
    number = _number(value)
    if number is None:
        shape = f" of shape {tuple(value.shape)}" if hasattr(value, "shape") else ""
        raise AssertionError(f"{name}: expected one number, got a {type(value).__name__}{shape}: store a single "
                             "number (e.g. with float(...)).")
    if not math.isfinite(number):
        raise AssertionError(f"{name}: your value is {number}: NaN or infinite.")
    if abs(number - expected) <= tolerance:
        return
    for description, make in alternatives.items():
        try:
            candidate = float(make())
        except Exception:
            continue
        if abs(number - candidate) <= tolerance:
            raise AssertionError(f"{name}: your value {number:.4g} matches {description}; expected {expected:.4g}.")
    raise AssertionError(f"{name}: expected {expected:.4g}, got {number:.4g}.")


class Completeness(ValueExercise):
    grade_id = "ex2_tests"
    names = ("coffee_target", "coffee_ixg_gap", "coffee_ig", "coffee_delta")
    parts = (Part("ixg_gap", 1, "coffee_target and coffee_ixg_gap: the completeness gap of Input x Gradient"),
             Part("ig", 1, f"coffee_ig: Captum's IntegratedGradients with n_steps={IG_STEPS}"),
             Part("delta", 1, "coffee_delta: its convergence delta"))

    def checks(self, values):
        from helpers import reference

        model, coffee = context.imagenet().model, context.image("coffee")
        target = context.ranking("coffee")[0]
        cat_target = context.ranking("cat")[0]
        zero = torch.zeros_like(coffee)
        with torch.no_grad():
            logits, zero_logits = model(coffee)[0], model(zero)[0]
        change = float(logits[target] - zero_logits[target])
        ixg = reference.input_x_gradient(model, coffee, target)
        ixg_gap = float(ixg.sum()) - change
        cache = {}

        def integrated(**settings):
            key = tuple(sorted(settings.items()))
            if key not in cache:
                settings = {"target": target, "n_steps": IG_STEPS, "internal_batch_size": CHUNK, **settings}
                cache[key] = reference.integrated_gradients(model, coffee, baselines=0, **settings)
            return cache[key]

        def ixg_part():
            value = values["coffee_target"]
            if isinstance(value, np.integer):
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise AssertionError(f"coffee_target should be a Python int (e.g. int(logits.argmax())), got a "
                                     f"{type(value).__name__}.")
            if value != target:
                raise AssertionError(f"coffee_target = {value}: expected the class the model predicts for the coffee "
                                     f"photo ({target})" + (", not the cat's class." if value == cat_target else "."))
            _check_number(values["coffee_ixg_gap"], ixg_gap, name="coffee_ixg_gap",
                          tolerance=1e-3 * max(1.0, abs(change)), alternatives={
                              "(F_t(x) - F_t(0)) minus the sum: the sign is flipped": lambda: -ixg_gap,
                              "the sum of the attributions alone (subtract F_t(x) - F_t(0))": lambda: float(ixg.sum()),
                              "the change of the logit F_t(x) - F_t(0) alone": lambda: change,
                              "the gap with F_t(x) alone (subtract F_t(0) too: the baseline is the zero input)":
                                  lambda: float(ixg.sum()) - float(logits[target]),
                              "the gap computed with softmax probabilities instead of raw logits":
                                  lambda: float(ixg.sum()) - float(logits.softmax(0)[target]
                                                                   - zero_logits.softmax(0)[target]),
                              "IG's convergence delta, not the gap of Input x Gradient":
                                  lambda: float(integrated(return_convergence_delta=True)[1])})

        def ig_part():
            expected = integrated()
            check_attribution(values["coffee_ig"], expected, name="coffee_ig", method="integrated_gradients",
                          rtol=1e-3, atol=1e-4 * float(expected.abs().max()), alternatives={
                              f"riemann_right with {IG_STEPS} steps: keep Captum's default method (Gauss-Legendre)":
                                  lambda: integrated(method="riemann_right"),
                              "Captum's default n_steps=50: pass n_steps=16":
                                  lambda: integrated(n_steps=50),
                              "Input x Gradient: use IntegratedGradients": lambda: ixg,
                              "the attributions for the cat's class instead of the coffee's":
                                  lambda: integrated(target=cat_target)})

        def delta_part():
            _, delta = integrated(return_convergence_delta=True)
            value = values["coffee_delta"]
            expected = float(delta.reshape(-1)[0])
            _check_number(value, expected, name="coffee_delta", tolerance=1e-3 * max(1.0, abs(change)), alternatives={
                "the delta with the sign flipped: Captum's delta is sum(attributions) - (F(x) - F(x'))":
                    lambda: -expected,
                "its absolute value: keep the sign": lambda: abs(expected),
                "the gap of Input x Gradient": lambda: ixg_gap,
                f"the delta of riemann_right with {IG_STEPS} steps":
                    lambda: integrated(method="riemann_right", return_convergence_delta=True)[1],
                "the delta with Captum's default n_steps=50":
                    lambda: integrated(n_steps=50, return_convergence_delta=True)[1]})

        yield "ixg_gap", "coffee_ixg_gap", ixg_part
        yield "ig", "coffee_ig", ig_part
        yield "delta", "coffee_delta", delta_part


LAB = Lab("05_input_x_gradient", [PathGradients(), Completeness()])
self_check = LAB.self_check
show_progress = LAB.show_progress
