"""Lab 1 (the attribution API on a toy model): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
"""
from __future__ import annotations

import torch

from helpers.checks import check_attribution
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN, ToyModel

DEMO_INPUTS = torch.tensor([[0.2, 0.3, 0.5]])
BATCH = torch.tensor([[0.2, 0.3, 0.5], [0.9, 0.1, 0.1], [0.0, 0.0, 0.0], [0.5, 0.9, 0.2]])


def _toy_ig(inputs, target, **kwargs):
    from helpers import reference

    return reference.integrated_gradients(ToyModel(), inputs, target=target, **kwargs)


class CaptumTarget1(ValueExercise):
    grade_id = "ex1_tests"
    names = ("attributions_t1", "delta_t1")
    parts = (Part("attributions", 1, "IG attributions for target 1"),
             Part("delta", 1, "the convergence delta Captum returns"))

    def checks(self, values):
        from helpers import reference

        expected, delta = reference.integrated_gradients(ToyModel(), DEMO_INPUTS, target=1, baselines=0,
                                                         return_convergence_delta=True)

        def attributions():
            check_attribution(values["attributions_t1"], expected, method="integrated_gradients",
                              name="attributions_t1",
                              alternatives={"the attributions for target 0 instead of target 1":
                                            _toy_ig(DEMO_INPUTS, 0)})

        def convergence_delta():
            value = values["delta_t1"]
            try:
                number = float(torch.as_tensor(value).reshape(()))
            except Exception:
                raise AssertionError(f"delta_t1 should be the one-sample convergence delta Captum returns (a tensor "
                                     f"of shape (1,), about 0 here), got {type(value).__name__}") from None
            assert abs(number - float(delta)) <= 1e-5, \
                f"delta_t1 should be the convergence delta Captum returns ({float(delta):.2g}), got {number:.4g}"

        yield "attributions", "attributions_t1", attributions
        yield "delta", "delta_t1", convergence_delta


class ToyIgByHand(FunctionExercise):
    grade_id = "ex2_tests"
    function = "toy_ig_target0"
    parts = (Part("active", 1, "inputs with x2 > x0 (h1 active along the path)"),
             Part("mixed", 1, "batches mixing x2 > x0 and x2 < x0"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab01.ex2")
        active = torch.rand(5, 3, generator=generator)
        active[:, 2] = active[:, 0] + (1 - active[:, 0]) * active[:, 2].clamp(min=0.05)  # x2 > x0
        mixed = torch.rand(8, 3, generator=generator)
        mixed[0, 2] = mixed[0, 0] / 2                      # at least one row with x2 < x0 ...
        mixed[1, 2] = (mixed[1, 0] + 1) / 2                # ... and one with x2 > x0
        cases = [Case("active", "toy_ig_target0(5 inputs with x2 > x0)", (active,)),
                 Case("mixed", "toy_ig_target0(8 inputs, some with x2 < x0)", (mixed,))]
        if variant == 0:
            cases.insert(0, Case("active", "toy_ig_target0(the demo input [[0.2, 0.3, 0.5]])", (DEMO_INPUTS.clone(),)))
        return cases

    def check(self, case, result):
        (inputs,) = case.args
        check_attribution(result, _toy_ig(inputs, 0), method="integrated_gradients", name=case.label)


class Completeness(FunctionExercise):
    grade_id = "ex3_tests"
    function = "completeness_gap"
    detached = False
    parts = (Part("toy", 1, "the toy model, one input and a batch"),
             Part("images", 1, "images (N, C, H, W) on a small CNN"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab01.ex3")
        toy = ToyModel()
        points = torch.rand(4, 3, generator=generator)
        cases = [Case("toy", "completeness_gap(ToyModel, 4 inputs, zero baselines, random attributions, target 0)",
                      (toy, points, torch.zeros_like(points), torch.randn(4, 3, generator=generator), 0)),
                 Case("toy", "completeness_gap(ToyModel, 1 input, baselines 0.5, target 1)",
                      (toy, points[:1], torch.full((1, 3), 0.5), torch.randn(1, 3, generator=generator), 1))]
        for n, channels in ((3, 3), (2, 1)):
            size = 32 if channels == 3 else 28
            cnn = SmallCNN(in_channels=channels, seed=int(torch.randint(0, 1000, (1,), generator=generator)))
            images = torch.rand(n, channels, size, size, generator=generator)
            target = int(torch.randint(0, 10, (1,), generator=generator))
            cases.append(Case("images", f"completeness_gap(SmallCNN, {n} images {channels}x{size}x{size}, "
                              "zero baselines, random attributions, one target)",
                              (cnn, images, torch.zeros_like(images), torch.randn(images.shape, generator=generator),
                               target)))
        return cases

    def check(self, case, result):
        model, inputs, baselines, attributions, target = case.args
        with torch.no_grad():
            change = model(inputs)[:, target] - model(baselines)[:, target]
        expected = attributions.reshape(len(inputs), -1).sum(1) - change
        sums = attributions.reshape(len(inputs), -1).sum(1)
        with torch.no_grad():
            probability_change = (model(inputs).softmax(1)[:, target] - model(baselines).softmax(1)[:, target])
        check_attribution(result, expected, name=case.label, atol=1e-4 * (1 + float(expected.abs().max())),
                          alternatives={"F(x) - F(x') minus the sum: the sign is flipped": -expected,
                                        "the change of the output F(x) - F(x') without the attributions": change,
                                        "the sum of the attributions only": sums,
                                        "the gap with the change of the softmax probability instead of the raw logit":
                                            sums - probability_change,
                                        "the attributions summed over the whole batch instead of per sample":
                                            attributions.sum() - change})


class BatchTargets(ValueExercise):
    grade_id = "ex4_tests"
    names = ("batch_targets", "batch_attributions")
    parts = (Part("targets", 1, "the predicted class of every sample"),
             Part("attributions", 1, "IG of the batch, one target per sample"))

    def checks(self, values):
        with torch.no_grad():
            predicted = ToyModel()(BATCH).argmax(dim=1)

        def targets():
            value = values["batch_targets"]
            got = torch.as_tensor(value).flatten().tolist() if isinstance(value, (torch.Tensor, list, tuple)) else value
            assert got == predicted.tolist(), \
                f"batch_targets should be the predicted class of each sample, {predicted.tolist()}; got {got!r}"

        def attributions():
            check_attribution(values["batch_attributions"], _toy_ig(BATCH, predicted), method="integrated_gradients",
                              name="batch_attributions",
                              alternatives={"the attributions for target 0 for every sample": _toy_ig(BATCH, 0),
                                            "the attributions for target 1 for every sample": _toy_ig(BATCH, 1)})

        yield "targets", "batch_targets", targets
        yield "attributions", "batch_attributions", attributions


LAB = Lab("01_toy_model", [CaptumTarget1(), ToyIgByHand(), Completeness(), BatchTargets()])
self_check = LAB.self_check
show_progress = LAB.show_progress
