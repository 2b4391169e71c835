"""Lab 6 (Integrated Gradients, GradientShap, DeepLift): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.

- ``ex1_tests`` (from scratch): ``integrated_gradients(model, inputs, target, baselines=None, n_steps=50,
  method="gausslegendre")``, equal to Captum's ``IntegratedGradients``; one part each for the default
  Gauss-Legendre quadrature, the four Riemann methods, baselines given as a number or a tensor, and batches with
  one target per sample.
- ``ex2_tests`` (apply Captum): IG of the cat from the black baseline (in the model's normalised space).
- ``ex3_tests`` (apply Captum): GradientShap with the black/blurred baseline distribution.
"""
from __future__ import annotations

import torch

from helpers.checks import check_attribution
from helpers.exercises import context
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN

METHODS = ("gausslegendre", "riemann_right", "riemann_left", "riemann_middle", "riemann_trapezoid")
DESCRIBE = {
    "gausslegendre": "Gauss-Legendre (Captum's default method)",
    "riemann_right": "the right Riemann sum (alphas 1/m, ..., 1)",
    "riemann_left": "the left Riemann sum (alphas 0, 1/m, ..., (m-1)/m)",
    "riemann_middle": "the midpoint sum (alphas (k - 1/2)/m)",
    "riemann_trapezoid": "Captum's riemann_trapezoid (alphas (k-1)/(m-1), weights 1/m halved at both ends)",
}


# ----------------------------------------------------------------------------------------------------------------
# Shared tools (references are imported lazily: the from-scratch sandbox has neither Captum nor helpers.reference).


def zero_colour(mean, std) -> str:
    """What the zero tensor of a model's normalised input space is, in words (for messages)."""
    mean, std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
    if all(abs(m - 0.5) < 1e-6 for m in mean) and all(abs(s - 0.5) < 1e-6 for s in std):
        return "50% grey (this model normalises with mean = std = 0.5)"
    if all(abs(m - v) < 1e-6 for m, v in zip(mean, (0.485, 0.456, 0.406))):
        return "ImageNet's mean colour (this model normalises with ImageNet's mean and std)"
    return f"the pixel colour {tuple(round(m, 3) for m in mean)} (the mean of this model's normalisation)"


def matches(actual, expected, rtol=1e-4) -> bool:
    try:
        check_attribution(actual, expected, rtol=rtol)
        return True
    except AssertionError:
        return False


def check_with_mistakes(actual, expected, *, name, method=None, mistakes=None, rtol=1e-4):
    """``check_attribution``; when it fails, ``mistakes()`` (computed only then) gives {description: tensor} of the
    typical wrong answers, tried *before* the generic diagnoses (a wrong quadrature is also "a scaled answer")."""
    try:
        check_attribution(actual, expected, method=method, name=name, rtol=rtol)
        return
    except AssertionError as error:
        if mistakes is None:
            raise
        first = error
    alternatives = mistakes()
    for description, tensor in alternatives.items():
        if matches(actual, tensor, rtol=rtol):
            raise AssertionError(f"{name}: your values match {description}.") from None
    raise first


def _ig(model, inputs, target, **kwargs):
    from helpers import reference

    return reference.integrated_gradients(model, inputs, target=target, **kwargs)


def _mean_path_gradient(model, inputs, target, baselines=None, n_steps=50, method="gausslegendre"):
    """sum_k w_k grad F_t(x' + alpha_k (x - x')): IG without the factor (x - x')."""
    from helpers import reference

    alphas, weights = reference._alphas_and_weights(method, n_steps)
    base = reference._format_baselines(baselines, inputs)
    total = torch.zeros_like(inputs)
    for alpha, weight in zip(alphas.tolist(), weights.tolist()):
        total += weight * reference.vanilla_gradient(model, base + alpha * (inputs - base), target=target, abs=False)
    return total


class _SumOfTargets(torch.nn.Module):
    """F(x) = sum of the logits of every class in ``targets``, for each sample: the int-target-only mistake."""

    def __init__(self, model, targets):
        super().__init__()
        self.model, self.targets = model, [int(t) for t in torch.as_tensor(targets).reshape(-1)]
        self.eval()

    def forward(self, inputs):
        return self.model(inputs)[:, self.targets].sum(1)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1 (from scratch): Integrated Gradients with Captum's quadratures.


