"""Wrong answers for lab 9 (layer and neuron attribution); format in tests/wrong_answers/__init__.py."""

_LAYER_IG_HEAD = '''
def layer_integrated_gradients(model, layer, inputs, target, baselines=None, n_steps=16):
    baselines = torch.zeros_like(inputs) if baselines is None else baselines.expand_as(inputs)
    saved = []
    handle = layer.register_forward_hook(lambda module, args, output: saved.append(output.detach().clone()))
    with torch.no_grad():
        model(inputs), model(baselines)
    handle.remove()
    a, a_base = saved
'''
_GAUSS_LEGENDRE = '''
    nodes, w = np.polynomial.legendre.leggauss(n_steps)
    alphas = torch.tensor(0.5 * (1 + nodes), dtype=a.dtype).view(-1, *[1] * a.dim())
    weights = torch.tensor(0.5 * w, dtype=a.dtype).view(-1, *[1] * a.dim())
'''
_RIGHT_RIEMANN = '''
    alphas = torch.linspace(1 / n_steps, 1, n_steps).view(-1, *[1] * a.dim())
    weights = torch.full((n_steps,), 1 / n_steps).view(-1, *[1] * a.dim())
'''
_PATH = '''
    path = (a_base + alphas * (a - a_base)).flatten(0, 1).requires_grad_()
    handle = layer.register_forward_hook(lambda module, args, output: path)
    outputs = model(inputs.repeat(n_steps, *[1] * (inputs.dim() - 1)))
    handle.remove()
'''
_PER_SAMPLE_GRADIENT = '''
    targets = torch.as_tensor(target).expand(len(inputs)).repeat(n_steps)
    (grads,) = torch.autograd.grad(outputs[torch.arange(len(outputs)), targets].sum(), path)
'''
_RETURN = "    return (a - a_base) * (weights * grads.view(n_steps, *a.shape)).sum(0)\n"

_NEURON_GRADIENT_HEAD = '''
def neuron_gradient(model, layer, inputs, neuron_selector):
    saved = {}
    handle = layer.register_forward_hook(lambda module, args, output: saved.update(output=output))
    inputs = inputs.detach().requires_grad_()
    model(inputs)
    handle.remove()
'''
_INDEX = "    index = (neuron_selector,) if isinstance(neuron_selector, int) else tuple(neuron_selector)\n"

_MID_IG = "mid_ig = LayerIntegratedGradients(model, mid_layer).attribute(cat, target=predicted, n_steps=LAYER_STEPS)\n"
_MID_CONDUCTANCE = ("mid_conductance = LayerConductance(model, mid_layer).attribute(cat, target=predicted, "
                    "n_steps=LAYER_STEPS)\n")
