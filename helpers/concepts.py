"""Concepts with Captum (lab 13, TCAV): the course's deterministic concept classifier for ``captum.concept.TCAV``.

Captum's ``TCAV`` trains one linear classifier per experimental set (a list of concepts) on the activations of a
layer; the rows of the classifier's weight matrix are the concept activation vectors (CAVs). Its default
classifier (``DefaultClassifier``: scikit-learn's ``SGDClassifier``, a linear SVM, on a random 67% split of the
examples) is random: two runs give two different CAVs. :class:`CAVClassifier` plugs in the course's classifier
instead, the logistic regression of :func:`helpers.reference.cav` (exercise 1 of lab 13): the same examples always
give the same CAV, so TCAV's scores can be checked exactly.
"""
from __future__ import annotations

from typing import Any

import torch
from captum.concept import Classifier

__all__ = ["CAVClassifier"]


class CAVClassifier(Classifier):
    """A Captum concept classifier for experimental sets of **two** concepts: logistic regression by full-batch
    gradient descent (``steps`` steps of size ``lr``, from zero), exactly :func:`helpers.reference.cav`.

    For the concepts with ids ``a < b`` (Captum sorts the classes), :meth:`weights` returns the rows
    ``[-v, v]`` with ``v = reference.cav(activations of b, activations of a)``: each concept's row is the unit CAV
    pointing towards that concept. ``train_and_eval`` returns ``{"accs": accuracy on the training examples}``
    (there is no random split).
    """

    def __init__(self, steps: int = 100, lr: float = 0.01) -> None:
        self.steps, self.lr = steps, lr
        self._weights: torch.Tensor | None = None
        self._classes: list[int] = []

    def train_and_eval(self, dataloader, **kwargs: Any) -> dict:
        from helpers import reference

        inputs, labels = [], []
        for batch_inputs, batch_labels in dataloader:
            inputs.append(batch_inputs.detach().reshape(len(batch_inputs), -1).cpu())  # the same CAV on any device
            labels.append(batch_labels.reshape(-1))
        x, y = torch.cat(inputs), torch.cat(labels).cpu()
        classes = sorted(int(c) for c in torch.unique(y))
        if len(classes) != 2:
            raise ValueError(f"CAVClassifier separates two concepts; this experimental set has {len(classes)}: use "
                             "experimental sets of two concepts, e.g. [[concept, random]]")
        first, second = x[y == classes[0]], x[y == classes[1]]
        w, b = reference.cav_classifier(second, first, self.steps, self.lr)
        predicted_second = (x.double() @ w + b) > 0
        accuracy = (predicted_second == (y == classes[1]).to(predicted_second.device)).float().mean()
        v = (w / w.norm() if w.norm() > 0 else w).float().cpu()  # = reference.cav(second, first, steps, lr)
        self._weights, self._classes = torch.stack([-v, v]), classes
        return {"accs": accuracy.cpu()}

    def weights(self) -> torch.Tensor:
        if self._weights is None:
            raise RuntimeError("CAVClassifier has not been trained yet: call train_and_eval first")
        return self._weights

    def classes(self) -> list[int]:
        return list(self._classes)
