"""Wrong answers for lab 4 (Grad-CAM); see tests/wrong_answers/__init__.py for the format."""

_HEAD = '''def gradcam(model, layer, inputs, target, relu_attributions=False):
    "sum_k mean_ij(dF_t/dA_kij) * A_k over the channels k of layer's output A; shape (N, 1, h, w)."
'''


def _gradcam(weights="gradients.mean(dim=(2, 3), keepdim=True)", cam="(weights * activations).sum(dim=1, keepdim=True)"):
    return _HEAD + f'''    saved = []
    handle = layer.register_forward_hook(lambda module, args, output: saved.append(output))
    try:
        scores = model(inputs)[torch.arange(len(inputs)), target]
    finally:
        handle.remove()
    activations = saved[0]
    (gradients,) = torch.autograd.grad(scores.sum(), activations)
    weights = {weights}
    cam = ({cam}).detach()
    return cam.clamp(min=0) if relu_attributions else cam
'''


_PRINT_SHAPES = '''print("layer:", layer_name)
print("Grad-CAM map:", tuple(gradcam_map.shape), "-> upsampled:", tuple(gradcam_upsampled.shape))
'''

_SHOW_GUIDED = '''viz.visualize_image_attr_multiple(to_hwc(guided_gc), cat_image, methods=["original_image", "heat_map"],
                                  signs=["all", "absolute_value"], show_colorbar=True, fig_size=(7, 3),
                                  titles=["input", "Guided Grad-CAM (absolute value)"])
plt.show()
'''

WRONG_ANSWERS = [
    {
        "cell": "ex1_gradcam_from_scratch",
        "test": "ex1_tests",
        "mistake": "Grad-CAM without averaging the gradients over space",
        "diagnosis": "without averaging the gradients over space",
        "source": _gradcam(weights="gradients"),
    },
    {
        "cell": "ex1_gradcam_from_scratch",
        "test": "ex1_tests",
        "mistake": "Grad-CAM without summing over the channels",
        "diagnosis": "reduce over the channels",
        "source": _gradcam(cam="weights * activations"),
    },
    {
        "cell": "ex1_gradcam_from_scratch",
        "test": "ex1_tests",
        "mistake": "calls Captum's LayerGradCam instead of implementing Grad-CAM",
        "diagnosis": "implement the method yourself",
        "source": _HEAD + '''    return LayerGradCam(model, layer).attribute(inputs, target=target, relu_attributions=relu_attributions)
''',
    },
    {
        "cell": "ex2_layergradcam",
        "test": "ex2_tests",
        "mistake": "wrong layer: the last convolution (before its BatchNorm and activation) instead of gradcam_layer",
        "diagnosis": "layer_name should be",
        "source": '''layer_name = "conv_head"
layer = dict(model.named_modules())[layer_name]
gradcam_map = LayerGradCam(model, layer).attribute(cat, target=predicted, relu_attributions=True)
gradcam_upsampled = LayerAttribution.interpolate(gradcam_map, tuple(cat.shape[2:]), interpolate_mode="bilinear")
''' + _PRINT_SHAPES,
    },
    {
        "cell": "ex2_layergradcam",
        "test": "ex2_tests",
        "mistake": "upsampled with Captum's default nearest interpolation instead of bilinear",
        "diagnosis": "interpolate_mode='nearest'",
        "source": '''layer_name = lab_model.gradcam_layer_name
layer = dict(model.named_modules())[layer_name]
gradcam_map = LayerGradCam(model, layer).attribute(cat, target=predicted, relu_attributions=True)
gradcam_upsampled = LayerAttribution.interpolate(gradcam_map, tuple(cat.shape[2:]))
''' + _PRINT_SHAPES,
    },
    {
        "cell": "ex3_guided_gradcam",
        "test": "ex3_tests",
        "mistake": "guided backpropagation alone, without the Grad-CAM map",
        "diagnosis": "guided backpropagation alone",
        "source": '''from captum.attr import GuidedBackprop
guided_gc = GuidedBackprop(model).attribute(cat, target=predicted)
''' + _SHOW_GUIDED,
    },
    {
        "cell": "ex3_guided_gradcam",
        "test": "ex3_tests",
        "mistake": "wrong target: the second most likely class",
        "diagnosis": "instead of the predicted class",
        "source": '''guided_gc = GuidedGradCam(model, lab_model.gradcam_layer).attribute(cat, target=int(logits.topk(2).indices[0, 1]))
''' + _SHOW_GUIDED,
    },
]
