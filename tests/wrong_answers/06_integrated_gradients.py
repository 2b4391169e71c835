"""Realistic wrong answers for lab 06 (Integrated Gradients); format in tests/wrong_answers/__init__.py."""

_IG_HEAD = '''def integrated_gradients(model, inputs, target, baselines=None, n_steps=50, method="gausslegendre"):
    """(x - x') * sum_k w_k grad F_t(x' + alpha_k (x - x')), with Captum's points alpha_k and weights w_k."""
    m = n_steps
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(m)
        alphas, weights = (1 + nodes) / 2, weights / 2
    else:
        alphas = {"riemann_right": np.arange(1, m + 1) / m,
                  "riemann_left": np.arange(m) / m,
                  "riemann_middle": (np.arange(m) + 0.5) / m,
                  "riemann_trapezoid": np.linspace(0, 1, m)}[method]
        weights = np.full(m, 1 / m)
        if method == "riemann_trapezoid":
            weights[[0, -1]] /= 2
'''

_IG_BASELINES = '''    baselines = torch.as_tensor(0.0 if baselines is None else baselines, dtype=inputs.dtype,
                                device=inputs.device).expand_as(inputs)
'''

_IG_TARGETS = '''    targets = torch.as_tensor(target, device=inputs.device).reshape(-1).expand(len(inputs))
'''

_IG_LOOP = '''    total = torch.zeros_like(inputs)
    for alpha, weight in zip(alphas.tolist(), weights.tolist()):
        points = (baselines + alpha * (inputs - baselines)).detach().requires_grad_(True)
        outputs = model(points)
        (grad,) = torch.autograd.grad(outputs[torch.arange(len(points)), targets].sum(), points)
        total += weight * grad
'''

_IG_RETURN = '''    return ((inputs - baselines) * total).detach()
'''

_EX2_HEAD = '''mean = torch.tensor(lab_model.mean, device=device).view(1, 3, 1, 1)
std = torch.tensor(lab_model.std, device=device).view(1, 3, 1, 1)
'''

_EX2_VIZ = '''
_ = viz.visualize_image_attr_multiple(to_hwc(attr_black), cat_image, methods=["original_image", "heat_map"],
                                      signs=["all", "absolute_value"], cmap="inferno", fig_size=(7, 3),
                                      titles=["cat", "|IG| (black baseline)"], use_pyplot=True)
print("delta_black:", delta_black)
'''

