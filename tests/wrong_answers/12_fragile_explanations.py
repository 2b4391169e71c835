"""Wrong answers for lab 12 (fragile explanations); see tests/wrong_answers/__init__.py for the format."""

_PGD_HEADER = '''def pgd_step(model, inputs, original, target, step_size, radius, targeted=False):
    """One L-inf PGD step as Captum's PGD computes it (an FGSM step when inputs == original and radius == step_size)."""
'''
_GRADIENT = '''    x = inputs.detach().clone().requires_grad_(True)
    outputs = model(x)
    labels = torch.as_tensor(target, device=outputs.device)
    labels = labels.expand(len(outputs)) if labels.dim() == 0 else labels
    (gradient,) = torch.autograd.grad(F.cross_entropy(outputs, labels, reduction="sum"), x)
    step = step_size * gradient.sign() * (gradient.abs() > 1e-6)
'''
_PROJECT = '''    projected = original + (stepped - original).clamp(-radius, radius)
    return projected.clamp(0, 1)
'''
_PGD_CAPTUM = '''fgsm = FGSM(pixel_model, loss_func=cross_entropy, lower_bound=0, upper_bound=1)
pgd = PGD(pixel_model, loss_func=cross_entropy, lower_bound=0, upper_bound=1)
'''
_LOSS_HEADER = '''def manipulation_loss(maps, region, outputs, original_outputs, gamma=1.0):
    """-(share of each map inside its region) + gamma * ||outputs - original_outputs||^2, per sample: shape (N,)."""
    inside = (maps * region).flatten(1).sum(dim=1)
    share = inside / maps.flatten(1).sum(dim=1)
    squared = ((outputs - original_outputs) ** 2).sum(dim=1)
'''

