"""Wrong answers of lab 01 (toy model): two or more per graded exercise (format: tests/wrong_answers/__init__.py)."""

WRONG_ANSWERS = [
    # ---------------------------------------------------------------- exercise 1: IG for target 1 with Captum
    {
        "cell": "ex1_captum_target1", "test": "ex1_tests",
        "mistake": "wrong target: kept target 0 of the demo",
        "diagnosis": "target 0 instead of target 1",
        "parts": ["attributions"],
        "source": (
            "attributions_t1, delta_t1 = ig.attribute(inputs, baselines=baselines, target=0, "
            "return_convergence_delta=True)\n"
            "print(\"IG attributions for target 1:\", attributions_t1)\n"
        ),
    },
    {
        "cell": "ex1_captum_target1", "test": "ex1_tests",
        "mistake": "gradient instead of IG: forgot to multiply by (x - baseline) (Saliency, signed)",
        "diagnosis": "multiply by (inputs - baselines)",
        "parts": ["attributions"],
        "source": (
            "from captum.attr import Saliency\n"
            "attributions_t1 = Saliency(model).attribute(inputs, target=1, abs=False)\n"
            "delta_t1 = torch.tensor(0.0)\n"
            "print(\"IG attributions for target 1:\", attributions_t1)\n"
        ),
    },
    # ---------------------------------------------------------------- exercise 2: closed-form IG of target 0
    {
        "cell": "ex2_toy_ig_by_hand", "test": "ex2_tests",
        "mistake": "IG without (x - baseline): returns the constant gradient",
        "diagnosis": "multiply by (inputs - baselines)",
        "source": (
            "def toy_ig_target0(inputs):\n"
            "    x0, x1, x2 = inputs[:, 0], inputs[:, 1], inputs[:, 2]\n"
            "    h1_active = (x2 > x0).to(inputs.dtype)\n"
            "    return torch.stack([-2 * (1 - h1_active), torch.full_like(x1, -3.0), -4 - 2 * h1_active], dim=1)\n"
        ),
    },
    {
        "cell": "ex2_toy_ig_by_hand", "test": "ex2_tests",
        "mistake": "ignored the ReLU of h1 (assumes it is always active): right on the demo input only",
        "diagnosis": "some with x2 < x0",
        "parts": ["mixed"],
        "source": (
            "def toy_ig_target0(inputs):\n"
            "    grad = torch.tensor([0.0, -3.0, -6.0])\n"
            "    return inputs * grad\n"
        ),
    },
    # ---------------------------------------------------------------- exercise 3: completeness gap
    {
        "cell": "ex3_completeness", "test": "ex3_tests",
        "mistake": "softmax probability instead of the raw logit of the target",
        "diagnosis": "softmax probability instead of the raw logit",
        "source": (
            "def completeness_gap(model, inputs, baselines, attributions, target):\n"
            "    with torch.no_grad():\n"
            "        change = model(inputs).softmax(dim=1)[:, target] - model(baselines).softmax(dim=1)[:, target]\n"
            "    return attributions.reshape(len(attributions), -1).sum(dim=1) - change\n"
        ),
    },
    {
        "cell": "ex3_completeness", "test": "ex3_tests",
        "mistake": "sums the attributions over the whole batch too: right for one sample only",
        "diagnosis": "summed over the whole batch",
        "source": (
            "def completeness_gap(model, inputs, baselines, attributions, target):\n"
            "    with torch.no_grad():\n"
            "        change = model(inputs)[:, target] - model(baselines)[:, target]\n"
            "    return attributions.sum() - change\n"
        ),
    },
    # ---------------------------------------------------------------- exercise 4: per-sample targets
    {
        "cell": "ex4_batch", "test": "ex4_tests",
        "mistake": "one target for the whole batch (target 0) instead of each sample's predicted class",
        "diagnosis": "target 0 for every sample",
        "parts": ["attributions"],
        "source": (
            "batch_targets = model(batch).argmax(dim=1)\n"
            "batch_attributions = ig.attribute(batch, target=0)\n"
        ),
    },
    {
        "cell": "ex4_batch", "test": "ex4_tests",
        "mistake": "argmax over the wrong dimension (over the batch instead of the classes)",
        "diagnosis": "predicted class of each sample",
        "parts": ["targets"],
        "source": (
            "batch_targets = model(batch).argmax(dim=0)\n"
            "batch_attributions = ig.attribute(batch, target=model(batch).argmax(dim=1))\n"
        ),
    },
]
