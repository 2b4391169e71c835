"""Wrong answers for lab 4 (Grad-CAM); see tests/wrong_answers/__init__.py for the format.

The parts are those of helpers/exercises/lab04.py: ex1 plain / relu / targets / layers, ex2 layer / map / upsampled,
ex3 deconv / guided_gc, ex4 classes / maps. Each wrong answer must fail the visible self-check too.
"""

_HEAD = '''def gradcam(model, layer, inputs, target, relu_attributions=False):
    "sum_k mean_ij(dF_t/dA_kij) * A_k over the channels k of layer's output A; shape (N, 1, h, w)."
'''


def _gradcam(scores="model(inputs)[torch.arange(len(inputs)), target]",
             weights="gradients.mean(dim=(2, 3), keepdim=True)",
             cam="(weights * activations).sum(dim=1, keepdim=True)",
             finish="cam.clamp(min=0) if relu_attributions else cam"):
    return _HEAD + f'''    saved = []
    handle = layer.register_forward_hook(lambda module, args, output: saved.append(output))
    try:
        scores = {scores}
    finally:
        handle.remove()
    activations = saved[-1]
    (gradients,) = torch.autograd.grad(scores.sum(), activations)
    weights = {weights}
    cam = ({cam}).detach()
    return {finish}
'''


_PRINT_SHAPES = '''print("layer:", layer_name)
print("Grad-CAM map:", tuple(gradcam_map.shape), "-> upsampled:", tuple(gradcam_upsampled.shape))
'''


def _layergradcam(layer_name='next(name for name, module in model.named_modules() if module is lab_model.gradcam_layer)',
                  layer="dict(model.named_modules())[layer_name]", target="predicted", mode='"bilinear"'):
    return f'''layer_name = {layer_name}
layer = {layer}
gradcam_map = LayerGradCam(model, layer).attribute(cat, target={target}, relu_attributions=True)
gradcam_upsampled = LayerAttribution.interpolate(gradcam_map, tuple(cat.shape[2:]), interpolate_mode={mode})
''' + _PRINT_SHAPES


_SHOW_EX3 = '''fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
for ax, attributions, title in [(axes[0], deconv, "deconvolution"), (axes[1], guided_gc, "Guided Grad-CAM")]:
    viz.visualize_image_attr(to_hwc(attributions), cat_image, "heat_map", "absolute_value", plt_fig_axis=(fig, ax),
                             use_pyplot=False, title=f"{title} (absolute value)")
plt.show()
'''

_GUIDED_LAYER = "guided_layer = dict(guided_model.named_modules())[lab_model.gradcam_layer_name]\n"

_PRINT_EX4 = '''print("cat_class:", cat_class, names[cat_class], "| coffee_class:", coffee_class, names[coffee_class])
print("object_maps:", tuple(object_maps.shape))
'''


def _two_objects(cat_class="next(c for c in two_ranking if c in CAT_CLASSES)",
                 coffee_class="next(c for c in two_ranking if c in COFFEE_CLASSES)",
                 targets="torch.tensor([cat_class, coffee_class], device=device)", relu="True"):
    return f'''cat_class = {cat_class}
coffee_class = {coffee_class}
object_maps = LayerGradCam(model, lab_model.gradcam_layer).attribute(
    cat_and_coffee.repeat(2, 1, 1, 1), target={targets}, relu_attributions={relu})
''' + _PRINT_EX4


WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1: Grad-CAM from scratch
    {
        "cell": "ex1_gradcam_from_scratch", "test": "ex1_tests",
        "mistake": "ignores relu_attributions: never applies the ReLU",
        "diagnosis": "relu_attributions=True",
        "parts": ["relu"],
        "source": _gradcam(finish="cam"),
    },
    {
        "cell": "ex1_gradcam_from_scratch", "test": "ex1_tests",
        "mistake": "works for an int target only: outputs[:, target] picks every target for every sample",
        "diagnosis": "sum of the logits of all the listed targets",
        "parts": ["targets"],
        "source": _gradcam(scores="model(inputs)[:, target]"),
    },
    {
        "cell": "ex1_gradcam_from_scratch", "test": "ex1_tests",
        "mistake": "always applies the ReLU (as in the paper), also when relu_attributions=False",
        "diagnosis": "keep their sign",
        "parts": ["plain"],
        "source": _gradcam(finish="cam.clamp(min=0)"),
    },
    {
        "cell": "ex1_gradcam_from_scratch", "test": "ex1_tests",
        "mistake": "Grad-CAM without averaging the gradients over space",
        "diagnosis": "without averaging the gradients over space",
        "source": _gradcam(weights="gradients"),
    },
    {
        "cell": "ex1_gradcam_from_scratch", "test": "ex1_tests",
        "mistake": "Grad-CAM without summing over the channels",
        "diagnosis": "reduce over the channels",
        "source": _gradcam(cam="weights * activations"),
    },
    {
        "cell": "ex1_gradcam_from_scratch", "test": "ex1_tests",
        "mistake": "calls Captum's LayerGradCam instead of implementing Grad-CAM",
        "diagnosis": "LayerGradCam",
        "source": _HEAD + '''    return LayerGradCam(model, layer).attribute(inputs, target=target, relu_attributions=relu_attributions)
''',
    },
    # ---------------------------------------------------------------- exercise 2: LayerGradCam and upsampling
    {
        "cell": "ex2_layergradcam", "test": "ex2_tests",
        "mistake": "layer_name copied from the old example, 'features.8', a module that exists in neither model "
                   "(the map itself computed at lab_model.gradcam_layer)",
        "diagnosis": "does not exist",
        "parts": ["layer"],
        "source": _layergradcam(layer_name='"features.8"', layer="lab_model.gradcam_layer"),
    },
    {
        "cell": "ex2_layergradcam", "test": "ex2_tests",
        "mistake": "a different module: the last convolution (before its BatchNorm and activation), map computed there",
        "diagnosis": "different module",
        "parts": ["layer", "map"],
        "source": _layergradcam(layer_name='"conv_head"'),
    },
    {
        "cell": "ex2_layergradcam", "test": "ex2_tests",
        "mistake": "upsampled with Captum's default nearest interpolation instead of bilinear",
        "diagnosis": "interpolate_mode='nearest'",
        "parts": ["upsampled"],
        "source": _layergradcam(mode='"nearest"'),
    },
    {
        "cell": "ex2_layergradcam", "test": "ex2_tests",
        "mistake": "map of the class ranked second instead of the predicted class",
        "diagnosis": "ranked second",
        "parts": ["map"],
        "source": _layergradcam(target="ranking[1]"),
    },
    {
        "cell": "ex2_layergradcam", "test": "ex2_tests",
        "mistake": "layer_name holds the module itself, not its name",
        "diagnosis": "should be a string",
        "parts": ["layer"],
        "source": _layergradcam(layer_name="lab_model.gradcam_layer", layer="layer_name"),
    },
    # ---------------------------------------------------------------- exercise 3: Deconvolution, GuidedGradCam
    {
        "cell": "ex3_deconv_guided_gradcam", "test": "ex3_tests",
        "mistake": "both on `model` instead of `guided_model` (on EfficientNet-Lite0 Captum then hooks no ReLU6: "
                   "plain gradients)",
        "diagnosis": "instead of `guided_model`",
        "source": '''deconv = Deconvolution(model).attribute(cat, target=predicted)
guided_gc = GuidedGradCam(model, lab_model.gradcam_layer).attribute(cat, target=predicted)
''' + _SHOW_EX3,
    },
    {
        "cell": "ex3_deconv_guided_gradcam", "test": "ex3_tests",
        "mistake": "guided backpropagation where deconvolution is asked for",
        "diagnosis": "guided backpropagation instead of deconvolution",
        "parts": ["deconv"],
        "source": '''deconv = GuidedBackprop(guided_model).attribute(cat, target=predicted)
''' + _GUIDED_LAYER + '''guided_gc = GuidedGradCam(guided_model, guided_layer).attribute(cat, target=predicted)
''' + _SHOW_EX3,
    },
    {
        "cell": "ex3_deconv_guided_gradcam", "test": "ex3_tests",
        "mistake": "guided backpropagation alone, without the Grad-CAM map",
        "diagnosis": "guided backpropagation alone",
        "parts": ["guided_gc"],
        "source": '''deconv = Deconvolution(guided_model).attribute(cat, target=predicted)
guided_gc = GuidedBackprop(guided_model).attribute(cat, target=predicted)
''' + _SHOW_EX3,
    },
    # ---------------------------------------------------------------- exercise 4: one map per object
    {
        "cell": "ex4_two_objects", "test": "ex4_tests",
        "mistake": "the two maps in the other order (coffee first)",
        "diagnosis": "other order",
        "parts": ["maps"],
        "source": _two_objects(targets="torch.tensor([coffee_class, cat_class], device=device)"),
    },
    {
        "cell": "ex4_two_objects", "test": "ex4_tests",
        "mistake": "cat_class = tabby (the photo is of a tabby) instead of the highest-ranked cat class",
        "diagnosis": "not the highest-ranked",
        "parts": ["classes"],
        "source": _two_objects(cat_class="names.index(\"tabby\")"),
    },
    {
        "cell": "ex4_two_objects", "test": "ex4_tests",
        "mistake": "maps without the ReLU (Captum's default relu_attributions=False)",
        "diagnosis": "relu_attributions=True",
        "parts": ["maps"],
        "source": _two_objects(relu="False"),
    },
    {
        "cell": "ex4_two_objects", "test": "ex4_tests",
        "mistake": "one int target for the whole batch: the cat's map twice",
        "diagnosis": "twice",
        "parts": ["maps"],
        "source": _two_objects(targets="cat_class"),
    },
]
