"""Lab 7 (SmoothGrad and the noise tunnel): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.

- ``ex1_tests`` (from scratch): ``smoothgrad_saliency(model, inputs, target, noise_level=0.15, nt_samples=8, seed=0,
  nt_type="smoothgrad")``, equal to ``NoiseTunnel(Saliency(model))`` draw for draw; one part each for nt_samples and
  the seed, the noise level, one target per sample, and the ``smoothgrad_sq``/``vargrad`` variants.
- ``ex2_tests`` (apply Captum): VarGrad of Input x Gradient on the cat.
- ``ex3_tests`` (extend Captum): the student's own ``GradientAttribution`` subclass, plain and inside ``NoiseTunnel``.
"""
from __future__ import annotations

import torch

from helpers.exercises import context
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.exercises.lab06 import check_with_mistakes, matches, on_lab_device
from helpers.models import SmallCNN

NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")
NOISE_LEVEL = 0.15  # of the demos and exercises 2 and 3: stdevs = 0.15 * (max - min) of the cat


def _sigma(inputs, noise_level) -> float:
    return float(noise_level) * float(inputs.max() - inputs.min())


def _smoothgrad(model, inputs, target, noise_level=0.15, nt_samples=8, seed=0, nt_type="smoothgrad", abs=True,
                sigma=None):
    """The reference: Captum's NoiseTunnel(Saliency(model)) under torch.manual_seed(seed) (helpers.reference)."""
    from functools import partial

    from helpers import reference

    torch.manual_seed(seed)
    return reference.smoothgrad(partial(reference.vanilla_gradient, model, abs=abs), inputs, nt_type=nt_type,
                                nt_samples=nt_samples, stdevs=_sigma(inputs, noise_level) if sigma is None else sigma,
                                target=target)


def _by_hand(model, inputs, copy_targets, sigma, nt_samples, seed, nt_type="smoothgrad", unbiased=False):
    """SmoothGrad of |gradient| written out, for the mistakes: ``copy_targets`` one class per noisy copy (rows
    sample-major), ``sigma`` a number or one value per copy."""
    copies = inputs.detach().repeat_interleave(nt_samples, dim=0)
    torch.manual_seed(seed)
    noise = torch.randn(copies.shape)
    if torch.is_tensor(sigma):
        noise = noise * sigma.view(-1, *([1] * (inputs.dim() - 1)))
    else:
        noise = noise * sigma
    noisy = (copies + noise).requires_grad_(True)
    with torch.enable_grad():
        outputs = model(noisy)
        (grad,) = torch.autograd.grad(outputs[torch.arange(len(noisy)), copy_targets].sum(), noisy)
    maps = grad.abs().reshape(len(inputs), nt_samples, *inputs.shape[1:])
    if nt_type == "smoothgrad":
        return maps.mean(1)
    if nt_type == "smoothgrad_sq":
        return (maps ** 2).mean(1)
    return maps.var(1, unbiased=unbiased)


def _per_sample(target, n) -> torch.Tensor:
    return torch.as_tensor(target).reshape(-1).expand(n).long()


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1 (from scratch): SmoothGrad of the absolute gradient, as NoiseTunnel(Saliency) computes it.


