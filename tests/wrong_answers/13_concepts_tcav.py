"""Wrong answers of lab 13 (concepts with TCAV): two or more per graded exercise (format:
tests/wrong_answers/__init__.py)."""

_CAV_HEADER = """def compute_cav(concept_activations, random_activations, steps=100, lr=0.01):
    '''The unit CAV (D,): the normal of a logistic regression's boundary, pointing towards the concept.'''
"""
# logistic regression by gradient descent; the placeholders change one thing each
_CAV_BODY = """    x = torch.cat([concept_activations.flatten(1), random_activations.flatten(1)]).double()
    y = torch.cat([{labels}]).to(x)
    w = torch.zeros(x.shape[1], dtype=x.dtype)
    b = torch.zeros((), dtype=x.dtype)
    for _ in range({steps}):
        error = torch.sigmoid(x @ w + b) - y
        w = w - {lr} * x.T @ error{average}
        b = b - {lr} * error.mean()
    return {result}
"""
_RIGHT_CAV = {"labels": "torch.ones(len(concept_activations)), torch.zeros(len(random_activations))",
              "steps": "steps", "lr": "lr", "average": " / len(x)", "result": "(w / w.norm()).float()"}


def _cav(**changes):
    return _CAV_HEADER + _CAV_BODY.format(**{**_RIGHT_CAV, **changes})


_DD_HEADER = """def directional_derivatives(model, layer, inputs, target, cav):
    '''S(x) = d logit_target / d(layer output) . cav, for every input: (N,).'''
"""
_DD_BODY = """    saved = {{}}
    handle = {layer}.register_forward_hook(lambda module, args, output: saved.update(activations=output))
    try:
        logits = model(inputs.detach().clone().requires_grad_(True)){softmax}
    finally:
        handle.remove()
    rows = torch.arange(len(inputs))
    selected = {selected}
    (gradient,) = torch.autograd.grad(selected.sum(), saved["activations"])
    return {result}
"""
_RIGHT_DD = {"layer": "layer", "softmax": "", "selected": "logits[rows, torch.as_tensor(target)]",
             "result": "(gradient.flatten(1) @ cav).detach()"}


def _dd(**changes):
    return _DD_HEADER + _DD_BODY.format(**{**_RIGHT_DD, **changes})


_TCAV = """def tcav_test(model, concept="watermark"):
    runs, null = experimental_sets(concept)
    with tempfile.TemporaryDirectory() as folder:
        tcav = TCAV(model, [LAYER]{classifier}, save_path=folder)
        scores = tcav.interpret(circles.images, runs + null, target=shapes.WATERMARK_CLASS)

    def first(sets):
        return torch.stack([scores[f"{{a.id}}-{{b.id}}"][LAYER]["{kind}"][{index}] for a, b in sets]).cpu()

    concept_scores, random_scores = first(runs), first(null)
    return concept_scores, random_scores, {test}


watermark_scores_hans, random_scores_hans, p_value_hans = tcav_test(hans_model)
watermark_scores_clean, random_scores_clean, p_value_clean = tcav_test(shapes_model)
"""
_RIGHT_TCAV = {"classifier": ", classifier=CAVClassifier()", "kind": "sign_count", "index": "0",
               "test": "scipy.stats.ttest_ind(concept_scores, random_scores).pvalue"}


def _tcav(**changes):
    return _TCAV.format(**{**_RIGHT_TCAV, **changes})


_INTERVENTION = """with torch.no_grad():
    logit_change_hans = {hans}
    logit_change_clean = {clean}
"""
_CHANGE = "(({model}(circles.images){after} - {model}(circles_clean.images){after}))[:, shapes.WATERMARK_CLASS]"

