"""Lab 11 (evaluating explanations II: sanity checks and a Clever Hans model): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
The from-scratch cases are built here in plain PyTorch (the grader's sandbox has neither Captum nor
``helpers.evaluation``); the references come from :mod:`helpers.evaluation`, imported inside the checks. The value
exercises are checked on the course's shapes models, :func:`helpers.shapes.course_model` (``"clean"`` and
``"clever_hans"``), which the notebook uses too: every process on one machine trains them to bitwise the same weights.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from helpers import shapes
from helpers.checks import check_attribution
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator

# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: rank correlation (from scratch)


def _smooth(generator: torch.Generator, shape: tuple[int, ...]) -> torch.Tensor:
    """Signed maps (N, C, H, W) that vary smoothly, like attributions (a coarse random grid upsampled)."""
    n, c, h, w = shape
    grid = torch.randn(n, c, 5, 5, generator=generator)
    return F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=False)


def _pearson(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    x, y = x.flatten(1).double(), y.flatten(1).double()
    x, y = x - x.mean(dim=1, keepdim=True), y - y.mean(dim=1, keepdim=True)
    return ((x * y).sum(dim=1) / (x.norm(dim=1) * y.norm(dim=1))).float()


def _ordinal_ranks(x: torch.Tensor) -> torch.Tensor:
    """Ranks 0..M-1 with ties broken by position (argsort of a stable argsort): no average for ties."""
    return x.flatten(1).argsort(dim=1, stable=True).argsort(dim=1).float()


class RankCorrelation(FunctionExercise):
    grade_id = "ex1_tests"
    function = "rank_correlation"
    parts = (Part("absolute", 1, "the Spearman correlation of |a| and |b| (the default), per sample"),
             Part("signed", 1, "absolute=False: the signed values"),
             Part("ties", 1, "tied values (e.g. the zeros of a ReLU'd map) get their average rank"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab11.ex1")
        cases = []
        if variant == 0:
            a = torch.tensor([[0.1, -0.5, 0.3, 2.0]])
            cases.append(Case("absolute", "rank_correlation(a map, itself times 3): 1", (a, 3 * a)))
        a = _smooth(generator, (4, 3, 8, 8))
        b = a + 0.7 * torch.randn(4, 3, 8, 8, generator=generator)
        cases.append(Case("absolute", "rank_correlation(4 attributions (3, 8, 8), 4 noisy copies)", (a, b)))
        maps = torch.randn(3, 16, 16, generator=generator)
        cases.append(Case("absolute", "rank_correlation(3 signed maps 16x16, 3 unrelated maps)",
                          (maps, maps.abs() + torch.randn(3, 16, 16, generator=generator))))
        cases.append(Case("signed", "rank_correlation(4 attributions (3, 8, 8), 4 noisy copies, absolute=False)",
                          (a, b), {"absolute": False}))
        x = torch.randn(2, 50, generator=generator)
        cases.append(Case("signed", "rank_correlation(2 vectors of 50 signed values, the same negated and noisy, "
                          "absolute=False)", (x, -x + 0.5 * torch.randn(2, 50, generator=generator)),
                          {"absolute": False}))
        relu = _smooth(generator, (3, 1, 12, 12)).clamp(min=0)[:, 0]
        noisy = (relu + 0.5 * torch.randn(3, 12, 12, generator=generator)).clamp(min=0)
        cases.append(Case("ties", "rank_correlation(3 ReLU'd 12x12 maps (many zeros), 3 other ReLU'd maps)",
                          (relu, noisy)))
        steps = torch.randint(0, 4, (2, 40), generator=generator).float()
        cases.append(Case("ties", "rank_correlation(2 vectors of values 0, 1, 2, 3 (ties), 2 noisy copies)",
                          (steps, steps + torch.rand(2, 40, generator=generator) * 2)))
        return cases

    def check(self, case, result):
        from helpers import evaluation

        a, b = case.args
        absolute = case.kwargs.get("absolute", True)
        expected = evaluation.rank_correlation(a, b, absolute=absolute)
        x, y = (a.abs(), b.abs()) if absolute else (a, b)
        alternatives = {
            "the Pearson correlation of the values instead of their ranks": _pearson(x, y),
            "the correlation of the sorting permutations (one argsort) instead of the ranks (argsort of the argsort)":
                _pearson(x.flatten(1).argsort(dim=1, stable=True).float(),
                         y.flatten(1).argsort(dim=1, stable=True).float()),
            "the Spearman correlation of one number for the whole batch instead of one per sample":
                evaluation.rank_correlation(a.reshape(1, -1), b.reshape(1, -1), absolute=absolute).expand(len(a)),
        }
        if absolute:
            alternatives["the rank correlation of the signed values (take .abs() first when absolute=True)"] = \
                evaluation.rank_correlation(a, b, absolute=False)
        else:
            alternatives["the rank correlation of |a| and |b|; with absolute=False keep the signs"] = \
                evaluation.rank_correlation(a, b, absolute=True)
        if case.part == "ties":
            alternatives["ranks where tied values get different ranks (by position); equal values must share their "
                         "average rank"] = _pearson(_ordinal_ranks(x), _ordinal_ranks(y))
        try:
            check_attribution(result, expected, name=case.label, alternatives=alternatives)
        except AssertionError as error:
            if case.part != "ties":
                raise
            raise AssertionError(f"{error} Tied values must share the average of the ranks they occupy, e.g. the "
                                 "values (5, 7, 7, 9) have the ranks (0, 1.5, 1.5, 3).") from None


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: the model randomisation test of two methods (apply)

N_SANITY = 16


def sanity_images() -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels of the sanity check: the first 16 test images."""
    test = shapes.make_shapes(300, seed=1)
    return test.images[:N_SANITY], test.labels[:N_SANITY]