_MID_GRADCAM = "mid_gradcam = LayerGradCam(model, mid_layer).attribute(cat, target=predicted)\n"
_MID_PRINT = 'print("shapes:", tuple(mid_ig.shape), tuple(mid_conductance.shape), tuple(mid_gradcam.shape))\n'

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1: layer IG from scratch
    {
        "cell": "ex1_layer_ig", "test": "ex1_tests",
        "mistake": "right Riemann sum (points k/n, weights 1/n) instead of Captum's Gauss-Legendre points and "
                   "weights: right on avgpool and the last block, wrong wherever the quadrature matters",
        "diagnosis": "right Riemann sum",
        "source": _LAYER_IG_HEAD + _RIGHT_RIEMANN + _PATH + _PER_SAMPLE_GRADIENT + _RETURN,
    },
    {
        "cell": "ex1_layer_ig", "test": "ex1_tests",
        "mistake": "layer IG without multiplying by (a - a'): only the average gradient along the path",
        "diagnosis": "multiply by (inputs - baselines)",
        "source": _LAYER_IG_HEAD + _GAUSS_LEGENDRE + _PATH + _PER_SAMPLE_GRADIENT
        + "    return (weights * grads.view(n_steps, *a.shape)).sum(0)\n",
    },
    {
        "cell": "ex1_layer_ig", "test": "ex1_tests",
        "mistake": "outputs[:, target]: right for an int target, but a list or tensor of targets selects every listed "
                   "class for every sample (the gradient of their sum)",
        "diagnosis": "sum of the listed targets",
        "parts": ["targets"],
        "source": _LAYER_IG_HEAD + _GAUSS_LEGENDRE + _PATH
        + "    (grads,) = torch.autograd.grad(outputs[:, target].sum(), path)\n" + _RETURN,
    },
    {
        "cell": "ex1_layer_ig", "test": "ex1_tests",
        "mistake": "ignores the baselines argument (always zeros)",
        "diagnosis": "zero baselines",
        "parts": ["baselines"],
        "source": _LAYER_IG_HEAD.replace(
            "torch.zeros_like(inputs) if baselines is None else baselines.expand_as(inputs)",
            "torch.zeros_like(inputs)") + _GAUSS_LEGENDRE + _PATH + _PER_SAMPLE_GRADIENT + _RETURN,
    },
    # ---------------------------------------------------------------- exercise 2: three layer methods, middle block
    {
        "cell": "ex2_mid_layer", "test": "ex2_tests",
        "mistake": "layer IG on the last block (lab_model.gradcam_layer) instead of mid_layer",
        "diagnosis": "last block",
        "parts": ["ig"],
        "source": ("mid_ig = LayerIntegratedGradients(model, lab_model.gradcam_layer).attribute(cat, target=predicted, "
                   "n_steps=LAYER_STEPS)\n" + _MID_CONDUCTANCE + _MID_GRADCAM + _MID_PRINT),
    },
    {
        "cell": "ex2_mid_layer", "test": "ex2_tests",
        "mistake": "conductance of the class ranked second instead of predicted",
        "diagnosis": "class ranked second",
        "parts": ["conductance"],
        "source": (_MID_IG + "mid_conductance = LayerConductance(model, mid_layer).attribute(cat, target=ranking[1], "
                   "n_steps=LAYER_STEPS)\n" + _MID_GRADCAM + _MID_PRINT),
    },
    {
        "cell": "ex2_mid_layer", "test": "ex2_tests",
        "mistake": "Grad-CAM with relu_attributions=True (the paper's ReLU) where Captum's default is asked for",
        "diagnosis": "negative values are set to 0",
        "parts": ["gradcam"],
        "source": (_MID_IG + _MID_CONDUCTANCE + "mid_gradcam = LayerGradCam(model, mid_layer).attribute(cat, "
                   "target=predicted, relu_attributions=True)\n" + _MID_PRINT),
    },
    # ---------------------------------------------------------------- exercise 3: neuron gradient
    {
        "cell": "ex3_neuron_gradient", "test": "ex3_tests",
        "mistake": "absolute value of the gradient (saliency habit)",
        "diagnosis": "absolute values",
        "source": _NEURON_GRADIENT_HEAD + _INDEX + '''
    neuron = saved["output"][(slice(None), *index)]
    return torch.autograd.grad(neuron.sum(), inputs)[0].abs()
''',
    },
    {
        "cell": "ex3_neuron_gradient", "test": "ex3_tests",
        "mistake": "handles tuple selectors only: (slice(None), *neuron_selector) fails for an int selector",
        "diagnosis": "raised TypeError",
        "parts": ["int"],
        "source": _NEURON_GRADIENT_HEAD + '''
    neuron = saved["output"][(slice(None), *neuron_selector)]
    return torch.autograd.grad(neuron.sum(), inputs)[0]
''',
    },
    {
        "cell": "ex3_neuron_gradient", "test": "ex3_tests",
        "mistake": "row and column swapped when indexing the layer output",
        "diagnosis": "row and column swapped",
        "parts": ["lab", "batch"],
        "source": _NEURON_GRADIENT_HEAD + _INDEX + '''
    if len(index) == 3:
        index = (index[0], index[2], index[1])
    neuron = saved["output"][(slice(None), *index)]
    return torch.autograd.grad(neuron.sum(), inputs)[0]
''',
    },
    {
        "cell": "ex3_neuron_gradient", "test": "ex3_tests",
        "mistake": "selects the neuron of the first sample only (output[0, ...]): right for one image",
        "diagnosis": "first sample",
        "parts": ["batch", "int"],
        "source": _NEURON_GRADIENT_HEAD + _INDEX + '''
    neuron = saved["output"][(0, *index)]
    return torch.autograd.grad(neuron.sum(), inputs)[0]
''',
    },
    # ---------------------------------------------------------------- exercise 4: corner neuron IG
    {
        "cell": "ex4_corner_ig", "test": "ex4_tests",
        "mistake": "the demo's neuron instead of the corner neuron",
        "diagnosis": "not the corner",
        "source": '''
corner_ig = NeuronIntegratedGradients(model, neuron_layer).attribute(cat, neuron, n_steps=NEURON_STEPS)
''' + "corner_box = nonzero_box(corner_ig.detach().cpu())\n",
    },
    {
        "cell": "ex4_corner_ig", "test": "ex4_tests",
        "mistake": "NeuronGradient instead of NeuronIntegratedGradients",
        "diagnosis": "inputs - baselines",
        "source": '''
corner_ig = NeuronGradient(model, neuron_layer).attribute(cat, (channel, 0, 0))
''' + "corner_box = nonzero_box(corner_ig.detach().cpu())\n",
    },
]
