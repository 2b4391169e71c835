"""Lab 2 (vanilla gradient, saliency maps): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
Cases are built without Captum and without ``helpers.reference`` (the from-scratch sandbox has neither); the
references are computed in :meth:`check` / :meth:`checks` only.
"""
from __future__ import annotations

import numpy as np
import torch

from helpers.checks import check_attribution
from helpers.exercises import context
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN


def _signed_gradient(model, inputs, target):
    """dF_target/dx (plain autograd, one target per sample or one for all): builds cases without helpers.reference."""
    inputs = inputs.detach().clone().requires_grad_(True)
    rows = torch.arange(len(inputs))
    (gradient,) = torch.autograd.grad(model(inputs)[rows, torch.as_tensor(target)].sum(), inputs)
    return gradient.detach()


def _softmax(model):
    return torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()


def _lab_image_and_targets(generator, variant):
    """The lab model's image for single-image cases and two targets from its ranking: (name, first, other).

    The self-check uses the cat with its top class and its second class; hidden variants draw the photo and two
    distinct classes among the ten highest-ranked ones."""
    if variant == 0:
        name, ranks = "cat", (0, 1)
    else:
        name = ("cat", "coffee")[int(torch.randint(0, 2, (1,), generator=generator))]
        ranks = tuple(int(i) for i in torch.randperm(10, generator=generator)[:2])
    ranking = context.ranking(name)
    return name, ranking[ranks[0]], ranking[ranks[1]]


def _small_cnn(channels, generator):
    return SmallCNN(in_channels=channels, seed=int(torch.randint(0, 10_000, (1,), generator=generator)))


def _small_images(n, channels, generator):
    size = 32 if channels == 3 else 28
    return torch.randn(n, channels, size, size, generator=generator)


def _targets(n, generator):
    return torch.randint(0, 10, (n,), generator=generator)


