"""helpers.concepts.CAVClassifier: the course's deterministic concept classifier for Captum's TCAV.

Its agreement with helpers.reference (cav, tcav_scores) inside Captum's TCAV is tested in tests/test_reference.py.
"""
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from helpers import reference
from helpers.concepts import CAVClassifier


def _loader(*sets, batch_size=7):
    """Batches of (activations, labels) as Captum's TCAV hands them to a classifier: labels are concept ids."""
    x = torch.cat([acts for acts, _ in sets])
    y = torch.cat([torch.full((len(acts),), concept_id) for acts, concept_id in sets])
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)


def test_weights_are_the_course_cav_towards_each_concept_and_the_accuracy_is_on_the_training_examples():
    generator = torch.Generator().manual_seed(0)
    first, second = torch.randn(20, 12, generator=generator) + 1.0, torch.randn(15, 12, generator=generator)
    classifier = CAVClassifier(steps=50, lr=0.1)
    stats = classifier.train_and_eval(_loader((second, 9), (first, 4)))  # ids 4 < 9: Captum's class order [4, 9]
    assert classifier.classes() == [4, 9]
    v = reference.cav(second, first, steps=50, lr=0.1)  # the row of concept 9 points towards concept 9
    torch.testing.assert_close(classifier.weights()[1], v)
    torch.testing.assert_close(classifier.weights()[0], -v)
    w, b = reference.cav_classifier(second, first, steps=50, lr=0.1)
    expected = ((torch.cat([second, first]).double() @ w + b > 0) == torch.arange(35).lt(15)).float().mean()
    assert float(stats["accs"]) == pytest.approx(float(expected)) and float(stats["accs"]) > 0.9


def test_the_same_examples_give_the_same_cav_whatever_the_batches():
    generator = torch.Generator().manual_seed(1)
    a, b = torch.rand(10, 3, 4, 4, generator=generator), torch.rand(10, 3, 4, 4, generator=generator)
    one, other = CAVClassifier(), CAVClassifier()
    one.train_and_eval(_loader((a.flatten(1), 0), (b.flatten(1), 1), batch_size=3))
    other.train_and_eval(_loader((a.flatten(1), 0), (b.flatten(1), 1), batch_size=20))
    torch.testing.assert_close(one.weights(), other.weights(), rtol=1e-6, atol=1e-8)


def test_refuses_other_than_two_concepts_and_weights_before_training():
    x = torch.randn(9, 5)
    with pytest.raises(ValueError, match="two concepts"):
        CAVClassifier().train_and_eval(_loader((x[:3], 0), (x[3:6], 1), (x[6:], 2)))
    with pytest.raises(RuntimeError, match="not been trained"):
        CAVClassifier().weights()
