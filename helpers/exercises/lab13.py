"""Lab 13 (concepts with TCAV): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
The from-scratch cases are built here in plain PyTorch (activations of random-weight ``ShapesCNN`` and ``SmallCNN``
models on images of :mod:`helpers.shapes`, synthetic activations): the grader's sandbox has neither Captum nor
``helpers.reference``; the references come from :mod:`helpers.reference`, imported inside the checks. The value
exercises are checked on the course's shapes models, :func:`helpers.shapes.course_model` (``"clean"`` and
``"clever_hans"``), which the notebook uses too: every process on one machine trains them to bitwise the same weights.
Their references are computed with :mod:`helpers.reference` (``cav``, ``tcav_scores``), which
``tests/test_reference.py`` shows equal to Captum's ``TCAV`` with :class:`helpers.concepts.CAVClassifier`.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np
import torch

from helpers import shapes
from helpers.checks import check_attribution
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN

#: The layer of the lab (its name for Captum), the number of examples per concept set and of runs of the test.
LAYER = "relu2"
N_EXAMPLES = 50
RUNS = 10
#: Seeds of the experimental sets of exercise 3: run i uses concept images of seed CONCEPT_SEED + i against random
#: images of seed RANDOM_SEED + i; null run i: random images of seed NULL_SEEDS[0] + i against NULL_SEEDS[1] + i.
CONCEPT_SEED, RANDOM_SEED, NULL_SEEDS = 1000, 2000, (3000, 4000)


# ----------------------------------------------------------------------------------------------------------------
# Cases: models, images and activations built in plain PyTorch


def _seed(generator: torch.Generator) -> int:
    return int(torch.randint(0, 10_000, (1,), generator=generator))


@torch.no_grad()
def _activations(model: torch.nn.Module, layer: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``layer``'s output for ``images`` (a forward hook; what Captum's LayerActivation returns)."""
    saved = {}
    handle = layer.register_forward_hook(lambda module, args, output: saved.__setitem__("out", output.detach().clone()))
    try:
        model(images)
    finally:
        handle.remove()
    return saved["out"]


def _synthetic(generator: torch.Generator, n_concept: int, n_random: int, dim: int):
    """ReLU-like activation vectors: the concept examples are shifted along a sparse positive pattern."""
    pattern = (torch.rand(dim, generator=generator) < 0.3).float() * (0.5 + torch.rand(dim, generator=generator))
    concept = (torch.randn(n_concept, dim, generator=generator) + pattern).clamp(min=0)
    random = torch.randn(n_random, dim, generator=generator).clamp(min=0)
    return concept, random


def _unit(generator: torch.Generator, dim: int) -> torch.Tensor:
    v = torch.randn(dim, generator=generator)
    return v / v.norm()


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: a concept activation vector (from scratch)


def _no_bias_cav(concept, random, steps, lr):
    x = torch.cat([concept.flatten(1), random.flatten(1)]).double()
    y = torch.cat([torch.ones(len(concept)), torch.zeros(len(random))]).double()
    w = torch.zeros(x.shape[1], dtype=torch.float64)
    for _ in range(steps):
        w = w - lr * x.T @ (torch.sigmoid(x @ w) - y) / len(x)
    return (w / w.norm()).float()


def _unit_vector(v: torch.Tensor) -> torch.Tensor:
    return (v / v.norm()).float()


