"""Wrong answers of lab 11 (evaluating explanations II: sanity checks and a Clever Hans model): two or more per
graded exercise (format: tests/wrong_answers/__init__.py)."""

_RANK_HEADER = """def rank_correlation(a, b, absolute=True):
    '''Spearman correlation of a and b per sample (of |a| and |b| when absolute) -> (N,).'''
"""
# Pearson correlation of {x} and {y} (flattened per sample), after the optional absolute value
_PEARSON = """    {absolute}
    x, y = {x}, {y}
    x = x - x.mean(dim=1, keepdim=True)
    y = y - y.mean(dim=1, keepdim=True)
    return (x * y).sum(dim=1) / (x.norm(dim=1) * y.norm(dim=1))
"""
_ABSOLUTE = "a, b = (a.abs(), b.abs()) if absolute else (a, b)"
_ORDINAL = "{0}.flatten(1).argsort(dim=1, stable=True).argsort(dim=1).float()"

_RANDOMISATION = """def gradient_maps(model):
    attributions = Saliency(model).attribute(sanity_images.images, target=sanity_images.labels{gradient_abs})
    return evaluation.attribution_map(attributions, sign="all")


def guided_maps(model):
    attributions = GuidedBackprop(model).attribute(sanity_images.images, target=sanity_images.labels)
    return evaluation.attribution_map(attributions, sign="all")


trained_gradient, trained_guided = gradient_maps(shapes_model), guided_maps(shapes_model)
gradient_correlations = torch.stack([evaluation.rank_correlation(trained_gradient, gradient_maps(copy), absolute={gradient_absolute})
                                     for _, copy in randomized])
guided_correlations = torch.stack([evaluation.rank_correlation({guided_reference}, guided_maps(copy), absolute={guided_absolute})
                                   for _, copy in randomized])
"""
_RIGHT_RANDOMISATION = {"gradient_abs": ", abs=False", "gradient_absolute": "False", "guided_absolute": "False",
                        "guided_reference": "trained_guided"}

_WATERMARK = """box = shapes.watermark_mask(len(circles)).to(device)
watermark_mass_hans = evaluation.relevance_mass(evaluation.attribution_map(
    Saliency({hans}).attribute(circles.images, target=circles.labels{options}), sign="positive"), {region})
watermark_mass_clean = evaluation.relevance_mass(evaluation.attribution_map(
    Saliency({clean}).attribute(circles.images, target=circles.labels{options}), sign="positive"), {region})
"""
_RIGHT_WATERMARK = {"hans": "hans_model", "clean": "shapes_model", "options": "", "region": "box"}

