"""helpers.evaluation against independent truths: hand-made maps and masks, closed-form deletion/insertion curves
of a linear model, scipy's Spearman correlation, and Captum's infidelity of an exact explanation."""
import math

import pytest
import scipy.stats
import torch
from captum.metrics import infidelity
from torch import nn

from helpers import evaluation
from helpers.models import SmallCNN


def linear_model(weights: torch.Tensor, bias: float) -> nn.Module:
    """F(x) = sum(weights * x) + bias over all (C, H, W) elements, one output."""
    linear = nn.Linear(weights.numel(), 1)
    with torch.no_grad():
        linear.weight.copy_(weights.flatten()[None])
        linear.bias.fill_(bias)
    return nn.Sequential(nn.Flatten(), linear)


# ------------------------------------------------------------------------------------------------ maps
def test_attribution_map_sums_channels_then_takes_the_sign_asked_for():
    attributions = torch.tensor([[[[1.0, -2.0]], [[-3.0, 1.0]]]])  # (1, 2, 1, 2): channel sums -2 and -1
    assert evaluation.attribution_map(attributions).tolist() == [[[2.0, 1.0]]]
    assert evaluation.attribution_map(attributions, sign="positive").tolist() == [[[0.0, 0.0]]]
    assert evaluation.attribution_map(attributions, sign="all").tolist() == [[[-2.0, -1.0]]]


def test_attribution_map_resizes_a_coarse_map():
    coarse = torch.arange(4.0).view(1, 1, 2, 2)
    resized = evaluation.attribution_map(coarse, size=(4, 4))
    assert resized.shape == (1, 4, 4)
    assert resized[0, 0, 0] == 0 and resized[0, 3, 3] == 3  # corners keep the corner values (bilinear)


# ------------------------------------------------------------------------------------------------ localisation
def test_pointing_game_on_hand_made_maps():
    masks = torch.zeros(3, 4, 4, dtype=torch.bool)
    masks[:, 1:3, 1:3] = True
    maps = torch.zeros(3, 4, 4)
    maps[0, 2, 2] = 5.0  # maximum inside the object
    maps[1, 0, 3] = 5.0  # maximum outside
    maps[1, 1, 1] = 4.0
    maps[2] = -1.0       # a signed map: its maximum (0) at (1, 2) is inside
    maps[2, 1, 2] = 0.0
    assert evaluation.pointing_game(maps, masks).tolist() == [True, False, True]
    assert evaluation.pointing_game(maps[:, None], masks[:, None]).tolist() == [True, False, True]


def test_pointing_game_breaks_ties_by_the_first_pixel():
    masks = torch.zeros(1, 3, 3, dtype=torch.bool)
    masks[0, 2, 2] = True
    maps = torch.ones(1, 3, 3)  # all tied: the first pixel (0, 0) is outside
    assert evaluation.pointing_game(maps, masks).tolist() == [False]


def test_relevance_mass_on_hand_made_masks():
    masks = torch.zeros(3, 2, 4, dtype=torch.bool)
    masks[:, :, :1] = True  # the first column: 2 of 8 pixels
    maps = torch.stack([torch.ones(2, 4),                                     # uniform: the area share 1/4
                        torch.tensor([[3.0, 1, 0, 0], [1, 0, 0, 0]]),        # 4 of 5 inside
                        torch.zeros(2, 4)])                                   # nothing: 0
    torch.testing.assert_close(evaluation.relevance_mass(maps, masks), torch.tensor([0.25, 0.8, 0.0]))


def test_localisation_metrics_reject_bad_input():
    maps, masks = torch.rand(2, 4, 4), torch.ones(2, 4, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="non-negative"):
        evaluation.relevance_mass(maps - 0.5, masks)
    with pytest.raises(TypeError, match="bool"):
        evaluation.pointing_game(maps, masks.float())
    with pytest.raises(ValueError, match="same"):
        evaluation.pointing_game(maps, masks[:1])
    with pytest.raises(ValueError, match="attribution_map"):
        evaluation.relevance_mass(torch.rand(2, 3, 4, 4), masks)
    with pytest.raises(TypeError, match="torch.Tensor"):
        evaluation.pointing_game(maps.numpy(), masks)
    with pytest.raises(ValueError, match="sign"):
        evaluation.attribution_map(torch.rand(1, 3, 4, 4), sign="abs")


# ------------------------------------------------------------------------------------------------ deletion / insertion
N_PIXELS, BIAS = 16, 0.5


def permuted_contributions():
    """A 1x4x4 image and a linear model whose per-pixel contributions w_i x_i are a permutation of 1..16."""
    generator = torch.Generator().manual_seed(0)
    contributions = (torch.randperm(N_PIXELS, generator=generator) + 1).float().view(1, 1, 4, 4)
    inputs = torch.rand(1, 1, 4, 4, generator=generator) + 0.5
    return linear_model(contributions / inputs, BIAS), inputs, contributions


