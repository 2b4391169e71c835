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
_LAYER_IG_PATH = '''
    path = (a_base + alphas * (a - a_base)).flatten(0, 1).requires_grad_()
    handle = layer.register_forward_hook(lambda module, args, output: path)
    outputs = model(inputs.repeat(n_steps, *[1] * (inputs.dim() - 1)))
    handle.remove()
    (grads,) = torch.autograd.grad(outputs[:, target].sum(), path)
'''
_GAUSS_LEGENDRE = '''
    nodes, w = np.polynomial.legendre.leggauss(n_steps)
    alphas = torch.tensor(0.5 * (1 + nodes), dtype=a.dtype).view(-1, *[1] * a.dim())
    weights = torch.tensor(0.5 * w, dtype=a.dtype).view(-1, *[1] * a.dim())
'''

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1: layer IG from scratch
    {
        "cell": "ex1_layer_ig", "test": "ex1_tests",
        "mistake": "layer IG without multiplying by (a - a'): only the average gradient",
        "diagnosis": "multiply by (inputs - baselines)",
        "source": _LAYER_IG_HEAD + _GAUSS_LEGENDRE + _LAYER_IG_PATH
        + "    return (weights * grads.view(n_steps, *a.shape)).sum(0)\n",
    },
    {
        "cell": "ex1_layer_ig", "test": "ex1_tests",
        "mistake": "right Riemann sum instead of Captum's Gauss-Legendre points and weights",
        "diagnosis": "integration method",
        "source": _LAYER_IG_HEAD + '''
    alphas = torch.linspace(1 / n_steps, 1, n_steps).view(-1, *[1] * a.dim())
    weights = torch.full((n_steps,), 1 / n_steps).view(-1, *[1] * a.dim())
''' + _LAYER_IG_PATH + "    return (a - a_base) * (weights * grads.view(n_steps, *a.shape)).sum(0)\n",
    },
    {
        "cell": "ex1_layer_ig", "test": "ex1_tests",
        "mistake": "calls Captum's LayerIntegratedGradients instead of implementing it",
        "diagnosis": "implement the method yourself",
        "source": '''
def layer_integrated_gradients(model, layer, inputs, target, baselines=None, n_steps=16):
    return LayerIntegratedGradients(model, layer).attribute(inputs, baselines, target=target, n_steps=n_steps)
''',
    },
    # ---------------------------------------------------------------- exercise 2: layer IG on the block
    {
        "cell": "ex2_block_ig", "test": "ex2_tests",
        "mistake": "wrong target: the second most probable class",
        "diagnosis": "second most probable class",
        "source": '''
block_ig = LayerIntegratedGradients(model, lab_model.gradcam_layer).attribute(
    cat, target=int(logits.topk(2).indices[0, 1]), n_steps=LAYER_STEPS)
''',
    },
    {
        "cell": "ex2_block_ig", "test": "ex2_tests",
        "mistake": "layer IG on avgpool (the final linear layer's input) instead of the convolutional block",
        "diagnosis": "shape",
        "source": '''
block_ig = LayerIntegratedGradients(model, model.avgpool).attribute(cat, target=top_class, n_steps=LAYER_STEPS)
''',
    },
    # ---------------------------------------------------------------- exercise 3: neuron gradient
    {
        "cell": "ex3_neuron_gradient", "test": "ex3_tests",
        "mistake": "absolute value of the gradient (saliency habit)",
        "diagnosis": "absolute values",
        "source": '''
def neuron_gradient(model, layer, inputs, neuron_selector):
    saved = {}
    handle = layer.register_forward_hook(lambda module, args, output: saved.update(output=output))
    inputs = inputs.detach().requires_grad_()
    model(inputs)
    handle.remove()
    neuron = saved["output"][(slice(None), *neuron_selector)]
    return torch.autograd.grad(neuron.sum(), inputs)[0].abs()
''',
    },
    {
        "cell": "ex3_neuron_gradient", "test": "ex3_tests",
        "mistake": "row and column swapped when indexing the layer output",
        "diagnosis": "swapped",
        "source": '''
def neuron_gradient(model, layer, inputs, neuron_selector):
    saved = {}
    handle = layer.register_forward_hook(lambda module, args, output: saved.update(output=output))
    inputs = inputs.detach().requires_grad_()
    model(inputs)
    handle.remove()
    index = neuron_selector if len(neuron_selector) != 3 else (neuron_selector[0], neuron_selector[2], neuron_selector[1])
    neuron = saved["output"][(slice(None), *index)]
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
''',
    },
    {
        "cell": "ex4_corner_ig", "test": "ex4_tests",
        "mistake": "NeuronGradient instead of NeuronIntegratedGradients",
        "diagnosis": "inputs - baselines",
        "source": '''
corner_ig = NeuronGradient(model, neuron_layer).attribute(cat, (channel, 0, 0))
''',
    },
]