_EX3_VIZ = '''
_ = viz.visualize_image_attr(to_hwc(attr_gshap), cat_image, method="blended_heat_map", sign="positive",
                             cmap="inferno", fig_size=(4, 4), title="GradientShap, positive", use_pyplot=True)
'''

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="ignores `baselines`: always integrates from the zero baseline",
         diagnosis="`baselines` was ignored", parts=["baselines"],
         source=_IG_HEAD + '''    baselines = torch.zeros_like(inputs)
''' + _IG_TARGETS + _IG_LOOP + _IG_RETURN),
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="the textbook trapezoid rule (weights 1/(m-1) halved at both ends) instead of Captum's",
         diagnosis="textbook trapezoid rule", parts=["riemann"],
         source=_IG_HEAD + '''        if method == "riemann_trapezoid":
            weights = np.full(m, 1 / (m - 1))
            weights[[0, -1]] /= 2
''' + _IG_BASELINES + _IG_TARGETS + _IG_LOOP + _IG_RETURN),
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="int targets only: model(points)[:, target] with a list sums the logits of all the targets",
         diagnosis="sum of the logits of all the targets", parts=["targets"],
         source=_IG_HEAD + _IG_BASELINES + '''    total = torch.zeros_like(inputs)
    for alpha, weight in zip(alphas.tolist(), weights.tolist()):
        points = (baselines + alpha * (inputs - baselines)).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(points)[:, target].sum(), points)
        total += weight * grad
''' + _IG_RETURN),
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="IG without multiplying by (x - baseline): the mean gradient along the path",
         diagnosis="not multiplied by (inputs - baselines)",
         source=_IG_HEAD + _IG_BASELINES + _IG_TARGETS + _IG_LOOP + '''    return total.detach()
'''),
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="baselines given as a number treated as zero (only tensors are used)",
         diagnosis="`baselines` was ignored", parts=["baselines"],
         source=_IG_HEAD + '''    if not torch.is_tensor(baselines):
        baselines = torch.zeros_like(inputs)
''' + _IG_TARGETS + _IG_LOOP + _IG_RETURN),
    dict(cell="ex1_ig_from_scratch", test="ex1_tests",
         mistake="calls Captum instead of implementing the method",
         diagnosis="captum",
         source='''def integrated_gradients(model, inputs, target, baselines=None, n_steps=50, method="gausslegendre"):
    from captum.attr import IntegratedGradients
    return IntegratedGradients(model).attribute(inputs, baselines=baselines, target=target, n_steps=n_steps,
                                                method=method)
'''),
    # ---------------------------------------------------------------- exercise 2
    dict(cell="ex2_black_baseline", test="ex2_tests",
         mistake="black baseline = torch.zeros_like(cat): the colour `mean` of the normalisation, not black",
         diagnosis="normalise the black image",
         source='''black_baseline = torch.zeros_like(cat)
attr_black, delta_black = ig.attribute(cat, baselines=black_baseline, target=predicted, n_steps=8,
                                       internal_batch_size=8, return_convergence_delta=True)
''' + _EX2_VIZ),
    dict(cell="ex2_black_baseline", test="ex2_tests",
         mistake="gradient of the softmax probability instead of the raw logit",
         diagnosis="softmax probability", parts=["attributions"],
         source=_EX2_HEAD + '''black_baseline = (torch.zeros_like(cat) - mean) / std
ig_probability = IntegratedGradients(torch.nn.Sequential(model, torch.nn.Softmax(dim=1)))
attr_black, delta_black = ig_probability.attribute(cat, baselines=black_baseline, target=predicted, n_steps=8,
                                                   internal_batch_size=8, return_convergence_delta=True)
''' + _EX2_VIZ),
    dict(cell="ex2_black_baseline", test="ex2_tests",
         mistake="wrong target: the runner-up class instead of the predicted one",
         diagnosis="runner-up class", parts=["attributions"],
         source=_EX2_HEAD + '''black_baseline = (torch.zeros_like(cat) - mean) / std
attr_black, delta_black = ig.attribute(cat, baselines=black_baseline, target=runner_up, n_steps=8,
                                       internal_batch_size=8, return_convergence_delta=True)
''' + _EX2_VIZ),
    dict(cell="ex2_black_baseline", test="ex2_tests",
         mistake="normalisation with the division forgotten: black = -mean",
         diagnosis="forgot to divide by std",
         source=_EX2_HEAD + '''black_baseline = (torch.zeros_like(cat) - mean)
attr_black, delta_black = ig.attribute(cat, baselines=black_baseline, target=predicted, n_steps=8,
                                       internal_batch_size=8, return_convergence_delta=True)
''' + _EX2_VIZ),
    # ---------------------------------------------------------------- exercise 3
    dict(cell="ex3_gradient_shap", test="ex3_tests",
         mistake="GradientShap without noise (stdevs left at Captum's default 0)",
         diagnosis="without noise",
         source='''torch.manual_seed(0)
np.random.seed(0)
attr_gshap = GradientShap(model).attribute(cat, baselines=torch.cat([baselines["black"], baselines["blurred"]]),
                                           n_samples=4, target=predicted)
''' + _EX3_VIZ),
    dict(cell="ex3_gradient_shap", test="ex3_tests",
         mistake="only torch.manual_seed: the baselines and alphas drawn by NumPy are not reproduced",
         diagnosis="GradientShap is random",
         source='''torch.manual_seed(0)
attr_gshap = GradientShap(model).attribute(cat, baselines=torch.cat([baselines["black"], baselines["blurred"]]),
                                           n_samples=4, stdevs=0.1, target=predicted)
''' + _EX3_VIZ),
]