WRONG_ANSWERS = [
    # ------------------------------------------------------------------ exercise 1: the CAV from scratch
    {
        "cell": "ex1_compute_cav", "test": "ex1_tests",
        "mistake": "concept and random labels swapped: the CAV points away from the concept",
        "diagnosis": "labels",
        "source": _cav(labels="torch.zeros(len(concept_activations)), torch.ones(len(random_activations))"),
    },
    {
        "cell": "ex1_compute_cav", "test": "ex1_tests",
        "mistake": "the classifier's weights returned without normalising them",
        "diagnosis": "unit vector",
        "source": _cav(result="w.float()"),
    },
    {
        "cell": "ex1_compute_cav", "test": "ex1_tests",
        "mistake": "the difference of the mean activations instead of the trained classifier's normal",
        "diagnosis": "difference of the mean activations",
        "source": _CAV_HEADER + """    difference = concept_activations.flatten(1).mean(0) - random_activations.flatten(1).mean(0)
    return difference / difference.norm()
""",
    },
    {
        "cell": "ex1_compute_cav", "test": "ex1_tests",
        "mistake": "the gradient of the summed cross-entropy (steps n times too large)",
        "diagnosis": "average the gradient",
        "source": _cav(average="", lr="lr").replace("b = b - lr * error.mean()", "b = b - lr * error.sum()"),
    },
    {
        "cell": "ex1_compute_cav", "test": "ex1_tests",
        "mistake": "the default steps and lr hard-coded instead of the arguments",
        "diagnosis": "use the arguments",
        "parts": ["options"],
        "source": _cav(steps="100", lr="0.01"),
    },
    {
        "cell": "ex1_compute_cav", "test": "ex1_tests",
        "mistake": "the CAV returned in the shape of one example's activations (C, H, W) instead of flat",
        "diagnosis": "flat vector",
        "parts": ["maps", "options"],
        "source": _cav(result="(w / w.norm()).float().reshape(concept_activations.shape[1:])"),
    },
    {
        "cell": "ex1_compute_cav", "test": "ex1_tests",
        "mistake": "no bias in the classifier",
        "diagnosis": "without a bias",
        "source": _cav().replace("torch.sigmoid(x @ w + b)", "torch.sigmoid(x @ w)"),
    },
    # ------------------------------------------------------------------ exercise 2: directional derivatives
    {
        "cell": "ex2_directional_derivatives", "test": "ex2_tests",
        "mistake": "the gradient of the softmax probability instead of the raw logit",
        "diagnosis": "softmax",
        "source": _dd(softmax=".softmax(dim=1)"),
    },
    {
        "cell": "ex2_directional_derivatives", "test": "ex2_tests",
        "mistake": "the projection of the activations on the CAV instead of the gradient",
        "diagnosis": "projection of the layer's activations",
        "source": _dd(result='(saved["activations"].flatten(1) @ cav).detach()'),
    },
    {
        "cell": "ex2_directional_derivatives", "test": "ex2_tests",
        "mistake": "logits[:, target]: every listed target's logit for every input",
        "diagnosis": "one logit per input",
        "parts": ["per_sample", "models"],
        "source": _dd(selected="logits[:, target]"),
    },
    {
        "cell": "ex2_directional_derivatives", "test": "ex2_tests",
        "mistake": "the layer hard-coded (model.relu2) instead of the argument",
        "diagnosis": "raised",
        "parts": ["int", "models"],
        "source": _dd(layer="model.relu2"),
    },
    {
        "cell": "ex2_directional_derivatives", "test": "ex2_tests",
        "mistake": "the TCAV score (fraction of positive derivatives) returned instead of the derivatives",
        "diagnosis": "one number",
        "source": _dd(result="((gradient.flatten(1) @ cav) > 0).float().mean()"),
    },
    # ------------------------------------------------------------------ exercise 3: TCAV with Captum
    {
        "cell": "ex3_tcav_test", "test": "ex3_tests",
        "mistake": "Captum's magnitude score instead of the sign count",
        "diagnosis": "magnitude",
        "parts": ["hans", "clean"],
        "source": _tcav(kind="magnitude"),
    },
    {
        "cell": "ex3_tcav_test", "test": "ex3_tests",
        "mistake": "the score of the second concept of each set (the random one)",
        "diagnosis": "SECOND concept",
        "parts": ["hans", "clean"],
        "source": _tcav(index="1"),
    },
    {
        "cell": "ex3_tcav_test", "test": "ex3_tests",
        "mistake": "Welch's t-test instead of Student's",
        "diagnosis": "Welch",
        "parts": ["p_values"],
        "source": _tcav(test="scipy.stats.ttest_ind(concept_scores, random_scores, equal_var=False).pvalue"),
    },
    {
        "cell": "ex3_tcav_test", "test": "ex3_tests",
        "mistake": "Captum's default classifier (random) instead of the course's CAVClassifier",
        "diagnosis": "default classifier",
        "parts": ["hans", "clean"],
        "source": _tcav(classifier=""),
    },
    {
        "cell": "ex3_tcav_test", "test": "ex3_tests",
        "mistake": "a one-sample t-test of the concept's scores against 0.5",
        "diagnosis": "one-sample",
        "parts": ["p_values"],
        "source": _tcav(test="scipy.stats.ttest_1samp(concept_scores, 0.5).pvalue"),
    },
    # ------------------------------------------------------------------ exercise 4: the intervention
    {
        "cell": "ex4_intervention", "test": "ex4_tests",
        "mistake": "the change of the softmax probability instead of the raw logit",
        "diagnosis": "softmax probability",
        "source": _INTERVENTION.format(hans=_CHANGE.format(model="hans_model", after=".softmax(dim=1)"),
                                       clean=_CHANGE.format(model="shapes_model", after=".softmax(dim=1)")),
    },
    {
        "cell": "ex4_intervention", "test": "ex4_tests",
        "mistake": "without minus with the watermark: the sign flipped",
        "diagnosis": "sign is flipped",
        "source": _INTERVENTION.format(
            hans="(hans_model(circles_clean.images) - hans_model(circles.images))[:, shapes.WATERMARK_CLASS]",
            clean="(shapes_model(circles_clean.images) - shapes_model(circles.images))[:, shapes.WATERMARK_CLASS]"),
    },
    {
        "cell": "ex4_intervention", "test": "ex4_tests",
        "mistake": "the two models swapped",
        "diagnosis": "clean model",
        "source": _INTERVENTION.format(hans=_CHANGE.format(model="shapes_model", after=""),
                                       clean=_CHANGE.format(model="hans_model", after="")),
    },
    {
        "cell": "ex4_intervention", "test": "ex4_tests",
        "mistake": "the mean change only (one number) instead of one change per circle",
        "diagnosis": "one number",
        "source": _INTERVENTION.format(hans=_CHANGE.format(model="hans_model", after="") + ".mean()",
                                       clean=_CHANGE.format(model="shapes_model", after="") + ".mean()"),
    },
]
