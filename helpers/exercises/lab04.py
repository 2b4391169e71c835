"""Lab 4 (Grad-CAM): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
Cases are built without Captum and without ``helpers.reference`` (the from-scratch sandbox has neither); the
references are computed in :meth:`check` / :meth:`checks` only.
"""
from __future__ import annotations

import difflib
import functools

import numpy as np
import torch

from helpers.checks import check_attribution
from helpers.exercises import context, records
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN

#: An earlier block of each lab model, with a 14x14 output (the Grad-CAM layer's is 7x7).
EARLIER_LAYER = {"resnet18": "layer3", "efficientnet_lite0": "blocks.10"}
#: The ImageNet classes of the two objects of the image "cat_and_coffee".
CAT_CLASSES = (281, 282, 283, 284, 285)            # tabby, tiger cat, Persian cat, Siamese cat, Egyptian cat
COFFEE_CLASSES = (504, 505, 967, 968)              # coffee mug, coffeepot, espresso, cup


def _matches(result, expected) -> bool:
    try:
        check_attribution(result, expected)
        return True
    except AssertionError:
        return False


@functools.lru_cache(maxsize=None)
def _full_ranking(name: str, model_name: str) -> tuple[int, ...]:
    with torch.no_grad():
        logits = context.imagenet().model(context.image(name))
    return tuple(int(i) for i in logits[0].argsort(descending=True))


def full_ranking(name: str) -> tuple[int, ...]:
    """Every class of the lab model, sorted by its logit for the sample image ``name`` (highest first)."""
    return _full_ranking(name, context.imagenet().name)


def _small_cnn(channels, generator):
    return SmallCNN(in_channels=channels, seed=int(torch.randint(0, 10_000, (1,), generator=generator)))


def _small_images(n, channels, generator):
    size = 32 if channels == 3 else 28
    return torch.randn(n, channels, size, size, generator=generator)


def _int(generator, low, high):
    return int(torch.randint(low, high, (1,), generator=generator))


def activations_and_gradients(model, layer, inputs, target):
    """``(A, dF_t/dA)`` at ``layer`` (plain autograd, one target per sample or one for all), both detached."""
    saved = {}

    def hook(module, args, output):
        saved["A"] = output
        return output.clone()

    handle = layer.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            outputs = model(inputs.detach())
            scores = outputs[torch.arange(len(inputs)), torch.as_tensor(target)]
            (gradients,) = torch.autograd.grad(scores.sum(), saved["A"])
    finally:
        handle.remove()
    return saved["A"].detach(), gradients.detach()


class _SumOfTargets(torch.nn.Module):
    """One output per sample: the sum of the logits of ``classes`` (what ``outputs[:, target].sum()`` gives)."""

    def __init__(self, model, classes):
        super().__init__()
        self.model, self.classes = model, list(classes)

    def forward(self, inputs):
        return self.model(inputs)[:, self.classes].sum(dim=1, keepdim=True)


def _softmax(model):
    return torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()


