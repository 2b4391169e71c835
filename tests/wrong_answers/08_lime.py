"""Wrong answers for lab 8 (LIME and Kernel SHAP on superpixels); format in tests/wrong_answers/__init__.py."""

_MASK_HEADER = '''def make_feature_mask(image, n_segments=50, compactness=10.0):
    """SLIC superpixels of an (H, W, 3) image in [0, 1] as a LongTensor (1, 1, H, W) with labels 0..M-1."""
'''
_ABLATION_HEADER = '''def feature_ablation(model, inputs, target, feature_mask, baselines=0.0):
    """F_t(x) - F_t(x with feature f switched off to the baseline), for every pixel of every feature f."""
    rows = torch.arange(len(inputs))
    target = torch.as_tensor(target, device=inputs.device)
'''
_LIME_HEADER = '''def lime_superpixels(model, inputs, target, feature_mask, n_samples=48, baselines=0.0, kernel_width=1.0,
                     alpha=0.01, perturbations_per_eval=8):
    z = torch.bernoulli(torch.full((n_samples, int(feature_mask.max()) + 1), 0.5))
    keep = z[:, feature_mask[0, 0]].unsqueeze(1)
'''
_LIME_FIT = '''    with torch.no_grad():
        outputs = torch.cat([model(chunk)[:, target] for chunk in perturbed.split(perturbations_per_eval)])
    distance = 1 - F.cosine_similarity(perturbed.flatten(1), inputs.flatten(1))
    weights = torch.exp(-distance**2 / (2 * kernel_width**2))
'''
_LIME_RETURN = '''    return torch.as_tensor(lasso.coef_, dtype=inputs.dtype)[feature_mask].expand_as(inputs).clone()
'''
_BLACK_FIGURE = '''fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, attr, title in zip(axes, (lime_attr, lime_black), ("baseline 0", "baseline: black")):
    viz.visualize_image_attr(to_hwc(attr), cat_image, "blended_heat_map", "all", title=title,
                             plt_fig_axis=(fig, ax), use_pyplot=False)
plt.show()
'''

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1: feature mask
    {
        "cell": "ex1_feature_mask", "test": "ex1_tests",
        "mistake": "feature mask starting at 1 (SLIC's default start_label)",
        "diagnosis": "must start at 0",
        "source": _MASK_HEADER + '''    segments = slic(image, n_segments=n_segments, compactness=compactness)
    return torch.from_numpy(segments).long()[None, None]
''',
    },
    {
        "cell": "ex1_feature_mask", "test": "ex1_tests",
        "mistake": "SLIC settings hard-coded instead of the arguments n_segments and compactness",
        "diagnosis": "pass the function's arguments n_segments and compactness",
        "parts": ["arguments"],
        "source": _MASK_HEADER + '''    segments = slic(image, n_segments=50, compactness=10, start_label=0)
    return torch.from_numpy(segments).long()[None, None]
''',
    },
    {
        "cell": "ex1_feature_mask", "test": "ex1_tests",
        "mistake": "pixels instead of superpixels: one feature per pixel",
        "diagnosis": "one feature per pixel",
        "source": _MASK_HEADER + '''    height, width = image.shape[:2]
    return torch.arange(height * width).view(1, 1, height, width)
''',
    },
    # ---------------------------------------------------------------- exercise 2: feature ablation
    {
        "cell": "ex2_feature_ablation", "test": "ex2_tests",
        "mistake": "sign flipped: F(x without f) - F(x)",
        "diagnosis": "sign is flipped",
        "source": _ABLATION_HEADER + '''    with torch.no_grad():
        score = model(inputs)[rows, target]
        attributions = torch.zeros_like(inputs)
        for f in range(int(feature_mask.max()) + 1):
            off = (feature_mask == f).expand_as(inputs)
            drop = model(torch.where(off, baselines, inputs))[rows, target] - score
            attributions += drop.view(-1, 1, 1, 1) * off
    return attributions
''',
    },
    {
        "cell": "ex2_feature_ablation", "test": "ex2_tests",
        "mistake": "switched-off features always set to 0, the baselines argument ignored",
        "diagnosis": "instead of `baselines`",
        "parts": ["baselines"],
        "source": _ABLATION_HEADER + '''    with torch.no_grad():
        score = model(inputs)[rows, target]
        attributions = torch.zeros_like(inputs)
        for f in range(int(feature_mask.max()) + 1):
            off = (feature_mask == f).expand_as(inputs)
            drop = score - model(inputs * ~off)[rows, target]
            attributions += drop.view(-1, 1, 1, 1) * off
    return attributions
''',
    },
    {
        "cell": "ex2_feature_ablation", "test": "ex2_tests",
        "mistake": "labels assumed to start at 1 (SLIC's default): feature 0 is never switched off",
        "diagnosis": "without feature 0",
        "source": _ABLATION_HEADER + '''    with torch.no_grad():
        score = model(inputs)[rows, target]
        attributions = torch.zeros_like(inputs)
        for f in range(1, int(feature_mask.max()) + 1):
            off = (feature_mask == f).expand_as(inputs)
            drop = score - model(torch.where(off, baselines, inputs))[rows, target]
            attributions += drop.view(-1, 1, 1, 1) * off
    return attributions
''',
    },
    # ---------------------------------------------------------------- exercise 3: LIME from scratch
    {
        "cell": "ex3_lime_scratch", "test": "ex3_tests",
        "mistake": "no similarity kernel: every sample weighted 1",
        "diagnosis": "without the similarity kernel",
        "source": _LIME_HEADER + '''    perturbed = keep * inputs + (1 - keep) * baselines
    with torch.no_grad():
        outputs = torch.cat([model(chunk)[:, target] for chunk in perturbed.split(perturbations_per_eval)])
    lasso = Lasso(alpha=alpha).fit(z.numpy(), outputs.numpy())
''' + _LIME_RETURN,
    },
    {
        "cell": "ex3_lime_scratch", "test": "ex3_tests",
        "mistake": "removed superpixels always set to 0, the baselines argument ignored",
        "diagnosis": "instead of `baselines`",
        "parts": ["baselines"],
        "source": _LIME_HEADER + '''    perturbed = keep * inputs
''' + _LIME_FIT + '''    lasso = Lasso(alpha=alpha).fit(z.numpy(), outputs.numpy(), sample_weight=weights.numpy())
''' + _LIME_RETURN,
    },
    {
        "cell": "ex3_lime_scratch", "test": "ex3_tests",
        "mistake": "Lasso penalty hard-coded to Captum's default 0.01, the alpha argument ignored",
        "diagnosis": "default alpha=0.01",
        "parts": ["settings"],
        "source": _LIME_HEADER + '''    perturbed = keep * inputs + (1 - keep) * baselines
''' + _LIME_FIT + '''    lasso = Lasso(alpha=0.01).fit(z.numpy(), outputs.numpy(), sample_weight=weights.numpy())
''' + _LIME_RETURN,
    },
    # ---------------------------------------------------------------- exercise 4: black baseline
    {
        "cell": "ex4_lime_black", "test": "ex4_tests",
        "mistake": "baseline 0 (the normalisation's mean colour) instead of black",
        "diagnosis": "not black",
        "source": '''black = torch.zeros(1, 3, 1, 1).to(device)
torch.manual_seed(0)
lime_black = Lime(model).attribute(cat, target=predicted, feature_mask=feature_mask, baselines=black,
                                   n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL)
''' + _BLACK_FIGURE,
    },
    {
        "cell": "ex4_lime_black", "test": "ex4_tests",
        "mistake": "black normalised without dividing by std: -mean",
        "diagnosis": "-mean",
        "source": '''black = -torch.tensor(lab_model.mean).view(1, 3, 1, 1).to(device)
torch.manual_seed(0)
lime_black = Lime(model).attribute(cat, target=predicted, feature_mask=feature_mask, baselines=black,
                                   n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL)
''' + _BLACK_FIGURE,
    },
    {
        "cell": "ex4_lime_black", "test": "ex4_tests",
        "mistake": "no torch.manual_seed(0) before Lime: other random samples",
        "diagnosis": "check the seed",
        "parts": ["lime"],
        "source": '''black = ((0 - torch.tensor(lab_model.mean)) / torch.tensor(lab_model.std)).view(1, 3, 1, 1).to(device)
lime_black = Lime(model).attribute(cat, target=predicted, feature_mask=feature_mask, baselines=black,
                                   n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL)
''' + _BLACK_FIGURE,
    },
    # ---------------------------------------------------------------- exercise 5: Kernel SHAP
    {
        "cell": "ex5_kernel_shap", "test": "ex5_tests",
        "mistake": "Lime instead of KernelShap",
        "diagnosis": "instead of KernelShap",
        "source": '''torch.manual_seed(0)
shap_attr = Lime(model).attribute(cat, target=predicted, feature_mask=feature_mask,
                                  n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL)
torch.manual_seed(0)
shap_values = Lime(model).attribute(cat, target=predicted, feature_mask=feature_mask, n_samples=LIME_SAMPLES,
                                    perturbations_per_eval=PER_EVAL, return_input_shape=False)
''',
    },
    {
        "cell": "ex5_kernel_shap", "test": "ex5_tests",
        "mistake": "Kernel SHAP of the probabilities (softmax) instead of the logit",
        "diagnosis": "softmax probability",
        "source": '''prob_model = torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()
torch.manual_seed(0)
shap_attr = KernelShap(prob_model).attribute(cat, target=predicted, feature_mask=feature_mask,
                                             n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL)
torch.manual_seed(0)
shap_values = KernelShap(prob_model).attribute(cat, target=predicted, feature_mask=feature_mask,
                                               n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL,
                                               return_input_shape=False)
''',
    },
    {
        "cell": "ex5_kernel_shap", "test": "ex5_tests",
        "mistake": "second call without torch.manual_seed(0): shap_values from other random samples",
        "diagnosis": "check the seed",
        "parts": ["values"],
        "source": '''torch.manual_seed(0)
shap_attr = KernelShap(model).attribute(cat, target=predicted, feature_mask=feature_mask,
                                        n_samples=LIME_SAMPLES, perturbations_per_eval=PER_EVAL)
shap_values = KernelShap(model).attribute(cat, target=predicted, feature_mask=feature_mask, n_samples=LIME_SAMPLES,
                                          perturbations_per_eval=PER_EVAL, return_input_shape=False)
''',
    },
]
