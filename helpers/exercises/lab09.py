"""Lab 9 (layer and neuron attribution): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
Cases are built without Captum and without ``helpers.reference`` (the from-scratch sandbox has neither); the
references are computed in :meth:`check` / :meth:`checks` only.

The lab's layers are named per model (:data:`MID_LAYER`, :data:`NEURON_LAYER`, the same dictionaries as in the
notebook): a block in the middle of the network (14x14), where layer IG, conductance and Grad-CAM differ, and a
convolution with a 28x28 output for the neuron exercises.
"""
from __future__ import annotations

import torch

from helpers.checks import check_attribution
from helpers.exercises import context
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN, ToyModel

#: A block in the middle of the network (output C x 14 x 14), per model: the layer of exercise 2.
MID_LAYER = {"resnet18": "layer3", "efficientnet_lite0": "blocks.10"}
#: A convolution with a 28 x 28 output whose output is not changed in place: the layer of the neuron exercises.
NEURON_LAYER = {"resnet18": "layer2.1.conv2", "efficientnet_lite0": "blocks.3.project_conv"}
LAYER_STEPS = 16
NEURON_STEPS = 8


def _small_cnn(channels, generator):
    return SmallCNN(in_channels=channels, seed=int(torch.randint(0, 10_000, (1,), generator=generator)))


def _small_images(n, channels, generator):
    size = 32 if channels == 3 else 28
    return torch.randn(n, channels, size, size, generator=generator)


def _targets(n, generator, classes=10):
    return torch.randint(0, classes, (n,), generator=generator)


def _photo_and_rank(generator, variant):
    """The photo of the single-image cases and the rank of its target class: the cat and its top class for the
    self-check; hidden variants draw the photo (cat or coffee) and a class among the ten highest-ranked ones."""
    if variant == 0:
        return "cat", 0
    name = ("cat", "coffee")[int(torch.randint(0, 2, (1,), generator=generator))]
    return name, int(torch.randint(0, 10, (1,), generator=generator))


def lab_layer(names: dict) -> torch.nn.Module:
    """The module of the lab model (the exercises' private CPU copy) named in ``names`` for this model."""
    lab = context.imagenet()
    return lab.model.get_submodule(names[lab.name])


def demo_neuron() -> tuple[int, int, int]:
    """The neuron of the notebook's demo: the strongest response of the neuron layer to the cat (channel, row,
    column)."""
    saved = {}
    layer = lab_layer(NEURON_LAYER)
    handle = layer.register_forward_hook(lambda module, args, output: saved.update(out=output.detach()))
    try:
        with torch.no_grad():
            context.imagenet().model(context.image("cat"))
    finally:
        handle.remove()
    activations = saved["out"][0]
    index = int(activations.argmax())
    channels, rows, columns = activations.shape
    return index // (rows * columns), index // columns % rows, index % columns


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1 (from scratch): layer integrated gradients