class ConceptActivationVector(FunctionExercise):
    grade_id = "ex1_tests"
    function = "compute_cav"
    parts = (Part("vectors", 1, "activation vectors (N, D), the default steps and lr"),
             Part("maps", 1, "activation maps (N, C, H, W) of a layer: the CAV over the flattened features"),
             Part("options", 1, "sets of different sizes, other steps and lr"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab13.ex1")
        shapes_model = shapes.ShapesCNN(seed=_seed(generator))
        gray = SmallCNN(in_channels=1, seed=_seed(generator))
        concept, random = (shapes.CONCEPTS[int(i)] for i in torch.randperm(len(shapes.CONCEPTS), generator=generator)[:2])
        seeds = [10_000 + _seed(generator) for _ in range(4)]

        def shapes_maps(name, n, seed):
            images = shapes.concept_images(name, n, seed) if name else shapes.random_images(n, seed)
            return _activations(shapes_model, shapes_model.relu2, images)

        def gray_maps(n, shifted):
            images = torch.randn(n, 1, 28, 28, generator=generator)
            if shifted:  # the concept: a bright bar across the image
                images[:, :, 10:14, :] += 2.0
            return _activations(gray, gray.relu1, images)

        vectors = _synthetic(generator, 20, 20, 30)
        flat = (shapes_maps(concept, 16, seeds[0]).flatten(1), shapes_maps(None, 16, seeds[1]).flatten(1))
        unequal = _synthetic(generator, 25, 10, 40)
        return [
            Case("vectors", "compute_cav(20 concept and 20 random activation vectors of 30 features)", vectors),
            Case("vectors", "compute_cav(ShapesCNN relu2 activations flattened: 16 concept images (16, 8192), "
                 "16 random images)", flat),
            Case("maps", "compute_cav(ShapesCNN relu2 activations (12, 32, 16, 16) of concept images, of random images)",
                 (shapes_maps(random, 12, seeds[2]), shapes_maps(None, 12, seeds[3]))),
            Case("maps", "compute_cav(SmallCNN 1 channel relu1 activations (10, 8, 28, 28), (10, 8, 28, 28))",
                 (gray_maps(10, True), gray_maps(10, False))),
            Case("options", "compute_cav(25 concept and 10 random activation vectors, steps=40, lr=0.05)", unequal,
                 {"steps": 40, "lr": 0.05}),
            Case("options", "compute_cav(ShapesCNN relu2 activations of 8 concept and 14 random images, steps=250, "
                 "lr=0.002)", (shapes_maps(concept, 8, seeds[0]), shapes_maps(None, 14, seeds[1])),
                 {"steps": 250, "lr": 0.002}),
        ]

    def check(self, case, result):
        from helpers import reference

        concept, random = case.args
        steps, lr = case.kwargs.get("steps", 100), case.kwargs.get("lr", 0.01)
        expected = reference.cav(concept, random, steps=steps, lr=lr)
        if isinstance(result, torch.Tensor) and result.shape != expected.shape and result.numel() == expected.numel():
            raise AssertionError(f"{case.label}: your CAV has shape {tuple(result.shape)}: return the flat vector of "
                                 f"the {expected.numel()} features, shape {tuple(expected.shape)} "
                                 "(e.g. flatten the activations with .flatten(1) first).")
        n = len(concept) + len(random)
        alternatives = {
            "the difference of the mean activations of the two sets (the first gradient step only): run all the "
            "`steps` steps of gradient descent":
                _unit_vector(concept.flatten(1).double().mean(0) - random.flatten(1).double().mean(0)),
            "one gradient step only: run all the `steps` steps": reference.cav(concept, random, steps=1, lr=lr),
            f"steps of size lr * n (n = {n} examples): average the gradient over the examples (the mean "
            "cross-entropy), do not sum it": reference.cav(concept, random, steps=steps, lr=lr * n),
            "a classifier without a bias term: train a bias b with the weights (logit x . w + b)":
                _no_bias_cav(concept, random, steps, lr),
        }
        if case.kwargs:
            alternatives["the CAV for the default steps=100 and lr=0.01: use the arguments `steps` and `lr`"] = \
                reference.cav(concept, random)
        check_attribution(result, expected, method="cav", name=case.label, alternatives=alternatives)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: the conceptual sensitivity (from scratch)


class DirectionalDerivatives(FunctionExercise):
    grade_id = "ex2_tests"
    function = "directional_derivatives"
    parts = (Part("int", 1, "one int target for every input"),
             Part("per_sample", 1, "one target per input (a list or a tensor)"),
             Part("models", 1, "other models and layers (SmallCNN with 1 and 3 channels, a convolution's output)"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab13.ex2")
        net = shapes.ShapesCNN(seed=_seed(generator))
        rgb, gray = SmallCNN(in_channels=3, seed=_seed(generator)), SmallCNN(in_channels=1, seed=_seed(generator))
        images = shapes.make_shapes(6, seed=10_000 + _seed(generator)).images
        other = shapes.make_shapes(5, seed=10_000 + _seed(generator), watermark="class").images
        targets = torch.randint(0, 3, (5,), generator=generator)
        return [
            Case("int", "directional_derivatives(ShapesCNN, relu2, 6 shapes images, int target, a CAV of 8192 values)",
                 (net, net.relu2, images, int(torch.randint(0, 3, (1,), generator=generator)), _unit(generator, 8192))),
            Case("int", "directional_derivatives(ShapesCNN, relu3, 5 shapes images, int target, a CAV of 2048 values)",
                 (net, net.relu3, other, int(torch.randint(0, 3, (1,), generator=generator)), _unit(generator, 2048))),
            Case("per_sample", "directional_derivatives(ShapesCNN, relu2, 5 shapes images, a list of 5 targets, a CAV)",
                 (net, net.relu2, other, targets.tolist(), _unit(generator, 8192))),
            Case("per_sample", "directional_derivatives(SmallCNN 3 channels, relu2, 4 images, a tensor of 4 targets, "
                 "a CAV of 4096 values)", (rgb, rgb.relu2, torch.randn(4, 3, 32, 32, generator=generator),
                                            torch.randint(0, 10, (4,), generator=generator), _unit(generator, 4096))),
            Case("models", "directional_derivatives(SmallCNN 1 channel, conv1 (its output before the ReLU), 3 images, "
                 "int target, a CAV of 6272 values)", (gray, gray.conv1, torch.randn(3, 1, 28, 28, generator=generator),
                                                       int(torch.randint(0, 10, (1,), generator=generator)),
                                                       _unit(generator, 6272))),
            Case("models", "directional_derivatives(ShapesCNN, conv3 (before batch norm and ReLU), 6 shapes images, "
                 "a tensor of 6 targets, a CAV of 2048 values)",
                 (net, net.conv3, images, torch.randint(0, 3, (6,), generator=generator), _unit(generator, 2048))),
        ]

    def check(self, case, result):
        from helpers import reference

        model, layer, inputs, target, cav = case.args
        expected = reference.directional_derivatives(model, layer, inputs, target, cav)
        softmax = torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()
        with torch.no_grad():
            predicted = model(inputs).argmax(dim=1)
        alternatives = {
            "the directional derivatives of the softmax probability instead of the raw logit":
                reference.directional_derivatives(softmax, layer, inputs, target, cav),
            "the projection of the layer's activations on the CAV (activations . v): take the GRADIENT of the logit "
            "with respect to the activations, then its dot product with the CAV":
                _activations(model, layer, inputs).flatten(1) @ cav,
            "the directional derivatives for each input's predicted class instead of `target`":
                reference.directional_derivatives(model, layer, inputs, predicted, cav),
        }
        if not isinstance(target, int):
            classes = [int(t) for t in target]
            alternatives["the derivative of the sum of the logits of all the listed targets for every input (take one "
                         "logit per input: logits[torch.arange(len(inputs)), target])"] = \
                sum(reference.directional_derivatives(model, layer, inputs, t, cav) for t in classes)
            alternatives[f"the derivatives for the first target ({classes[0]}) for every input"] = \
                reference.directional_derivatives(model, layer, inputs, classes[0], cav)
        if isinstance(result, torch.Tensor) and result.numel() == 1 and len(inputs) > 1:
            raise AssertionError(f"{case.label}: you returned one number; return the directional derivative of every "
                                 f"input, shape ({len(inputs)},) (the TCAV score is computed from them afterwards).")
        check_attribution(result, expected, method="tcav", name=case.label, alternatives=alternatives)


# ----------------------------------------------------------------------------------------------------------------
# Exercises 3 and 4: TCAV with random concepts, and the intervention, on the course's models (apply)


def watermark_test_data():
    """The 300 test images with the watermark on the circles, and the same images without any watermark."""
    return shapes.make_shapes(300, seed=1, watermark="class"), shapes.make_shapes(300, seed=1, watermark="none")


def circles():
    """The watermarked test circles (the inputs of TCAV) and the same circles without the watermark."""
    hans_test, clean_test = watermark_test_data()
    return (hans_test[hans_test.labels == shapes.WATERMARK_CLASS],
            clean_test[clean_test.labels == shapes.WATERMARK_CLASS])


@functools.lru_cache(maxsize=None)
def _tcav_references(kind: str) -> dict[str, torch.Tensor]:
    """Per model: the sign counts and magnitudes of the watermark concept (first concept of each run) and of the
    first random concept of each null run, and those of the second concept of each set, for the circle class."""
    from helpers import reference

    model = shapes.course_model(kind)
    layer = getattr(model, LAYER)
    inputs = circles()[0].images

    def activations(images):
        return _activations(model, layer, images)

    runs = [(activations(shapes.concept_images("watermark", N_EXAMPLES, CONCEPT_SEED + i)),
             activations(shapes.random_images(N_EXAMPLES, RANDOM_SEED + i))) for i in range(RUNS)]
    null = [(activations(shapes.random_images(N_EXAMPLES, NULL_SEEDS[0] + i)),
             activations(shapes.random_images(N_EXAMPLES, NULL_SEEDS[1] + i))) for i in range(RUNS)]
    out = {}
    for name, sets in (("concept", runs), ("null", null)):
        cavs = [reference.cav(a, b) for a, b in sets]
        first = [reference.tcav_scores(model, layer, inputs, shapes.WATERMARK_CLASS, v) for v in cavs]
        second = [reference.tcav_scores(model, layer, inputs, shapes.WATERMARK_CLASS, -v)[0] for v in cavs]
        out[name] = torch.tensor([score for score, _ in first])
        out[name + " magnitude"] = torch.tensor([magnitude for _, magnitude in first])
        out[name + " second"] = torch.tensor(second)
    return out


def _t_test(a, b, **kwargs) -> float:
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.ttest_ind(a.double().numpy(), b.double().numpy(), **kwargs).pvalue)


def _as_scores(value, name: str) -> torch.Tensor:
    """``value`` as a float tensor of RUNS scores, or AssertionError saying what it is."""
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, torch.Tensor)) for v in value):
        try:
            value = torch.stack([torch.as_tensor(v, dtype=torch.float64).reshape(()) for v in value])
        except Exception:
            pass
    if hasattr(value, "shape") and not isinstance(value, torch.Tensor):
        value = torch.as_tensor(value)
    if not isinstance(value, torch.Tensor) or value.numel() != RUNS or not value.is_floating_point():
        shape = f" of shape {tuple(value.shape)}" if hasattr(value, "shape") else ""
        raise AssertionError(f"{name}: expected {RUNS} TCAV scores, one per run (a float tensor of shape ({RUNS},)), "
                             f"got {type(value).__name__}{shape}.")
    return value.reshape(-1).double()


