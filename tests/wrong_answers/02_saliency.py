"""Wrong answers for lab 2 (saliency); see tests/wrong_answers/__init__.py for the format."""

_VANILLA_HEADER = '''def vanilla_gradient(model, inputs, target, abs=True):
    """|dF_target(x)/dx| (signed if abs=False), per channel, for a batch. Captum: Saliency(model).attribute."""
'''

WRONG_ANSWERS = [
    # ------------------------------------------------------------------ exercise 1: from-scratch vanilla gradient
    {
        "cell": "ex1_vanilla_gradient",
        "test": "ex1_tests",
        "mistake": "gradient of the softmax probability instead of the raw logit",
        "diagnosis": "softmax",
        "source": _VANILLA_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    probabilities = torch.softmax(model(inputs), dim=1)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(probabilities.sum(), inputs)
    return gradient.abs() if abs else gradient
''',
    },
    {
        "cell": "ex1_vanilla_gradient",
        "test": "ex1_tests",
        "mistake": "signed gradient where the absolute value is asked for (abs ignored)",
        "diagnosis": "absolute value is missing",
        "parts": ["abs", "per_sample"],
        "source": _VANILLA_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    logits = model(inputs)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    return gradient
''',
    },
    {
        "cell": "ex1_vanilla_gradient",
        "test": "ex1_tests",
        "mistake": "works for an int target only: outputs[:, target] sums every listed class for every sample",
        "diagnosis": "sum of the logits of all the listed targets",
        "parts": ["per_sample"],
        "source": _VANILLA_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(inputs)[:, target].sum(), inputs)
    return gradient.abs() if abs else gradient
''',
    },
    {
        "cell": "ex1_vanilla_gradient",
        "test": "ex1_tests",
        "mistake": "ignores batches: takes the logit of the first sample only (outputs[0, target])",
        "diagnosis": "first sample only",
        "source": _VANILLA_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(inputs)[0, target].sum(), inputs)
    return gradient.abs() if abs else gradient
''',
    },
    {
        "cell": "ex1_vanilla_gradient",
        "test": "ex1_tests",
        "mistake": "always takes the absolute value (abs=False ignored)",
        "diagnosis": "absolute values of the expected ones",
        "parts": ["signed", "per_sample"],
        "source": _VANILLA_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    logits = model(inputs)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    return gradient.abs()
''',
    },
    {
        "cell": "ex1_vanilla_gradient",
        "test": "ex1_tests",
        "mistake": "calls Captum's Saliency instead of implementing the gradient",
        "diagnosis": "Saliency",
        "source": _VANILLA_HEADER + '''    return Saliency(model).attribute(inputs, target=target, abs=abs)
''',
    },
    # ------------------------------------------------------------------ exercise 2: Captum Saliency, class ranked second
    {
        "cell": "ex2_captum_second_class",
        "test": "ex2_tests",
        "mistake": "right class, but the saliency of the predicted class",
        "diagnosis": "top class",
        "parts": ["saliency"],
        "source": '''second_class = int(ranking[1])
second_saliency = Saliency(model).attribute(cat, target=predicted)
''',
    },
    {
        "cell": "ex2_captum_second_class",
        "test": "ex2_tests",
        "mistake": "argsort in ascending order: the class with the second lowest logit",
        "diagnosis": "descending",
        "source": '''second_class = int(logits.argsort(dim=1)[0, 1])
second_saliency = Saliency(model).attribute(cat, target=second_class)
''',
    },
    {
        "cell": "ex2_captum_second_class",
        "test": "ex2_tests",
        "mistake": "signed gradient (abs=False) where Captum's default absolute saliency is asked for",
        "diagnosis": "absolute value is missing",
        "parts": ["saliency"],
        "source": '''second_class = int(ranking[1])
second_saliency = Saliency(model).attribute(cat, target=second_class, abs=False)
''',
    },
    {
        "cell": "ex2_captum_second_class",
        "test": "ex2_tests",
        "mistake": "stores the class as a 0-d tensor instead of an int",
        "diagnosis": "Python int",
        "parts": ["class"],
        "source": '''second_class = ranking[1]
second_saliency = Saliency(model).attribute(cat, target=second_class)
''',
    },
    {
        "cell": "ex2_captum_second_class",
        "test": "ex2_tests",
        "mistake": "saliency of the softmax probability instead of the raw logit",
        "diagnosis": "softmax",
        "parts": ["saliency"],
        "source": '''second_class = int(ranking[1])
second_saliency = Saliency(torch.nn.Sequential(model, torch.nn.Softmax(dim=1))).attribute(cat, target=second_class)
''',
    },
    # ------------------------------------------------------------------ exercise 3: CS231n channel reduction
    {
        "cell": "ex3_channel_max",
        "test": "ex3_tests",
        "mistake": "maximum of the signed gradients (abs forgotten)",
        "diagnosis": "absolute value before the maximum",
        "source": '''def max_abs_over_channels(gradients):
    return gradients.amax(dim=1)
''',
    },
    {
        "cell": "ex3_channel_max",
        "test": "ex3_tests",
        "mistake": "sum over channels (Captum's display reduction) instead of the maximum",
        "diagnosis": "sum of the absolute values",
        "parts": ["rgb"],  # with one channel the sum is the maximum
        "source": '''def max_abs_over_channels(gradients):
    return gradients.abs().sum(dim=1)
''',
    },
    {
        "cell": "ex3_channel_max",
        "test": "ex3_tests",
        "mistake": "hard-codes three channels: fails on one-channel gradients",
        "diagnosis": "IndexError",
        "parts": ["gray"],
        "source": '''def max_abs_over_channels(gradients):
    red, green, blue = gradients[:, 0].abs(), gradients[:, 1].abs(), gradients[:, 2].abs()
    return torch.maximum(torch.maximum(red, green), blue)
''',
    },
    {
        "cell": "ex3_channel_max",
        "test": "ex3_tests",
        "mistake": "returns torch.max's (values, indices) pair instead of the values",
        "diagnosis": "tuple of 2 items",
        "source": '''def max_abs_over_channels(gradients):
    return gradients.abs().max(dim=1)
''',
    },
    {
        "cell": "ex3_channel_max",
        "test": "ex3_tests",
        "mistake": "keepdim=True: shape (N, 1, H, W) instead of (N, H, W)",
        "diagnosis": "keepdim",
        "source": '''def max_abs_over_channels(gradients):
    return gradients.abs().amax(dim=1, keepdim=True)
''',
    },
]