class GradCamFromScratch(FunctionExercise):
    grade_id = "ex1_tests"
    function = "gradcam"
    parts = (Part("plain", 1, "the map without ReLU (relu_attributions=False, the default), one int target"),
             Part("relu", 1, "relu_attributions=True, on maps that have negative values"),
             Part("targets", 1, "batches with one target per sample (a list or a tensor)"),
             Part("layers", 1, "other layers: an earlier block of the lab model, SmallCNN's conv1 and relu2"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab04.ex1")
        lab = context.imagenet()
        model, layer = lab.model, lab.gradcam_layer
        earlier = dict(model.named_modules())[EARLIER_LAYER[lab.name]]
        if variant == 0:
            name, top, low_rank, pair_ranks = "cat", 0, 500, (0, 0)
        else:
            name = ("cat", "coffee")[_int(generator, 0, 2)]
            top, low_rank = _int(generator, 0, 3), _int(generator, 300, 900)
            pair_ranks = (_int(generator, 0, 3), _int(generator, 0, 3))
        photo = context.image(name)
        top_class, low_class = full_ranking(name)[top], full_ranking(name)[low_rank]
        pair = torch.cat([context.image("cat"), context.image("coffee")])
        pair_targets = torch.tensor([context.ranking("cat")[pair_ranks[0]], context.ranking("coffee")[pair_ranks[1]]])
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        t = lambda: _int(generator, 0, 10)  # noqa: E731
        return [
            Case("plain", "gradcam(lab model, its Grad-CAM layer, 1 photo, its top class)", (model, layer, photo, top_class)),
            Case("plain", "gradcam(SmallCNN 3 channels, conv2, 2 images, int target)",
                 (rgb, rgb.conv2, _small_images(2, 3, generator), t())),
            Case("plain", "gradcam(lab model, its Grad-CAM layer, 1 photo, a class ranked low, relu_attributions=False)",
                 (model, layer, photo, low_class), {"relu_attributions": False}),
            Case("relu", "gradcam(lab model, its Grad-CAM layer, 1 photo, a class ranked low, relu_attributions=True)",
                 (model, layer, photo, low_class), {"relu_attributions": True}),
            Case("relu", "gradcam(SmallCNN 3 channels, conv2, 3 images, int target, relu_attributions=True)",
                 (rgb, rgb.conv2, _small_images(3, 3, generator), t()), {"relu_attributions": True}),
            Case("targets", "gradcam(lab model, its Grad-CAM layer, cat and coffee, a tensor of 2 targets)",
                 (model, layer, pair, pair_targets)),
            Case("targets", "gradcam(SmallCNN 1 channel, conv2, 3 images, a list of 3 targets)",
                 (gray, gray.conv2, _small_images(3, 1, generator), [t(), t(), t()])),
            Case("targets", "gradcam(SmallCNN 3 channels, relu2, 4 images, a tensor of 4 targets, relu_attributions=True)",
                 (rgb, rgb.relu2, _small_images(4, 3, generator), torch.randint(0, 10, (4,), generator=generator)),
                 {"relu_attributions": True}),
            Case("layers", "gradcam(lab model, an earlier block with a 14x14 output, 1 photo, its top class)",
                 (model, earlier, photo, top_class)),
            Case("layers", "gradcam(SmallCNN 3 channels, conv1 (before the pooling), 2 images, int target)",
                 (rgb, rgb.conv1, _small_images(2, 3, generator), t())),
            Case("layers", "gradcam(SmallCNN 1 channel, relu2, 2 images, int target, relu_attributions=True)",
                 (gray, gray.relu2, _small_images(2, 1, generator), t()), {"relu_attributions": True}),
        ]

    def check(self, case, result):
        from helpers import reference

        model, layer, inputs, target = case.args
        relu = case.kwargs.get("relu_attributions", False)

        def finish(map_):
            return map_.clamp(min=0) if relu else map_

        def cam(m=model, t=target):
            return finish(reference.gradcam(m, layer, inputs, t))

        raw = reference.gradcam(model, layer, inputs, target)  # without ReLU
        expected = finish(raw)
        if _matches(result, expected):
            return
        if case.part in ("targets", "layers") and _matches(result, raw if relu else raw.clamp(min=0)):
            return  # the ReLU is graded by the parts "plain" and "relu"; here the targets or the layer are

        @functools.lru_cache(maxsize=None)
        def pieces():
            return activations_and_gradients(model, layer, inputs, target)

        def predicted():
            with torch.no_grad():
                return model(inputs).argmax(dim=1)

        alternatives = {
            "gradient x activation summed over the channels, without averaging the gradients over space":
                lambda: finish((pieces()[0] * pieces()[1]).sum(dim=1, keepdim=True)),
            "the weighted activations averaged over the channels instead of summed":
                lambda: finish((pieces()[1].mean(dim=(2, 3), keepdim=True) * pieces()[0]).mean(dim=1, keepdim=True)),
            "Grad-CAM of the softmax probability instead of the raw logit": lambda: cam(m=_softmax(model)),
        }
        if isinstance(target, (list, torch.Tensor)):
            classes = [int(c) for c in target]
            alternatives.update({
                "the map of the sum of the logits of all the listed targets for every sample (outputs[:, target] "
                "picks every target for every sample; take one logit per sample: outputs[torch.arange(len(inputs)), "
                "target])": lambda: cam(m=_SumOfTargets(model, classes), t=0),
                f"the map of the first target ({classes[0]}) for every sample": lambda: cam(t=classes[0]),
            })
        if len(inputs) > 1:
            alternatives["the map of the first sample only (the other samples get 0): take one logit per sample, "
                         "outputs[torch.arange(len(inputs)), target], not outputs[0, target]"] = \
                lambda: expected * (torch.arange(len(inputs)) == 0).view(-1, 1, 1, 1)
        alternatives["the map of each sample's predicted class instead of `target`"] = lambda: cam(t=predicted())
        check_attribution(result, expected, method="gradcam", name=case.label, alternatives=alternatives)


def _last_outputs(model, modules, inputs):
    """The output of the last call of each module in ``modules`` during ``model(inputs)`` (cloned)."""
    outputs = {}
    handles = [module.register_forward_hook(
        lambda m, args, output, key=key: outputs.__setitem__(key, output.detach().clone()
                                                             if isinstance(output, torch.Tensor) else None))
        for key, module in enumerate(modules)]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return [outputs.get(key) for key in range(len(modules))]


def same_output(model, module, other, inputs) -> bool:
    """Whether ``module`` and ``other`` output the same tensor (values) in ``model(inputs)``: e.g. ResNet18's
    ``layer4`` and its last block ``layer4.1``."""
    if module is other:
        return True
    mine, theirs = _last_outputs(model, [module, other], inputs)
    return mine is not None and theirs is not None and mine.shape == theirs.shape and torch.equal(mine, theirs)


def _as_int(value, name):
    if isinstance(value, (np.integer,)):
        value = int(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = int(value.item())
    if isinstance(value, bool) or not isinstance(value, int):
        raise AssertionError(f"{name} should be a Python int (a class index, e.g. int(ranking[0])), got "
                             f"{type(value).__name__}: {value!r:.60}.")
    return value


class LayerGradCamAndUpsampling(ValueExercise):
    grade_id = "ex2_tests"
    names = ("layer_name", "gradcam_map", "gradcam_upsampled")
    parts = (Part("layer", 1, "layer_name: a name of the Grad-CAM layer in model.named_modules()"),
             Part("map", 1, "gradcam_map: LayerGradCam of the cat for the predicted class, with ReLU"),
             Part("upsampled", 1, "gradcam_upsampled: the map upsampled bilinearly to 224x224"))

    def checks(self, values):
        from helpers import reference

        lab = context.imagenet()
        model, cat = lab.model, context.image("cat")
        ranking = context.ranking("cat")
        predicted, second = ranking[0], ranking[1]
        modules = dict(model.named_modules())
        expected_map = reference.gradcam(model, lab.gradcam_layer, cat, predicted, relu_attributions=True)

        def layer():
            name = values["layer_name"]
            if not isinstance(name, str):
                kind = name.type_name if isinstance(name, records.Other) else type(name).__name__
                raise AssertionError(f"layer_name should be a string, the name of a module as model.named_modules() "
                                     f"gives it (not the module itself), got a {kind}.")
            if name not in modules:
                close = difflib.get_close_matches(name, [n for n in modules if n], n=3, cutoff=0.5)
                hint = f" Names close to it: {', '.join(repr(n) for n in close)}." if close else ""
                raise AssertionError(
                    f"layer_name = {name!r}: the model has no module of that name (it does not exist in "
                    f"dict(model.named_modules())).{hint} Look for the last layer with a spatial map in the list of "
                    "modules printed above or in print(model).")
            module = modules[name]
            if same_output(model, module, lab.gradcam_layer, cat):
                return
            output = _last_outputs(model, [module], cat)[0]
            shape = tuple(output.shape) if output is not None else "not a single tensor"
            raise AssertionError(
                f"layer_name = {name!r} names a different module ({type(module).__name__}, output of shape {shape}) "
                "from the Grad-CAM layer: Grad-CAM uses the output of the last layer that still has a spatial map, "
                "after its activation, just before the global average pooling.")

        def the_map():
            alternatives = {
                f"the map for class {second} (ranked second) instead of the predicted class {predicted}":
                    lambda: reference.gradcam(model, lab.gradcam_layer, cat, second, relu_attributions=True),
                "the map of the softmax probability instead of the raw logit":
                    lambda: reference.gradcam(_softmax(model), lab.gradcam_layer, cat, predicted,
                                              relu_attributions=True)}
            name = values["layer_name"]
            if isinstance(name, str) and name in modules and modules[name] is not lab.gradcam_layer:
                alternatives[f"the map at the module {name!r} (your layer_name) instead of the Grad-CAM layer"] = \
                    lambda: reference.gradcam(model, modules[name], cat, predicted, relu_attributions=True)
            check_attribution(values["gradcam_map"], expected_map, method="gradcam", name="gradcam_map", alternatives=alternatives)

        def upsampled():
            mine = values["gradcam_map"]
            base = expected_map
            if isinstance(mine, torch.Tensor) and mine.dim() == 4 and mine.shape[:2] == (1, 1) \
                    and mine.is_floating_point() and bool(torch.isfinite(mine).all()):
                base = mine.detach().float()  # graded on its own: the upsampling of your map
            check_attribution(values["gradcam_upsampled"], reference.upsample(base, (224, 224), mode="bilinear"),
                          name="gradcam_upsampled", alternatives={
                              "the map upsampled with interpolate_mode='nearest' (Captum's default) instead of "
                              "'bilinear'": lambda: reference.upsample(base, (224, 224), mode="nearest"),
                              "the map upsampled bilinearly with align_corners=True": lambda: torch.nn.functional.
                              interpolate(base, size=(224, 224), mode="bilinear", align_corners=True)})

        yield "layer", "layer_name", layer
        yield "map", "gradcam_map", the_map
        yield "upsampled", "gradcam_upsampled", upsampled


def _count(model, kind) -> int:
    return sum(type(module) is kind for module in model.modules())


class DeconvolutionAndGuidedGradCam(ValueExercise):
    grade_id = "ex3_tests"
    names = ("deconv", "guided_gc")
    parts = (Part("deconv", 1, "deconv: Captum's Deconvolution on guided_model"),
             Part("guided_gc", 1, "guided_gc: Captum's GuidedGradCam on guided_model"))

    def checks(self, values):
        from helpers import reference
        from helpers.models import for_guided_backprop

        lab = context.imagenet()
        model, cat = lab.model, context.image("cat")
        ranking = context.ranking("cat")
        predicted, second = ranking[0], ranking[1]
        guided = for_guided_backprop(model)
        layer = dict(guided.named_modules())[lab.gradcam_layer_name]
        has = (f"`model` has {_count(model, torch.nn.ReLU)} nn.ReLU and {_count(model, torch.nn.ReLU6)} nn.ReLU6 "
               "modules; Captum changes the backward pass of nn.ReLU modules only")

        def deconv():
            check_attribution(values["deconv"], reference.deconvolution(guided, cat, predicted), name="deconv",
                          method=None, alternatives={
                              f"Deconvolution on `model` instead of `guided_model` ({has})":
                                  lambda: reference.deconvolution(model, cat, predicted),
                              "guided backpropagation instead of deconvolution":
                                  lambda: reference.guided_backprop(guided, cat, predicted),
                              "the plain gradient of the logit": lambda: reference.vanilla_gradient(
                                  model, cat, predicted, abs=False),
                              f"the attributions for class {second} instead of the predicted class {predicted}":
                                  lambda: reference.deconvolution(guided, cat, second)})

        def guided_gc():
            check_attribution(values["guided_gc"], reference.guided_gradcam(guided, layer, cat, predicted),
                          name="guided_gc", method=None, alternatives={
                              f"GuidedGradCam on `model` instead of `guided_model` ({has})":
                                  lambda: reference.guided_gradcam(model, lab.gradcam_layer, cat, predicted),
                              "guided backpropagation alone, without the Grad-CAM map":
                                  lambda: reference.guided_backprop(guided, cat, predicted),
                              "deconvolution times the Grad-CAM map instead of guided backpropagation":
                                  lambda: reference.deconvolution(guided, cat, predicted) * reference.upsample(
                                      reference.gradcam(guided, layer, cat, predicted, relu_attributions=True),
                                      (224, 224)),
                              f"the attributions for class {second} instead of the predicted class {predicted}":
                                  lambda: reference.guided_gradcam(guided, layer, cat, second)})

        yield "deconv", "deconv", deconv
        yield "guided_gc", "guided_gc", guided_gc


def first_of(ranking, classes) -> int:
    """The highest-ranked class of ``classes`` in ``ranking``."""
    return next(c for c in ranking if c in classes)


class TwoObjects(ValueExercise):
    grade_id = "ex4_tests"
    names = ("cat_class", "coffee_class", "object_maps")
    parts = (Part("classes", 1, "cat_class and coffee_class: the highest-ranked cat and coffee classes"),
             Part("maps", 1, "object_maps: one Grad-CAM map (with ReLU) per target, in one call"))

    def checks(self, values):
        from helpers import reference

        lab = context.imagenet()
        model, image = lab.model, context.image("cat_and_coffee")
        ranking = full_ranking("cat_and_coffee")
        expected = {"cat_class": first_of(ranking, CAT_CLASSES), "coffee_class": first_of(ranking, COFFEE_CLASSES)}

        def classes():
            for name, kind in (("cat_class", CAT_CLASSES), ("coffee_class", COFFEE_CLASSES)):
                value = _as_int(values[name], name)
                if value == expected[name]:
                    continue
                where = f"ranked {ranking.index(value) + 1}" if 0 <= value < len(ranking) else "not a class index"
                if value in kind:
                    raise AssertionError(f"{name} = {value} ({where}) is a {name.split('_')[0]} class, but not the "
                                         "highest-ranked one: take the first one in the ranking.")
                raise AssertionError(f"{name} = {value} ({where}) is not one of the {name.split('_')[0]} classes "
                                     f"{list(kind)}: choose the highest-ranked of them in the printed ranking.")

        def maps():
            targets = []
            for name in ("cat_class", "coffee_class"):
                try:
                    value = _as_int(values[name], name)
                    targets.append(value if 0 <= value < 1000 else expected[name])
                except AssertionError:
                    targets.append(expected[name])  # graded on its own: the maps of the right classes
            pair = image.expand(2, -1, -1, -1)

            def cams(ts, relu=True):
                return reference.gradcam(model, lab.gradcam_layer, pair, torch.tensor(ts), relu_attributions=relu)

            check_attribution(values["object_maps"], cams(targets), method="gradcam", name="object_maps", alternatives={
                "the two maps in the other order (first the coffee's class, then the cat's)":
                    lambda: cams(targets[::-1]),
                f"the map of the cat's class ({targets[0]}) twice": lambda: cams([targets[0]] * 2),
                f"the map of the coffee's class ({targets[1]}) twice": lambda: cams([targets[1]] * 2),
                "the map of the sum of the two logits for both (take one logit per sample)":
                    lambda: reference.gradcam(_SumOfTargets(model, targets), lab.gradcam_layer, pair, 0,
                                              relu_attributions=True)})

        yield "classes", "cat_class, coffee_class", classes
        yield "maps", "object_maps", maps


LAB = Lab("04_gradcam", [GradCamFromScratch(), LayerGradCamAndUpsampling(), DeconvolutionAndGuidedGradCam(),
                         TwoObjects()])
self_check = LAB.self_check
show_progress = LAB.show_progress