WRONG_ANSWERS = [
    # ------------------------------------------------------------------ exercise 1: rank correlation
    {
        "cell": "ex1_rank_correlation", "test": "ex1_tests",
        "mistake": "Pearson correlation of the values instead of their ranks",
        "diagnosis": "Pearson",
        "source": _RANK_HEADER + _PEARSON.format(absolute=_ABSOLUTE, x="a.flatten(1)", y="b.flatten(1)"),
    },
    {
        "cell": "ex1_rank_correlation", "test": "ex1_tests",
        "mistake": "ties get different ranks (argsort of the argsort): no average rank",
        "diagnosis": "average",
        "parts": ["ties"],
        "source": _RANK_HEADER + _PEARSON.format(absolute=_ABSOLUTE, x=_ORDINAL.format("a"), y=_ORDINAL.format("b")),
    },
    {
        "cell": "ex1_rank_correlation", "test": "ex1_tests",
        "mistake": "ignores absolute=False: always the ranks of |a| and |b|",
        "diagnosis": "keep the signs",
        "parts": ["signed"],
        "source": _RANK_HEADER + """    def ranks(values):
        rows = []
        for row in values.flatten(1):
            smaller = (row[None, :] < row[:, None]).sum(dim=1)
            equal = (row[None, :] == row[:, None]).sum(dim=1)
            rows.append(smaller + (equal - 1) / 2)
        return torch.stack(rows).double()

    ranks_a, ranks_b = ranks(a.abs()), ranks(b.abs())
    ranks_a = ranks_a - ranks_a.mean(dim=1, keepdim=True)
    ranks_b = ranks_b - ranks_b.mean(dim=1, keepdim=True)
    return ((ranks_a * ranks_b).sum(dim=1) / (ranks_a.norm(dim=1) * ranks_b.norm(dim=1))).float()
""",
    },
    {
        "cell": "ex1_rank_correlation", "test": "ex1_tests",
        "mistake": "a single argsort (the sorting permutation) taken for the ranks",
        "diagnosis": "argsort of the argsort",
        "source": _RANK_HEADER + _PEARSON.format(absolute=_ABSOLUTE, x="a.flatten(1).argsort(dim=1).float()",
                                                 y="b.flatten(1).argsort(dim=1).float()"),
    },
    # ------------------------------------------------------------------ exercise 2: the randomisation test
    {
        "cell": "ex2_randomisation", "test": "ex2_tests",
        "mistake": "rank correlation of the absolute maps instead of the signed ones",
        "diagnosis": "absolute maps",
        "source": _RANDOMISATION.format(**{**_RIGHT_RANDOMISATION, "gradient_absolute": "True",
                                           "guided_absolute": "True"}),
    },
    {
        "cell": "ex2_randomisation", "test": "ex2_tests",
        "mistake": "Saliency's default abs=True: the absolute gradient instead of the signed one",
        "diagnosis": "abs=True",
        "parts": ["gradient"],
        "source": _RANDOMISATION.format(**{**_RIGHT_RANDOMISATION, "gradient_abs": ""}),
    },
    {
        "cell": "ex2_randomisation", "test": "ex2_tests",
        "mistake": "guided backprop: each copy compared with the previous copy instead of the trained model",
        "diagnosis": "PREVIOUS copy",
        "parts": ["guided"],
        "source": _RANDOMISATION.format(**_RIGHT_RANDOMISATION).replace(
            """guided_correlations = torch.stack([evaluation.rank_correlation(trained_guided, guided_maps(copy), absolute=False)
                                   for _, copy in randomized])""",
            """guided_list = [guided_maps(shapes_model)] + [guided_maps(copy) for _, copy in randomized]
guided_correlations = torch.stack([evaluation.rank_correlation(before, after, absolute=False)
                                   for before, after in zip(guided_list[:-1], guided_list[1:])])"""),
    },
    # ------------------------------------------------------------------ exercise 3: watermark relevance mass
    {
        "cell": "ex3_watermark_mass", "test": "ex3_tests",
        "mistake": "the object mask instead of the watermark box",
        "diagnosis": "object mask",
        "source": _WATERMARK.format(**{**_RIGHT_WATERMARK, "region": "circles.masks"}),
    },
    {
        "cell": "ex3_watermark_mass", "test": "ex3_tests",
        "mistake": "the two models swapped",
        "diagnosis": "CLEAN model",
        "source": _WATERMARK.format(**{**_RIGHT_WATERMARK, "hans": "shapes_model", "clean": "hans_model"}),
    },
    {
        "cell": "ex3_watermark_mass", "test": "ex3_tests",
        "mistake": "the signed gradient (abs=False) where Saliency's default is asked for",
        "diagnosis": "abs=False",
        "source": _WATERMARK.format(**{**_RIGHT_WATERMARK, "options": ", abs=False"}),
    },
    # ------------------------------------------------------------------ exercise 4: accuracy drop
    {
        "cell": "ex4_accuracy_drop", "test": "ex4_tests",
        "mistake": "the clean model evaluated on the clean test set instead of the Clever Hans model",
        "diagnosis": "clean model",
        "parts": ["without"],
        "source": """accuracy_with = shapes.accuracy(hans_model, hans_test.images, hans_test.labels)
accuracy_without = shapes.accuracy(shapes_model, clean_test.images, clean_test.labels)
""",
    },
    {
        "cell": "ex4_accuracy_drop", "test": "ex4_tests",
        "mistake": "accuracies as percentages",
        "diagnosis": "not a percentage",
        "source": """accuracy_with = 100 * shapes.accuracy(hans_model, hans_test.images, hans_test.labels)
accuracy_without = 100 * shapes.accuracy(hans_model, clean_test.images, clean_test.labels)
""",
    },
    {
        "cell": "ex4_accuracy_drop", "test": "ex4_tests",
        "mistake": "the two test sets swapped",
        "diagnosis": "with the watermark",
        "source": """accuracy_with = shapes.accuracy(hans_model, clean_test.images, clean_test.labels)
accuracy_without = shapes.accuracy(hans_model, hans_test.images, hans_test.labels)
""",
    },
]