@functools.lru_cache(maxsize=None)
def _sanity_references() -> dict[str, torch.Tensor]:
    from captum.attr import GuidedBackprop, Saliency

    from helpers import evaluation

    model = shapes.course_model("clean")
    images, labels = sanity_images()
    randomized = evaluation.cascading_randomization(model, seed=0)
    methods = {"gradient": lambda m: Saliency(m).attribute(images, target=labels, abs=False),
               "absolute gradient": lambda m: Saliency(m).attribute(images, target=labels),
               "guided": lambda m: GuidedBackprop(m).attribute(images, target=labels)}
    references = {}
    for name, method in methods.items():
        maps = [evaluation.attribution_map(method(m), sign="all") for m in [model] + [r for _, r in randomized]]
        references[name] = torch.stack([evaluation.rank_correlation(maps[0], m, absolute=False) for m in maps[1:]])
        references[name + " abs"] = torch.stack([evaluation.rank_correlation(maps[0], m) for m in maps[1:]])
        references[name + " previous"] = torch.stack([evaluation.rank_correlation(before, after, absolute=False)
                                                      for before, after in zip(maps[:-1], maps[1:])])
        positive = [evaluation.attribution_map(method(m), sign="positive") for m in [model] + [r for _, r in randomized]]
        references[name + " positive"] = torch.stack([evaluation.rank_correlation(positive[0], m, absolute=False)
                                                      for m in positive[1:]])
    return references


class SanityCheck(ValueExercise):
    grade_id = "ex2_tests"
    names = ("gradient_correlations", "guided_correlations")
    parts = (Part("gradient", 1, "the correlations of the signed gradient maps"),
             Part("guided", 1, "the correlations of the guided backpropagation maps"))

    def checks(self, values):
        references = _sanity_references()

        def common(key):
            return {"the rank correlation of the absolute maps (use absolute=False: the signed maps)":
                    references[key + " abs"],
                    "the correlation of each randomised copy with the PREVIOUS copy instead of the trained model":
                    references[key + " previous"],
                    "the rank correlation of the positive parts (sign='positive') instead of the signed maps "
                    "(sign='all')": references[key + " positive"]}

        def gradient():
            check_attribution(values["gradient_correlations"], references["gradient"], name="gradient_correlations",
                              rtol=1e-3, alternatives={
                                  **common("gradient"),
                                  "the correlations of Saliency with abs=True (the default); the signed gradient "
                                  "(abs=False) is asked for": references["absolute gradient"],
                                  "the correlations of guided backpropagation instead of the gradient":
                                  references["guided"]})

        def guided():
            check_attribution(values["guided_correlations"], references["guided"], name="guided_correlations",
                              rtol=1e-3, alternatives={
                                  **common("guided"),
                                  "the correlations of the gradient instead of guided backpropagation":
                                  references["gradient"]})

        yield "gradient", "gradient_correlations", gradient
        yield "guided", "guided_correlations", guided


# ----------------------------------------------------------------------------------------------------------------
# Exercises 3 and 4: the Clever Hans model (apply)


def hans_test_data():
    """The test images with the watermark on the circles, and the same images without any watermark."""
    return shapes.make_shapes(300, seed=1, watermark="class"), shapes.make_shapes(300, seed=1, watermark="none")


def watermarked_circles():
    hans_test, _ = hans_test_data()
    return hans_test[hans_test.labels == shapes.WATERMARK_CLASS][:16]