def _check_scores(value, expected: torch.Tensor, name: str, mistakes: dict[str, torch.Tensor]) -> None:
    scores = _as_scores(value, name)
    tolerance = 1.5 / len(circles()[0])  # one input's sign may flip on another device
    if bool(((scores - expected.double()).abs() <= tolerance).all()):
        return
    for text, wrong in mistakes.items():
        if bool(((scores - wrong.double()).abs() <= max(tolerance, 1e-3 * float(wrong.abs().max()))).all()):
            raise AssertionError(f"{name}: your values match {text}.")
    raise AssertionError(f"{name}: expected the sign counts {[round(v, 2) for v in expected.tolist()]}, got "
                         f"{[round(v, 2) for v in scores.tolist()]}. Use TCAV(model, [\"{LAYER}\"], "
                         "classifier=CAVClassifier()) (Captum's default classifier is random), the experimental sets "
                         "of `experimental_sets(...)` in their order, the circles as inputs and target "
                         "shapes.WATERMARK_CLASS, and take each set's scores[key][layer][\"sign_count\"][0].")


class TcavTest(ValueExercise):
    grade_id = "ex3_tests"
    names = ("watermark_scores_hans", "random_scores_hans", "watermark_scores_clean", "random_scores_clean",
             "p_value_hans", "p_value_clean")
    parts = (Part("hans", 1, "the TCAV scores of the watermark and of the random concepts, Clever Hans model"),
             Part("clean", 1, "the same scores for the clean model"),
             Part("p_values", 1, "the p-values of the two-sided t-test (scipy.stats.ttest_ind)"))

    def checks(self, values):
        references = {kind: _tcav_references(kind) for kind in ("clever_hans", "clean")}

        def scores(model: str, other: str, name: str, which: str):
            reference, wrong_model = references[model], references[other]
            _check_scores(values[name], reference[which], name, {
                "Captum's \"magnitude\" score (the mean directional derivative) instead of the \"sign_count\" "
                "(the TCAV score of Kim et al.)": reference[which + " magnitude"],
                "the scores of the SECOND concept of each experimental set (index 1); take index 0":
                    reference[which + " second"],
                f"the scores of the {'clean' if other == 'clean' else 'Clever Hans'} model": wrong_model[which],
                "the scores of the concept runs; the random scores come from the null runs (random against random)"
                if which == "null" else "the scores of the null runs (random against random); these are the "
                "watermark runs": reference["concept" if which == "null" else "null"],
            })

        def p_values():
            for name, kind in (("p_value_hans", "clever_hans"), ("p_value_clean", "clean")):
                value = values[name]
                if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
                    value = value.item()
                elif isinstance(value, (np.ndarray, np.generic)) and value.size == 1 and value.dtype.kind == "f":
                    value = float(value)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise AssertionError(f"{name}: expected one number, the p-value (a float), got "
                                         f"{type(value).__name__}.")
                reference = references[kind]
                suffix = "hans" if kind == "clever_hans" else "clean"
                candidates = [(reference["concept"], reference["null"])]
                try:  # the p-value of the student's own scores counts too: this part grades the test only
                    candidates.append((_as_scores(values[f"watermark_scores_{suffix}"], ""),
                                       _as_scores(values[f"random_scores_{suffix}"], "")))
                except AssertionError:
                    pass
                expected = [_t_test(a, b) for a, b in candidates]
                if any(math.isclose(value, p, rel_tol=1e-4, abs_tol=1e-9) for p in expected):
                    continue
                a, b = candidates[-1]
                from scipy import stats

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mistakes = {
                        "Welch's t-test (equal_var=False); use scipy.stats.ttest_ind with its default "
                        "equal_var=True (Student's t-test)": _t_test(a, b, equal_var=False),
                        "a one-sided test; the test is two-sided (the default alternative)":
                            _t_test(a, b, alternative="greater"),
                        "the one-sided test the other way round; the test is two-sided": _t_test(a, b, alternative="less"),
                        "the t statistic; store the p-value (.pvalue)":
                            float(stats.ttest_ind(a.numpy(), b.numpy()).statistic),
                        "a one-sample t-test against 0.5; compare with the random concepts' scores (ttest_ind)":
                            float(stats.ttest_1samp(a.numpy(), 0.5).pvalue),
                    }
                for text, wrong in mistakes.items():
                    if math.isfinite(wrong) and math.isclose(value, wrong, rel_tol=1e-4, abs_tol=1e-9):
                        raise AssertionError(f"{name} = {value:.4g}: this is {text}.")
                raise AssertionError(f"{name}: expected {expected[0]:.4g} (scipy.stats.ttest_ind of the watermark "
                                     f"scores and the random scores, .pvalue), got {value:.4g}.")

        yield "hans", "watermark_scores_hans", lambda: scores("clever_hans", "clean", "watermark_scores_hans", "concept")
        yield "hans", "random_scores_hans", lambda: scores("clever_hans", "clean", "random_scores_hans", "null")
        yield "clean", "watermark_scores_clean", lambda: scores("clean", "clever_hans", "watermark_scores_clean", "concept")
        yield "clean", "random_scores_clean", lambda: scores("clean", "clever_hans", "random_scores_clean", "null")
        yield "p_values", "p_value_hans, p_value_clean", p_values