def test_deletion_auc_of_the_perfect_order_on_a_linear_model_is_analytic():
    model, inputs, contributions = permuted_contributions()
    n = N_PIXELS
    fractions, scores = evaluation.deletion_curve(model, inputs, contributions[:, 0], target=0)
    # after k deletions the n - k smallest contributions 1..n-k remain: F_k = b + (n-k)(n-k+1)/2
    expected_scores = torch.tensor([BIAS + (n - k) * (n - k + 1) / 2 for k in range(n + 1)])
    torch.testing.assert_close(fractions, torch.arange(n + 1) / n)
    torch.testing.assert_close(scores[0], expected_scores)
    # trapezoid with spacing 1/n: (1/n) [sum_k F_k - (F_0 + F_n) / 2] = b + (n+1)(n+2)/6 - (n+1)/4
    expected_auc = BIAS + (n + 1) * (n + 2) / 6 - (n + 1) / 4
    auc = evaluation.area_under_curve(fractions, scores)
    torch.testing.assert_close(auc, torch.tensor([expected_auc]))
    # insertion with the same order adds the largest first: its area is b + S - (deletion area - b), S = n(n+1)/2
    insertion = evaluation.area_under_curve(*evaluation.insertion_curve(model, inputs, contributions[:, 0], target=0))
    torch.testing.assert_close(insertion, torch.tensor([BIAS + n * (n + 1) / 2 - (expected_auc - BIAS)]))


def test_the_perfect_order_beats_every_other_order_and_random_orders_average_to_half():
    model, inputs, contributions = permuted_contributions()
    total = N_PIXELS * (N_PIXELS + 1) / 2
    perfect = evaluation.area_under_curve(*evaluation.deletion_curve(model, inputs, contributions[:, 0], 0))
    reverse = evaluation.area_under_curve(*evaluation.deletion_curve(model, inputs, -contributions[:, 0], 0))
    random = evaluation.random_order_auc(model, inputs, 0, n_orders=400, seed=1)
    assert perfect < random < reverse
    # in expectation every contribution is removed linearly: E[F_k] = b + S (1 - k/n), area b + S/2
    assert math.isclose(random.item(), BIAS + total / 2, rel_tol=0.03)
    insertion_random = evaluation.random_order_auc(model, inputs, 0, curve="insertion", n_orders=400, seed=1)
    assert math.isclose(insertion_random.item(), BIAS + total / 2, rel_tol=0.03)


def test_deletion_with_a_step_a_baseline_value_and_several_channels():
    generator = torch.Generator().manual_seed(3)
    weights = torch.rand(3, 4, 4, generator=generator) - 0.5
    inputs = torch.rand(2, 3, 4, 4, generator=generator)
    model = linear_model(weights, 0.0)
    maps = torch.rand(2, 4, 4, generator=generator)
    baseline = 0.3
    fractions, scores = evaluation.deletion_curve(model, inputs, maps, target=[0, 0], baselines=baseline, step=5)
    torch.testing.assert_close(fractions, torch.tensor([0, 5, 10, 15, 16]) / 16)
    for i in range(2):  # remove whole pixels (all channels) in decreasing order of the map, 5 at a time
        order = sorted(range(16), key=lambda p: -maps[i].flatten()[p].item())
        for j, k in enumerate([0, 5, 10, 15, 16]):
            image = inputs[i].clone().view(3, 16)
            image[:, order[:k]] = baseline
            torch.testing.assert_close(scores[i, j], (weights.view(3, 16) * image).sum())


def test_deletion_on_a_cnn_starts_at_the_output_and_ends_at_the_baseline_output():
    model = SmallCNN(in_channels=3, num_classes=4)
    inputs = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    target = torch.tensor([1, 3])
    _, scores = evaluation.deletion_curve(model, inputs, torch.rand(2, 8, 8), target, step=7, batch_size=3)
    with torch.no_grad():
        torch.testing.assert_close(scores[:, 0], model(inputs)[[0, 1], target])
        torch.testing.assert_close(scores[:, -1], model(torch.zeros_like(inputs))[[0, 1], target])


def test_curves_reject_bad_input():
    model, inputs, contributions = permuted_contributions()
    maps = contributions[:, 0]
    with pytest.raises(ValueError, match="step"):
        evaluation.deletion_curve(model, inputs, maps, 0, step=0)
    with pytest.raises(ValueError, match="maps must have shape"):
        evaluation.deletion_curve(model, inputs, maps[:, :2], 0)
    with pytest.raises(ValueError, match="inputs"):
        evaluation.insertion_curve(model, inputs[0], maps, 0)
    with pytest.raises(ValueError, match="target"):
        evaluation.deletion_curve(model, inputs, maps, [0, 0])
    with pytest.raises(ValueError, match="baselines"):
        evaluation.deletion_curve(model, inputs, maps, 0, baselines=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="curve"):
        evaluation.random_order_auc(model, inputs, 0, curve="deleting")
    with pytest.raises(ValueError, match="fractions"):
        evaluation.area_under_curve(torch.rand(3), torch.rand(2, 4))


