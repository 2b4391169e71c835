"""Wrong answers for lab 3 (occlusion); see tests/wrong_answers/__init__.py for the format."""

_HEAD = '''def occlusion(model, inputs, target, sliding_window_shapes, strides, baselines=0):
    "Mean over the windows covering each feature of F_t(x) - F_t(x with the window set to baselines)."
'''


def _occlusion(drop="score - model(occluded)[rows, target]", result="total / count",
               score="score = model(inputs)[rows, target]",
               base="baselines = torch.as_tensor(baselines, dtype=inputs.dtype).expand_as(inputs)",
               fill="occluded[window] = baselines[window]",
               positions="math.ceil((d - w) / s) * s + 1"):
    return _HEAD + f'''    rows = torch.arange(len(inputs))
    {base}
    total = torch.zeros_like(inputs)
    count = torch.zeros_like(inputs[:1])
    starts = [range(0, {positions}, s)
              for d, w, s in zip(inputs.shape[1:], sliding_window_shapes, strides)]
    with torch.no_grad():
        {score}
        for corner in itertools.product(*starts):
            window = (slice(None),) + tuple(slice(i, i + w) for i, w in zip(corner, sliding_window_shapes))
            occluded = inputs.clone()
            {fill}
            total[window] += ({drop}).view(-1, 1, 1, 1)
            count[window] += 1
    return {result}
'''


# Windows over the height and width only: the channel entries of sliding_window_shapes and strides are ignored.
_ALL_CHANNELS = _HEAD + '''    _, h, w = sliding_window_shapes
    _, sh, sw = strides
    rows = torch.arange(len(inputs))
    baselines = torch.as_tensor(baselines, dtype=inputs.dtype).expand_as(inputs)
    height, width = inputs.shape[2:]
    total = torch.zeros_like(inputs)
    count = torch.zeros_like(inputs[:1])
    with torch.no_grad():
        score = model(inputs)[rows, target]
        for i in range(0, math.ceil((height - h) / sh) * sh + 1, sh):
            for j in range(0, math.ceil((width - w) / sw) * sw + 1, sw):
                occluded = inputs.clone()
                occluded[:, :, i:i + h, j:j + w] = baselines[:, :, i:i + h, j:j + w]
                total[:, :, i:i + h, j:j + w] += (score - model(occluded)[rows, target]).view(-1, 1, 1, 1)
                count[:, :, i:i + h, j:j + w] += 1
    return total / count
'''

_CLASSES = '''cat_class = next(c for c in cat_and_coffee_ranking if c in cat_classes)
coffee_class = next(c for c in cat_and_coffee_ranking if c in coffee_classes)
'''

_CALL = '''occlusion_two = Occlusion(model).attribute(cat_and_coffee.expand(2, -1, -1, -1), target={target},
                                           sliding_window_shapes=(3, 45, 45), strides={strides},
                                           baselines=0, perturbations_per_eval=per_eval)
'''

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1: occlusion from scratch
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
        "mistake": "only int targets: outputs[:, target] gives an (N, N) block for one target per sample",
        "diagnosis": "raised RuntimeError",
        "parts": ["targets"],
        "source": _occlusion(score="score = model(inputs)[:, target]",
                             drop="score - model(occluded)[:, target]"),
    },
    {
        "cell": "ex1_occlusion_from_scratch",
        "test": "ex1_tests",
        "mistake": "ignores the baselines: always occludes with 0",
        "diagnosis": "instead of the given `baselines`",
        "parts": ["baselines"],
        "source": _occlusion(fill="occluded[window] = 0"),
    },
    {
        "cell": "ex1_occlusion_from_scratch",
        "test": "ex1_tests",
        "mistake": "assumes baselines is a number: a baseline tensor cannot be assigned to a window",
        "diagnosis": "raised RuntimeError",
        "parts": ["baselines"],
        "source": _occlusion(base="pass", fill="occluded[window] = baselines"),
    },
    {
        "cell": "ex1_occlusion_from_scratch",
        "test": "ex1_tests",
        "mistake": "windows over all channels: ignores the channel entries of sliding_window_shapes and strides",
        "diagnosis": "windows over all channels",
        "parts": ["shapes"],
        "source": _ALL_CHANNELS,
    },
    {
        "cell": "ex1_occlusion_from_scratch",
        "test": "ex1_tests",
        "mistake": "floor instead of ceil: the last windows, cut at the border, are missing (0/0 there)",
        "diagnosis": "cut at the border",
        "parts": ["shapes"],
        "source": _occlusion(positions="d - w + 1"),
    },
    {
        "cell": "ex1_occlusion_from_scratch",
        "test": "ex1_tests",
        "mistake": "calls Captum instead of implementing occlusion",
        "diagnosis": "Occlusion",
        "source": _HEAD + '''    return Occlusion(model).attribute(inputs, target=target, sliding_window_shapes=sliding_window_shapes,
                                      strides=strides, baselines=baselines)
''',
    },
    # ---------------------------------------------------------------- exercise 2: one image, two targets
    {
        "cell": "ex2_two_targets",
        "test": "ex2_tests",
        "mistake": "wrong target: the cat class for both rows",
        "diagnosis": "in both rows",
        "parts": ["attributions"],
        "source": _CLASSES + _CALL.format(target="cat_class", strides="(3, 22, 22)"),
    },
    {
        "cell": "ex2_two_targets",
        "test": "ex2_tests",
        "mistake": "the two classes ranked first instead of one class of each group",
        "diagnosis": "not in its group",
        "source": '''cat_class, coffee_class = cat_and_coffee_ranking[0], cat_and_coffee_ranking[1]
''' + _CALL.format(target="[cat_class, coffee_class]", strides="(3, 22, 22)"),
    },
    {
        "cell": "ex2_two_targets",
        "test": "ex2_tests",
        "mistake": "rows in the wrong order: coffee first",
        "diagnosis": "wrong order",
        "parts": ["attributions"],
        "source": _CLASSES + _CALL.format(target="[coffee_class, cat_class]", strides="(3, 22, 22)"),
    },
    {
        "cell": "ex2_two_targets",
        "test": "ex2_tests",
        "mistake": "the classes as tensors (indexing a tensor ranking) instead of ints",
        "diagnosis": "should be a Python int",
        "parts": ["classes"],
        "source": '''ranking_tensor = torch.tensor(cat_and_coffee_ranking)
cat_class = ranking_tensor[torch.isin(ranking_tensor, torch.tensor(cat_classes))][0]
coffee_class = ranking_tensor[torch.isin(ranking_tensor, torch.tensor(coffee_classes))][0]
''' + _CALL.format(target="torch.stack([cat_class, coffee_class])", strides="(3, 22, 22)"),
    },
]
