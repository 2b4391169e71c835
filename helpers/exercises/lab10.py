"""Lab 10 (evaluating explanations I: localisation and faithfulness): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
The from-scratch cases are built here in plain PyTorch (the grader's sandbox has neither Captum nor
``helpers.evaluation``); the references come from :mod:`helpers.evaluation`, imported inside the checks. The value
exercise is checked on the course's shapes model, :func:`helpers.shapes.course_model`, which the notebook uses too:
every process on one machine trains it to bitwise the same weights.
"""
from __future__ import annotations

import contextlib
import functools

import torch
import torch.nn.functional as F

from helpers import shapes
from helpers.checks import check_attribution
from helpers.exercises import context
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN

# ----------------------------------------------------------------------------------------------------------------
# Inputs built in code (no Captum, no helpers.evaluation): maps, masks, small models.


def _seed(generator: torch.Generator) -> int:
    return int(torch.randint(0, 10_000, (1,), generator=generator))


def _smooth(generator: torch.Generator, n: int, size: tuple[int, int], coarse: int = 6) -> torch.Tensor:
    """(n, H, W) signed maps that vary smoothly, like attribution maps (a coarse random grid upsampled)."""
    grid = torch.randn(n, 1, coarse, coarse, generator=generator)
    return F.interpolate(grid, size=size, mode="bilinear", align_corners=False)[:, 0]


def _shape_masks(generator: torch.Generator, n: int) -> torch.Tensor:
    """(n, 32, 32) bool object masks of the shapes data set (drawn from a seed of ``generator``)."""
    return shapes.make_shapes(n, seed=_seed(generator)).masks[:, 0]