@functools.lru_cache(maxsize=None)
def _logit_references() -> dict[str, torch.Tensor]:
    marked, unmarked = circles()
    out = {}
    with torch.no_grad():
        for kind in ("clever_hans", "clean"):
            model = shapes.course_model(kind)
            with_mark, without = model(marked.images), model(unmarked.images)
            out[kind] = with_mark[:, shapes.WATERMARK_CLASS] - without[:, shapes.WATERMARK_CLASS]
            out[kind + " probability"] = (with_mark.softmax(1)[:, shapes.WATERMARK_CLASS]
                                          - without.softmax(1)[:, shapes.WATERMARK_CLASS])
            out[kind + " predicted"] = (with_mark.gather(1, with_mark.argmax(1, keepdim=True))
                                        - without.gather(1, with_mark.argmax(1, keepdim=True))).squeeze(1)
    return out


class WatermarkIntervention(ValueExercise):
    grade_id = "ex4_tests"
    names = ("logit_change_hans", "logit_change_clean")
    parts = (Part("hans", 1, "the change of the circle logit when the watermark is added, Clever Hans model"),
             Part("clean", 1, "the same change for the clean model"))

    def checks(self, values):
        references = _logit_references()

        def change(name, kind, other):
            value = values[name]
            if isinstance(value, torch.Tensor) and value.numel() == 1:
                raise AssertionError(f"{name}: expected one change per circle, shape ({len(references[kind])},); "
                                     "you stored one number (the mean?).")
            check_attribution(value, references[kind], name=name, rtol=1e-4, alternatives={
                "the change of the softmax probability of the circle class instead of its raw logit":
                    references[kind + " probability"],
                f"the change for the {'clean' if other == 'clean' else 'Clever Hans'} model": references[other],
                "the change of the logit of each image's predicted class instead of the circle class":
                    references[kind + " predicted"],
            })

        yield "hans", "logit_change_hans", lambda: change("logit_change_hans", "clever_hans", "clean")
        yield "clean", "logit_change_clean", lambda: change("logit_change_clean", "clean", "clever_hans")


LAB = Lab("13_concepts_tcav", [ConceptActivationVector(), DirectionalDerivatives(), TcavTest(),
                               WatermarkIntervention()])
self_check = LAB.self_check
show_progress = LAB.show_progress
