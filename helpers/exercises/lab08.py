"""Lab 8 (LIME and Kernel SHAP on superpixels): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.

- ``ex1_tests`` (from scratch): ``make_feature_mask(image, n_segments=50, compactness=10.0)``: SLIC superpixels of
  an (H, W, 3) image as a ``(1, 1, H, W)`` long tensor with labels from 0.
- ``ex2_tests`` (from scratch): ``feature_ablation(model, inputs, target, feature_mask, baselines=0.0)``, equal to
  Captum's ``FeatureAblation``.
- ``ex3_tests`` (from scratch): ``lime_superpixels(...)``, equal to Captum's ``Lime`` under the same seed (the same
  draws in the same order: the checks run the student's function and the reference after the same
  ``torch.manual_seed``).
- ``ex4_tests`` (apply Captum): ``black`` and ``lime_black``, LIME with removed superpixels painted black.
- ``ex5_tests`` (apply Captum): ``shap_attr`` and ``shap_values``, Kernel SHAP on the same superpixels.

Cases are built without Captum and without ``helpers.reference`` (the from-scratch sandbox has neither; SLIC comes
from scikit-image); the references are computed in :meth:`check` / :meth:`checks` only.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from helpers.checks import check_attribution
from helpers.exercises import context
from helpers.exercises.core import (DEFAULT_SCRATCH_IMPORTS, Case, FunctionExercise, Lab, Part, ValueExercise,
                                    seed_everything, variant_generator)
from helpers.images import to_hwc
from helpers.models import SmallCNN

#: What a from-scratch answer of this lab may use besides torch, numpy, F, nn, math and itertools.
SCRATCH_IMPORTS = DEFAULT_SCRATCH_IMPORTS + "from skimage.segmentation import slic\nfrom sklearn.linear_model import Lasso\n"

#: The notebook's settings (its cells use the same numbers).
LIME_SAMPLES = 48
PER_EVAL = 8
N_SEGMENTS, COMPACTNESS = 50, 10.0
LIME_DEFAULTS = dict(n_samples=48, baselines=0.0, kernel_width=1.0, alpha=0.01, perturbations_per_eval=8)


# ----------------------------------------------------------------------------------------------------------------
# Inputs (no helpers.reference here).


@functools.lru_cache(maxsize=None)
def _photo_image(name: str, model_name: str) -> np.ndarray:
    lab = context.imagenet()
    return to_hwc(lab.denormalize(context.image(name)))


def photo_image(name: str = "cat") -> np.ndarray:
    """The photo as the notebook's ``cat_image``: an (H, W, 3) float32 array in [0, 1] (a fresh copy)."""
    return _photo_image(name, context.imagenet().name).copy()


def slic_mask(image: np.ndarray, n_segments: int, compactness: float) -> torch.Tensor:
    """SLIC labels 0..M-1 without gaps, (1, 1, H, W) long: what ``reference.superpixel_mask`` gives for an array."""
    from skimage.segmentation import slic

    segments = slic(image, n_segments=n_segments, compactness=compactness, start_label=0, channel_axis=-1)
    _, labels = np.unique(segments, return_inverse=True)
    return torch.from_numpy(labels.reshape(segments.shape)).long()[None, None]


def _photo(generator, variant, n_segments):
    """(label, input (1, 3, 224, 224), its HWC image, its SLIC mask, target) of the lab model.

    The self-check uses the cat and its top class; hidden variants the cat or the coffee, maybe mirrored, and a class
    among the ten highest-ranked ones."""
    label, inputs, image, target = _pick_photo(generator, variant)
    return label, inputs, image, slic_mask(image, n_segments, 10.0), target


def _pick_photo(generator, variant):
    if variant == 0:
        name, flip, rank = "cat", False, 0
    else:
        name = ("cat", "coffee")[int(torch.randint(0, 2, (1,), generator=generator))]
        flip = bool(torch.randint(0, 2, (1,), generator=generator))
        rank = int(torch.randint(0, 10, (1,), generator=generator))
    inputs, image = context.image(name), photo_image(name)
    if flip:
        inputs, image = inputs.flip(-1).contiguous(), np.ascontiguousarray(image[:, ::-1])
    return ("cat" if variant == 0 else "a photo"), inputs, image, context.ranking(name)[rank]