class LayerIntegratedGradients(FunctionExercise):
    grade_id = "ex1_tests"
    function = "layer_integrated_gradients"
    parts = (Part("int", 1, "one image and an int target (the lab model's middle block, SmallCNN layers)"),
             Part("baselines", 1, "baselines given as a tensor, and n_steps other than 16"),
             Part("targets", 1, "batches with one target per sample (a list or a tensor)"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab09.ex1")
        lab = context.imagenet().model
        name, rank = _photo_and_rank(generator, variant)
        photo_label = "the cat" if variant == 0 else "a photo"
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        toy = ToyModel()
        points = torch.rand(4, 3, generator=generator)
        points[0, 2], points[1, 2] = points[0, 0] / 2, (points[1, 0] + 1) / 2   # x2 < x0 and x2 > x0
        gray_images = _small_images(2, 1, generator)
        return [
            Case("int", f"layer_integrated_gradients(lab model, its middle block, {photo_label}, int target, "
                        "n_steps=4)",
                 (lab, lab_layer(MID_LAYER), context.image(name), context.ranking(name)[rank]), {"n_steps": 4}),
            Case("int", "layer_integrated_gradients(SmallCNN 3 channels, conv1, 1 image, int target)",
                 (rgb, rgb.conv1, _small_images(1, 3, generator), int(_targets(1, generator)))),
            Case("baselines", "layer_integrated_gradients(SmallCNN 1 channel, relu1, 2 images, int target, "
                              "baselines: a tensor like the inputs, n_steps=10)",
                 (gray, gray.relu1, gray_images, int(_targets(1, generator))),
                 {"baselines": 0.3 * torch.randn(gray_images.shape, generator=generator), "n_steps": 10}),
            Case("baselines", "layer_integrated_gradients(SmallCNN 3 channels, conv2, 3 images, int target, "
                              "baselines: one grey image (1, 3, 32, 32), n_steps=24)",
                 (rgb, rgb.conv2, _small_images(3, 3, generator), int(_targets(1, generator))),
                 {"baselines": torch.full((1, 3, 32, 32), float(torch.rand(1, generator=generator)) - 0.5),
                  "n_steps": 24}),
            Case("targets", "layer_integrated_gradients(SmallCNN 3 channels, conv2, 4 images, a list of 4 targets)",
                 (rgb, rgb.conv2, _small_images(4, 3, generator), _targets(4, generator).tolist())),
            Case("targets", "layer_integrated_gradients(SmallCNN 1 channel, conv1, 3 images, a tensor of 3 targets, "
                            "n_steps=8)",
                 (gray, gray.conv1, _small_images(3, 1, generator), _targets(3, generator)), {"n_steps": 8}),
            Case("targets", "layer_integrated_gradients(ToyModel, lin1 (a 1-D layer output), 4 inputs, a tensor of "
                            "4 targets)",
                 (toy, toy.lin1, points, _targets(4, generator, classes=2))),
        ]

    def check(self, case, result):
        from helpers import reference

        model, layer, inputs, target = case.args
        baselines = case.kwargs.get("baselines")
        n_steps = case.kwargs.get("n_steps", 16)

        def layer_ig(**changes):
            arguments = dict(target=target, baselines=baselines, n_steps=n_steps)
            arguments.update(changes)
            return reference.layer_integrated_gradients(model, layer, inputs, **arguments)

        expected = layer_ig()
        alternatives = {
            "the right Riemann sum (points k/n, weights 1/n), not Captum's Gauss-Legendre points and weights "
            "(np.polynomial.legendre.leggauss)": lambda: layer_ig(method="riemann_right"),
            "the left Riemann sum (points (k-1)/n, weights 1/n), not Captum's Gauss-Legendre points and weights":
                lambda: layer_ig(method="riemann_left"),
            "the trapezoid rule, not Captum's Gauss-Legendre points and weights":
                lambda: layer_ig(method="riemann_trapezoid"),
            "the midpoint rule, not Captum's Gauss-Legendre points and weights":
                lambda: layer_ig(method="riemann_middle"),
        }
        if baselines is not None:
            alternatives["the attributions with zero baselines: use the `baselines` given"] = \
                lambda: layer_ig(baselines=None)
        if n_steps != 16:
            alternatives[f"n_steps=16 instead of the n_steps={n_steps} given"] = lambda: layer_ig(n_steps=16)
        if isinstance(target, (list, torch.Tensor)):
            classes = [int(t) for t in target]
            alternatives[f"the attributions of the first target ({classes[0]}) for every sample: take one target "
                         "per sample"] = lambda: layer_ig(target=classes[0])
            alternatives["the attributions of the sum of the listed targets' outputs for every sample (select one "
                         "output per sample: outputs[torch.arange(len(outputs)), targets])"] = \
                lambda: sum(layer_ig(target=c) for c in classes)
        check_attribution(result, expected, name=case.label, method="integrated_gradients", alternatives=alternatives,
                      rtol=1e-3, atol=1e-4 * float(expected.abs().max()))


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2 (apply Captum): three layer attributions in the middle of the network


class MiddleBlock(ValueExercise):
    grade_id = "ex2_tests"
    names = ("mid_ig", "mid_conductance", "mid_gradcam")
    parts = (Part("ig", 1, "mid_ig: LayerIntegratedGradients on the middle block"),
             Part("conductance", 1, "mid_conductance: LayerConductance on the middle block"),
             Part("gradcam", 1, "mid_gradcam: LayerGradCam on the middle block"))

    def checks(self, values):
        from helpers import reference

        model, cat, layer = context.imagenet().model, context.image("cat"), lab_layer(MID_LAYER)
        ranking = context.ranking("cat")
        predicted, second = ranking[0], ranking[1]

        def wrong_target(function):
            return {f"the attribution of the class ranked second ({second}), not `predicted`":
                    lambda: function(layer, second)}

        def ig(layer_, target, n_steps=LAYER_STEPS):
            return reference.layer_integrated_gradients(model, layer_, cat, target, n_steps=n_steps)

        def conductance(layer_, target, n_steps=LAYER_STEPS):
            return reference.layer_conductance(model, layer_, cat, target, n_steps=n_steps)

        def gradcam(layer_, target):
            return reference.gradcam(model, layer_, cat, target)

        def check(name, expected, method, alternatives):
            value = values[name]
            if isinstance(value, torch.Tensor) and value.dim() == 4 and tuple(value.shape[-2:]) == (7, 7):
                raise AssertionError(
                    f"{name}: your tensor has shape {tuple(value.shape)}, a 7x7 map: that is the last block "
                    "(lab_model.gradcam_layer), where the three methods coincide, not the middle block `mid_layer` "
                    f"(14x14, expected shape {tuple(expected.shape)}). Pass mid_layer to the method.")
            check_attribution(value, expected, name=name, method=method, alternatives=alternatives, rtol=1e-3,
                          atol=1e-4 * float(expected.abs().max()))

        def the_ig():
            expected = ig(layer, predicted)
            check("mid_ig", expected, "integrated_gradients",
                  {**wrong_target(ig), "Captum's default n_steps=50, not n_steps=LAYER_STEPS":
                   lambda: ig(layer, predicted, 50),
                   "the conductance, not layer integrated gradients": lambda: conductance(layer, predicted)})

        def the_conductance():
            expected = conductance(layer, predicted)
            check("mid_conductance", expected, "integrated_gradients",
                  {**wrong_target(conductance), "Captum's default n_steps=50, not n_steps=LAYER_STEPS":
                   lambda: conductance(layer, predicted, 50),
                   "layer integrated gradients, not the conductance": lambda: ig(layer, predicted)})

        def the_gradcam():
            check("mid_gradcam", gradcam(layer, predicted), "gradcam", wrong_target(gradcam))

        yield "ig", "mid_ig", the_ig
        yield "conductance", "mid_conductance", the_conductance
        yield "gradcam", "mid_gradcam", the_gradcam


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3 (from scratch): the gradient of a neuron


class NeuronGradient(FunctionExercise):
    grade_id = "ex3_tests"
    function = "neuron_gradient"
    parts = (Part("lab", 1, "the lab model: one photo, a (channel, row, column) selector"),
             Part("batch", 1, "batches on SmallCNNs (1 and 3 channels), tuple selectors"),
             Part("int", 1, "an int selector for a layer with a 1-D output per sample"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab09.ex3")
        lab = context.imagenet().model
        name, _ = _photo_and_rank(generator, variant)
        layer = lab_layer(NEURON_LAYER)
        channels = {"resnet18": 128, "efficientnet_lite0": 40}[context.imagenet().name]

        def draw(*sizes):
            return tuple(int(torch.randint(0, size, (1,), generator=generator)) for size in sizes)

        gray, rgb = _small_cnn(1, generator), _small_cnn(3, generator)
        toy = ToyModel()
        return [
            Case("lab", f"neuron_gradient(lab model, neuron layer, {'the cat' if variant == 0 else 'a photo'}, "
                        "a (channel, row, column) tuple)",
                 (lab, layer, context.image(name), draw(channels, 28, 28))),
            Case("batch", "neuron_gradient(SmallCNN 1 channel, conv2, 3 images, a (channel, row, column) tuple)",
                 (gray, gray.conv2, _small_images(3, 1, generator), draw(16, 14, 14))),
            Case("batch", "neuron_gradient(SmallCNN 3 channels, relu1, 2 images, a (channel, row, column) tuple)",
                 (rgb, rgb.relu1, _small_images(2, 3, generator), draw(8, 32, 32))),
            Case("int", "neuron_gradient(ToyModel, lin1 (output (N, 3)), 4 inputs, an int)",
                 (toy, toy.lin1, torch.rand(4, 3, generator=generator), draw(3)[0])),
            Case("int", "neuron_gradient(SmallCNN 3 channels, fc (output (N, 10)), 3 images, an int)",
                 (rgb, rgb.fc, _small_images(3, 3, generator), draw(10)[0])),
        ]

    def check(self, case, result):
        from helpers import reference

        model, layer, inputs, selector = case.args

        def gradient(neuron):
            return reference.neuron_gradient(model, layer, inputs, neuron)

        alternatives = {}
        if isinstance(selector, tuple) and len(selector) == 3:
            channel, row, column = selector
            alternatives["the gradient of the neuron (channel, column, row): row and column swapped"] = \
                lambda: gradient((channel, column, row))
            alternatives["the gradient of the whole channel (the sum over all positions), not one neuron"] = \
                lambda: gradient((channel, slice(None), slice(None)))
        if len(inputs) > 1:
            alternatives["the gradient of the first sample's neuron only (the other samples get 0): select the "
                         "neuron of every sample, output[:, ...]"] = \
                lambda: gradient(selector) * (torch.arange(len(inputs)) == 0).view(-1, *[1] * (inputs.dim() - 1))
        check_attribution(result, gradient(selector), name=case.label, method="saliency", alternatives=alternatives)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 4 (apply Captum): a neuron in the corner


class CornerNeuron(ValueExercise):
    grade_id = "ex4_tests"
    names = ("corner_ig",)
    parts = (Part("corner", 2, "corner_ig: NeuronIntegratedGradients of the corner neuron (channel, 0, 0)"),)

    def checks(self, values):
        from helpers import reference

        model, cat, layer = context.imagenet().model, context.image("cat"), lab_layer(NEURON_LAYER)
        neuron = demo_neuron()
        channel = neuron[0]

        def corner():
            expected = reference.neuron_integrated_gradients(model, layer, cat, (channel, 0, 0), n_steps=NEURON_STEPS)
            check_attribution(
                values["corner_ig"], expected, name="corner_ig", method="integrated_gradients", rtol=1e-3,
                atol=1e-4 * float(expected.abs().max()),
                alternatives={
                    f"the IG of the demo's neuron {neuron}, not the corner (channel, 0, 0)":
                        lambda: reference.neuron_integrated_gradients(model, layer, cat, neuron, n_steps=NEURON_STEPS),
                    "the gradient of the corner neuron (NeuronGradient): multiply by (inputs - baselines) along the "
                    "path, i.e. use NeuronIntegratedGradients":
                        lambda: reference.neuron_gradient(model, layer, cat, (channel, 0, 0)),
                    "Captum's default n_steps=50, not n_steps=NEURON_STEPS":
                        lambda: reference.neuron_integrated_gradients(model, layer, cat, (channel, 0, 0))})

        yield "corner", "corner_ig", corner


LAB = Lab("09_layer_neuron", [LayerIntegratedGradients(), MiddleBlock(), NeuronGradient(), CornerNeuron()])
self_check = LAB.self_check
show_progress = LAB.show_progress
