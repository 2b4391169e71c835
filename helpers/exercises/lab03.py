"""Lab 3 (occlusion): the graded exercises.

The notebook calls ``self_check("ex1_tests")``, ``self_check("ex2_tests")`` and ``show_progress()``; the grader runs
the same checks. Cases are built without Captum and without ``helpers.reference`` (the from-scratch sandbox has
neither); the references are computed in :meth:`check` / :meth:`checks` only.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from helpers.checks import check_attribution
from helpers.exercises import context
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN

#: ImageNet's domestic cats (tabby, tiger cat, Persian, Siamese, Egyptian cat) and coffee classes (coffee mug,
#: espresso, cup): the two groups of exercise 2 (the notebook prints their names).
CAT_CLASSES = (281, 282, 283, 284, 285)
COFFEE_CLASSES = (504, 967, 968)

#: Exercise 2's setting: the recipe's 45x45 window with a coarser stride (the grader recomputes it per student).
TWO_TARGETS = {"sliding_window_shapes": (3, 45, 45), "strides": (3, 22, 22)}

#: The lab model's windows in exercise 1: exact fit (224 = 112 + 2 * 56), and windows whose last one is cut.
FIT = {"sliding_window_shapes": (3, 112, 112), "strides": (3, 56, 56)}
CUT_ONE_CHANNEL = {"sliding_window_shapes": (1, 150, 150), "strides": (1, 100, 100)}


# ---------------------------------------------------------------------------------------------------------------
# Occlusion variants for the diagnoses (plain PyTorch; the reference itself comes from helpers.reference).


def windows_per_feature(shape, window, strides, last_cut=True):
    """How many windows cover each feature of ``shape`` (C, H, W): the product of the counts along each dimension.
    ``last_cut=False`` counts only the windows that fit inside (floor positions), a common mistake."""
    counts = []
    for size, width, stride in zip(shape, window, strides):
        positions = math.ceil((size - width) / stride) + 1 if last_cut else (size - width) // stride + 1
        starts = torch.arange(positions) * stride
        index = torch.arange(size)
        counts.append(((starts[:, None] <= index) & (index < starts[:, None] + width)).sum(dim=0).double())
    return counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]


def occlusion_variant(model, inputs, target, window, strides, baselines=0, last_cut=True, mean=True):
    """Occlusion as the reference computes it, or with the last cut windows left out (``last_cut=False``: features
    no window covers get 0) or summed instead of averaged (``mean=False``)."""
    n = len(inputs)
    rows = torch.arange(n)
    target = torch.as_tensor(target).expand(n) if not isinstance(target, int) else torch.full((n,), target)
    base = torch.as_tensor(baselines, dtype=inputs.dtype).expand_as(inputs)
    positions = [range(0, (math.ceil((d - w) / s) if last_cut else (d - w) // s) * s + 1, s)
                 for d, w, s in zip(inputs.shape[1:], window, strides)]
    total = torch.zeros_like(inputs, dtype=torch.float64)
    with torch.no_grad():
        score = model(inputs)[rows, target].double()
        for corner in itertools.product(*positions):
            where = (slice(None),) + tuple(slice(i, i + w) for i, w in zip(corner, window))
            occluded = inputs.clone()
            occluded[where] = base[where]
            total[where] += (score - model(occluded)[rows, target].double()).view(-1, 1, 1, 1)
    if not mean:
        return total.float()
    count = windows_per_feature(inputs.shape[1:], window, strides, last_cut)
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total)).float()


def _softmax(model):
    return torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()


# ---------------------------------------------------------------------------------------------------------------
# Inputs of the cases.


def _small_cnn(channels, generator):
    return SmallCNN(in_channels=channels, seed=int(torch.randint(0, 10_000, (1,), generator=generator)))


def _small_images(n, channels, generator):
    size = 32 if channels == 3 else 28
    return torch.randn(n, channels, size, size, generator=generator)


def _targets(n, generator):
    return torch.randint(0, 10, (n,), generator=generator)


def _photo_and_class(generator, variant):
    """The lab model's photo for single-image cases and a class from its ranking: the cat and its top class for the
    self-check; a sample photo and one of its ten highest-ranked classes for the hidden cases."""
    if variant == 0:
        return "cat", context.ranking("cat")[0]
    name = ("cat", "coffee", "cat_and_coffee")[int(torch.randint(0, 3, (1,), generator=generator))]
    return name, context.ranking(name)[int(torch.randint(0, 10, (1,), generator=generator))]


def _best_of(ranking, group):
    return next(int(c) for c in ranking if int(c) in group)


def full_ranking(name):
    """All 1000 classes of the lab model for the sample image ``name``, most likely first (context.ranking keeps 10:
    a group's best class may lie further down, e.g. with another model)."""
    with torch.no_grad():
        return [int(c) for c in context.imagenet().model(context.image(name))[0].argsort(descending=True)]


class OcclusionFromScratch(FunctionExercise):
    grade_id = "ex1_tests"
    function = "occlusion"
    parts = (Part("windows", 1, "one int target, baseline 0, windows over all channels that fit the image exactly "
                                "(overlapping: the mean over the windows covering a feature)"),
             Part("targets", 1, "a batch with one target per sample (a list or a tensor)"),
             Part("baselines", 1, "baselines: a number other than 0, and a tensor of the inputs' shape"),
             Part("shapes", 1, "windows over fewer channels than the input, and strides that cut the last window"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab03.ex1")
        lab = context.imagenet().model
        name, first = _photo_and_class(generator, variant)
        photo = context.image(name)
        both = context.image("cat_and_coffee").expand(2, -1, -1, -1).clone()
        ranking = full_ranking("cat_and_coffee")
        if variant == 0:
            pair = torch.tensor([_best_of(ranking, CAT_CLASSES), _best_of(ranking, COFFEE_CLASSES)])
        else:
            pair = torch.tensor([ranking[int(i)] for i in torch.randperm(10, generator=generator)[:2]])
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        number = round(float(torch.rand(1, generator=generator)) * 2 - 1, 2) or 0.5
        images = _small_images(2, 3, generator)
        mean_colour = photo.mean(dim=(2, 3), keepdim=True).expand_as(photo).clone()
        overlap = {"sliding_window_shapes": (3, 8, 8), "strides": (3, 4, 4)}
        return [
            Case("windows", "occlusion(lab model, 1 photo, int target, window (3, 112, 112), stride (3, 56, 56))",
                 (lab, photo, first), dict(FIT)),
            Case("windows", "occlusion(SmallCNN 3 channels, 2 images, int target, window (3, 8, 8), stride (3, 4, 4))",
                 (rgb, _small_images(2, 3, generator), int(_targets(1, generator))), dict(overlap)),
            Case("targets", "occlusion(lab model, cat_and_coffee twice, a tensor of 2 targets, window (3, 112, 112), "
                            "stride (3, 56, 56))", (lab, both, pair), dict(FIT)),
            Case("targets", "occlusion(SmallCNN 1 channel, 3 images, a list of 3 targets, window (1, 7, 7), "
                            "stride (1, 7, 7))",
                 (gray, _small_images(3, 1, generator), _targets(3, generator).tolist()),
                 {"sliding_window_shapes": (1, 7, 7), "strides": (1, 7, 7)}),
            Case("targets", "occlusion(SmallCNN 3 channels, 4 images, a tensor of 4 targets, window (3, 8, 8), "
                            "stride (3, 4, 4))", (rgb, _small_images(4, 3, generator), _targets(4, generator)),
                 dict(overlap)),
            Case("baselines", "occlusion(SmallCNN 3 channels, 2 images, int target, window (3, 8, 8), stride (3, 4, 4), "
                              "baselines=a number other than 0)",
                 (rgb, images, int(_targets(1, generator))), {**overlap, "baselines": number}),
            Case("baselines", "occlusion(SmallCNN 3 channels, 2 images, int target, window (3, 8, 8), stride (3, 4, 4), "
                              "baselines=a tensor of the inputs' shape)",
                 (rgb, images, int(_targets(1, generator))),
                 {**overlap, "baselines": torch.rand(images.shape, generator=generator)}),
            Case("baselines", "occlusion(lab model, 1 photo, int target, window (3, 112, 112), stride (3, 56, 56), "
                              "baselines=the photo's mean colour, a tensor of its shape)",
                 (lab, photo, first), {**FIT, "baselines": mean_colour}),
            Case("shapes", "occlusion(SmallCNN 3 channels, 2 images, int target, window (1, 8, 8), stride (1, 4, 4): "
                           "one channel at a time)",
                 (rgb, _small_images(2, 3, generator), int(_targets(1, generator))),
                 {"sliding_window_shapes": (1, 8, 8), "strides": (1, 4, 4)}),
            Case("shapes", "occlusion(SmallCNN 1 channel, 2 images, int target, window (1, 5, 5), stride (1, 3, 3): "
                           "the last windows are cut)",
                 (gray, _small_images(2, 1, generator), int(_targets(1, generator))),
                 {"sliding_window_shapes": (1, 5, 5), "strides": (1, 3, 3)}),
            Case("shapes", "occlusion(SmallCNN 3 channels, 1 image, int target, window (2, 6, 6), stride (1, 4, 4): "
                           "windows overlapping across channels, the last ones cut)",
                 (rgb, _small_images(1, 3, generator), int(_targets(1, generator))),
                 {"sliding_window_shapes": (2, 6, 6), "strides": (1, 4, 4)}),
            Case("shapes", "occlusion(lab model, 1 photo, int target, window (1, 150, 150), stride (1, 100, 100): one "
                           "channel at a time, the last windows cut)", (lab, photo, first), dict(CUT_ONE_CHANNEL)),
        ]

    def check(self, case, result):
        from helpers import reference

        model, inputs, target = case.args
        window, strides = case.kwargs["sliding_window_shapes"], case.kwargs["strides"]
        baselines = case.kwargs.get("baselines", 0)
        expected = reference.occlusion(model, inputs, target, window, strides, baselines, perturbations_per_eval=8)
        channels = inputs.shape[1]
        cut = any((d - w) % s for d, w, s in zip(inputs.shape[1:], window, strides))
        if cut and isinstance(result, torch.Tensor) and result.shape == expected.shape and \
                not bool(torch.isfinite(result).all()):
            raise AssertionError(
                f"{case.label}: your result has NaN or infinite values where no window covers a feature: the last "
                "windows, cut at the border, are missing. Along a dimension of size d there are "
                "ceil((d - window) / stride) + 1 positions (math.ceil), the last one sticking out of the input.")

        def again(**changes):
            arguments = {"target": target, "window": window, "strides": strides, "baselines": baselines, **changes}
            return lambda: occlusion_variant(model, inputs, arguments["target"], arguments["window"],
                                             arguments["strides"], arguments["baselines"],
                                             last_cut=changes.get("last_cut", True), mean=changes.get("mean", True))

        alternatives = {
            "the sum over the windows covering each feature, not their mean (divide by the number of windows "
            "covering it)": again(mean=False),
            "the occlusion of the softmax probabilities instead of the raw logits":
                lambda: reference.occlusion(_softmax(model), inputs, target, window, strides, baselines,
                                            perturbations_per_eval=8),
        }
        if cut:
            alternatives["occlusion without the last windows, which are cut at the border: along a dimension of size "
                         "d there are ceil((d - window) / stride) + 1 positions (math.ceil), not floor"] = \
                again(last_cut=False)
        if window[0] < channels:
            alternatives["windows over all channels: here the window spans "
                         f"{window[0]} channel{'s' if window[0] > 1 else ''} and moves along the channels too "
                         "(sliding_window_shapes[0], strides[0])"] = \
                again(window=(channels, *window[1:]), strides=(channels, *strides[1:]))
        if not (isinstance(baselines, (int, float)) and baselines == 0):
            alternatives["occluded with 0 instead of the given `baselines`"] = again(baselines=0)
            if isinstance(baselines, torch.Tensor):
                alternatives["occluded with one number (the mean of `baselines`) instead of the baseline tensor's own "
                             "values under each window"] = again(baselines=float(baselines.mean()))
        if isinstance(target, (list, torch.Tensor)):
            classes = [int(t) for t in target]
            alternatives[f"the attributions of the first target ({classes[0]}) for every sample (index one logit "
                         "per sample: outputs[torch.arange(len(inputs)), target])"] = again(target=classes[0])
        else:
            alternatives["the attributions of class 0 instead of `target`"] = again(target=0)
        check_attribution(result, expected, name=case.label, method="occlusion", alternatives=alternatives)


class TwoTargets(ValueExercise):
    grade_id = "ex2_tests"
    names = ("cat_class", "coffee_class", "occlusion_two")
    parts = (Part("classes", 1, "cat_class and coffee_class: the highest-ranked class of each group (ints)"),
             Part("attributions", 1, "occlusion_two: Captum's occlusion of cat_and_coffee for both classes"))

    def checks(self, values):
        from helpers import reference

        model = context.imagenet().model
        image = context.image("cat_and_coffee")
        order = full_ranking("cat_and_coffee")
        expected_classes = {"cat_class": _best_of(order, CAT_CLASSES), "coffee_class": _best_of(order, COFFEE_CLASSES)}
        groups = {"cat_class": CAT_CLASSES, "coffee_class": COFFEE_CLASSES}

        def classes():
            for name, expected in expected_classes.items():
                value = values[name]
                if isinstance(value, np.integer):
                    value = int(value)
                if isinstance(value, torch.Tensor) or hasattr(value, "dtype"):
                    raise AssertionError(f"{name} should be a Python int, got a {type(value).__name__}: convert it "
                                         "with int(...).")
                if not isinstance(value, int) or isinstance(value, bool):
                    raise AssertionError(f"{name} should be an int (a class index), got {value!r}.")
                if value == expected:
                    continue
                rank = f" (ranked {order.index(value) + 1})" if 0 <= value < len(order) else ""
                if value not in groups[name]:
                    raise AssertionError(f"{name} = {value}{rank} is not in its group {list(groups[name])}: take the "
                                         "first class of the ranking that is in the group.")
                raise AssertionError(f"{name} = {value}{rank} is in its group but not the highest-ranked one of it: "
                                     f"the ranking (logits sorted in descending order) meets {expected} first.")

        def attributions():
            pair = [expected_classes["cat_class"], expected_classes["coffee_class"]]
            batch = image.expand(2, -1, -1, -1)
            expected = reference.occlusion(model, batch, pair, **TWO_TARGETS, perturbations_per_eval=8)
            check_attribution(values["occlusion_two"], expected, name="occlusion_two", method="occlusion", alternatives={
                "the two rows in the wrong order (row 0 for cat_class, row 1 for coffee_class)":
                    lambda: expected.flip(0),
                f"the attributions of the cat class ({pair[0]}) in both rows (target=cat_class)":
                    lambda: expected[[0, 0]],
                f"the attributions of the coffee class ({pair[1]}) in both rows": lambda: expected[[1, 1]],
                "the attributions of the two classes ranked first (ranking[:2]) instead of one cat class and one "
                "coffee class": lambda: reference.occlusion(model, batch, order[:2], **TWO_TARGETS,
                                                            perturbations_per_eval=8),
                "the occlusion of the cat photo (`cat`) instead of `cat_and_coffee`":
                    lambda: reference.occlusion(model, context.image("cat").expand(2, -1, -1, -1), pair,
                                                **TWO_TARGETS, perturbations_per_eval=8),
            })

        yield "classes", "cat_class, coffee_class", classes
        yield "attributions", "occlusion_two", attributions


LAB = Lab("03_occlusion", [OcclusionFromScratch(), TwoTargets()])
self_check = LAB.self_check
show_progress = LAB.show_progress
