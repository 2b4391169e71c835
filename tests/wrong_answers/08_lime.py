"""Wrong answers for lab 8 (LIME and Kernel SHAP on superpixels); format in tests/wrong_answers/__init__.py."""

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1: feature mask
    {
        "cell": "ex1_feature_mask", "test": "ex1_tests",
        "mistake": "feature mask starting at 1 (SLIC's default start_label)",
        "diagnosis": "must start at 0",
        "source": '''
def make_feature_mask(image, n_segments=50, compactness=10.0):
    segments = slic(to_hwc(image), n_segments=n_segments, compactness=compactness)
    return torch.from_numpy(segments).long()[None, None]
''',
    },
    {
        "cell": "ex1_feature_mask", "test": "ex1_tests",
        "mistake": "SLIC settings hard-coded instead of the arguments n_segments and compactness",
        "diagnosis": "superpixels",
        "source": '''
def make_feature_mask(image, n_segments=50, compactness=10.0):
    segments = slic(to_hwc(image), n_segments=50, compactness=10, start_label=0)
    return torch.from_numpy(segments).long()[None, None]
''',
    },
    # ---------------------------------------------------------------- exercise 2: LIME from scratch
    {
        "cell": "ex2_lime_scratch", "test": "ex2_tests",
        "mistake": "no similarity kernel: every sample weighted 1",
        "diagnosis": "similarity kernel",
        "source": '''
def lime_superpixels(model, inputs, target, feature_mask, n_samples=48, baselines=0.0, kernel_width=1.0,
                     alpha=0.01, perturbations_per_eval=32):
    z = torch.bernoulli(torch.full((n_samples, int(feature_mask.max()) + 1), 0.5))
    keep = z[:, feature_mask[0, 0]].unsqueeze(1)
    perturbed = keep * inputs + (1 - keep) * baselines
    with torch.no_grad():
        outputs = torch.cat([model(chunk)[:, target] for chunk in perturbed.split(perturbations_per_eval)])
    lasso = Lasso(alpha=alpha).fit(z.numpy(), outputs.numpy())
    return torch.as_tensor(lasso.coef_, dtype=inputs.dtype)[feature_mask].expand_as(inputs).clone()
''',
    },
    {
        "cell": "ex2_lime_scratch", "test": "ex2_tests",
        "mistake": "calls Captum's Lime instead of implementing LIME",
        "diagnosis": "implement the method yourself",
        "source": '''
def lime_superpixels(model, inputs, target, feature_mask, n_samples=48, baselines=0.0, kernel_width=1.0,
                     alpha=0.01, perturbations_per_eval=32):
    return Lime(model).attribute(inputs, target=target, feature_mask=feature_mask, n_samples=n_samples,
                                 baselines=baselines, perturbations_per_eval=perturbations_per_eval)
''',
    },
    {
        "cell": "ex2_lime_scratch", "test": "ex2_tests",
        "mistake": "removed superpixels always set to 0, the baselines argument ignored",
        "diagnosis": "check the seed",
        "source": '''
def lime_superpixels(model, inputs, target, feature_mask, n_samples=48, baselines=0.0, kernel_width=1.0,
                     alpha=0.01, perturbations_per_eval=32):
    z = torch.bernoulli(torch.full((n_samples, int(feature_mask.max()) + 1), 0.5))
    perturbed = z[:, feature_mask[0, 0]].unsqueeze(1) * inputs
    with torch.no_grad():
        outputs = torch.cat([model(chunk)[:, target] for chunk in perturbed.split(perturbations_per_eval)])
    distance = 1 - F.cosine_similarity(perturbed.flatten(1), inputs.flatten(1))
    weights = torch.exp(-distance**2 / (2 * kernel_width**2))
    lasso = Lasso(alpha=alpha).fit(z.numpy(), outputs.numpy(), sample_weight=weights.numpy())
    return torch.as_tensor(lasso.coef_, dtype=inputs.dtype)[feature_mask].expand_as(inputs).clone()
''',
    },
    # ---------------------------------------------------------------- exercise 3: black baseline
    {
        "cell": "ex3_lime_black", "test": "ex3_tests",
        "mistake": "baseline 0 (the mean colour after normalisation) instead of black",
        "diagnosis": "mean colour",
        "source": '''
black = torch.zeros(1, 3, 1, 1)
torch.manual_seed(0)
lime_black = Lime(model).attribute(cat, target=top_class, feature_mask=feature_mask, baselines=black,
                                   n_samples=LIME_SAMPLES, perturbations_per_eval=LIME_SAMPLES)
''',
    },
    {
        "cell": "ex3_lime_black", "test": "ex3_tests",
        "mistake": "black normalised without dividing by std: -mean",
        "diagnosis": "partly correlated",
        "source": '''
black = -torch.tensor(lab_model.mean).view(1, 3, 1, 1)
torch.manual_seed(0)
lime_black = Lime(model).attribute(cat, target=top_class, feature_mask=feature_mask, baselines=black,
                                   n_samples=LIME_SAMPLES, perturbations_per_eval=LIME_SAMPLES)
''',
    },
    # ---------------------------------------------------------------- exercise 4: Kernel SHAP
    {
        "cell": "ex4_kernel_shap", "test": "ex4_tests",
        "mistake": "Lime instead of KernelShap",
        "diagnosis": "instead of KernelShap",
        "source": '''
torch.manual_seed(0)
shap_attr = Lime(model).attribute(cat, target=top_class, feature_mask=feature_mask,
                                  n_samples=LIME_SAMPLES, perturbations_per_eval=LIME_SAMPLES)
''',
    },
    {
        "cell": "ex4_kernel_shap", "test": "ex4_tests",
        "mistake": "Kernel SHAP on the probabilities (softmax) instead of the logit",
        "diagnosis": "partly correlated",
        "source": '''
torch.manual_seed(0)
shap_attr = KernelShap(torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()).attribute(
    cat, target=top_class, feature_mask=feature_mask, n_samples=LIME_SAMPLES, perturbations_per_eval=LIME_SAMPLES)
''',
    },
]
