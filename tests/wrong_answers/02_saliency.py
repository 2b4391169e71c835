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
        "source": _VANILLA_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    logits = model(inputs)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    return gradient
''',
    },
    {
        "cell": "ex1_vanilla_gradient",
        "test": "ex1_tests",
        "mistake": "calls Captum's Saliency instead of implementing the gradient",
        "diagnosis": "implement the method yourself",
        "source": _VANILLA_HEADER + '''    return Saliency(model).attribute(inputs, target=target, abs=abs)
''',
    },
    # ------------------------------------------------------------------ exercise 2: Captum Saliency for "tiger cat"
    {
        "cell": "ex2_captum_tiger_cat",
        "test": "ex2_tests",
        "mistake": "wrong target: the predicted class instead of the named class",
        "diagnosis": "instead of tiger cat",
        "source": '''tiger_cat = names.index("tiger cat")
tiger_saliency = Saliency(model).attribute(cat, target=int(model(cat).argmax()))
''',
    },
    {
        "cell": "ex2_captum_tiger_cat",
        "test": "ex2_tests",
        "mistake": "signed gradient (abs=False) where Captum's default absolute saliency is asked for",
        "diagnosis": "absolute value is missing",
        "source": '''tiger_cat = names.index("tiger cat")
tiger_saliency = Saliency(model).attribute(cat, target=tiger_cat, abs=False)
''',
    },
    {
        "cell": "ex2_captum_tiger_cat",
        "test": "ex2_tests",
        "mistake": "saliency of the softmax probability instead of the raw logit",
        "diagnosis": "softmax",
        "source": '''tiger_cat = names.index("tiger cat")
tiger_saliency = Saliency(torch.nn.Sequential(model, torch.nn.Softmax(dim=1))).attribute(cat, target=tiger_cat)
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
        "source": '''def max_abs_over_channels(gradients):
    return gradients.abs().sum(dim=1)
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