class IntegratedGradientsFromScratch(FunctionExercise):
    grade_id = "ex1_tests"
    function = "integrated_gradients"
    parts = (Part("gausslegendre", 1, "the default Gauss-Legendre quadrature (n_steps=50 and others)"),
             Part("riemann", 1, "method='riemann_right', 'riemann_left', 'riemann_middle', 'riemann_trapezoid'"),
             Part("baselines", 1, "baselines given as a number and as a tensor"),
             Part("targets", 1, "batches with one target per sample (a list, a tensor)"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab06.ex1")

        def integer(high, low=0):
            return int(torch.randint(low, high, (1,), generator=generator))

        cnn3, cnn1 = SmallCNN(in_channels=3, seed=integer(10_000)), SmallCNN(in_channels=1, seed=integer(10_000))
        color = torch.randn(2, 3, 32, 32, generator=generator)
        gray = torch.randn(3, 1, 28, 28, generator=generator)
        lab = context.imagenet()
        cat, coffee = context.image("cat"), context.image("coffee")
        # variant 0: the predicted classes; hidden variants: other classes of the top 5
        k_cat, k_coffee = (0, 0) if variant == 0 else (integer(5, 1), integer(5, 1))
        cat_class, coffee_class = context.ranking("cat")[k_cat], context.ranking("coffee")[k_coffee]
        mean = torch.tensor(lab.mean).view(1, 3, 1, 1)
        std = torch.tensor(lab.std).view(1, 3, 1, 1)
        colour = torch.zeros(1, 3, 1, 1) if variant == 0 else torch.rand(1, 3, 1, 1, generator=generator)
        plain_colour = ((colour - mean) / std).expand_as(cat).clone()  # variant 0: black
        number = -1.0 if variant == 0 else round(float(torch.rand(1, generator=generator)) * 2 - 1, 3)
        cases = [
            Case("gausslegendre", "integrated_gradients(SmallCNN, 2 images 3x32x32, an int target) with the "
                 "defaults (method='gausslegendre', n_steps=50)", (cnn3, color, integer(10))),
            Case("gausslegendre", "integrated_gradients(SmallCNN, 3 images 1x28x28, an int target, n_steps=7)",
                 (cnn1, gray, integer(10)), {"n_steps": 7}),
            Case("gausslegendre", "integrated_gradients(the lab's ImageNet model, the cat, one of its top classes, "
                 "n_steps=3)", (lab.model, cat, cat_class), {"n_steps": 3}),
        ]
        for method, (model, inputs, n_steps) in zip(METHODS[1:], ((cnn3, color, 6), (cnn1, gray, 5),
                                                                  (cnn3, color, 9), (cnn1, gray, 8))):
            shape = "x".join(str(s) for s in inputs.shape[1:])
            cases.append(Case("riemann", f"integrated_gradients(SmallCNN, {len(inputs)} images {shape}, an int "
                              f"target, n_steps={n_steps}, method={method!r})",
                              (model, inputs, integer(10)), {"n_steps": n_steps, "method": method}))
        cases += [
            Case("baselines", "integrated_gradients(SmallCNN, 2 images 3x32x32, an int target, baselines=<a number>, "
                 "n_steps=10)", (cnn3, color, integer(10)), {"baselines": number, "n_steps": 10}),
            Case("baselines", "integrated_gradients(SmallCNN, 3 images 1x28x28, an int target, baselines=<a tensor "
                 "of their shape>, n_steps=10)",
                 (cnn1, gray, integer(10)), {"baselines": torch.randn(gray.shape, generator=generator), "n_steps": 10}),
            Case("baselines", "integrated_gradients(the lab's ImageNet model, the cat, one of its top classes, "
                 "baselines=<a plain colour image>, n_steps=2)",
                 (lab.model, cat, cat_class), {"baselines": plain_colour, "n_steps": 2}),
            Case("targets", "integrated_gradients(SmallCNN, 2 images 3x32x32, target=<a list of 2 classes>, "
                 "n_steps=8)", (cnn3, color, [integer(10), integer(10)]), {"n_steps": 8}),
            Case("targets", "integrated_gradients(SmallCNN, 3 images 1x28x28, target=<a tensor of 3 classes>, "
                 "n_steps=8, method='riemann_right')",
                 (cnn1, gray, torch.randint(0, 10, (3,), generator=generator)),
                 {"n_steps": 8, "method": "riemann_right"}),
            Case("targets", "integrated_gradients(the lab's ImageNet model, the cat and the coffee photos, "
                 "target=<one of the top classes of each, a list>, n_steps=2)",
                 (lab.model, torch.cat([cat, coffee]), [cat_class, coffee_class]), {"n_steps": 2}),
        ]
        return cases

    def check(self, case, result):
        model, inputs, target = case.args
        kwargs = dict(case.kwargs)
        method = kwargs.get("method", "gausslegendre")
        n_steps = kwargs.get("n_steps", 50)
        baselines = kwargs.get("baselines")
        expected = _ig(model, inputs, target, **kwargs)
        small = isinstance(model, SmallCNN)

        def mistakes():
            found = {"the mean gradient along the path, not multiplied by (inputs - baselines)":
                     _mean_path_gradient(model, inputs, target, **kwargs)}
            if baselines is not None:
                found["IG from the zero baseline: `baselines` was ignored (it may be a number or a tensor)"] = \
                    _ig(model, inputs, target, n_steps=n_steps, method=method)
            if not isinstance(target, int):
                first = int(torch.as_tensor(target).reshape(-1)[0])
                found["IG of the first target for every sample: use one target per sample"] = \
                    _ig(model, inputs, first, **kwargs)
                found["IG of the sum of the logits of all the targets, for each sample: select one logit per sample "
                      "(outputs[torch.arange(len(outputs)), targets], with the targets repeated for every step)"] = \
                    _ig(_SumOfTargets(model, target), inputs, None, **kwargs)
            if method == "riemann_trapezoid":
                found["the textbook trapezoid rule (weights 1/(m-1), halved at both ends, summing to 1); Captum's "
                      "riemann_trapezoid uses alphas (k-1)/(m-1) with weights 1/m halved at both ends (they sum to "
                      "(m-1)/m)"] = expected * n_steps / (n_steps - 1)
            others = [m for m in METHODS if m != method]
            if not small:  # each costs n_steps passes of the ImageNet model: the likeliest only
                others = ["riemann_right"] if method == "gausslegendre" else ["gausslegendre"]
            for other in others:
                found[f"{DESCRIBE[other]} instead of {DESCRIBE[method]}: check the points and weights of each "
                      "`method`"] = _ig(model, inputs, target, **{**kwargs, "method": other})
            if small:
                found["IG of the softmax probability instead of the raw logit"] = \
                    _ig(torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval(), inputs, target, **kwargs)
                if n_steps != 50:
                    found["IG with n_steps=50: use the `n_steps` argument"] = \
                        _ig(model, inputs, target, **{**kwargs, "n_steps": 50})
            return found

        check_with_mistakes(result, expected, name=case.label, method="integrated_gradients", mistakes=mistakes)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2 (apply Captum): a black baseline.


def _black(lab) -> torch.Tensor:
    mean = torch.tensor(lab.mean).view(1, 3, 1, 1)
    std = torch.tensor(lab.std).view(1, 3, 1, 1)
    return ((torch.zeros(1, 3, 1, 1) - mean) / std).expand(1, 3, 224, 224).clone()


class BlackBaseline(ValueExercise):
    grade_id = "ex2_tests"
    names = ("black_baseline", "attr_black", "delta_black")
    parts = (Part("baseline", 1, "black_baseline: the black image in the model's normalised space"),
             Part("attributions", 1, "attr_black and delta_black: IG from that baseline, n_steps=8"))

    def checks(self, values):
        lab, cat = context.imagenet(), context.image("cat")
        ranking = context.ranking("cat")
        predicted, runner_up = ranking[0], ranking[1]
        black = _black(lab)
        zero = zero_colour(lab.mean, lab.std)

        def baseline():
            value = values["black_baseline"]
            assert isinstance(value, torch.Tensor), \
                f"black_baseline should be a tensor (1, 3, 224, 224), got {type(value).__name__}"
            try:
                value = value.to(torch.float32).expand_as(black)
            except RuntimeError:
                raise AssertionError(f"black_baseline should have the shape of cat, (1, 3, 224, 224); got "
                                     f"{tuple(value.shape)}") from None
            if torch.allclose(value, torch.zeros_like(value)):
                raise AssertionError(f"black_baseline is the zero tensor: in the model's normalised space that is "
                                     f"{zero}, not black. Normalise the black image: (0 - mean) / std.")
            check_with_mistakes(value, black, name="black_baseline", mistakes=lambda: {
                "-mean: you forgot to divide by std": (-torch.tensor(lab.mean)).view(1, 3, 1, 1).expand_as(black),
                "the black image normalised with mean and std swapped, (0 - std) / mean":
                    ((0 - torch.tensor(lab.std)) / torch.tensor(lab.mean)).view(1, 3, 1, 1).expand_as(black)})

        def attributions():
            expected, expected_delta = _ig(lab.model, cat, predicted, baselines=black, n_steps=8,
                                           return_convergence_delta=True)
            check_with_mistakes(values["attr_black"], expected, name="attr_black", method="integrated_gradients",
                                mistakes=lambda: {
                f"IG with the baseline torch.zeros_like(cat): in the model's normalised space that is {zero}, not "
                "black; normalise the black image": _ig(lab.model, cat, predicted, n_steps=8),
                "IG of the softmax probability instead of the raw logit": _ig(
                    torch.nn.Sequential(lab.model, torch.nn.Softmax(dim=1)).eval(), cat, predicted,
                    baselines=black, n_steps=8),
                f"IG for the runner-up class {runner_up} instead of the predicted class {predicted}":
                    _ig(lab.model, cat, runner_up, baselines=black, n_steps=8),
                "IG with Captum's default n_steps=50 instead of n_steps=8":
                    _ig(lab.model, cat, predicted, baselines=black, n_steps=50)})
            delta = values["delta_black"]
            assert isinstance(delta, (torch.Tensor, int, float)) and torch.as_tensor(delta).numel() == 1, \
                ("delta_black should be the convergence delta tensor returned with return_convergence_delta=True, "
                 f"one number; got {type(delta).__name__}")
            got, want = float(torch.as_tensor(delta).reshape(-1)[0]), float(expected_delta[0])
            assert abs(got - want) < 1e-2 * max(1.0, abs(want)), \
                f"delta_black should be the convergence delta of this attribution ({want:.3f}), got {got:.3f}"

        yield "baseline", "black_baseline", baseline
        yield "attributions", "attr_black and delta_black", attributions


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3 (apply Captum): GradientShap with a baseline distribution.


def _gradient_shap(model, cat, baselines, device, **changes):
    from captum.attr import GradientShap

    settings = dict(baselines=baselines.to(device), n_samples=4, stdevs=0.1, target=context.ranking("cat")[0])
    settings.update(changes)
    if torch.is_tensor(settings["baselines"]):
        settings["baselines"] = settings["baselines"].to(device)
    torch.manual_seed(0)
    import numpy as np

    np.random.seed(0)
    return GradientShap(model).attribute(cat.to(device), **settings).detach().cpu()


def _blurred(cat):
    import torchvision.transforms.functional as TF

    return TF.gaussian_blur(cat, kernel_size=51, sigma=20.0)


_DEVICE_MODELS: dict = {}


def on_lab_device(model):
    """The lab model on the GPU the notebook would use (None without one): random draws differ between devices."""
    from helpers.settings import choose_device

    device = choose_device(verbose=False)
    if device.type == "cpu":
        return None, device
    key = (id(model), str(device))
    if key not in _DEVICE_MODELS:
        import copy

        _DEVICE_MODELS[key] = copy.deepcopy(model).to(device).eval()
    return _DEVICE_MODELS[key], device


class GradientShapDistribution(ValueExercise):
    grade_id = "ex3_tests"
    names = ("attr_gshap",)
    parts = (Part("attributions", 2, "attr_gshap: GradientShap over the black/blurred baselines, seeded"),)

    def checks(self, values):
        lab, cat = context.imagenet(), context.image("cat")
        distribution = torch.cat([_black(lab), _blurred(cat)])

        def attributions():
            actual = values["attr_gshap"]
            expected = _gradient_shap(lab.model, cat, distribution, "cpu")
            if matches(actual, expected):
                return
            gpu_model, device = on_lab_device(lab.model)  # computed on a GPU: Captum's draws come from its generator
            if gpu_model is not None and matches(actual, _gradient_shap(gpu_model, cat, distribution, device), 1e-3):
                return
            try:
                check_with_mistakes(actual, expected, name="attr_gshap", mistakes=lambda: {
                    "GradientShap without noise (stdevs=0, Captum's default): pass stdevs=0.1":
                        _gradient_shap(lab.model, cat, distribution, "cpu", stdevs=0.0),
                    "GradientShap with the zero baseline instead of the black/blurred distribution":
                        _gradient_shap(lab.model, cat, torch.zeros_like(cat), "cpu"),
                    "GradientShap with n_samples=5 (Captum's default) instead of 4":
                        _gradient_shap(lab.model, cat, distribution, "cpu", n_samples=5)})
            except AssertionError as error:
                raise AssertionError(f"{error} GradientShap is random: call torch.manual_seed(0) and np.random.seed(0) "
                                     "right before attribute(), with n_samples=4, stdevs=0.1 and the black/blurred "
                                     "baselines.") from None

        yield "attributions", "attr_gshap", attributions


LAB = Lab("06_integrated_gradients", [IntegratedGradientsFromScratch(), BlackBaseline(), GradientShapDistribution()])
self_check = LAB.self_check
show_progress = LAB.show_progress
