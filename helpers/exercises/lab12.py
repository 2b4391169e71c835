"""Lab 12 (fragile explanations: adversarial examples, class visualisation, manipulated maps): the graded exercises.

The notebook calls ``self_check("ex1_tests")`` ... and ``show_progress()``; the grader runs the same checks.
Cases are built here in plain PyTorch (the grader's from-scratch sandbox has neither Captum nor ``helpers.reference``
nor ``helpers.evaluation``); the references are computed inside the checks only.

The attacks work in **pixel space**: :class:`PixelModel` is the lab's classifier behind its normalisation, so that
inputs are images with values in [0, 1] and the sizes of the changes (epsilon, radius) are in pixel units (1/255 is
one grey level). The notebook builds the same model (``pixel_model``).

Why some checks tolerate a few elements: Captum's FGSM leaves an element unchanged when its gradient is at most 1e-6
in magnitude, so an answer that computes the same gradient in another order (a mean instead of a sum over the batch,
a GPU) may differ from Captum's on the few elements whose gradient is that small. The one-step checks accept either
value there (:func:`_one_step_candidates`). Several PGD steps amplify such a difference (each step depends on the
signs of the previous one; the notebook shows it), so PGD's result is checked by its properties (:class:`CaptumAttacks`).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from helpers.checks import check_attribution
from helpers.exercises import context
from helpers.exercises.core import Case, FunctionExercise, Lab, Part, ValueExercise, variant_generator
from helpers.models import SmallCNN

#: The class the lab fools the ImageNet model into (CS231n's example), by name: the index is the same in both models.
FOOL_CLASS_NAME = "stingray"
#: Exercise 2: Captum's FGSM (untargeted, the predicted class) and PGD (targeted, the fool class), in pixel units.
FGSM_EPSILON = 2 / 255
PGD_RADIUS, PGD_STEP_SIZE, PGD_STEP_NUM = 4 / 255, 1 / 255, 10
#: Captum's FGSM leaves elements whose gradient is at most this in magnitude unchanged (FGSM.zero_thresh).
ZERO_THRESH = 1e-6
#: Elements whose reference gradient is at most this in magnitude may differ (either value is accepted).
AMBIGUOUS = 1e-5
#: PGD: the least correlation of a right answer's change with the reference's (rounding alone gives about 0.55 to 0.7
#: on the offline model; the wrong attacks of the wrong-answer fixtures give 0.25 or less).
MIN_CORRELATION = 0.35


class PixelModel(nn.Module):
    """``model((x - mean) / std)``: a classifier of normalised inputs as a classifier of pixel values in [0, 1]."""

    def __init__(self, model: nn.Module, mean, std) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.eval()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.model((inputs - self.mean) / self.std)


def cross_entropy(outputs: torch.Tensor, target) -> torch.Tensor:
    """One cross-entropy loss per sample of the raw outputs (logits), for an int target or one per sample: the
    ``loss_func`` of the lab's Captum attacks (Captum takes the gradient of each sample's loss)."""
    target = torch.as_tensor(target, device=outputs.device)
    return F.cross_entropy(outputs, target.expand(len(outputs)) if target.dim() == 0 else target, reduction="none")


@functools.lru_cache(maxsize=None)
def _pixel_lab(model_name: str) -> PixelModel:
    lab = context.imagenet()
    return PixelModel(lab.model, lab.mean, lab.std)


def pixel_lab_model() -> PixelModel:
    """The lab's ImageNet model (the grader's private CPU copy) on pixel values in [0, 1]."""
    return _pixel_lab(context.imagenet().name)


def photo_pixels(name: str = "cat") -> torch.Tensor:
    """The sample photo as pixel values in [0, 1], shape (1, 3, 224, 224) (resized and cropped as the model sees it)."""
    return context.imagenet().denormalize(context.image(name))


def fool_class() -> int:
    from helpers.images import imagenet_class_names

    return imagenet_class_names().index(FOOL_CLASS_NAME)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 1: one PGD step from scratch (an FGSM step when inputs == original)


def _loss_gradient(model, inputs, target, loss=cross_entropy) -> torch.Tensor:
    x = inputs.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (gradient,) = torch.autograd.grad(loss(model(x), target).sum(), x)
    return gradient.detach()


def _finish(stepped, original, radius, project=True, clamp=True):
    if project:
        stepped = original + torch.clamp(stepped - original, -radius, radius)
    return stepped.clamp(0, 1) if clamp else stepped


def _one_step_candidates(model, inputs, original, target, step_size, radius, targeted):
    """The reference step (Captum's FGSM step, then the projection and the clamp) and a tensor holding, where the
    gradient is tiny (|g| <= AMBIGUOUS), the closest other acceptable value: with or without the step."""
    from helpers import reference

    stepped = reference.fgsm(model, inputs, step_size, target, targeted=targeted, loss_func=cross_entropy)
    expected = _finish(stepped, original, radius)
    gradient = _loss_gradient(model, inputs, target)
    sign = -1 if targeted else 1
    moved = _finish(inputs + sign * step_size * gradient.sign(), original, radius)
    still = _finish(inputs.clone(), original, radius)
    return expected, gradient.abs() <= AMBIGUOUS, moved, still


def _accept_tiny_gradients(result, expected, ambiguous, *others):
    """``expected`` with, where the gradient is tiny, the student's value when it equals one of ``others``."""
    if not isinstance(result, torch.Tensor) or result.shape != expected.shape:
        return expected
    result = result.detach().to("cpu", expected.dtype)
    adjusted = expected.clone()
    for other in others:
        same = ambiguous & ((result - other).abs() <= 1e-6)
        adjusted = torch.where(same, other, adjusted)
    return adjusted


def _check_lazily(result, expected, *, name, alternatives, method="adversarial", atol=1e-6):
    """check_attribution (absolute tolerance) without alternatives first; on failure, again with the alternatives
    (a dict of callables, computed only then) so that the message names the mistake."""
    try:
        check_attribution(result, expected, method=method, name=name, rtol=0.0, atol=atol)
        return
    except AssertionError:
        pass
    computed = {}
    for description, make in alternatives.items():
        try:
            value = make()
            if isinstance(value, tuple):  # (value, where its gradient is tiny): take the student's values there
                value, tiny = value
                if isinstance(result, torch.Tensor) and result.shape == value.shape:
                    value = torch.where(tiny, result.detach().to("cpu", value.dtype), value)
        except Exception:  # an alternative that does not apply to this case
            continue
        if isinstance(value, torch.Tensor) and value.shape == expected.shape and bool(torch.isfinite(value).all()) \
                and not torch.allclose(value, expected, rtol=0.0, atol=atol):
            computed[description] = value
    check_attribution(result, expected, method=method, name=name, rtol=0.0, atol=atol, alternatives=computed)


def _small_cnn(channels, generator):
    return SmallCNN(in_channels=channels, seed=int(torch.randint(0, 10_000, (1,), generator=generator)))


def _inner_images(n, channels, generator):
    """Images with values in [0.05, 0.95]: one step of at most 0.04 never leaves [0, 1]."""
    size = 32 if channels == 3 else 28
    return 0.05 + 0.9 * torch.rand(n, channels, size, size, generator=generator)


def _saturated_images(n, channels, generator):
    """Images where about a third of the values are exactly 0 and a third exactly 1 (the clamp matters)."""
    size = 32 if channels == 3 else 28
    values = torch.rand(n, channels, size, size, generator=generator)
    kind = torch.randint(0, 3, values.shape, generator=generator)
    return torch.where(kind == 0, torch.zeros_like(values), torch.where(kind == 1, torch.ones_like(values), values))


def _targets(n, generator, classes=10):
    return torch.randint(0, classes, (n,), generator=generator)


class PgdStep(FunctionExercise):
    grade_id = "ex1_tests"
    function = "pgd_step"
    parts = (Part("targeted", 1, "targeted=True: a step down the loss of `target` (an int)"),
             Part("untargeted", 1, "targeted=False (the default): a step up the loss of `target` (an int)"),
             Part("per_sample", 1, "one target per sample (a list or a tensor)"),
             Part("projection", 1, "the projection onto the L-inf ball around `original`, then the clamp to [0, 1]"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab12.ex1")
        lab = pixel_lab_model()
        if variant == 0:
            photo, other, far_class = "cat", "coffee", fool_class()
            ranked = context.ranking("cat")[0]
        else:
            photo, other = [("cat", "coffee"), ("coffee", "cat")][int(torch.randint(0, 2, (1,), generator=generator))]
            far_class = int(torch.randint(0, 1000, (1,), generator=generator))
            ranked = context.ranking(photo)[int(torch.randint(0, 3, (1,), generator=generator))]
        inner = 0.05 + 0.9 * photo_pixels(photo)  # the photo with its values in [0.05, 0.95]
        pair = 0.05 + 0.9 * torch.cat([photo_pixels(photo), photo_pixels(other)])
        pair_targets = [far_class, int(torch.randint(0, 1000, (1,), generator=generator))]
        rgb, gray = _small_cnn(3, generator), _small_cnn(1, generator)
        step, wide = 1 / 255, 4 / 255

        def case(part, label, model, inputs, target, step_size, radius, original=None, **kwargs):
            original = inputs if original is None else original
            return Case(part, label, (model, inputs, original, target, step_size, radius), kwargs)

        x = _inner_images(3, 3, generator)
        cases = [
            case("targeted", "pgd_step(lab model, the photo (values in [0.05, 0.95]), an int target, targeted=True, "
                 "from the original)", lab, inner, far_class, step, wide, targeted=True),
            case("targeted", "pgd_step(SmallCNN 3 channels, 3 images, an int target, targeted=True, from the "
                 "original)", rgb, x, int(_targets(1, generator)), 0.02, 0.02, targeted=True),
            case("untargeted", "pgd_step(lab model, the photo (values in [0.05, 0.95]), a top-ranked class, "
                 "targeted left to its default)", lab, inner, ranked, 2 / 255, 2 / 255),
            case("untargeted", "pgd_step(SmallCNN 1 channel, 2 images, an int target, targeted=False, from the "
                 "original)", gray, _inner_images(2, 1, generator), int(_targets(1, generator)), 0.03, 0.05,
                 targeted=False),
            case("per_sample", "pgd_step(lab model, two photos, a list of 2 targets, targeted=True)", lab, pair,
                 pair_targets, step, wide, targeted=True),
            case("per_sample", "pgd_step(SmallCNN 3 channels, 4 images, a tensor of 4 targets, targeted=False)", rgb,
                 _inner_images(4, 3, generator), _targets(4, generator), 0.02, 0.03, targeted=False),
            case("per_sample", "pgd_step(SmallCNN 1 channel, 3 images, a list of 3 targets, targeted=True)", gray,
                 _inner_images(3, 1, generator), _targets(3, generator).tolist(), 0.03, 0.03, targeted=True),
        ]
        # projection and clamp: the current point on the edge of the ball, images with values at 0 and 1
        photo_original = photo_pixels(photo)
        corner = (photo_original + 2 / 255 * torch.randn(photo_original.shape, generator=generator).sign()).clamp(0, 1)
        cases.append(case("projection", "pgd_step(lab model, the photo, the current point on the edge of a ball of "
                          "radius 2/255 around it, an int target, targeted=True)", lab, corner, far_class, step, 2 / 255,
                          original=photo_original, targeted=True))
        saturated = _saturated_images(3, 3, generator)
        inside = (saturated + 0.04 * (2 * torch.rand(saturated.shape, generator=generator) - 1)).clamp(0, 1)
        cases.append(case("projection", "pgd_step(SmallCNN 3 channels, 3 images with values at 0 and 1, a point "
                          "inside the ball of radius 0.04, an int target)", rgb, inside, int(_targets(1, generator)),
                          0.03, 0.04, original=saturated))
        cases.append(case("projection", "pgd_step(SmallCNN 1 channel, 2 images with values at 0 and 1, from the "
                          "original, an int target, targeted=True)", gray, _saturated_images(2, 1, generator),
                          int(_targets(1, generator)), 0.05, 0.05, targeted=True))
        return cases

    def check(self, case, result):
        model, inputs, original, target, step_size, radius = case.args
        targeted = case.kwargs.get("targeted", False)
        expected, ambiguous, moved, still = _one_step_candidates(model, inputs, original, target, step_size, radius,
                                                                 targeted)
        adjusted = _accept_tiny_gradients(result, expected, ambiguous, moved, still)
        sign = -1 if targeted else 1
        _check_box(result, expected, original, radius)

        def variant(gradient=None, direction=sign, **finish):
            gradient = _loss_gradient(model, inputs, target) if gradient is None else gradient
            step = direction * step_size * gradient.sign() * (gradient.abs() > ZERO_THRESH)
            return _finish(inputs + step, original, radius, **finish), gradient.abs() <= AMBIGUOUS

        way = ("a step UP the loss of `target` (x + step_size * sign): a targeted step goes DOWN the loss of `target` "
               "(x - step_size * sign of its gradient), towards the target class") if targeted else \
              ("a step DOWN the loss of `target` (x - step_size * sign): an untargeted step goes UP the loss of the "
               "true class `target` (x + step_size * sign of its gradient), away from it")
        alternatives = {
            way: lambda: variant(direction=-sign),
            "the sign of the gradient of the raw logit of `target` instead of the gradient of the cross-entropy loss":
                lambda: variant(_loss_gradient(model, inputs, target, _negative_logit)),
            "a step of step_size times the gradient itself: FGSM and PGD step along its SIGN, "
            "step_size * gradient.sign()": lambda: (_finish(inputs + sign * step_size * _loss_gradient(
                model, inputs, target), original, radius), ambiguous),
            "the cross-entropy of the softmax probabilities (F.cross_entropy applies the log-softmax itself: give it "
            "the raw outputs)": lambda: variant(_loss_gradient(model, inputs, target, _double_softmax)),
        }
        if isinstance(target, (list, torch.Tensor)) and torch.as_tensor(target).numel() > 1:
            first = int(torch.as_tensor(target).flatten()[0])
            alternatives[f"the loss of the first target ({first}) for every sample: take each sample's own target "
                         "(F.cross_entropy(outputs, torch.as_tensor(target)))"] = \
                lambda: variant(_loss_gradient(model, inputs, first))
        _check_lazily(result, adjusted, name=case.label, alternatives=alternatives)


def _check_box(result, expected, original, radius) -> None:
    """A step must stay within ``radius`` of ``original`` and within [0, 1]: say so before comparing the values."""
    if not isinstance(result, torch.Tensor) or result.shape != expected.shape or not result.is_floating_point():
        return
    result = result.detach().to("cpu", torch.float32)
    if not bool(torch.isfinite(result).all()):
        return
    low, high = float(result.min()), float(result.max())
    if low < -1e-6 or high > 1 + 1e-6:
        raise AssertionError(f"your values go from {low:.4f} to {high:.4f}, outside [0, 1]: clamp the result to [0, 1] "
                             "after the projection (x.clamp(0, 1)), so that it stays a valid image.")
    change = float((result - original).abs().max())
    if change > radius + 1e-6:
        raise AssertionError(f"some elements end up {change:.4g} away from `original`, more than radius={radius:.4g}: "
                             "after the step, project back onto the L-inf ball around the ORIGINAL image (not around "
                             "`inputs`, the current point): original + (x - original).clamp(-radius, radius), then "
                             "clamp to [0, 1].")


def _negative_logit(outputs, target):
    target = torch.as_tensor(target, device=outputs.device)
    rows = torch.arange(len(outputs), device=outputs.device)
    return -outputs[rows, target.expand(len(outputs)) if target.dim() == 0 else target]


def _double_softmax(outputs, target):
    return cross_entropy(outputs.softmax(dim=1), target)


# ----------------------------------------------------------------------------------------------------------------
# Exercise 2: Captum's FGSM and PGD on the cat (apply)


@functools.lru_cache(maxsize=None)
def _attack_references(model_name: str) -> dict:
    from helpers import reference

    lab, cat = pixel_lab_model(), photo_pixels("cat")
    predicted, fool = context.ranking("cat")[0], fool_class()
    fgsm = reference.fgsm(lab, cat, FGSM_EPSILON, predicted, loss_func=cross_entropy, lower_bound=0.0, upper_bound=1.0)
    pgd = reference.pgd(lab, cat, PGD_RADIUS, PGD_STEP_SIZE, PGD_STEP_NUM, fool, targeted=True,
                        loss_func=cross_entropy, lower_bound=0.0, upper_bound=1.0)
    with torch.no_grad():
        losses = {"original": float(cross_entropy(lab(cat), fool)), "reference": float(cross_entropy(lab(pgd), fool))}
    return {"cat": cat, "predicted": predicted, "fool": fool, "fgsm": fgsm, "pgd": pgd, "losses": losses}


def attack_references() -> dict:
    """The references of exercise 2 on the lab's model: the cat's pixels, its predicted class, the fool class,
    Captum's FGSM and PGD results (computed with helpers.reference), the fool class's loss before and after PGD."""
    return _attack_references(context.imagenet().name)


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    denominator = float(a.norm() * b.norm())
    return float(a @ b) / denominator if denominator > 0 else 0.0


def _as_image(value, name: str, shape) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise AssertionError(f"{name}: expected a torch.Tensor of shape {tuple(shape)} (the perturbed image in pixel "
                             f"values), got {type(value).__name__}.")
    if tuple(value.shape) != tuple(shape):
        raise AssertionError(f"{name}: expected shape {tuple(shape)} (the perturbed cat, pixel values), got "
                             f"{tuple(value.shape)}.")
    value = value.detach().to("cpu", torch.float32)
    if not bool(torch.isfinite(value).all()):
        raise AssertionError(f"{name} holds NaN or infinite values: Captum's default loss is -log(outputs), which "
                             "needs probabilities; with a model that returns raw logits pass "
                             "loss_func=cross_entropy (one loss per sample).")
    return value


def _range_problem(value: torch.Tensor, name: str, normalised_hint: bool = True) -> str | None:
    low, high = float(value.min()), float(value.max())
    if low >= -1e-6 and high <= 1 + 1e-6:
        return None
    hint = (" Values far outside [0, 1] mean an attack on the normalised input `cat`: attack `pixel_model` on "
            "`cat_pixels`, so that epsilon and the bounds are in pixel units." if normalised_hint and
            (low < -0.2 or high > 1.2) else "")
    return (f"{name} has values from {low:.4f} to {high:.4f}, outside [0, 1]: pass lower_bound=0 and upper_bound=1 "
            f"so that the result is a valid image.{hint}")


class CaptumAttacks(ValueExercise):
    grade_id = "ex2_tests"
    names = ("fgsm_cat", "pgd_cat")
    parts = (Part("fgsm", 1, "fgsm_cat: Captum's FGSM, untargeted, epsilon 2/255, the predicted class"),
             Part("pgd", 1, "pgd_cat: Captum's PGD, targeted at the fool class, radius 4/255, 10 steps of 1/255"))

    def checks(self, values):
        references = attack_references()
        cat = references["cat"]

        def fgsm():
            value = _as_image(values["fgsm_cat"], "fgsm_cat", cat.shape)
            problem = _range_problem(value, "fgsm_cat")
            if problem:
                raise AssertionError(problem)
            change = float((value - cat).abs().max())
            expected_change = float((references["fgsm"] - cat).abs().max())  # epsilon, unless every gradient is 0
            if abs(change - expected_change) > 1e-5:
                raise AssertionError(
                    f"fgsm_cat differs from cat_pixels by up to {change * 255:.3g}/255; FGSM with epsilon=2/255 "
                    f"changes the pixels by exactly {expected_change * 255:.3g}/255 here (epsilon in pixel units: "
                    "attack `pixel_model` on `cat_pixels`).")
            lab, predicted = pixel_lab_model(), references["predicted"]
            expected, ambiguous, moved, still = _one_step_candidates(lab, cat, cat, predicted, FGSM_EPSILON,
                                                                     FGSM_EPSILON, targeted=False)
            adjusted = _accept_tiny_gradients(value, references["fgsm"], ambiguous, moved, still)

            def captum_like(**kwargs):
                from helpers import reference

                arguments = dict(loss_func=cross_entropy, lower_bound=0.0, upper_bound=1.0)
                arguments.update(kwargs)
                return reference.fgsm(lab, cat, arguments.pop("epsilon", FGSM_EPSILON),
                                      arguments.pop("target", predicted), **arguments)

            _check_lazily(value, adjusted, name="fgsm_cat", alternatives={
                "a targeted attack (targeted=True) towards the predicted class: FGSM here is untargeted, it moves "
                "away from the predicted class (targeted=False, the default)": lambda: captum_like(targeted=True),
                "an untargeted attack on the fool class: the untargeted attack takes the class the model predicts, "
                "`predicted`": lambda: captum_like(target=references["fool"]),
                "no bounds: pass lower_bound=0 and upper_bound=1": lambda: captum_like(lower_bound=float("-inf"),
                                                                                       upper_bound=float("inf")),
                "Captum's default loss, -log(outputs), on raw logits (it needs probabilities): pass "
                "loss_func=cross_entropy": lambda: captum_like(loss_func=None),
            })

        def pgd():
            value = _as_image(values["pgd_cat"], "pgd_cat", cat.shape)
            problem = _range_problem(value, "pgd_cat")
            if problem:
                raise AssertionError(problem)
            delta = value - cat
            change = float(delta.abs().max())
            reached_radius = float((references["pgd"] - cat).abs().max()) > PGD_RADIUS - 1e-5
            if change > PGD_RADIUS + 1e-5:
                raise AssertionError(
                    f"pgd_cat differs from cat_pixels by up to {change * 255:.3g}/255, more than the radius 4/255: "
                    "pass radius=4/255 (pixel units) to perturb; PGD projects every step back into that ball.")
            if change < PGD_RADIUS - 1e-5 and reached_radius:
                raise AssertionError(
                    f"pgd_cat differs from cat_pixels by at most {change * 255:.3g}/255; ten steps of 1/255 reach the "
                    "radius 4/255 on many pixels. Use radius=4/255, step_size=1/255 and step_num=10 in pixel units "
                    "(attack `pixel_model` on `cat_pixels`).")
            free = (value > 1e-6) & (value < 1 - 1e-6)  # the clamp to [0, 1] may stop a pixel between two steps
            steps = delta[free] / PGD_STEP_SIZE
            off_grid = float(((steps - steps.round()).abs() > 1e-2).float().mean()) if steps.numel() else 0.0
            if off_grid > 0.01:
                raise AssertionError(
                    f"pgd_cat: {off_grid:.0%} of the pixels moved by an amount that is not a whole number of steps of "
                    "1/255: PGD adds +-step_size per step (no random start: random_start=False, the default).")
            lab, fool = pixel_lab_model(), references["fool"]
            with torch.no_grad():
                loss = float(cross_entropy(lab(value), fool))
            losses = references["losses"]
            correlation = _correlation(delta, references["pgd"] - cat)
            reached = loss <= losses["reference"] + 0.25 * abs(losses["original"] - losses["reference"]) + 1e-3
            if reached and correlation > MIN_CORRELATION:
                return
            from helpers import reference

            def other(target, targeted, **kwargs):
                arguments = dict(loss_func=cross_entropy, lower_bound=0.0, upper_bound=1.0)
                arguments.update(kwargs)
                return reference.pgd(lab, cat, PGD_RADIUS, PGD_STEP_SIZE, PGD_STEP_NUM, target, targeted, **arguments)

            mistakes = {
                "an untargeted attack on the predicted class (targeted=False): PGD here is targeted, towards the fool "
                "class (targeted=True, target=fool_class)": lambda: other(references["predicted"], False),
                "an untargeted attack on the fool class: pass targeted=True": lambda: other(fool, False),
                "the gradient of the raw logit as the loss: pass loss_func=cross_entropy":
                    lambda: other(fool, True, loss_func=_negative_logit),
            }
            found = []
            for text, make in mistakes.items():
                found.append((_correlation(delta, make() - cat), text))
            best_correlation, best = max(found)
            if best_correlation > max(correlation, MIN_CORRELATION):
                raise AssertionError(f"pgd_cat looks like {best} (correlation of its change with that attack's "
                                     f"{best_correlation:.2f}, with the expected attack's {correlation:.2f}).")
            raise AssertionError(
                f"pgd_cat does not look like the targeted PGD attack: the loss of the fool class is {loss:.3g} (the cat: "
                f"{losses['original']:.3g}, the reference attack: {losses['reference']:.3g}) and its change correlates "
                f"{correlation:.2f} with the reference attack's (a right answer: above {MIN_CORRELATION}). Use PGD(pixel_model, loss_func=cross_entropy, "
                "lower_bound=0, upper_bound=1).perturb(cat_pixels, radius=4/255, step_size=1/255, step_num=10, "
                "target=fool_class, targeted=True).")

        yield "fgsm", "fgsm_cat", fgsm
        yield "pgd", "pgd_cat", pgd


# ----------------------------------------------------------------------------------------------------------------
# Exercise 3: the manipulation loss (from scratch)


def _maps(n, size, generator):
    """Non-negative importance maps (N, H, W) that vary smoothly, with some exact zeros."""
    coarse = torch.rand(n, 1, 4, 4, generator=generator)
    maps = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    maps = maps + 0.3 * torch.rand(n, size, size, generator=generator)
    return (maps - 0.35).clamp(min=0) + 1e-3 * torch.rand(n, size, size, generator=generator)


def _regions(n, size, generator):
    regions = torch.zeros(n, size, size, dtype=torch.bool)
    for i in range(n):
        height, width = (int(v) for v in torch.randint(size // 4, size // 2, (2,), generator=generator))
        top, left = (int(v) for v in torch.randint(0, size - size // 2, (2,), generator=generator))
        regions[i, top:top + height, left:left + width] = True
    return regions


def _outputs(n, classes, generator, probabilities):
    logits = 3 * torch.randn(n, classes, generator=generator)
    return logits.softmax(dim=1) if probabilities else logits


class ManipulationLoss(FunctionExercise):
    grade_id = "ex3_tests"
    function = "manipulation_loss"
    parts = (Part("mass", 1, "the relevance mass term: minus the share of each map inside its region"),
             Part("outputs", 1, "gamma times the squared distance of the outputs, per sample"))

    def cases(self, variant):
        generator = variant_generator(variant, "lab12.ex3")
        cases = []
        for n, size in ((3, 32), (2, 28)):
            maps, regions = _maps(n, size, generator), _regions(n, size, generator)
            outputs = _outputs(n, 3, generator, True)
            cases.append(Case("mass", f"manipulation_loss({n} maps {size}x{size}, {n} regions, outputs equal to the "
                              "original outputs, gamma=0)", (maps, regions, outputs, outputs.clone()), {"gamma": 0.0}))
        maps, regions = _maps(4, 32, generator), _regions(4, 32, generator)
        cases.append(Case("outputs", "manipulation_loss(4 maps 32x32, 4 regions, probabilities of 3 classes, "
                          "gamma left to its default)",
                          (maps, regions, _outputs(4, 3, generator, True), _outputs(4, 3, generator, True))))
        maps, regions = _maps(3, 28, generator), _regions(3, 28, generator)
        cases.append(Case("outputs", "manipulation_loss(3 maps 28x28, 3 regions, logits of 10 classes, gamma=0.5)",
                          (maps, regions, _outputs(3, 10, generator, False), _outputs(3, 10, generator, False)),
                          {"gamma": 0.5}))
        return cases

    def check(self, case, result):
        from helpers import evaluation

        maps, regions, outputs, original = case.args
        gamma = case.kwargs.get("gamma", 1.0)
        mass = evaluation.relevance_mass(maps, regions)
        squared = ((outputs - original) ** 2).sum(dim=1)
        expected = -mass + gamma * squared
        inside = (maps * regions).flatten(1).sum(dim=1)
        alternatives = {
            "+ the relevance mass: the attack MINIMISES the loss, so the loss is MINUS the share of the map inside "
            "the region": mass + gamma * squared,
            "minus the sum of the map inside the region, not its share: divide by each map's total": -inside
                + gamma * squared,
            "minus the mean of the map inside the region, not its share of the map's total": -(
                inside / regions.flatten(1).sum(dim=1)) + gamma * squared,
        }
        if gamma:
            alternatives.update({
                "the distance of the outputs (its square root, torch.norm) instead of its square":
                    -mass + gamma * squared.sqrt(),
                "the MEAN of the squared differences of the outputs over the classes instead of their sum":
                    -mass + gamma * squared / outputs.shape[1],
                "the output term without gamma": -mass + squared,
                "gamma times the mass term instead of the output term": -gamma * mass + squared,
            })
        alternatives = {text: value for text, value in alternatives.items()
                        if value.shape == expected.shape and not torch.allclose(value, expected, rtol=1e-4, atol=1e-6)}
        if isinstance(result, torch.Tensor) and result.dim() == 0:
            raise AssertionError(f"{case.label}: you returned one number ({float(result):.4g}); return one loss per "
                                 f"sample, shape ({len(maps)},) (sum over the pixels and classes, not the batch).")
        check_attribution(result, expected, name=case.label, rtol=1e-4, atol=1e-6, alternatives=alternatives)


LAB = Lab("12_fragile_explanations", [PgdStep(), CaptumAttacks(), ManipulationLoss()])
self_check = LAB.self_check
show_progress = LAB.show_progress
