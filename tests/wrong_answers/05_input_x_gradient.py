"""Wrong answers for lab 5 (Input x Gradient); see tests/wrong_answers/__init__.py for the format."""

_IXG_HEADER = '''def input_x_gradient(model, inputs, target):
    """inputs * dF_target(x)/dx for a batch. Captum: InputXGradient(model).attribute(inputs, target=target)."""
'''
_IG_HEADER = '''def ig_one_step(model, inputs, target, baselines=0):
    """(inputs - baselines) * dF_target/dx at the inputs: IG with one right Riemann step."""
'''

WRONG_ANSWERS = [
    # ------------------------------------------------------------------ exercise 1: from-scratch Input x Gradient
    {
        "cell": "ex1_input_x_gradient",
        "test": "ex1_tests",
        "mistake": "returns the gradient without multiplying by the input",
        "diagnosis": "multiply it by the input",
        "source": _IXG_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    logits = model(inputs)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    return gradient
''',
    },
    {
        "cell": "ex1_input_x_gradient",
        "test": "ex1_tests",
        "mistake": "multiplies by the pixel values in [0, 1] instead of the model's normalised input",
        "diagnosis": "pixel values in [0, 1]",
        "source": _IXG_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    logits = model(inputs)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    return lab_model.denormalize(inputs) * gradient
''',
    },
    {
        "cell": "ex1_input_x_gradient",
        "test": "ex1_tests",
        "mistake": "calls Captum's InputXGradient instead of implementing the method",
        "diagnosis": "implement the method yourself",
        "source": _IXG_HEADER + '''    return InputXGradient(model).attribute(inputs, target=target)
''',
    },
    # ------------------------------------------------------------------ exercise 2: Captum on the coffee photo
    {
        "cell": "ex2_captum_coffee",
        "test": "ex2_tests",
        "mistake": "wrong target: reuses the cat's class from the demo",
        "diagnosis": "cat's class",
        "source": '''coffee = lab_model.load_input("coffee")
coffee_target = int(model(coffee).argmax())
coffee_attributions = InputXGradient(model).attribute(coffee, target=target)
''',
    },
    {
        "cell": "ex2_captum_coffee",
        "test": "ex2_tests",
        "mistake": "attributes the softmax probability instead of the raw logit",
        "diagnosis": "softmax",
        "source": '''coffee = lab_model.load_input("coffee")
coffee_target = int(model(coffee).argmax())
probabilities = torch.nn.Sequential(model, torch.nn.Softmax(dim=1))
coffee_attributions = InputXGradient(probabilities).attribute(coffee, target=coffee_target)
''',
    },
    {
        "cell": "ex2_captum_coffee",
        "test": "ex2_tests",
        "mistake": "signed Saliency (the gradient alone) instead of Input x Gradient",
        "diagnosis": "multiply it by the input",
        "source": '''from captum.attr import Saliency
coffee = lab_model.load_input("coffee")
coffee_target = int(model(coffee).argmax())
coffee_attributions = Saliency(model).attribute(coffee, target=coffee_target, abs=False)
''',
    },
    # ------------------------------------------------------------------ exercise 3: IG with one step
    {
        "cell": "ex3_ig_one_step",
        "test": "ex3_tests",
        "mistake": "IG without (x - baseline): multiplies by the input, the baseline is ignored",
        "diagnosis": "baseline is ignored",
        "source": _IG_HEADER + '''    inputs = inputs.detach().requires_grad_(True)
    logits = model(inputs)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(logits.sum(), inputs)
    return inputs.detach() * gradient
''',
    },
    {
        "cell": "ex3_ig_one_step",
        "test": "ex3_tests",
        "mistake": "evaluates the gradient at the baseline (alpha = 0) instead of the input",
        "diagnosis": "left Riemann",
        "source": _IG_HEADER + '''    start = (torch.zeros_like(inputs) + baselines).requires_grad_(True)
    logits = model(start)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(logits.sum(), start)
    return (inputs - baselines) * gradient
''',
    },
    {
        "cell": "ex3_ig_one_step",
        "test": "ex3_tests",
        "mistake": "evaluates the gradient at the midpoint of the path",
        "diagnosis": "midpoint",
        "source": _IG_HEADER + '''    middle = ((inputs + baselines) / 2).detach().requires_grad_(True)
    logits = model(middle)[torch.arange(len(inputs)), target]
    (gradient,) = torch.autograd.grad(logits.sum(), middle)
    return (inputs - baselines) * gradient
''',
    },
]