def test_blurred_keeps_constant_images_and_averages_a_box():
    constant = torch.full((1, 3, 6, 6), 0.3)
    torch.testing.assert_close(evaluation.blurred(constant, 3), constant)
    impulse = torch.zeros(1, 1, 7, 7)
    impulse[0, 0, 3, 3] = 9.0
    expected = torch.zeros(1, 1, 7, 7)
    expected[0, 0, 2:5, 2:5] = 1.0  # the 3x3 mean spreads the impulse over its neighbours
    torch.testing.assert_close(evaluation.blurred(impulse, 3), expected)
    with pytest.raises(ValueError, match="odd"):
        evaluation.blurred(constant, 4)


# ------------------------------------------------------------------------------------------------ infidelity
def test_exact_attributions_of_a_linear_model_have_zero_infidelity():
    weights = torch.randn(1, 4, 4, generator=torch.Generator().manual_seed(0))
    model = linear_model(weights, 1.0)
    inputs = torch.rand(2, 1, 4, 4)
    torch.manual_seed(0)
    exact = infidelity(model, evaluation.noise_perturbation(0.1), inputs, weights.expand_as(inputs), target=0)
    wrong = infidelity(model, evaluation.noise_perturbation(0.1), inputs, -weights.expand_as(inputs), target=0)
    assert exact.abs().max() < 1e-9 and (wrong > 1e-3).all()
    with pytest.raises(ValueError, match="std"):
        evaluation.noise_perturbation(0)


def test_noise_perturbation_draws_from_the_cpu_random_state():
    """The same seed gives the same noise on every device (the value exercises of lab 10 are checked on the CPU)."""
    inputs = torch.rand(2, 3, 4, 4)
    torch.manual_seed(3)
    noise, perturbed = evaluation.noise_perturbation(0.05)(inputs)
    torch.manual_seed(3)
    torch.testing.assert_close(noise, torch.randn(inputs.shape) * 0.05)
    torch.testing.assert_close(perturbed, inputs - noise)


# ------------------------------------------------------------------------------------------------ sanity checks
@pytest.mark.parametrize("absolute", [True, False])
def test_rank_correlation_equals_scipy_spearman_with_ties(absolute):
    generator = torch.Generator().manual_seed(0)
    a = (torch.randn(3, 2, 5, 5, generator=generator) * 2).round()  # many ties
    b = a + torch.randn(3, 2, 5, 5, generator=generator)
    result = evaluation.rank_correlation(a, b, absolute=absolute)
    for i in range(3):
        x, y = (a[i].abs(), b[i].abs()) if absolute else (a[i], b[i])
        expected = scipy.stats.spearmanr(x.flatten().numpy(), y.flatten().numpy()).statistic
        assert math.isclose(result[i].item(), expected, rel_tol=1e-6)


def test_rank_correlation_of_monotone_maps_is_one_and_of_a_constant_map_nan():
    a = torch.rand(2, 10)
    torch.testing.assert_close(evaluation.rank_correlation(a, a**3 + 1), torch.ones(2))
    assert torch.isnan(evaluation.rank_correlation(torch.ones(1, 10), a[:1])).all()
    with pytest.raises(ValueError, match="same shape"):
        evaluation.rank_correlation(a, a[:1])


def test_cascading_randomization_goes_from_the_output_layer_down_and_keeps_the_model():
    model = SmallCNN(in_channels=3, num_classes=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    copies = evaluation.cascading_randomization(model, seed=0)
    assert [name for name, _ in copies] == ["fc", "conv2", "conv1"]
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} of the original model changed"
    layers = ["conv1", "conv2", "fc"]
    for depth, (_, randomized) in enumerate(copies, start=1):
        for position, layer in enumerate(layers):
            same = torch.equal(randomized.get_submodule(layer).weight, model.get_submodule(layer).weight)
            assert same == (position < len(layers) - depth), (depth, layer)
    again = evaluation.cascading_randomization(model, seed=0)
    assert torch.equal(again[-1][1].conv1.weight, copies[-1][1].conv1.weight)
    state = torch.random.get_rng_state()
    evaluation.cascading_randomization(model, seed=1)
    assert torch.equal(torch.random.get_rng_state(), state), "the global random state must be left as it was"


def test_cascading_randomization_rejects_bad_input():
    with pytest.raises(TypeError, match="nn.Module"):
        evaluation.cascading_randomization(lambda x: x)
    with pytest.raises(ValueError, match="no parameters"):
        evaluation.cascading_randomization(nn.ReLU())