class VanillaGradient(FunctionExercise):
    grade_id = "ex1_tests"
    function = "vanilla_gradient"
    parts = (Part("abs", 1, "abs=True (the default): |dF_t/dx|, one image and a batch, one int target"),
             Part("signed", 1, "abs=False: the signed gradient"),
             Part("per_sample", 1, "a batch with one target per sample (a list or a tensor)"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab02.ex1")
        lab = context.imagenet().model
        name, first, other = _lab_image_and_targets(generator, variant)
        photo = context.image(name)
        pair = torch.cat([context.image("cat"), context.image("coffee")])
        pair_targets = [context.ranking("cat")[0], context.ranking("coffee")[0]] if variant == 0 else \
            [context.ranking("cat")[int(torch.randint(0, 10, (1,), generator=generator))],
             context.ranking("coffee")[int(torch.randint(0, 10, (1,), generator=generator))]]
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        return [
            Case("abs", "vanilla_gradient(lab model, 1 photo, int target)", (lab, photo, first)),
            Case("abs", "vanilla_gradient(SmallCNN 3 channels, 3 images, int target)",
                 (rgb, _small_images(3, 3, generator), int(_targets(1, generator)))),
            Case("signed", "vanilla_gradient(lab model, 1 photo, int target, abs=False)",
                 (lab, photo, other), {"abs": False}),
            Case("signed", "vanilla_gradient(SmallCNN 1 channel, 2 images, int target, abs=False)",
                 (gray, _small_images(2, 1, generator), int(_targets(1, generator))), {"abs": False}),
            Case("per_sample", "vanilla_gradient(lab model, cat and coffee, a list of 2 targets)",
                 (lab, pair, pair_targets)),
            Case("per_sample", "vanilla_gradient(SmallCNN 1 channel, 3 images, a tensor of 3 targets)",
                 (gray, _small_images(3, 1, generator), _targets(3, generator))),
            Case("per_sample", "vanilla_gradient(SmallCNN 3 channels, 4 images, a list of 4 targets, abs=False)",
                 (rgb, _small_images(4, 3, generator), _targets(4, generator).tolist()), {"abs": False}),
        ]

    def check(self, case, result):
        from helpers import reference

        model, inputs, target = case.args
        use_abs = case.kwargs.get("abs", True)

        def saliency(m, x, t):
            return reference.vanilla_gradient(m, x, t, abs=use_abs)

        alternatives = {"the gradient of the softmax probability instead of the raw logit":
                        lambda: saliency(_softmax(model), inputs, target)}
        if isinstance(target, (list, torch.Tensor)):
            classes = [int(t) for t in target]
            alternatives.update({
                "the gradient of the sum of the logits of all the listed targets for every sample (index one "
                "logit per sample: outputs[torch.arange(len(inputs)), target])":
                    lambda: _sum_of_targets(model, inputs, classes, use_abs),
                f"the gradient of the first target ({classes[0]}) for every sample":
                    lambda: saliency(model, inputs, classes[0]),
            })
        if len(inputs) > 1:
            alternatives["the gradient of the first sample only (the other samples get 0): take one logit per sample, "
                         "outputs[torch.arange(len(inputs)), target], not outputs[0, target]"] = \
                lambda: saliency(model, inputs, target) * (torch.arange(len(inputs)) == 0).view(-1, 1, 1, 1)
        with torch.no_grad():
            predicted = model(inputs).argmax(dim=1)
        alternatives["the gradient of each sample's predicted class instead of `target`"] = \
            lambda: saliency(model, inputs, predicted)
        check_attribution(result, saliency(model, inputs, target), name=case.label, method="saliency",
                      alternatives=alternatives)


def _sum_of_targets(model, inputs, classes, use_abs):
    from helpers import reference

    total = sum(reference.vanilla_gradient(model, inputs, t, abs=False) for t in classes)
    return total.abs() if use_abs else total


class SecondClassSaliency(ValueExercise):
    grade_id = "ex2_tests"
    names = ("second_class", "second_saliency")
    parts = (Part("class", 1, "second_class: the class ranked second for the cat (an int)"),
             Part("saliency", 1, "second_saliency: Captum's Saliency of the cat for that class"))

    def checks(self, values):
        from helpers import reference

        model, cat = context.imagenet().model, context.image("cat")
        ranking = context.ranking("cat")
        second = ranking[1]

        def the_class():
            value = values["second_class"]
            if isinstance(value, np.integer):
                value = int(value)
            if isinstance(value, torch.Tensor) or hasattr(value, "dtype"):
                raise AssertionError(f"second_class should be a Python int (e.g. int(ranking[1])), got a "
                                     f"{type(value).__name__}: convert it with int(...).")
            assert isinstance(value, int) and not isinstance(value, bool), \
                f"second_class should be an int, the index of the class ranked second, got {value!r}"
            if value == ranking[0]:
                raise AssertionError(f"second_class = {value} is the top class (ranking[0]); the class ranked "
                                     "second is ranking[1].")
            if value != second:
                where = (f" (it is ranked {ranking.index(value) + 1} for the cat)" if value in ranking else "")
                raise AssertionError(f"second_class = {value}{where}: expected the class ranked second by the logits, "
                                     "ranking[1], with ranking sorted in descending order "
                                     "(argsort(descending=True)).")

        def saliency():
            check_attribution(values["second_saliency"], reference.vanilla_gradient(model, cat, second),
                          name="second_saliency", method="saliency",
                          alternatives={
                              "the saliency of the top class (ranking[0]) instead of the class ranked second":
                                  lambda: reference.vanilla_gradient(model, cat, ranking[0]),
                              "the gradient of the softmax probability instead of the raw logit":
                                  lambda: reference.vanilla_gradient(_softmax(model), cat, second),
                              "the saliency of the class ranked third instead of the class ranked second":
                                  lambda: reference.vanilla_gradient(model, cat, ranking[2])})

        yield "class", "second_class", the_class
        yield "saliency", "second_saliency", saliency


class MaxAbsOverChannels(FunctionExercise):
    grade_id = "ex3_tests"
    function = "max_abs_over_channels"
    parts = (Part("rgb", 1, "3-channel gradients: the lab model's and a batch of SmallCNN ones"),
             Part("gray", 1, "1-channel gradients (N, 1, H, W) -> (N, H, W)"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab02.ex3")
        lab = context.imagenet().model
        name, first, _ = _lab_image_and_targets(generator, variant)
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        return [
            Case("rgb", "max_abs_over_channels(signed gradients of the lab model, 1 photo)",
                 (_signed_gradient(lab, context.image(name), first),)),
            Case("rgb", "max_abs_over_channels(signed gradients of SmallCNN 3 channels, 4 images)",
                 (_signed_gradient(rgb, _small_images(4, 3, generator), _targets(4, generator)),)),
            Case("gray", "max_abs_over_channels(signed gradients of SmallCNN 1 channel, 2 images)",
                 (_signed_gradient(gray, _small_images(2, 1, generator), _targets(2, generator)),)),
        ]

    def check(self, case, result):
        (gradients,) = case.args
        check_attribution(result, gradients.abs().amax(dim=1), name=case.label, method="saliency", alternatives={
            "the maximum of the signed gradients (take the absolute value before the maximum)":
                lambda: gradients.amax(dim=1),
            "the absolute value of the signed maximum (take it before the maximum)":
                lambda: gradients.amax(dim=1).abs(),
            "the sum of the absolute values over the channels, not their maximum":
                lambda: gradients.abs().sum(dim=1),
            "the mean of the absolute values over the channels, not their maximum":
                lambda: gradients.abs().mean(dim=1),
            "the absolute value of the channel with the largest signed gradient, not the largest absolute value":
                lambda: gradients.gather(1, gradients.argmax(dim=1, keepdim=True)).squeeze(1).abs()})


LAB = Lab("02_saliency", [VanillaGradient(), SecondClassSaliency(), MaxAbsOverChannels()])
self_check = LAB.self_check
show_progress = LAB.show_progress