class SmoothGradFromScratch(FunctionExercise):
    grade_id = "ex1_tests"
    function = "smoothgrad_saliency"
    parts = (Part("samples", 1, "nt_samples and seed: the copies, one seeded draw, the mean over each sample's copies"),
             Part("noise", 1, "noise_level: sigma = noise_level * (inputs.max() - inputs.min())"),
             Part("targets", 1, "batches with one target per sample (a list, a tensor)"),
             Part("nt_type", 1, "nt_type='smoothgrad_sq' and nt_type='vargrad'"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab07.ex1")

        def integer(high, low=0):
            return int(torch.randint(low, high, (1,), generator=generator))

        cnn3, cnn1 = SmallCNN(in_channels=3, seed=integer(10_000)), SmallCNN(in_channels=1, seed=integer(10_000))
        # input ranges far from 1, so that a noise of standard deviation noise_level itself is wrong everywhere
        color = torch.randn(2, 3, 32, 32, generator=generator)
        gray = torch.randn(3, 1, 28, 28, generator=generator) * 0.5 + 0.2
        scaled = torch.rand(3, 1, 28, 28, generator=generator) * 4 - 1
        lab = context.imagenet()
        cat, coffee = context.image("cat"), context.image("coffee")
        k_cat, k_coffee = (0, 0) if variant == 0 else (integer(5, 1), integer(5, 1))
        cat_class, coffee_class = context.ranking("cat")[k_cat], context.ranking("coffee")[k_coffee]
        seeds = (7, 3) if variant == 0 else (integer(1000, 1), integer(1000, 1))
        return [
            Case("samples", "smoothgrad_saliency(SmallCNN, 2 images 3x32x32, an int target) with the defaults "
                 "(noise_level=0.15, nt_samples=8, seed=0)", (cnn3, color, integer(10))),
            Case("samples", "smoothgrad_saliency(SmallCNN, 3 images 1x28x28, an int target, nt_samples=5, "
                 "seed=<another seed>)", (cnn1, gray, integer(10)), {"nt_samples": 5, "seed": seeds[0]}),
            Case("samples", "smoothgrad_saliency(the lab's ImageNet model, the cat, one of its top classes, "
                 "nt_samples=2, seed=<another seed>)", (lab.model, cat, cat_class),
                 {"nt_samples": 2, "seed": seeds[1]}),
            Case("noise", "smoothgrad_saliency(SmallCNN, 2 images 3x32x32, an int target, noise_level=0.3)",
                 (cnn3, color, integer(10)), {"noise_level": 0.3}),
            Case("noise", "smoothgrad_saliency(SmallCNN, 3 images 1x28x28 with values in [-1, 3], an int target, "
                 "noise_level=0.05)", (cnn1, scaled, integer(10)), {"noise_level": 0.05}),
            Case("targets", "smoothgrad_saliency(SmallCNN, 2 images 3x32x32, target=<a list of 2 classes>)",
                 (cnn3, color, [integer(10), integer(10)])),
            Case("targets", "smoothgrad_saliency(SmallCNN, 3 images 1x28x28, target=<a tensor of 3 classes>)",
                 (cnn1, gray, torch.randint(0, 10, (3,), generator=generator))),
            Case("targets", "smoothgrad_saliency(the lab's ImageNet model, the cat and the coffee photos, "
                 "target=<one of the top classes of each, a list>, nt_samples=2)",
                 (lab.model, torch.cat([cat, coffee]), [cat_class, coffee_class]), {"nt_samples": 2}),
            Case("nt_type", "smoothgrad_saliency(SmallCNN, 2 images 3x32x32, an int target, nt_type='smoothgrad_sq')",
                 (cnn3, color, integer(10)), {"nt_type": "smoothgrad_sq"}),
            Case("nt_type", "smoothgrad_saliency(SmallCNN, 3 images 1x28x28, an int target, nt_type='vargrad', "
                 "nt_samples=6)", (cnn1, gray, integer(10)), {"nt_type": "vargrad", "nt_samples": 6}),
            Case("nt_type", "smoothgrad_saliency(the lab's ImageNet model, the cat, one of its top classes, "
                 "nt_type='vargrad', nt_samples=2)", (lab.model, cat, cat_class),
                 {"nt_type": "vargrad", "nt_samples": 2}),
        ]

    def check(self, case, result):
        model, inputs, target = case.args
        settings = dict(noise_level=0.15, nt_samples=8, seed=0, nt_type="smoothgrad") | case.kwargs
        level, n, seed, nt_type = (settings[k] for k in ("noise_level", "nt_samples", "seed", "nt_type"))
        expected = _smoothgrad(model, inputs, target, **settings)
        sigma = _sigma(inputs, level)
        targets = _per_sample(target, len(inputs))

        def mistakes():
            found = {}
            if nt_type != "smoothgrad_sq":  # squares do not see the sign
                found["the signed gradients: take .abs() of each gradient before averaging"] = \
                    _smoothgrad(model, inputs, target, **settings, abs=False)
            found["noise with standard deviation noise_level itself; sigma is noise_level * (inputs.max() - "
                  "inputs.min())"] = _smoothgrad(model, inputs, target, **settings, sigma=level)
            ranges = (inputs.reshape(len(inputs), -1).amax(1) - inputs.reshape(len(inputs), -1).amin(1))
            found["noise scaled by each sample's own range; sigma is one number for the whole batch, "
                  "noise_level * (inputs.max() - inputs.min())"] = _by_hand(
                model, inputs, targets.repeat_interleave(n), (level * ranges).repeat_interleave(n), n, seed, nt_type)
            if seed != 0:
                found["the noise of seed 0: call torch.manual_seed(seed) with the `seed` argument, right before the "
                      "one draw"] = _smoothgrad(model, inputs, target, **{**settings, "seed": 0})
            if level != 0.15:
                found["noise_level=0.15 (the default): use the `noise_level` argument"] = \
                    _smoothgrad(model, inputs, target, **{**settings, "noise_level": 0.15})
            if n != 8:
                found["nt_samples=8 (the default): use the `nt_samples` argument"] = \
                    _smoothgrad(model, inputs, target, **{**settings, "nt_samples": 8})
            if not isinstance(target, int):
                found["the copies' targets in the wrong order: the copies of a sample are consecutive rows "
                      "(repeat_interleave), so repeat each target with targets.repeat_interleave(nt_samples), not "
                      "targets.repeat(nt_samples)"] = _by_hand(model, inputs, targets.repeat(n), sigma, n, seed, nt_type)
                found["the first target for every sample: use one target per sample"] = \
                    _smoothgrad(model, inputs, int(targets[0]), **settings)
            if nt_type == "vargrad":
                found["the unbiased variance (torch.var divides by nt_samples - 1 by default); Captum's vargrad is "
                      "E[a^2] - E[a]^2, which divides by nt_samples: use .var(dim, unbiased=False)"] = \
                    _by_hand(model, inputs, targets.repeat_interleave(n), sigma, n, seed, "vargrad", unbiased=True)
            for other in NT_TYPES:
                if other != nt_type:
                    found[f"nt_type={other!r} instead of {nt_type!r}"] = \
                        _smoothgrad(model, inputs, target, **{**settings, "nt_type": other})
            if nt_type == "smoothgrad":
                from helpers import reference

                found["the plain |gradient| without noise"] = reference.vanilla_gradient(model, inputs, target=target)
            return found

        check_with_mistakes(result, expected, name=case.label, method="smoothgrad", mistakes=mistakes)


# ----------------------------------------------------------------------------------------------------------------
# Exercises 2 and 3 (apply and extend Captum), on the lab's model.


def _stdev() -> float:
    return _sigma(context.image("cat"), NOISE_LEVEL)


def _noise_tunnel(method_class, model, inputs, device="cpu", **settings):
    """Captum's NoiseTunnel(method_class(model)) under torch.manual_seed(0), on ``device``; result on the CPU."""
    import captum.attr

    target = settings.pop("target")
    if torch.is_tensor(target):
        target = target.to(device)
    torch.manual_seed(0)
    method = getattr(captum.attr, method_class)(model)
    return captum.attr.NoiseTunnel(method).attribute(inputs.to(device), target=target, **settings).detach().cpu()


def check_random_value(actual, name, compute, mistakes=None):
    """``compute(model, device)`` on the CPU; when that fails and the notebook would run on a GPU, on the GPU too
    (Captum's noise comes from the device's random generator: another draw there)."""
    lab = context.imagenet()
    expected = compute(lab.model, "cpu")
    if matches(actual, expected):
        return
    gpu_model, device = on_lab_device(lab.model)
    if gpu_model is not None and matches(actual, compute(gpu_model, device), rtol=1e-3):
        return
    check_with_mistakes(actual, expected, name=name, method="smoothgrad", mistakes=mistakes)


class VarGradInputXGradient(ValueExercise):
    grade_id = "ex2_tests"
    names = ("vargrad_ixg",)
    parts = (Part("vargrad", 2, "vargrad_ixg: NoiseTunnel over InputXGradient, vargrad, seeded, stdevs = stdev"),)

    def checks(self, values):
        cat, predicted, stdev = context.image("cat"), context.ranking("cat")[0], _stdev()

        def compute(model, device, **changes):
            settings = dict(nt_type="vargrad", nt_samples=4, stdevs=stdev, target=predicted) | changes
            return _noise_tunnel("InputXGradient", model, cat, device, **settings)

        def vargrad():
            model = context.imagenet().model
            try:
                check_random_value(values["vargrad_ixg"], "vargrad_ixg", compute, mistakes=lambda: {
                    "nt_type='smoothgrad' (the mean) instead of 'vargrad' (the variance)":
                        compute(model, "cpu", nt_type="smoothgrad"),
                    "stdevs=0.15: Captum's stdevs is absolute, use 0.15 * the input range (stdev)":
                        compute(model, "cpu", stdevs=0.15),
                    "Captum's default stdevs=1.0: pass stdevs=stdev": compute(model, "cpu", stdevs=1.0),
                    "nt_samples=5 (Captum's default) instead of 4": compute(model, "cpu", nt_samples=5)})
            except AssertionError as error:
                raise AssertionError(f"{error} NoiseTunnel is random: call torch.manual_seed(0) right before "
                                     "attribute(), with nt_samples=4 and stdevs=stdev.") from None

        yield "vargrad", "vargrad_ixg", vargrad


class OwnAttributionClass(ValueExercise):
    grade_id = "ex3_tests"
    names = ("own_saliency", "own_smoothgrad", "own_batch")
    parts = (Part("plain", 1, "own_saliency: your class equals Saliency on the cat"),
             Part("noise_tunnel", 1, "own_smoothgrad: your class inside NoiseTunnel (smoothgrad_sq) equals "
                                     "NoiseTunnel(Saliency)"),
             Part("batch", 1, "own_batch: two photos with one target each, inside NoiseTunnel"))

    def checks(self, values):
        from helpers import reference

        lab = context.imagenet()
        cat, coffee = context.image("cat"), context.image("coffee")
        predicted, coffee_predicted = context.ranking("cat")[0], context.ranking("coffee")[0]
        photos, stdev = torch.cat([cat, coffee]), _stdev()

        def signed(model, inputs, target, **settings):  # the signed gradient, for the diagnosis
            from functools import partial

            torch.manual_seed(0)
            return reference.smoothgrad(partial(reference.vanilla_gradient, model, abs=False), inputs,
                                        target=target, **settings)

        def plain():
            expected = reference.vanilla_gradient(lab.model, cat, target=predicted)
            check_with_mistakes(values["own_saliency"], expected, name="own_saliency", method="saliency",
                                mistakes=lambda: {
                "the gradient of the softmax probability instead of the raw logit": reference.vanilla_gradient(
                    torch.nn.Sequential(lab.model, torch.nn.Softmax(dim=1)).eval(), cat, target=predicted)})

        def noise_tunnel():
            settings = dict(nt_type="smoothgrad_sq", nt_samples=4, stdevs=stdev)
            check_random_value(values["own_smoothgrad"], "own_smoothgrad", lambda model, device: _noise_tunnel(
                "Saliency", model, cat, device, target=predicted, **settings), mistakes=lambda: {
                "NoiseTunnel with nt_type='smoothgrad' instead of 'smoothgrad_sq'":
                    _noise_tunnel("Saliency", lab.model, cat, target=predicted, **{**settings, "nt_type": "smoothgrad"}),
                "Captum's default stdevs=1.0: pass stdevs=stdev":
                    _noise_tunnel("Saliency", lab.model, cat, target=predicted, **{**settings, "stdevs": 1.0})})

        def batch():
            settings = dict(nt_type="smoothgrad", nt_samples=2, stdevs=stdev)
            targets = [predicted, coffee_predicted]
            check_random_value(values["own_batch"], "own_batch", lambda model, device: _noise_tunnel(
                "Saliency", model, photos, device, target=targets, **settings), mistakes=lambda: {
                "one gradient of the sum of both targets' logits for each noisy copy: NoiseTunnel passes one target "
                "per copy (a tensor); select one logit per row, outputs[torch.arange(len(outputs)), target]":
                    _sum_of_targets(lab.model, photos, targets, stdev),
                "the signed gradient: take .abs()": signed(lab.model, photos, targets, **settings)})

        yield "plain", "own_saliency", plain
        yield "noise_tunnel", "own_smoothgrad", noise_tunnel
        yield "batch", "own_batch", batch


def _sum_of_targets(model, photos, targets, stdev):
    """NoiseTunnel(smoothgrad, nt_samples=2) of |d/dx sum_j F_{t_j}(x)| where t_j runs over the expanded targets of
    every copy: what ``outputs[:, target].sum()`` computes when ``target`` is a tensor of one class per copy."""
    from functools import partial

    from helpers import reference

    expanded = torch.tensor(targets).repeat_interleave(2)

    class SumOfTargets(torch.nn.Module):
        def forward(self, inputs):
            return model(inputs)[:, expanded].sum(1)

    torch.manual_seed(0)
    return reference.smoothgrad(partial(reference.vanilla_gradient, SumOfTargets().eval()), photos,
                                nt_samples=2, stdevs=stdev, target=None)


LAB = Lab("07_smoothgrad", [SmoothGradFromScratch(), VarGradInputXGradient(), OwnAttributionClass()])
self_check = LAB.self_check
show_progress = LAB.show_progress