WRONG_ANSWERS = [
    # ------------------------------------------------------------------ exercise 1: one PGD step from scratch
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "wrong sign of the step: up the loss when targeted, down the loss when untargeted",
        "diagnosis": "step UP the loss",
        "source": _PGD_HEADER + _GRADIENT + '''    stepped = inputs.detach() + step if targeted else inputs.detach() - step
''' + _PROJECT,
    },
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "untargeted instead of targeted: `targeted` ignored, always a step up the loss",
        "diagnosis": "step UP the loss",
        "parts": ["targeted", "per_sample", "projection"],
        "source": _PGD_HEADER + _GRADIENT + '''    stepped = inputs.detach() + step
''' + _PROJECT,
    },
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "no projection onto the ball around the original (clamped to [0, 1] only)",
        "diagnosis": "project back onto the L-inf ball",
        "parts": ["projection"],
        "source": _PGD_HEADER + _GRADIENT + '''    stepped = inputs.detach() - step if targeted else inputs.detach() + step
    return stepped.clamp(0, 1)
''',
    },
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "no clamp to [0, 1] after the projection",
        "diagnosis": "outside [0, 1]",
        "parts": ["projection"],
        "source": _PGD_HEADER + _GRADIENT + '''    stepped = inputs.detach() - step if targeted else inputs.detach() + step
    return original + (stepped - original).clamp(-radius, radius)
''',
    },
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "the sign of the gradient of the target's raw logit instead of the cross-entropy loss",
        "diagnosis": "raw logit",
        "source": _PGD_HEADER + '''    x = inputs.detach().clone().requires_grad_(True)
    outputs = model(x)
    labels = torch.as_tensor(target, device=outputs.device)
    labels = labels.expand(len(outputs)) if labels.dim() == 0 else labels
    (gradient,) = torch.autograd.grad(-outputs[torch.arange(len(outputs)), labels].sum(), x)
    step = step_size * gradient.sign() * (gradient.abs() > 1e-6)
    stepped = inputs.detach() - step if targeted else inputs.detach() + step
''' + _PROJECT,
    },
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "the projection around `inputs` (the current point) instead of around `original`",
        "diagnosis": "ball around the ORIGINAL image",
        "parts": ["projection"],
        "source": _PGD_HEADER + _GRADIENT + '''    stepped = inputs.detach() - step if targeted else inputs.detach() + step
    projected = inputs + (stepped - inputs).clamp(-radius, radius)
    return projected.clamp(0, 1)
''',
    },
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "a step of step_size times the gradient instead of its sign",
        "diagnosis": "SIGN",
        "source": _PGD_HEADER + '''    x = inputs.detach().clone().requires_grad_(True)
    outputs = model(x)
    labels = torch.as_tensor(target, device=outputs.device)
    labels = labels.expand(len(outputs)) if labels.dim() == 0 else labels
    (gradient,) = torch.autograd.grad(F.cross_entropy(outputs, labels, reduction="sum"), x)
    stepped = inputs.detach() - step_size * gradient if targeted else inputs.detach() + step_size * gradient
''' + _PROJECT,
    },
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "one target per sample not handled: the loss of the first target for every sample",
        "diagnosis": "first target",
        "parts": ["per_sample"],
        "source": _PGD_HEADER + '''    x = inputs.detach().clone().requires_grad_(True)
    outputs = model(x)
    first = int(torch.as_tensor(target).flatten()[0])
    labels = torch.full((len(outputs),), first, device=outputs.device)
    (gradient,) = torch.autograd.grad(F.cross_entropy(outputs, labels, reduction="sum"), x)
    step = step_size * gradient.sign() * (gradient.abs() > 1e-6)
    stepped = inputs.detach() - step if targeted else inputs.detach() + step
''' + _PROJECT,
    },
    {
        "cell": "ex1_pgd_step",
        "test": "ex1_tests",
        "mistake": "calls Captum's FGSM instead of implementing the step",
        "diagnosis": "FGSM",
        "source": _PGD_HEADER + '''    stepped = FGSM(model, loss_func=cross_entropy).perturb(inputs, step_size, target, targeted=targeted)
''' + _PROJECT,
    },
    # ------------------------------------------------------------------ exercise 2: Captum's FGSM and PGD
    {
        "cell": "ex2_captum_attacks",
        "test": "ex2_tests",
        "mistake": "targeted FGSM and untargeted PGD: the two `targeted` flags swapped",
        "diagnosis": "targeted=True",
        "source": _PGD_CAPTUM + '''fgsm_cat = fgsm.perturb(cat_pixels, epsilon=2 / 255, target=predicted, targeted=True)
pgd_cat = pgd.perturb(cat_pixels, radius=4 / 255, step_size=1 / 255, step_num=10, target=fool_class)
''',
    },
    {
        "cell": "ex2_captum_attacks",
        "test": "ex2_tests",
        "mistake": "no bounds: the attacks leave the range of valid pixels",
        "diagnosis": "lower_bound=0",
        "source": '''fgsm = FGSM(pixel_model, loss_func=cross_entropy)
pgd = PGD(pixel_model, loss_func=cross_entropy)
fgsm_cat = fgsm.perturb(cat_pixels, epsilon=2 / 255, target=predicted)
pgd_cat = pgd.perturb(cat_pixels, radius=4 / 255, step_size=1 / 255, step_num=10, target=fool_class, targeted=True)
''',
    },
    {
        "cell": "ex2_captum_attacks",
        "test": "ex2_tests",
        "mistake": "epsilon in normalised instead of pixel units: the attack on `model` and `cat`, denormalised after",
        "diagnosis": "pixel units",
        "source": '''fgsm = FGSM(model, loss_func=cross_entropy)
pgd = PGD(model, loss_func=cross_entropy)
fgsm_cat = lab_model.denormalize(fgsm.perturb(cat, epsilon=2 / 255, target=predicted))
pgd_cat = lab_model.denormalize(pgd.perturb(cat, radius=4 / 255, step_size=1 / 255, step_num=10, target=fool_class,
                                            targeted=True))
''',
    },
    {
        "cell": "ex2_captum_attacks",
        "test": "ex2_tests",
        "mistake": "Captum's default loss -log(outputs) on a model that returns raw logits",
        "diagnosis": "-log(outputs)",
        "source": '''fgsm = FGSM(pixel_model, lower_bound=0, upper_bound=1)
pgd = PGD(pixel_model, lower_bound=0, upper_bound=1)
fgsm_cat = fgsm.perturb(cat_pixels, epsilon=2 / 255, target=predicted)
pgd_cat = pgd.perturb(cat_pixels, radius=4 / 255, step_size=1 / 255, step_num=10, target=fool_class, targeted=True)
''',
    },
    {
        "cell": "ex2_captum_attacks",
        "test": "ex2_tests",
        "mistake": "PGD untargeted (targeted=True forgotten): it moves away from the fool class",
        "diagnosis": "pass targeted=True",
        "parts": ["pgd"],
        "source": _PGD_CAPTUM + '''fgsm_cat = fgsm.perturb(cat_pixels, epsilon=2 / 255, target=predicted)
pgd_cat = pgd.perturb(cat_pixels, radius=4 / 255, step_size=1 / 255, step_num=10, target=fool_class)
''',
    },
    {
        "cell": "ex2_captum_attacks",
        "test": "ex2_tests",
        "mistake": "the untargeted FGSM attack given the fool class instead of the predicted one",
        "diagnosis": "`predicted`",
        "parts": ["fgsm"],
        "source": _PGD_CAPTUM + '''fgsm_cat = fgsm.perturb(cat_pixels, epsilon=2 / 255, target=fool_class)
pgd_cat = pgd.perturb(cat_pixels, radius=4 / 255, step_size=1 / 255, step_num=10, target=fool_class, targeted=True)
''',
    },
    {
        "cell": "ex2_captum_attacks",
        "test": "ex2_tests",
        "mistake": "PGD with a random start",
        "diagnosis": "random_start=False",
        "parts": ["pgd"],
        "source": _PGD_CAPTUM + '''fgsm_cat = fgsm.perturb(cat_pixels, epsilon=2 / 255, target=predicted)
pgd_cat = pgd.perturb(cat_pixels, radius=4 / 255, step_size=1 / 255, step_num=10, target=fool_class, targeted=True,
                      random_start=True)
''',
    },
    # ------------------------------------------------------------------ exercise 3: the manipulation loss
    {
        "cell": "ex3_manipulation_loss",
        "test": "ex3_tests",
        "mistake": "plus the relevance mass: the attack would push the map out of the region",
        "diagnosis": "sign is flipped",
        "source": _LOSS_HEADER + '''    return share + gamma * squared
''',
    },
    {
        "cell": "ex3_manipulation_loss",
        "test": "ex3_tests",
        "mistake": "the sum of the map inside the region instead of its share",
        "diagnosis": "not its share",
        "source": _LOSS_HEADER + '''    return -inside + gamma * squared
''',
    },
    {
        "cell": "ex3_manipulation_loss",
        "test": "ex3_tests",
        "mistake": "the distance of the outputs (torch.norm) instead of its square",
        "diagnosis": "square root",
        "parts": ["outputs"],
        "source": _LOSS_HEADER + '''    return -share + gamma * (outputs - original_outputs).norm(dim=1)
''',
    },
    {
        "cell": "ex3_manipulation_loss",
        "test": "ex3_tests",
        "mistake": "the mean squared error of the outputs (mean over the classes) instead of the sum",
        "diagnosis": "MEAN of the squared differences",
        "parts": ["outputs"],
        "source": _LOSS_HEADER + '''    return -share + gamma * F.mse_loss(outputs, original_outputs, reduction="none").mean(dim=1)
''',
    },
    {
        "cell": "ex3_manipulation_loss",
        "test": "ex3_tests",
        "mistake": "one number for the whole batch instead of one loss per sample",
        "diagnosis": "one loss per sample",
        "source": _LOSS_HEADER + '''    return (-share + gamma * squared).sum()
''',
    },
    {
        "cell": "ex3_manipulation_loss",
        "test": "ex3_tests",
        "mistake": "gamma ignored",
        "diagnosis": "without gamma",
        "parts": ["outputs"],
        "source": _LOSS_HEADER + '''    return -share + squared
''',
    },
]
