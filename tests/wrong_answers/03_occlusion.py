"""Wrong answers for lab 3 (occlusion); see tests/wrong_answers/__init__.py for the format."""

_HEAD = '''def occlusion(model, inputs, target, sliding_window_shapes, strides, baselines=0):
    "Mean over the windows covering each feature of F_t(x) - F_t(x with the window set to baselines)."
'''


def _occlusion(drop="score - model(occluded)[rows, target]", result="total / count"):
    return _HEAD + f'''    rows = torch.arange(len(inputs))
    baselines = torch.as_tensor(baselines, dtype=inputs.dtype).expand_as(inputs)
    total = torch.zeros_like(inputs)
    count = torch.zeros_like(inputs[:1])
    starts = [range(0, math.ceil((d - w) / s) * s + 1, s)
              for d, w, s in zip(inputs.shape[1:], sliding_window_shapes, strides)]
    with torch.no_grad():
        score = model(inputs)[rows, target]
        for corner in itertools.product(*starts):
            window = (slice(None),) + tuple(slice(i, i + w) for i, w in zip(corner, sliding_window_shapes))
            occluded = inputs.clone()
            occluded[window] = baselines[window]
            total[window] += ({drop}).view(-1, 1, 1, 1)
            count[window] += 1
    return {result}
'''


_SHOW_TOP2 = '''fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for k in range(2):
    viz.visualize_image_attr(to_hwc(occlusion_top2[k : k + 1]), cat_image, "blended_heat_map", "all",
                             plt_fig_axis=(fig, axes[k]), use_pyplot=False, show_colorbar=True,
                             title=f"{int(top2[k])} {imagenet_class_names()[int(top2[k])]}")
plt.show()
'''

WRONG_ANSWERS = [
    {
        "cell": "ex1_occlusion_from_scratch",
        "test": "ex1_tests",
        "mistake": "occlusion with the sign flipped: F(x_occluded) - F(x)",
        "diagnosis": "sign is flipped",
        "source": _occlusion(drop="model(occluded)[rows, target] - score"),
    },
    {
        "cell": "ex1_occlusion_from_scratch",
        "test": "ex1_tests",
        "mistake": "overlapping windows summed, not averaged",
        "diagnosis": "not their mean",
        "source": _occlusion(result="total"),
    },
    {
        "cell": "ex1_occlusion_from_scratch",
        "test": "ex1_tests",
        "mistake": "calls Captum instead of implementing occlusion",
        "diagnosis": "implement the method yourself",
        "source": _HEAD + '''    return Occlusion(model).attribute(inputs, target=target, sliding_window_shapes=sliding_window_shapes,
                                      strides=strides, baselines=baselines)
''',
    },
    {
        "cell": "ex2_two_targets",
        "test": "ex2_tests",
        "mistake": "wrong target: the top-1 class for both rows",
        "diagnosis": "in both rows",
        "source": '''top2 = logits.topk(2, dim=1).indices[0]
occlusion_top2 = Occlusion(model).attribute(cat.expand(2, -1, -1, -1), target=int(top2[0]),
                                            sliding_window_shapes=(3, 56, 56), strides=(3, 28, 28),
                                            baselines=0, perturbations_per_eval=32)
''' + _SHOW_TOP2,
    },
    {
        "cell": "ex2_two_targets",
        "test": "ex2_tests",
        "mistake": "wrong target order: argsort gives the two classes least likely first",
        "diagnosis": "most likely first",
        "source": '''top2 = logits.argsort(dim=1)[0, -2:]
occlusion_top2 = Occlusion(model).attribute(cat.expand(2, -1, -1, -1), target=top2,
                                            sliding_window_shapes=(3, 56, 56), strides=(3, 28, 28),
                                            baselines=0, perturbations_per_eval=32)
''' + _SHOW_TOP2,
    },
]
