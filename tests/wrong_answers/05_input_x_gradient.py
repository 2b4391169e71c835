"""Wrong answers for lab 5 (Input x Gradient and saturation); see tests/wrong_answers/__init__.py for the format."""

_PATH_HEADER = '''def path_gradients(model, inputs, target, alphas, baselines=0):
    """dF_target/dx at x' + alpha (x - x') for each alpha: shape (len(alphas), *inputs.shape)."""
'''

_COFFEE = '''coffee = lab_model.load_input("coffee").to(device)
coffee_target = int(model(coffee).argmax())
'''
_IXG_GAP = '''coffee_ixg = InputXGradient(model).attribute(coffee, target=coffee_target).detach()
with torch.no_grad():
    coffee_change = model(coffee)[0, coffee_target] - model(torch.zeros_like(coffee))[0, coffee_target]
coffee_ixg_gap = float(coffee_ixg.sum() - coffee_change)
'''
_IG = '''coffee_ig, coffee_delta = IntegratedGradients(model).attribute(coffee, target=coffee_target, n_steps=16,
                                                               internal_batch_size=8, return_convergence_delta=True)
'''

WRONG_ANSWERS = [
    # ------------------------------------------------------------------ exercise 1: from-scratch path gradients
    {
        "cell": "ex1_path_gradients",
        "test": "ex1_tests",
        "mistake": "ignores the baselines: always the path from 0 (right for the default baseline only)",
        "diagnosis": "baselines are ignored",
        "parts": ["baselines"],
        "source": _PATH_HEADER + '''    rows = torch.arange(len(inputs))
    gradients = []
    for alpha in alphas:
        points = (float(alpha) * inputs.detach()).requires_grad_(True)
        (gradient,) = torch.autograd.grad(model(points)[rows, target].sum(), points)
        gradients.append(gradient)
    return torch.stack(gradients)
''',
    },
    {
        "cell": "ex1_path_gradients",
        "test": "ex1_tests",
        "mistake": "differentiates with respect to the inputs instead of the path point (a factor alpha)",
        "diagnosis": "alpha times the expected gradients",
        "source": _PATH_HEADER + '''    rows = torch.arange(len(inputs))
    gradients = []
    for alpha in alphas:
        x = inputs.detach().clone().requires_grad_(True)
        points = baselines + float(alpha) * (x - baselines)
        (gradient,) = torch.autograd.grad(model(points)[rows, target].sum(), x)
        gradients.append(gradient)
    return torch.stack(gradients)
''',
    },
    {
        "cell": "ex1_path_gradients",
        "test": "ex1_tests",
        "mistake": "works for an int target only: outputs[:, target] sums every listed class for every sample",
        "diagnosis": "sum of the logits of all the listed targets",
        "parts": ["per_sample"],
        "source": _PATH_HEADER + '''    gradients = []
    for alpha in alphas:
        points = (baselines + float(alpha) * (inputs.detach() - baselines)).requires_grad_(True)
        (gradient,) = torch.autograd.grad(model(points)[:, target].sum(), points)
        gradients.append(gradient)
    return torch.stack(gradients)
''',
    },
    {
        "cell": "ex1_path_gradients",
        "test": "ex1_tests",
        "mistake": "the gradient at the input for every alpha (the path points are never used)",
        "diagnosis": "gradient at the inputs for every alpha",
        "source": _PATH_HEADER + '''    x = inputs.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(x)[torch.arange(len(x)), target].sum(), x)
    return torch.stack([gradient for alpha in alphas])
''',
    },
    {
        "cell": "ex1_path_gradients",
        "test": "ex1_tests",
        "mistake": "returns IG's terms: the gradients multiplied by (inputs - baselines)",
        "diagnosis": "times (inputs - baselines)",
        "source": _PATH_HEADER + '''    rows = torch.arange(len(inputs))
    gradients = []
    for alpha in alphas:
        points = (baselines + float(alpha) * (inputs.detach() - baselines)).requires_grad_(True)
        (gradient,) = torch.autograd.grad(model(points)[rows, target].sum(), points)
        gradients.append(gradient * (inputs.detach() - baselines))
    return torch.stack(gradients)
''',
    },
    {
        "cell": "ex1_path_gradients",
        "test": "ex1_tests",
        "mistake": "the path the wrong way round: from the inputs (alpha = 0) to the baselines (alpha = 1)",
        "diagnosis": "from the inputs to the baselines",
        "source": _PATH_HEADER + '''    rows = torch.arange(len(inputs))
    gradients = []
    for alpha in alphas:
        points = (inputs.detach() + float(alpha) * (baselines - inputs.detach())).requires_grad_(True)
        (gradient,) = torch.autograd.grad(model(points)[rows, target].sum(), points)
        gradients.append(gradient)
    return torch.stack(gradients)
''',
    },
    # ------------------------------------------------------------------ exercise 2: completeness with Captum
    {
        "cell": "ex2_completeness",
        "test": "ex2_tests",
        "mistake": "Captum's default n_steps=50 instead of 16",
        "diagnosis": "n_steps",
        "parts": ["ig", "delta"],
        "source": _COFFEE + _IXG_GAP + '''coffee_ig, coffee_delta = IntegratedGradients(model).attribute(coffee, target=coffee_target, internal_batch_size=10,
                                                               return_convergence_delta=True)
''',
    },
    {
        "cell": "ex2_completeness",
        "test": "ex2_tests",
        "mistake": "the gap of Input x Gradient with the sign flipped: (F(x) - F(0)) - sum",
        "diagnosis": "sign is flipped",
        "parts": ["ixg_gap"],
        "source": _COFFEE + '''coffee_ixg = InputXGradient(model).attribute(coffee, target=coffee_target).detach()
with torch.no_grad():
    coffee_change = model(coffee)[0, coffee_target] - model(torch.zeros_like(coffee))[0, coffee_target]
coffee_ixg_gap = float(coffee_change - coffee_ixg.sum())
''' + _IG,
    },
    {
        "cell": "ex2_completeness",
        "test": "ex2_tests",
        "mistake": "reuses the cat's predicted class for the coffee photo",
        "diagnosis": "cat's class",
        "source": '''coffee = lab_model.load_input("coffee").to(device)
coffee_target = predicted
''' + _IXG_GAP + _IG,
    },
    {
        "cell": "ex2_completeness",
        "test": "ex2_tests",
        "mistake": "compares with F(x) only, forgetting F(0) of the zero baseline",
        "diagnosis": "subtract F_t(0) too",
        "parts": ["ixg_gap"],
        "source": _COFFEE + '''coffee_ixg = InputXGradient(model).attribute(coffee, target=coffee_target).detach()
with torch.no_grad():
    coffee_ixg_gap = float(coffee_ixg.sum() - model(coffee)[0, coffee_target])
''' + _IG,
    },
    {
        "cell": "ex2_completeness",
        "test": "ex2_tests",
        "mistake": "right Riemann sum (as in the demo table) instead of Captum's default Gauss-Legendre",
        "diagnosis": "riemann_right",
        "parts": ["ig", "delta"],
        "source": _COFFEE + _IXG_GAP + '''coffee_ig, coffee_delta = IntegratedGradients(model).attribute(coffee, target=coffee_target, n_steps=16,
                                                               method="riemann_right", return_convergence_delta=True)
''',
    },
]