def _small_cnn(channels, generator):
    return SmallCNN(in_channels=channels, seed=int(torch.randint(0, 10_000, (1,), generator=generator)))


def _small_images(n, channels, generator):
    size = 32 if channels == 3 else 28
    return torch.randn(n, channels, size, size, generator=generator)


def _block_mask(size, generator, variant):
    """Square blocks of ``size x size`` pixels, labels 0..M-1 in a random order, (1, 1, size, size) long."""
    choices = (8, 4) if size == 32 else (7, 4)
    block = choices[0] if variant == 0 else choices[int(torch.randint(0, 2, (1,), generator=generator))]
    per_row = size // block
    grid = (torch.arange(size) // block).view(-1, 1) * per_row + torch.arange(size) // block
    order = torch.randperm(per_row * per_row, generator=generator)
    return order[grid][None, None].long(), block


def _targets(n, generator):
    return torch.randint(0, 10, (n,), generator=generator)


def _seed(generator, variant, visible):
    return visible if variant == 0 else int(torch.randint(1, 100_000, (1,), generator=generator))


def _smooth_image(size, generator):
    """A smooth random RGB image (H, W, 3) float32 in [0, 1]: bilinear upsampling of 6x6 random colours."""
    small = torch.rand(1, 3, 6, 6, generator=generator)
    big = torch.nn.functional.interpolate(small, size=(size, size), mode="bilinear", align_corners=False)
    return big[0].permute(1, 2, 0).contiguous().numpy().astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# Checking tools.


def _softmax(model):
    return torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()


def zero_colour(mean, std) -> str:
    """What the zero tensor of a model's normalised input space is, in words (for messages)."""
    mean, std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
    if all(abs(m - 0.5) < 1e-6 for m in mean) and all(abs(s - 0.5) < 1e-6 for s in std):
        return "50% grey for this model (it normalises with mean = std = 0.5)"
    if all(abs(m - v) < 1e-6 for m, v in zip(mean, (0.485, 0.456, 0.406))):
        return "ImageNet's mean colour for this model (it normalises with ImageNet's mean and std)"
    return f"the colour {tuple(round(m, 3) for m in mean)} for this model (the mean of its normalisation)"


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: the feature mask.


class FeatureMask(FunctionExercise):
    grade_id = "ex1_tests"
    function = "make_feature_mask"
    parts = (Part("defaults", 1, "a photo with the default n_segments and compactness: labels from 0, (1, 1, H, W)"),
             Part("arguments", 1, "other n_segments and compactness (a photo and a small image)"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab08.ex1")
        if variant == 0:
            first, second = photo_image("cat"), photo_image("coffee")
            settings = [dict(n_segments=80, compactness=20.0), dict(n_segments=12, compactness=5.0)]
        else:
            first, second = (_pick_photo(generator, variant)[2] for _ in range(2))
            settings = [dict(n_segments=int(torch.randint(20, 121, (1,), generator=generator)),
                             compactness=(1.0, 5.0, 20.0, 40.0)[int(torch.randint(0, 4, (1,), generator=generator))]),
                        dict(n_segments=int(torch.randint(6, 17, (1,), generator=generator)),
                             compactness=(2.0, 5.0, 10.0)[int(torch.randint(0, 3, (1,), generator=generator))])]
        small = _smooth_image(32, generator)

        def describe(values):
            return ", ".join(f"{k}={v}" for k, v in values.items()) if variant == 0 else "other n_segments and compactness"

        return [
            Case("defaults", "make_feature_mask(cat_image)" if variant == 0 else
                 "make_feature_mask(a 224x224 photo)", (first,)),
            Case("arguments", f"make_feature_mask({'coffee_image' if variant == 0 else 'a 224x224 photo'}, "
                 f"{describe(settings[0])})", (second,), settings[0]),
            Case("arguments", f"make_feature_mask(a smooth random 32x32 image, {describe(settings[1])})",
                 (small,), settings[1]),
        ]

    def check(self, case, result):
        from helpers import reference

        (image,) = case.args
        expected = reference.superpixel_mask(image, **case.kwargs)
        check_feature_mask(result, expected, image, case.kwargs, case.label)


def check_feature_mask(mask, expected, image, kwargs, name):
    """A feature mask: a (1, 1, H, W) integer tensor whose labels start at 0 and agree with SLIC's superpixels."""
    height, width = expected.shape[-2:]
    if isinstance(mask, np.ndarray):
        raise AssertionError(f"{name}: you returned a NumPy array; return a torch tensor "
                             "(torch.from_numpy(segments).long()[None, None]).")
    if not isinstance(mask, torch.Tensor):
        raise AssertionError(f"{name}: return a torch.Tensor of shape (1, 1, {height}, {width}), got "
                             f"{type(mask).__name__}.")
    if mask.is_floating_point() or mask.is_complex() or mask.dtype == torch.bool:
        raise AssertionError(f"{name}: a feature mask holds integer indices (torch.long), got dtype {mask.dtype}: "
                             "convert with .long().")
    if tuple(mask.shape) != tuple(expected.shape):
        advice = (" Add the batch and channel dims with [None, None]." if tuple(mask.shape) == (height, width) else "")
        raise AssertionError(f"{name}: expected shape (1, 1, {height}, {width}), got {tuple(mask.shape)}.{advice}")
    mask = mask.long()
    low, count = int(mask.min()), int(mask.max()) + 1
    distinct = int(torch.unique(mask).numel())
    if distinct == height * width:
        raise AssertionError(f"{name}: every pixel has its own label: that is one feature per pixel, not "
                             "superpixels. Return SLIC's segment labels.")
    if low != 0:
        raise AssertionError(f"{name}: the labels must start at 0, yours start at {low} (SLIC's default is "
                             "start_label=1: pass start_label=0).")
    n_expected = int(expected.max()) + 1
    agree = float((mask == expected).float().mean())
    if count == n_expected and agree > 0.995:
        return
    default = dict(n_segments=50, compactness=10.0)
    if kwargs and {k: float(v) for k, v in kwargs.items()} != default:
        from helpers import reference

        plain = reference.superpixel_mask(image)
        if int(plain.max()) + 1 == count and float((mask == plain).float().mean()) > 0.995:
            raise AssertionError(f"{name}: your superpixels are those of the default n_segments=50 and "
                                 "compactness=10: pass the function's arguments n_segments and compactness to slic.")
    if count != n_expected:
        raise AssertionError(f"{name}: SLIC with these arguments gives {n_expected} superpixels (labels 0.."
                             f"{n_expected - 1}), yours go up to {count - 1}: call slic on the image with "
                             "n_segments, compactness and start_label=0.")
    raise AssertionError(f"{name}: only {agree:.1%} of the pixels carry the same label as SLIC's superpixels of the "
                         "image with these n_segments and compactness (start_label=0).")


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: feature ablation.


class FeatureAblationExercise(FunctionExercise):
    grade_id = "ex2_tests"
    function = "feature_ablation"
    parts = (Part("photo", 1, "the lab model on a photo, an int target, its SLIC superpixels"),
             Part("batch", 1, "batches of SmallCNN images (1 and 3 channels), one target per sample (list, tensor)"),
             Part("baselines", 1, "baselines other than 0: a number and a per-channel tensor"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab08.ex2")
        lab = context.imagenet().model
        label, photo, _, mask, target = _photo(generator, variant, 16)
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        mask32, block32 = _block_mask(32, generator, variant)
        mask28, block28 = _block_mask(28, generator, variant)
        number = 0.5 if variant == 0 else round(float(torch.rand((), generator=generator)) * 2 - 1, 3)
        per_channel = (torch.tensor([-1.0, 0.0, 1.0]) if variant == 0 else
                       torch.randn(3, generator=generator)).view(1, 3, 1, 1)
        blocks = "blocks" if variant else None
        return [
            Case("photo", f"feature_ablation(lab model, {label}, int target, its SLIC superpixels, n_segments=16)",
                 (lab, photo, target, mask)),
            Case("batch", f"feature_ablation(SmallCNN 3 channels, 3 images, a list of 3 targets, "
                 f"{blocks or f'{block32}x{block32} blocks'})",
                 (rgb, _small_images(3, 3, generator), _targets(3, generator).tolist(), mask32)),
            Case("batch", f"feature_ablation(SmallCNN 1 channel, 2 images, a tensor of 2 targets, "
                 f"{blocks or f'{block28}x{block28} blocks'})",
                 (gray, _small_images(2, 1, generator), _targets(2, generator), mask28)),
            Case("baselines", f"feature_ablation(SmallCNN 1 channel, 2 images, int target, blocks, baselines="
                 f"{number if variant == 0 else 'a number'})",
                 (gray, _small_images(2, 1, generator), int(_targets(1, generator)), mask28), {"baselines": number}),
            Case("baselines", "feature_ablation(SmallCNN 3 channels, 1 image, int target, blocks, baselines="
                 f"{'torch.tensor([-1., 0., 1.]).view(1, 3, 1, 1)' if variant == 0 else 'a (1, 3, 1, 1) tensor'})",
                 (rgb, _small_images(1, 3, generator), int(_targets(1, generator)), mask32),
                 {"baselines": per_channel}),
        ]

    def check(self, case, result):
        from helpers import reference

        model, inputs, target, mask = case.args
        baselines = case.kwargs.get("baselines", 0.0)

        def ablation(m=model, t=target, b=baselines):
            return reference.feature_ablation(m, inputs, t, baselines=b, feature_mask=mask)

        expected = ablation()
        alternatives = {
            "the drop of the softmax probability instead of the raw logit": lambda: ablation(m=_softmax(model)),
            "the score with the feature switched off, F_t(x_off), instead of the drop F_t(x) - F_t(x_off)":
                lambda: _scores(model, inputs, target) - expected,
            "the attributions without feature 0 (the labels start at 0: loop over range(mask.max() + 1))":
                lambda: expected * (mask != 0),
            "the attributions without the last feature (range(mask.max()) stops one label too early)":
                lambda: expected * (mask != mask.max()),
        }
        if not (isinstance(baselines, float) and baselines == 0.0):
            alternatives["the features switched off to 0 instead of `baselines`"] = lambda: ablation(b=0.0)
        if isinstance(target, (list, torch.Tensor)):
            first = int(target[0])
            alternatives[f"the first target ({first}) for every sample (index one logit per sample: "
                         "outputs[torch.arange(len(inputs)), target])"] = lambda: ablation(t=first)
        check_attribution(result, expected, name=case.label, method="feature_ablation", rtol=1e-4,
                      atol=1e-4 * float(expected.abs().max()) + 1e-7, alternatives=alternatives)


def _scores(model, inputs, target):
    with torch.no_grad():
        outputs = model(inputs)
    rows = torch.arange(len(inputs))
    return outputs[rows, torch.as_tensor(target)].view(-1, *(1,) * (inputs.dim() - 1)).expand_as(inputs)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3: LIME from scratch.


class LimeFromScratch(FunctionExercise):
    grade_id = "ex3_tests"
    function = "lime_superpixels"
    parts = (Part("photo", 1, "the lab model on a photo, an int target, its SLIC superpixels, default settings"),
             Part("baselines", 1, "baselines other than 0: a number and a per-channel tensor"),
             Part("settings", 1, "other n_samples, kernel_width, alpha and perturbations_per_eval"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab08.ex3")
        lab = context.imagenet().model
        label, photo, _, mask, target = _photo(generator, variant, N_SEGMENTS)
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        mask32, _ = _block_mask(32, generator, variant)
        mask28, _ = _block_mask(28, generator, variant)
        number = 0.5 if variant == 0 else round(float(torch.rand((), generator=generator)) * 2 - 1, 3)
        per_channel = (torch.tensor([-1.0, 0.0, 1.0]) if variant == 0 else
                       torch.randn(3, generator=generator)).view(1, 3, 1, 1)
        settings = [dict(n_samples=150, kernel_width=0.25, alpha=0.001, perturbations_per_eval=64),
                    dict(n_samples=80, kernel_width=5.0, alpha=0.003, perturbations_per_eval=7)]
        if variant:
            settings = [dict(n_samples=int(torch.randint(120, 181, (1,), generator=generator)), kernel_width=0.25,
                             alpha=0.001, perturbations_per_eval=int(torch.randint(20, 70, (1,), generator=generator))),
                        dict(n_samples=int(torch.randint(60, 101, (1,), generator=generator)), kernel_width=5.0,
                             alpha=0.003, perturbations_per_eval=int(torch.randint(3, 10, (1,), generator=generator)))]

        def describe(values):
            return ", ".join(f"{k}={v}" for k, v in values.items()) if variant == 0 else \
                "other n_samples, kernel_width, alpha and perturbations_per_eval"

        def seed(visible):
            return _seed(generator, variant, visible)

        return [
            Case("photo", f"lime_superpixels(lab model, {label}, int target, its SLIC superpixels, n_segments={N_SEGMENTS}) "
                 "after torch.manual_seed", (lab, photo, target, mask), seed=seed(0)),
            Case("baselines", "lime_superpixels(SmallCNN 3 channels, 1 image, int target, blocks, n_samples=100, "
                 f"baselines={'torch.tensor([-1., 0., 1.]).view(1, 3, 1, 1)' if variant == 0 else 'a (1, 3, 1, 1) tensor'})",
                 (rgb, _small_images(1, 3, generator), int(_targets(1, generator)), mask32),
                 {"n_samples": 100, "baselines": per_channel}, seed=seed(5)),
            Case("baselines", "lime_superpixels(SmallCNN 1 channel, 1 image, int target, blocks, n_samples=100, "
                 f"baselines={number if variant == 0 else 'a number'})",
                 (gray, _small_images(1, 1, generator), int(_targets(1, generator)), mask28),
                 {"n_samples": 100, "baselines": number}, seed=seed(6)),
            Case("settings", f"lime_superpixels(SmallCNN 3 channels, 1 image, int target, blocks, {describe(settings[0])})",
                 (rgb, _small_images(1, 3, generator), int(_targets(1, generator)), mask32), settings[0], seed=seed(7)),
            Case("settings", f"lime_superpixels(SmallCNN 1 channel, 1 image, int target, blocks, {describe(settings[1])})",
                 (gray, _small_images(1, 1, generator), int(_targets(1, generator)), mask28), settings[1], seed=seed(8)),
        ]

    def check(self, case, result):
        from helpers import reference

        model, inputs, target, mask = case.args
        arguments = {**LIME_DEFAULTS, **case.kwargs}

        def lime(m=model, **changes):
            seed_everything(case.seed)  # the same draws, in the same order, as the student's function had
            return reference.lime(m, inputs, target, feature_mask=mask, **{**arguments, **changes})

        expected = lime()
        alternatives = {
            "LIME without the similarity kernel (every sample weighted 1): pass sample_weight= the kernel weights":
                lambda: lime(kernel_width=1e9),
            "LIME of the softmax probability instead of the raw logit": lambda: lime(m=_softmax(model)),
        }
        if not (isinstance(arguments["baselines"], float) and arguments["baselines"] == 0.0):
            alternatives["LIME with the removed superpixels set to 0 instead of `baselines`"] = \
                lambda: lime(baselines=0.0)
        for key in ("kernel_width", "alpha", "n_samples"):
            if arguments[key] != LIME_DEFAULTS[key]:
                alternatives[f"LIME with the default {key}={LIME_DEFAULTS[key]} instead of the argument "
                             f"{key}={arguments[key]}"] = functools.partial(lime, **{key: LIME_DEFAULTS[key]})
        try:
            check_attribution(result, expected, name=case.label, method="lime", rtol=1e-3,
                          atol=1e-3 * float(expected.abs().max()) + 1e-7, alternatives=alternatives)
        except AssertionError as error:
            if "Your values match" in str(error) or "shape" in str(error) or "tensor" in str(error):
                raise
            raise AssertionError(f"{error} The check runs Captum's algorithm after the same torch.manual_seed: your "
                                 "function must make exactly one random call, first, z = torch.bernoulli(torch.full("
                                 "(n_samples, M), 0.5)), and nothing else random.") from None


# ----------------------------------------------------------------------------------------------------------------
# Exercises 4 and 5 (apply Captum) on the lab model and the cat.


def _cat_setting():
    """(model, cat, predicted, feature_mask) of the notebook (CPU)."""
    from helpers import reference

    lab = context.imagenet()
    return lab.model, context.image("cat"), context.ranking("cat")[0], \
        reference.superpixel_mask(photo_image("cat"), n_segments=N_SEGMENTS, compactness=COMPACTNESS)


def _black(lab):
    mean, std = torch.tensor(lab.mean), torch.tensor(lab.std)
    return ((0 - mean) / std).view(1, 3, 1, 1)


class BlackBaseline(ValueExercise):
    grade_id = "ex4_tests"
    names = ("black", "lime_black")
    parts = (Part("black", 1, "black: the black image in the model's normalised space, shape (1, 3, 1, 1)"),
             Part("lime", 1, "lime_black: Captum's Lime of the cat with removed superpixels painted black"))

    def checks(self, values):
        from helpers import reference

        lab = context.imagenet()
        model, cat, predicted, mask = _cat_setting()
        expected_black = _black(lab)
        mean, std = torch.tensor(lab.mean).view(1, 3, 1, 1), torch.tensor(lab.std).view(1, 3, 1, 1)

        def lime(baselines, target=predicted):
            seed_everything(0)
            return reference.lime(model, cat, target, feature_mask=mask, baselines=baselines,
                                  n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL)

        def black():
            value = values["black"]
            if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != torch.float32:
                value = value.float()
            check_attribution(value, expected_black, name="black", rtol=1e-5, atol=1e-5, alternatives={
                f"0, the zero tensor: in the normalised space that is {zero_colour(lab.mean, lab.std)}, not black":
                    torch.zeros(1, 3, 1, 1),
                "-mean: also divide by std, (0 - mean) / std": -mean,
                "white, (1 - mean) / std: black is the pixel value 0": (1 - mean) / std,
                "(0 - mean) * std: divide by std, do not multiply": -mean * std})

        def lime_black():
            expected = lime(expected_black)
            check_attribution(values["lime_black"], expected, name="lime_black", method="lime", rtol=1e-3,
                          atol=1e-3 * float(expected.abs().max()), alternatives={
                              "LIME with the default baseline 0 (" + zero_colour(lab.mean, lab.std) + "), not black":
                                  lambda: lime(0.0),
                              "LIME with the baseline -mean (not divided by std)": lambda: lime(-mean),
                              "LIME with the black baseline for the class ranked second instead of `predicted`":
                                  lambda: lime(expected_black, context.ranking("cat")[1])})

        yield "black", "black", black
        yield "lime", "lime_black", lime_black


class KernelShapValues(ValueExercise):
    grade_id = "ex5_tests"
    names = ("shap_attr", "shap_values")
    parts = (Part("map", 1, "shap_attr: Kernel SHAP of the cat, the shape of the input"),
             Part("values", 1, "shap_values: one value per superpixel, shape (1, M)"))

    def checks(self, values):
        from helpers import reference

        model, cat, predicted, mask = _cat_setting()

        @functools.lru_cache(maxsize=None)
        def shap(method="kernel_shap", target=predicted, probabilities=False):
            seed_everything(0)
            function = reference.kernel_shap if method == "kernel_shap" else reference.lime
            coefficients = function(_softmax(model) if probabilities else model, cat, target, feature_mask=mask,
                                    n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL, return_input_shape=False)
            return coefficients, coefficients[0][mask].expand_as(cat).clone()

        def mistakes(index):
            return {"Captum's Lime instead of KernelShap": lambda: shap("lime")[index],
                    "Kernel SHAP of the softmax probability instead of the raw logit":
                        lambda: shap(probabilities=True)[index],
                    "Kernel SHAP of the class ranked second instead of `predicted`":
                        lambda: shap(target=context.ranking("cat")[1])[index]}

        def check(name, index):
            expected = shap()[index]
            check_attribution(values[name], expected, name=name, method="lime", rtol=1e-3,
                          atol=1e-3 * float(expected.abs().max()), alternatives=mistakes(index))

        yield "map", "shap_attr", lambda: check("shap_attr", 1)
        yield "values", "shap_values", lambda: check("shap_values", 0)


LAB = Lab("08_lime", [FeatureMask(), FeatureAblationExercise(), LimeFromScratch(), BlackBaseline(), KernelShapValues()],
          scratch_imports=SCRATCH_IMPORTS)
self_check = LAB.self_check
show_progress = LAB.show_progress