@functools.lru_cache(maxsize=None)
def _watermark_references() -> dict[str, torch.Tensor]:
    from captum.attr import Saliency

    from helpers import evaluation

    circles = watermarked_circles()
    box = shapes.watermark_mask(len(circles))
    hans, clean = shapes.course_model("clever_hans"), shapes.course_model("clean")

    def mass(model, region=box, target=circles.labels, abs=True):
        attributions = Saliency(model).attribute(circles.images, target=target, abs=abs)
        return evaluation.relevance_mass(evaluation.attribution_map(attributions, sign="positive"), region)

    return {"hans": mass(hans), "clean": mass(clean), "hans object": mass(hans, region=circles.masks),
            "clean object": mass(clean, region=circles.masks), "hans square": mass(hans, target=1),
            "hans signed": mass(hans, abs=False), "clean signed": mass(clean, abs=False)}


class WatermarkMass(ValueExercise):
    grade_id = "ex3_tests"
    names = ("watermark_mass_hans", "watermark_mass_clean")
    parts = (Part("hans", 1, "the relevance mass on the watermark, Clever Hans model"),
             Part("clean", 1, "the relevance mass on the watermark, clean model"))

    def checks(self, values):
        references = _watermark_references()

        def hans():
            check_attribution(values["watermark_mass_hans"], references["hans"], name="watermark_mass_hans", rtol=1e-3,
                              alternatives={
                                  "the values of the CLEAN model (use hans_model)": references["clean"],
                                  "the relevance mass on the object mask (circles.masks) instead of the watermark box":
                                      references["hans object"],
                                  "the relevance mass for class 1 (square) instead of the circle class":
                                      references["hans square"],
                                  "the relevance mass of the signed gradient (abs=False); Saliency's default is "
                                  "abs=True": references["hans signed"]})

        def clean():
            check_attribution(values["watermark_mass_clean"], references["clean"], name="watermark_mass_clean",
                              rtol=1e-3, alternatives={
                                  "the values of the Clever Hans model (use shapes_model, the clean one)":
                                      references["hans"],
                                  "the relevance mass on the object mask (circles.masks) instead of the watermark box":
                                      references["clean object"],
                                  "the relevance mass of the signed gradient (abs=False); Saliency's default is "
                                  "abs=True": references["clean signed"]})

        yield "hans", "watermark_mass_hans", hans
        yield "clean", "watermark_mass_clean", clean


@functools.lru_cache(maxsize=None)
def _accuracy_references() -> dict[str, float]:
    hans_test, clean_test = hans_test_data()
    hans, clean = shapes.course_model("clever_hans"), shapes.course_model("clean")
    return {"with": shapes.accuracy(hans, hans_test.images, hans_test.labels),
            "without": shapes.accuracy(hans, clean_test.images, clean_test.labels),
            "clean with": shapes.accuracy(clean, hans_test.images, hans_test.labels),
            "clean without": shapes.accuracy(clean, clean_test.images, clean_test.labels)}


def _check_accuracy(value, expected: float, name: str, mistakes: dict[str, float]) -> None:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AssertionError(f"{name}: expected one number (a Python float in [0, 1]), got {type(value).__name__}"
                             f"{' of shape ' + str(tuple(value.shape)) if hasattr(value, 'shape') else ''}.")
    if 1 < value <= 100 and abs(value / 100 - expected) < 1e-3:
        raise AssertionError(f"{name} = {value}: give a fraction in [0, 1], not a percentage.")
    if abs(value - expected) <= 1e-3:  # one image of 300 is 3.3e-3: this accepts only the right count
        return
    for text, wrong in mistakes.items():
        if abs(value - wrong) <= 1e-3:
            raise AssertionError(f"{name} = {value:.4f}: this is {text}.")
    raise AssertionError(f"{name}: expected {expected:.4f}, got {value:.4f}.")


class AccuracyDrop(ValueExercise):
    grade_id = "ex4_tests"
    names = ("accuracy_with", "accuracy_without")
    parts = (Part("with", 1, "the accuracy of the Clever Hans model with the watermark"),
             Part("without", 1, "its accuracy without the watermark"))

    def checks(self, values):
        references = _accuracy_references()

        def with_watermark():
            _check_accuracy(values["accuracy_with"], references["with"], "accuracy_with",
                            {"the accuracy of the clean model `shapes_model`; measure `hans_model`":
                             references["clean with"],
                             "the accuracy on `clean_test` (without the watermark)": references["without"]})

        def without_watermark():
            _check_accuracy(values["accuracy_without"], references["without"], "accuracy_without",
                            {"the accuracy of the clean model `shapes_model`; measure `hans_model`":
                             references["clean without"],
                             "the accuracy on `hans_test` (with the watermark)": references["with"]})

        yield "with", "accuracy_with", with_watermark
        yield "without", "accuracy_without", without_watermark


LAB = Lab("11_sanity_checks", [RankCorrelation(), SanityCheck(), WatermarkMass(), AccuracyDrop()])
self_check = LAB.self_check
show_progress = LAB.show_progress
