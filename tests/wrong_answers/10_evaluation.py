"""Wrong answers of lab 10 (evaluating explanations I): two or more per graded exercise (format:
tests/wrong_answers/__init__.py)."""

_POINTING_HEADER = """def pointing_game(maps, masks):
    '''(N, H, W) maps and (N, H, W) bool masks -> (N,) bool: is the maximum of each map on the object?'''
"""
_MASS_HEADER = """def relevance_mass(maps, masks):
    '''(N, H, W) non-negative maps and (N, H, W) bool masks -> (N,) share of each map on the object (0 if none).'''
"""
_DELETION_HEADER = """def deletion_curve(model, inputs, maps, target, baselines=0.0, step=1):
    '''Scores of the target after deleting the most important pixels first -> (fractions (K,), scores (N, K)).'''
"""
# the body of the model answer, with {counts}, {target}, {baseline}, {order} and {score} to vary
_DELETION_BODY = """    n, _, height, width = inputs.shape
    counts = {counts}
    target = {target}
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
_RIGHT = {"counts": "list(range(0, height * width, step)) + [height * width]",
          "target": "torch.as_tensor(target).expand(n)", "baseline": "baselines",
          "order": "maps.flatten(1).argsort(dim=1, descending=True, stable=True)", "score": "model(perturbed)"}


def _deletion(**changes):
    return _DELETION_HEADER + _DELETION_BODY.format(**{**_RIGHT, **changes})


_INFIDELITY = """torch.manual_seed(0)
infidelity_ig = {infidelity}
torch.manual_seed(0)
sensitivity_ig = {sensitivity}
"""
_RIGHT_INFIDELITY = ("infidelity(shapes_model, evaluation.noise_perturbation(0.05), images8, ig_attributions, "
                     "target=labels8, n_perturb_samples=20)")
_RIGHT_SENSITIVITY = "sensitivity_max(ig.attribute, images8, target=labels8, n_steps=32)"

WRONG_ANSWERS = [
    # ------------------------------------------------------------------ exercise 1: pointing game
    {
        "cell": "ex1_pointing_game", "test": "ex1_tests",
        "mistake": "the minimum instead of the maximum of the map",
        "diagnosis": "argmin",
        "source": _POINTING_HEADER + """    top = maps.flatten(1).argmin(dim=1)
    return masks.flatten(1)[torch.arange(len(maps)), top]
""",
    },
    {
        "cell": "ex1_pointing_game", "test": "ex1_tests",
        "mistake": "ties: counts a hit when any of the tied maxima lies on the object",
        "diagnosis": "ANY of the tied maxima",
        "parts": ["ties"],
        "source": _POINTING_HEADER + """    top = maps.amax(dim=(1, 2), keepdim=True)
    return ((maps == top) & masks).flatten(1).any(dim=1)
""",
    },
    {
        "cell": "ex1_pointing_game", "test": "ex1_tests",
        "mistake": "row and column swapped when unravelling the flat argmax index",
        "diagnosis": "rows and columns swapped",
        "source": _POINTING_HEADER + """    height, width = maps.shape[1:]
    top = maps.flatten(1).argmax(dim=1)
    rows, cols = top % width, top // width
    return masks[torch.arange(len(maps)), rows % height, cols % width]
""",
    },
    {
        "cell": "ex1_pointing_game", "test": "ex1_tests",
        "mistake": "the largest absolute value (maps.abs()) instead of the largest value",
        "diagnosis": "largest |value|",
        "parts": ["hits"],
        "source": _POINTING_HEADER + """    top = maps.abs().flatten(1).argmax(dim=1)
    return masks.flatten(1)[torch.arange(len(maps)), top]
""",
    },
    {
        "cell": "ex1_pointing_game", "test": "ex1_tests",
        "mistake": "calls the course's reference metric (a notebook global) instead of implementing it",
        "diagnosis": "evaluation",
        "source": _POINTING_HEADER + """    return evaluation.pointing_game(maps, masks)
""",
    },
    # ------------------------------------------------------------------ exercise 2: relevance mass
    {
        "cell": "ex2_relevance_mass", "test": "ex2_tests",
        "mistake": "sum on the object, not divided by the map's total",
        "diagnosis": "not divided by the map's total",
        "source": _MASS_HEADER + """    return (maps * masks).flatten(1).sum(dim=1)
""",
    },
    {
        "cell": "ex2_relevance_mass", "test": "ex2_tests",
        "mistake": "plain division: NaN for a map without any relevance",
        "diagnosis": "NaN",
        "parts": ["empty"],
        "source": _MASS_HEADER + """    return (maps * masks).flatten(1).sum(dim=1) / maps.flatten(1).sum(dim=1)
