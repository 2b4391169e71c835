"""Wrong answers for lab 10 (evaluating explanations); see tests/wrong_answers/__init__.py for the format."""

_POINTING_HEADER = """def pointing_game(maps, masks):
    '''(N, H, W) maps and (N, H, W) bool masks -> (N,) bool: is the maximum of each map on the object?'''
"""
_MASS_HEADER = """def relevance_mass(maps, masks):
    '''(N, H, W) non-negative maps and (N, H, W) bool masks -> (N,) share of each map on the object.'''
"""
_DELETION_HEADER = """def deletion_curve(model, inputs, maps, target, baselines=0.0, step=1):
    '''Scores of the target after deleting the most important pixels first -> (fractions (K,), scores (N, K)).'''
"""
# the body of the model answer, with {order}, {baseline} and {score} to vary
_DELETION_BODY = """    n, _, height, width = inputs.shape
    counts = list(range(0, height * width, step)) + [height * width]
    target = torch.as_tensor(target).expand(n)
    baselines = torch.as_tensor({baseline}, dtype=inputs.dtype).expand_as(inputs)
    order = {order}
    scores = torch.empty(n, len(counts))
    with torch.no_grad():
        for i in range(n):
            removed = torch.zeros(len(counts), height * width, dtype=torch.bool)
            for j, k in enumerate(counts):
                removed[j, order[i, :k]] = True
            perturbed = torch.where(removed.view(-1, 1, height, width), baselines[i], inputs[i])
            scores[i] = {score}[:, target[i]]
    return torch.tensor(counts) / (height * width), scores
"""
_RIGHT = {"order": "maps.flatten(1).argsort(dim=1, descending=True, stable=True)", "baseline": "baselines",
          "score": "model(perturbed)"}
_RANK_HEADER = """def rank_correlation(a, b):
    '''Spearman correlation of |a| and |b| per sample -> (N,).'''
"""
_PEARSON = """    x, y = {x}, {y}
    x = x - x.mean(dim=1, keepdim=True)
    y = y - y.mean(dim=1, keepdim=True)
    return (x * y).sum(dim=1) / (x.norm(dim=1) * y.norm(dim=1))
"""

