"""Realistic wrong answers for lab 06 (Integrated Gradients); format in tests/wrong_answers/__init__.py."""

_IG_HEAD = '''def ig_right_riemann(model, inputs, target, baselines=None, n_steps=16):
    """Integrated Gradients (x - x') * mean_k grad F_t(x' + k/m (x - x')), k = 1..m (right Riemann sum)."""
    if baselines is None:
        baselines = torch.zeros_like(inputs)
'''

_EX2_VIZ = '''
viz.visualize_image_attr_multiple(to_hwc(attr_black), image, methods=["original_image", "heat_map"],
                                  signs=["all", "absolute_value"], cmap="inferno", fig_size=(7, 3),
                                  titles=["cat", "|IG| (black baseline)"], use_pyplot=True)
print("delta_black:", delta_black)
'''

_EX3_VIZ = '''
viz.visualize_image_attr(to_hwc(attr_gshap), image, method="blended_heat_map", sign="positive", cmap="inferno",
                         fig_size=(4, 4), title="GradientShap, positive", use_pyplot=True)
'''

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="IG without multiplying by (x - baseline): the mean gradient along the path",
         diagnosis="not multiplied by (inputs - baselines)",
         source=_IG_HEAD + '''    total = torch.zeros_like(inputs)
    for k in range(1, n_steps + 1):
        points = (baselines + k / n_steps * (inputs - baselines)).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(points)[:, target].sum(), points)
        total += grad
    return total / n_steps
'''),
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="left Riemann sum: alphas 0, 1/m, ..., (m-1)/m (off by one)",
         diagnosis="left Riemann sum",
         source=_IG_HEAD + '''    total = torch.zeros_like(inputs)
    for k in range(n_steps):
        points = (baselines + k / n_steps * (inputs - baselines)).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(points)[:, target].sum(), points)
        total += grad
    return (inputs - baselines) * total / n_steps
'''),
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="calls Captum instead of implementing the method",
         diagnosis="implement the method yourself",
         source=_IG_HEAD + '''    return IntegratedGradients(model).attribute(inputs, baselines=baselines, target=target, n_steps=n_steps,
                                                method="riemann_right")
'''),
    # ---------------------------------------------------------------- exercise 2
    dict(cell="ex2_black_baseline", test="ex2_tests",
         mistake="black baseline given in pixel space (zeros) to the normalised model: the mean colour",
         diagnosis="mean colour",
         source='''black_baseline = torch.zeros_like(cat)
attr_black, delta_black = ig.attribute(cat, baselines=black_baseline, target=pred, n_steps=8,
                                       internal_batch_size=8, return_convergence_delta=True)
''' + _EX2_VIZ),
    dict(cell="ex2_black_baseline", test="ex2_tests",
         mistake="gradient of the softmax probability instead of the raw logit",
         diagnosis="softmax probability",
         source='''mean = torch.tensor(lab_model.mean).view(1, 3, 1, 1)
std = torch.tensor(lab_model.std).view(1, 3, 1, 1)
black_baseline = (torch.zeros_like(cat) - mean) / std
ig_probability = IntegratedGradients(torch.nn.Sequential(model, torch.nn.Softmax(dim=1)))
attr_black, delta_black = ig_probability.attribute(cat, baselines=black_baseline, target=pred, n_steps=8,
                                                   internal_batch_size=8, return_convergence_delta=True)
''' + _EX2_VIZ),
    dict(cell="ex2_black_baseline", test="ex2_tests",
         mistake="wrong target: the runner-up class instead of the predicted one",
         diagnosis="runner-up class",
         source='''mean = torch.tensor(lab_model.mean).view(1, 3, 1, 1)
std = torch.tensor(lab_model.std).view(1, 3, 1, 1)
black_baseline = (torch.zeros_like(cat) - mean) / std
attr_black, delta_black = ig.attribute(cat, baselines=black_baseline, target=second, n_steps=8,
                                       internal_batch_size=8, return_convergence_delta=True)
''' + _EX2_VIZ),
    # ---------------------------------------------------------------- exercise 3
    dict(cell="ex3_gradient_shap", test="ex3_tests",
         mistake="GradientShap without noise (stdevs left at Captum's default 0)",
         diagnosis="without noise",
         source='''torch.manual_seed(0)
np.random.seed(0)
attr_gshap = GradientShap(model).attribute(cat, baselines=torch.cat([baselines["black"], baselines["blurred"]]),
                                           n_samples=4, target=pred)
''' + _EX3_VIZ),
    dict(cell="ex3_gradient_shap", test="ex3_tests",
         mistake="only torch.manual_seed: the baselines and alphas drawn by NumPy are not reproduced",
         diagnosis="GradientShap is random",
         source='''torch.manual_seed(0)
attr_gshap = GradientShap(model).attribute(cat, baselines=torch.cat([baselines["black"], baselines["blurred"]]),
                                           n_samples=4, stdevs=0.1, target=pred)
''' + _EX3_VIZ),
]