""",
    },
    {
        "cell": "ex2_relevance_mass", "test": "ex2_tests",
        "mistake": "divided by the object's area (mean on the object) instead of the map's total",
        "diagnosis": "divided by the object's area",
        "source": _MASS_HEADER + """    return (maps * masks).flatten(1).sum(dim=1) / masks.flatten(1).sum(dim=1)
""",
    },
    {
        "cell": "ex2_relevance_mass", "test": "ex2_tests",
        "mistake": "one share for the whole batch instead of one per sample",
        "diagnosis": "shape",
        "source": _MASS_HEADER + """    return (maps * masks).sum() / maps.sum()
""",
    },
    # ------------------------------------------------------------------ exercise 3: deletion curve
    {
        "cell": "ex3_deletion_curve", "test": "ex3_tests",
        "mistake": "pixels sorted in increasing order: the least important are deleted first",
        "diagnosis": "LEAST important pixels first",
        "source": _deletion(order="maps.flatten(1).argsort(dim=1, stable=True)"),
    },
    {
        "cell": "ex3_deletion_curve", "test": "ex3_tests",
        "mistake": "deleted pixels set to 0 instead of the baseline",
        "diagnosis": "set to 0 instead of the baselines",
        "parts": ["targets_baselines"],
        "source": _deletion(baseline="0.0"),
    },
    {
        "cell": "ex3_deletion_curve", "test": "ex3_tests",
        "mistake": "forgets the last, shorter step (k = HW is missing when HW is not a multiple of step)",
        "diagnosis": "shape",
        "parts": ["steps"],
        "source": _deletion(counts="list(range(0, height * width + 1, step))"),
    },
    {
        "cell": "ex3_deletion_curve", "test": "ex3_tests",
        "mistake": "softmax probability instead of the raw score asked for",
        "diagnosis": "softmax",
        "source": _deletion(score="torch.softmax(model(perturbed), dim=1)"),
    },
    {
        "cell": "ex3_deletion_curve", "test": "ex3_tests",
        "mistake": "one target for the whole batch: the first sample's class for every image",
        "diagnosis": "first sample's target",
        "parts": ["targets_baselines"],
        "source": _deletion(target="torch.as_tensor(target).flatten()[:1].expand(n)"),
    },
    # ------------------------------------------------------------------ exercise 4: infidelity and sensitivity
    {
        "cell": "ex4_infidelity", "test": "ex4_tests",
        "mistake": "the infidelity of the Saliency attributions instead of IG",
        "diagnosis": "Saliency",
        "parts": ["infidelity"],
        "source": _INFIDELITY.format(infidelity=_RIGHT_INFIDELITY.replace("ig_attributions", "saliency_attributions"),
                                     sensitivity=_RIGHT_SENSITIVITY),
    },
    {
        "cell": "ex4_infidelity", "test": "ex4_tests",
        "mistake": "sensitivity of IG with its default 50 steps instead of n_steps=32",
        "diagnosis": "50 steps",
        "parts": ["sensitivity"],
        "source": _INFIDELITY.format(infidelity=_RIGHT_INFIDELITY,
                                     sensitivity="sensitivity_max(ig.attribute, images8, target=labels8)"),
    },
    {
        "cell": "ex4_infidelity", "test": "ex4_tests",
        "mistake": "normalize=True where the default is asked for, and the softmax model for the sensitivity",
        "diagnosis": "normalize=True",
        "source": _INFIDELITY.format(
            infidelity=_RIGHT_INFIDELITY.replace("n_perturb_samples=20", "n_perturb_samples=20, normalize=True"),
            sensitivity="sensitivity_max(IntegratedGradients(torch.nn.Sequential(shapes_model, torch.nn.Softmax(dim=1)))"
                        ".attribute, images8, target=labels8, n_steps=32)"),
    },
    {
        "cell": "ex4_infidelity", "test": "ex4_tests",
        "mistake": "the infidelity of the softmax probabilities instead of the raw scores",
        "diagnosis": "softmax",
        "parts": ["infidelity"],
        "source": _INFIDELITY.format(
            infidelity=_RIGHT_INFIDELITY.replace("infidelity(shapes_model,", "infidelity(torch.nn.Sequential("
                                                 "shapes_model, torch.nn.Softmax(dim=1)),"),
            sensitivity=_RIGHT_SENSITIVITY),
    },
]