@contextlib.contextmanager
def _one_thread():
    """Computations whose bits must not depend on the number of threads (inputs that get sorted)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _gradient_maps(model: torch.nn.Module, inputs: torch.Tensor, target) -> torch.Tensor:
    """(N, H, W): the channel sum of |d logit_target / d input| (plain autograd, one thread: the same bits in the
    notebook, the grader's sandbox and its checker)."""
    with _one_thread():
        inputs = inputs.detach().clone().requires_grad_(True)
        target = torch.as_tensor(target).expand(len(inputs))
        outputs = model(inputs)
        (gradient,) = torch.autograd.grad(outputs.gather(1, target[:, None]).sum(), inputs)
        return gradient.abs().sum(dim=1).detach()


def check_with_alternatives(actual, expected: torch.Tensor, name: str, alternatives, **options) -> None:
    """:func:`check_attribution`, computing the (costly) ``alternatives()`` only when the answer is wrong."""
    try:
        check_attribution(actual, expected, name=name, **options)
    except AssertionError:
        check_attribution(actual, expected, name=name, alternatives=alternatives(), **options)


def _box_blur(inputs: torch.Tensor, size: int = 5) -> torch.Tensor:
    pad = size // 2
    return F.avg_pool2d(F.pad(inputs, (pad, pad, pad, pad), mode="replicate"), size, stride=1)


def _as_float(result):
    """A bool or integer tensor as float (the checks compare numbers); anything else unchanged."""
    if isinstance(result, torch.Tensor) and not result.is_floating_point() and not result.is_complex():
        return result.float()
    return result


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: the pointing game (from scratch)


class PointingGame(FunctionExercise):
    grade_id = "ex1_tests"
    function = "pointing_game"
    parts = (Part("hits", 1, "the maximum of each map, for maps of any size (square or not, signed)"),
             Part("ties", 1, "maps whose maximum is shared: the first one in row-major order counts"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab10.ex1")
        cases = []
        if variant == 0:
            masks = torch.zeros(2, 4, 4, dtype=torch.bool)
            masks[:, 1:3, 2:4] = True
            maps = torch.zeros(2, 4, 4)
            maps[0, 1, 3], maps[1, 3, 1] = 1.0, 1.0  # image 0: maximum on the object, image 1: off it
            cases.append(Case("hits", "pointing_game(2 hand-made 4x4 maps: maximum on the object, then off it)",
                              (maps, masks)))
        masks = _shape_masks(generator, 8)
        maps = _smooth(generator, 8, (32, 32)) + 1.5 * masks * torch.rand(8, 1, 1, generator=generator)
        cases.append(Case("hits", "pointing_game(8 signed 32x32 maps, object masks of the shapes data set)",
                          (maps, masks)))
        height, width = 6, 9
        maps = torch.randn(5, height, width, generator=generator)
        masks = torch.rand(5, height, width, generator=generator) > 0.5
        cases.append(Case("hits", "pointing_game(5 signed 6x9 maps, random masks)", (maps, masks)))
        maps = torch.randint(0, 3, (6, 7, 10), generator=generator).float()
        maps[int(torch.randint(0, 6, (1,), generator=generator))] = 0.0  # a ReLU'd map without any positive value
        masks = torch.rand(6, 7, 10, generator=generator) > 0.5
        cases.append(Case("ties", "pointing_game(6 7x10 maps with values 0, 1, 2 (ties) and one all-zero map)",
                          (maps, masks)))
        return cases

    def check(self, case, result):
        from helpers import evaluation

        maps, masks = case.args
        n, height, width = maps.shape
        expected = evaluation.pointing_game(maps, masks).float()
        flat_masks = masks.flatten(1)
        top = maps.flatten(1).argmax(dim=1)
        alternatives = {
            "the hits of the minimum (argmin) instead of the maximum":
                flat_masks.gather(1, maps.flatten(1).argmin(dim=1)[:, None])[:, 0].float(),
            "one maximum for the whole batch instead of one per sample":
                flat_masks.flatten()[maps.argmax()].float().expand(n),
            "the hits of the largest |value| (.abs()) instead of the largest value":
                evaluation.pointing_game(maps.abs(), masks).float(),
            "True when ANY of the tied maxima lies on the object; the first maximum in row-major order (as "
            "torch.argmax gives it) counts":
                ((maps == maps.amax(dim=(1, 2), keepdim=True)) & masks).flatten(1).any(dim=1).float(),
            "the hits of the LAST maximum in row-major order; the first one counts (as torch.argmax gives it)":
                flat_masks.flip(1).gather(1, maps.flatten(1).flip(1).argmax(dim=1)[:, None])[:, 0].float(),
        }
        rows, cols = top % width, top // width  # the mistake: index % W taken for the row
        if bool((rows < height).all() and (cols < width).all()):
            alternatives["the hits with rows and columns swapped (the row is index // W, the column index % W)"] = \
                masks[torch.arange(n), rows, cols].float()
        check_attribution(_as_float(result), expected, name=case.label, alternatives=alternatives)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: relevance mass (from scratch)


class RelevanceMass(FunctionExercise):
    grade_id = "ex2_tests"
    function = "relevance_mass"
    parts = (Part("mass", 1, "the share of each map on the object"),
             Part("empty", 1, "maps without any relevance (all zeros, e.g. after a ReLU) give 0, not NaN"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab10.ex2")
        cases = []
        if variant == 0:
            masks = torch.zeros(1, 4, 4, dtype=torch.bool)
            masks[0, :2, :] = True
            cases.append(Case("mass", "relevance_mass(a uniform 4x4 map, the top half as object): 0.5",
                              (torch.ones(1, 4, 4), masks)))
        masks = _shape_masks(generator, 8)
        maps = (_smooth(generator, 8, (32, 32)) + 2 * masks * torch.rand(8, 1, 1, generator=generator)).clamp(min=0)
        maps[maps.flatten(1).sum(1) == 0] += 0.1  # every map of this case has some relevance
        cases.append(Case("mass", "relevance_mass(8 non-negative 32x32 maps, object masks of the shapes data set)",
                          (maps, masks)))
        maps = torch.rand(4, 5, 7, generator=generator) ** 3
        masks = torch.rand(4, 5, 7, generator=generator) > 0.5
        cases.append(Case("mass", "relevance_mass(4 non-negative 5x7 maps, random masks)", (maps, masks)))
        maps = _smooth(generator, 5, (12, 12)).clamp(min=0) + 0.01
        empty = torch.randperm(5, generator=generator)[:2]
        maps[empty] = 0.0
        masks = torch.rand(5, 12, 12, generator=generator) > 0.6
        cases.append(Case("empty", "relevance_mass(5 maps 12x12, two of them all zeros as after a ReLU)",
                          (maps, masks)))
        return cases

    def check(self, case, result):
        from helpers import evaluation

        maps, masks = case.args
        expected = evaluation.relevance_mass(maps, masks)
        inside = (maps * masks).flatten(1).sum(dim=1)
        area = masks.flatten(1).sum(dim=1).clamp(min=1)
        alternatives = {
            "the sum of the map on the object, not divided by the map's total": inside,
            "the mean of the map on the object (divided by the object's area, not by the map's total)": inside / area,
            "the share of the map OFF the object (1 - relevance mass)":
                torch.where(maps.flatten(1).sum(1) > 0, 1 - expected, torch.zeros_like(expected)),
            "one share for the whole batch instead of one per sample":
                (inside.sum() / maps.sum()).expand(len(maps)),
        }
        check_attribution(_as_float(result), expected, name=case.label, alternatives=alternatives)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3: the deletion curve (from scratch)


class DeletionCurve(FunctionExercise):
    grade_id = "ex3_tests"
    function = "deletion_curve"
    parts = (Part("order", 1, "the most important pixels first, all channels, raw scores (one int target, baseline 0)"),
             Part("targets_baselines", 1, "one target per sample (list or tensor) and baselines given as a tensor"),
             Part("steps", 1, "any step: a last, shorter step when H*W is not a multiple of step; step=1"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab10.ex3")
        cases = []
        # order: RGB 32x32 images of the shapes data set on a small CNN, and the lab's ImageNet model on the cat
        cnn = SmallCNN(in_channels=3, num_classes=3, seed=_seed(generator))
        images = shapes.make_shapes(4, seed=_seed(generator)).images
        target = int(torch.randint(0, 3, (1,), generator=generator))
        cases.append(Case("order", "deletion_curve(SmallCNN, 4 RGB 32x32 images, their gradient maps, target=int, "
                          "step=64)", (cnn, images, _gradient_maps(cnn, images, target), target), {"step": 64}))
        if variant == 0:
            lab = context.imagenet()
            cat = context.image("cat")
            predicted = context.ranking("cat")[0]
            cases.append(Case("order", "deletion_curve(the lab's ImageNet model, the cat, its gradient map, "
                              "target=its top class, step=H*W/8)",
                              (lab.model, cat, _gradient_maps(lab.model, cat, predicted), predicted),
                              {"step": 224 * 224 // 8}))
        else:  # the hidden cases: the ImageNet model on the coffee photo, another class of the ranking
            lab = context.imagenet()
            coffee = context.image("coffee")
            target = context.ranking("coffee")[int(torch.randint(0, 3, (1,), generator=generator))]
            cases.append(Case("order", "deletion_curve(the lab's ImageNet model, an image, its gradient map, "
                              "target=int, step=H*W/8)",
                              (lab.model, coffee, _gradient_maps(lab.model, coffee, target), target),
                              {"step": 224 * 224 // 8}))
        # one target per sample, tensor baselines
        cnn = SmallCNN(in_channels=3, num_classes=3, seed=_seed(generator))
        images = shapes.make_shapes(5, seed=_seed(generator)).images
        targets = torch.randint(0, 3, (5,), generator=generator).tolist()
        cases.append(Case("targets_baselines", "deletion_curve(SmallCNN, 5 RGB 32x32 images, random maps, "
                          "target=a list, baselines=the blurred images (N, 3, 32, 32), step=128)",
                          (cnn, images, torch.rand(5, 32, 32, generator=generator), targets),
                          {"baselines": _box_blur(images), "step": 128}))
        gray_cnn = SmallCNN(in_channels=1, num_classes=5, seed=_seed(generator))
        gray = torch.rand(3, 1, 28, 28, generator=generator)
        targets = torch.randint(0, 5, (3,), generator=generator)
        cases.append(Case("targets_baselines", "deletion_curve(SmallCNN, 3 gray 28x28 images, random maps, "
                          "target=a tensor, baselines=one (1, 1, 28, 28) image for all, step=49)",
                          (gray_cnn, gray, torch.rand(3, 28, 28, generator=generator), targets),
                          {"baselines": torch.rand(1, 1, 28, 28, generator=generator), "step": 49}))
        # steps
        target = int(torch.randint(0, 5, (1,), generator=generator))
        cases.append(Case("steps", "deletion_curve(SmallCNN, 3 gray 28x28 images, random maps, target=int, step=100: "
                          "the last step is shorter)",
                          (gray_cnn, gray, torch.rand(3, 28, 28, generator=generator), target), {"step": 100}))
        small = torch.rand(2, 3, 10, 10, generator=generator)
        cases.append(Case("steps", "deletion_curve(SmallCNN, 2 RGB 10x10 images, random maps, target=int, step=1)",
                          (cnn, small, torch.rand(2, 10, 10, generator=generator), target % 3), {"step": 1}))
        return cases

    def check(self, case, result):
        from helpers import evaluation

        model, inputs, maps, target = case.args
        baselines, step = case.kwargs.get("baselines", 0.0), case.kwargs["step"]
        n = len(inputs)
        if not isinstance(result, tuple) or len(result) != 2:
            what = f"a {type(result).__name__}" + (f" of {len(result)} items" if isinstance(result, (tuple, list)) else "")
            raise AssertionError(f"return a tuple (fractions, scores): fractions of shape (K,), scores of shape (N, K); "
                                 f"got {what}.")
        fractions, scores = (value.float() if isinstance(value, torch.Tensor) and value.is_floating_point() else value
                             for value in result)
        expected_fractions, expected_scores = evaluation.deletion_curve(model, inputs, maps, target,
                                                                        baselines=baselines, step=step)
        per_sample = torch.as_tensor(target).expand(n)

        def scores_of(**changes):
            arguments = {"model": model, "maps": maps, "target": target, "baselines": baselines, **changes}
            return evaluation.deletion_curve(arguments["model"], inputs, arguments["maps"], arguments["target"],
                                             baselines=arguments["baselines"], step=step)[1]

        check_attribution(fractions, expected_fractions, name=f"{case.label}: fractions",
                          alternatives={"the numbers of pixels k instead of the fractions k / (H*W)":
                                        expected_fractions * maps[0].numel()})

        def alternatives():
            found = {
                "the curve that deletes the LEAST important pixels first (sort in decreasing order)": scores_of(maps=-maps),
                "the curve of softmax probabilities instead of the model's raw scores":
                    scores_of(model=torch.nn.Sequential(model, torch.nn.Softmax(dim=1))),
                "the insertion curve (pixels put back into the baseline) instead of the deletion curve":
                    evaluation.insertion_curve(model, inputs, maps, target, baselines=baselines, step=step)[1],
            }
            if not (isinstance(baselines, float) and baselines == 0.0):
                found["the curve with the deleted pixels set to 0 instead of the baselines"] = scores_of(baselines=0.0)
            if per_sample.unique().numel() > 1:
                found["the curve of the first sample's target for every image instead of one target per sample"] = \
                    scores_of(target=int(per_sample[0]))
            if int(per_sample[0]) != 0:
                found["the curve of class 0 for every image instead of target"] = scores_of(target=0)
            return found

        check_with_alternatives(scores, expected_scores, f"{case.label}: scores", alternatives)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 4: Captum's infidelity and sensitivity-max (apply), on the course's shapes model


def _images8() -> tuple[torch.Tensor, torch.Tensor]:
    test = shapes.make_shapes(300, seed=1)
    return test.images[:8], test.labels[:8]


class _InfidelitySetting:
    """The model, images and explainers of exercise 4, built once per process; each value computed when first asked
    for (the alternatives, which only a wrong answer needs, cost more than the references)."""

    def __init__(self):
        from captum.attr import IntegratedGradients, Saliency

        self.model = shapes.course_model("clean")
        self.images, self.labels = _images8()
        self.ig = IntegratedGradients(self.model)
        self.ig_attributions = self.ig.attribute(self.images, target=self.labels, n_steps=32)
        self.saliency = Saliency(self.model).attribute(self.images, target=self.labels, abs=False)
        self.values: dict[str, torch.Tensor] = {}

    def infidelity(self, key, attributions=None, forward=None, target=None, std=0.05, n_perturb_samples=20, **kwargs):
        key = f"infidelity: {key}"
        if key not in self.values:
            from captum.metrics import infidelity

            from helpers import evaluation

            torch.manual_seed(0)
            self.values[key] = infidelity(
                forward or self.model, evaluation.noise_perturbation(std), self.images,
                self.ig_attributions if attributions is None else attributions,
                target=self.labels if target is None else target, n_perturb_samples=n_perturb_samples,
                **kwargs).detach()
        return self.values[key]

    def sensitivity(self, key, explain=None, **kwargs):
        key = f"sensitivity: {key}"
        if key not in self.values:
            from captum.metrics import sensitivity_max

            torch.manual_seed(0)
            options = {"target": self.labels, "n_steps": 32, **kwargs}
            self.values[key] = sensitivity_max(explain or self.ig.attribute, self.images,
                                               **{k: v for k, v in options.items() if v is not None}).detach()
        return self.values[key]


@functools.lru_cache(maxsize=None)
def _infidelity_setting() -> _InfidelitySetting:
    return _InfidelitySetting()


class InfidelitySensitivity(ValueExercise):
    grade_id = "ex4_tests"
    names = ("infidelity_ig", "sensitivity_ig")
    parts = (Part("infidelity", 1, "the infidelity of the IG attributions"),
             Part("sensitivity", 1, "the sensitivity-max of IG"))

    def checks(self, values):
        setting = _infidelity_setting()

        def infidelity_alternatives():
            from captum.attr import Saliency

            probability = torch.nn.Sequential(setting.model, torch.nn.Softmax(dim=1))
            return {
                "the infidelity of the Saliency (gradient) attributions instead of IG":
                    setting.infidelity("saliency", attributions=setting.saliency),
                "the infidelity of the absolute gradient (Saliency's default abs=True) instead of IG":
                    setting.infidelity("absolute saliency", attributions=Saliency(setting.model).attribute(
                        setting.images, target=setting.labels)),
                "the infidelity for class 0 instead of the true classes labels8":
                    setting.infidelity("target 0", target=0),
                "the normalized infidelity (normalize=True); use the default": setting.infidelity("normalize", normalize=True),
                "the infidelity of the softmax probabilities instead of the raw scores (model)":
                    setting.infidelity("softmax", forward=probability),
                "the infidelity with 10 perturbations (the default) instead of n_perturb_samples=20":
                    setting.infidelity("10 samples", n_perturb_samples=10),
                "the infidelity with noise of standard deviation 0.1 instead of 0.05": setting.infidelity("std", std=0.1)}

        def sensitivity_alternatives():
            from captum.attr import Saliency

            return {
                "the sensitivity of Saliency (the gradient) instead of IG": setting.sensitivity(
                    "saliency", lambda x, target: Saliency(setting.model).attribute(x, target=target, abs=False),
                    n_steps=None),
                "the sensitivity of IG with 50 steps (the default) instead of n_steps=32":
                    setting.sensitivity("50 steps", n_steps=50),
                "the sensitivity with 20 perturbations instead of 10 (the default)":
                    setting.sensitivity("20 samples", n_perturb_samples=20),
                "the sensitivity for class 0 instead of the true classes labels8": setting.sensitivity("target 0", target=0)}

        def infidelity_ig():
            check_with_alternatives(values["infidelity_ig"], setting.infidelity("reference"), "infidelity_ig",
                                    infidelity_alternatives, rtol=1e-3)

        def sensitivity_ig():
            check_with_alternatives(values["sensitivity_ig"], setting.sensitivity("reference"), "sensitivity_ig",
                                    sensitivity_alternatives, rtol=1e-3)

        yield "infidelity", "infidelity_ig", infidelity_ig
        yield "sensitivity", "sensitivity_ig", sensitivity_ig


LAB = Lab("10_evaluation", [PointingGame(), RelevanceMass(), DeletionCurve(), InfidelitySensitivity()])
self_check = LAB.self_check
show_progress = LAB.show_progress