WRONG_ANSWERS = [
    # ------------------------------------------------------------------ exercise 1: pointing game
    {
        "cell": "ex1_pointing_game",
        "test": "ex1_tests",
        "mistake": "row and column swapped when unravelling the flat argmax index",
        "diagnosis": "rows and columns swapped",
        "source": _POINTING_HEADER + """    width = maps.shape[2]
    top = maps.flatten(1).argmax(dim=1)
    rows, cols = top % width, top // width
    return masks[torch.arange(len(maps)), rows, cols]
""",
    },
    {
        "cell": "ex1_pointing_game",
        "test": "ex1_tests",
        "mistake": "the minimum instead of the maximum of the map",
        "diagnosis": "argmin",
        "source": _POINTING_HEADER + """    top = maps.flatten(1).argmin(dim=1)
    return masks.flatten(1)[torch.arange(len(maps)), top]
""",
    },
    {
        "cell": "ex1_pointing_game",
        "test": "ex1_tests",
        "mistake": "one maximum for the whole batch instead of one per sample",
        "diagnosis": "whole batch",
        "source": _POINTING_HEADER + """    top = maps.argmax()
    return masks.flatten()[top].expand(len(maps))
""",
    },
    {
        "cell": "ex1_pointing_game",
        "test": "ex1_tests",
        "mistake": "calls the course's reference metric instead of implementing it",
        "diagnosis": "implement the method yourself",
        "source": _POINTING_HEADER + """    return evaluation.pointing_game(maps, masks)
""",
    },
    # ------------------------------------------------------------------ exercise 2: relevance mass
    {
        "cell": "ex2_relevance_mass",
        "test": "ex2_tests",
        "mistake": "sum on the object, not divided by the map's total",
        "diagnosis": "not divided by the map's total",
        "source": _MASS_HEADER + """    return (maps * masks).flatten(1).sum(dim=1)
""",
    },
    {
        "cell": "ex2_relevance_mass",
        "test": "ex2_tests",
        "mistake": "divided by the object's area (mean on the object) instead of the map's total",
        "diagnosis": "divided by the object's area",
        "source": _MASS_HEADER + """    return (maps * masks).flatten(1).sum(dim=1) / masks.flatten(1).sum(dim=1)
""",
    },
    {
        "cell": "ex2_relevance_mass",
        "test": "ex2_tests",
        "mistake": "one number for the whole batch instead of one per sample",
        "diagnosis": "shape",
        "source": _MASS_HEADER + """    return (maps * masks).sum() / maps.sum()
""",
    },
    # ------------------------------------------------------------------ exercise 3: deletion curve
    {
        "cell": "ex3_deletion_curve",
        "test": "ex3_tests",
        "mistake": "pixels sorted in increasing order: the least important are deleted first",
        "diagnosis": "LEAST important pixels first",
        "source": _DELETION_HEADER + _DELETION_BODY.format(**{**_RIGHT, "order": "maps.flatten(1).argsort(dim=1, stable=True)"}),
    },
    {
        "cell": "ex3_deletion_curve",
        "test": "ex3_tests",
        "mistake": "deleted pixels set to 0 instead of the baseline",
        "diagnosis": "set to 0 instead of the baselines",
        "source": _DELETION_HEADER + _DELETION_BODY.format(**{**_RIGHT, "baseline": "0.0"}),
    },
    {
        "cell": "ex3_deletion_curve",
        "test": "ex3_tests",
        "mistake": "softmax probability instead of the raw score asked for",
        "diagnosis": "softmax",
        "source": _DELETION_HEADER + _DELETION_BODY.format(**{**_RIGHT, "score": "torch.softmax(model(perturbed), dim=1)"}),
    },
    {
        "cell": "ex3_deletion_curve",
        "test": "ex3_tests",
        "mistake": "forgets the last, shorter step (k = HW is missing when HW is not a multiple of step)",
        "diagnosis": "shape",
        "source": _DELETION_HEADER + _DELETION_BODY.format(**_RIGHT).replace(
            "counts = list(range(0, height * width, step)) + [height * width]",
            "counts = list(range(0, height * width + 1, step))"),
    },
    # ------------------------------------------------------------------ exercise 4: Captum infidelity
    {
        "cell": "ex4_infidelity",
        "test": "ex4_tests",
        "mistake": "the Saliency attributions instead of Integrated Gradients",
        "diagnosis": "Saliency",
        "source": """torch.manual_seed(0)
infidelity_ig = infidelity(model, evaluation.noise_perturbation(0.05), images8, saliency_attributions, target=labels8,
                           n_perturb_samples=20)
""",
    },
    {
        "cell": "ex4_infidelity",
        "test": "ex4_tests",
        "mistake": "normalize=True where the default is asked for",
        "diagnosis": "normalize=True",
        "source": """torch.manual_seed(0)
infidelity_ig = infidelity(model, evaluation.noise_perturbation(0.05), images8, ig_attributions, target=labels8,
                           n_perturb_samples=20, normalize=True)
""",
    },
    {
        "cell": "ex4_infidelity",
        "test": "ex4_tests",
        "mistake": "the softmax probabilities instead of the raw scores",
        "diagnosis": "softmax",
        "source": """torch.manual_seed(0)
infidelity_ig = infidelity(torch.nn.Sequential(model, torch.nn.Softmax(dim=1)), evaluation.noise_perturbation(0.05),
                           images8, ig_attributions, target=labels8, n_perturb_samples=20)
""",
    },
    # ------------------------------------------------------------------ exercise 5: rank correlation
    {
        "cell": "ex5_rank_correlation",
        "test": "ex5_tests",
        "mistake": "Pearson correlation of the values instead of their ranks",
        "diagnosis": "Pearson",
        "source": _RANK_HEADER + _PEARSON.format(x="a.abs().flatten(1)", y="b.abs().flatten(1)"),
    },
    {
        "cell": "ex5_rank_correlation",
        "test": "ex5_tests",
        "mistake": "ranks of the signed values (no absolute value)",
        "diagnosis": "signed values",
        "source": _RANK_HEADER + _PEARSON.format(x="a.flatten(1).argsort(dim=1).argsort(dim=1).float()",
                                                 y="b.flatten(1).argsort(dim=1).argsort(dim=1).float()"),
    },
    {
        "cell": "ex5_rank_correlation",
        "test": "ex5_tests",
        "mistake": "a single argsort (the sorting permutation) taken for the ranks",
        "diagnosis": "argsort of the argsort",
        "source": _RANK_HEADER + _PEARSON.format(x="a.abs().flatten(1).argsort(dim=1).float()",
                                                 y="b.abs().flatten(1).argsort(dim=1).float()"),
    },
    # ------------------------------------------------------------------ exercise 6: watermark relevance mass
    {
        "cell": "ex6_watermark_mass",
        "test": "ex6_tests",
        "mistake": "the object mask instead of the watermark box",
        "diagnosis": "object mask",
        "source": """watermark_mass_hans = evaluation.relevance_mass(
    evaluation.attribution_map(Saliency(hans_model).attribute(circles.images, target=circles.labels)), circles.masks)
watermark_mass_clean = evaluation.relevance_mass(
    evaluation.attribution_map(Saliency(model).attribute(circles.images, target=circles.labels)), circles.masks)
""",
    },
    {
        "cell": "ex6_watermark_mass",
        "test": "ex6_tests",
        "mistake": "the two models swapped",
        "diagnosis": "CLEAN model",
        "source": """box = shapes.watermark_mask(len(circles))
watermark_mass_hans = evaluation.relevance_mass(
    evaluation.attribution_map(Saliency(model).attribute(circles.images, target=circles.labels)), box)
watermark_mass_clean = evaluation.relevance_mass(
    evaluation.attribution_map(Saliency(hans_model).attribute(circles.images, target=circles.labels)), box)
""",
    },
    # ------------------------------------------------------------------ exercise 7: accuracy drop
    {
        "cell": "ex7_accuracy_drop",
        "test": "ex7_tests",
        "mistake": "the clean model evaluated instead of the Clever Hans model",
        "diagnosis": "clean model",
        "source": """accuracy_with = shapes.accuracy(model, hans_test.images, hans_test.labels)
accuracy_without = shapes.accuracy(model, clean_test.images, clean_test.labels)
""",
    },
    {
        "cell": "ex7_accuracy_drop",
        "test": "ex7_tests",
        "mistake": "accuracies as percentages",
        "diagnosis": "not a percentage",
        "source": """accuracy_with = 100 * shapes.accuracy(hans_model, hans_test.images, hans_test.labels)
accuracy_without = 100 * shapes.accuracy(hans_model, clean_test.images, clean_test.labels)
""",
    },
]
