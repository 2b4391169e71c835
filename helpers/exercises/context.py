"""What the exercises of the ImageNet labs share: the lab's model and its inputs, loaded once per process.

The self-check in a notebook, the grader's from-scratch sandbox and the trusted checker all build their cases
from here, so they use the same model (the one the loader gives: ResNet18 online, EfficientNet-Lite0 offline;
the grader always runs offline) and the same preprocessed images. The model is a private copy on the CPU: a lab
that moves its own model to a GPU, or changes it, does not change the references of the self-checks.
"""
from __future__ import annotations

import copy
import dataclasses
import functools

import torch

from helpers.imagenet import ImageNetModel, load_imagenet_model

__all__ = ["imagenet", "image", "ranking"]


@functools.lru_cache(maxsize=None)
def _private(name: str, source: str) -> ImageNetModel:
    loaded = load_imagenet_model(quiet=True)
    model = copy.deepcopy(loaded.model).cpu().eval()
    return dataclasses.replace(loaded, model=model, gradcam_layer=dict(model.named_modules())[loaded.gradcam_layer_name])


def imagenet() -> ImageNetModel:
    """The lab's ImageNet model (a private CPU copy of what the loader gives; prints nothing)."""
    loaded = load_imagenet_model(quiet=True)
    return _private(loaded.name, loaded.source)


@functools.lru_cache(maxsize=None)
def _image(name: str, model_name: str) -> torch.Tensor:
    return imagenet().load_input(name)


def image(name: str = "cat") -> torch.Tensor:
    """The sample image ``name`` as the model's ``(1, 3, 224, 224)`` input (a fresh copy each call)."""
    return _image(name, imagenet().name).clone()


@functools.lru_cache(maxsize=None)
def _ranking(name: str, model_name: str) -> tuple[int, ...]:
    with torch.no_grad():
        logits = imagenet().model(_image(name, model_name))
    return tuple(int(i) for i in logits[0].argsort(descending=True)[:10])


def ranking(name: str = "cat") -> tuple[int, ...]:
    """The 10 classes with the highest logits for the sample image ``name``, most likely first."""
    return _ranking(name, imagenet().name)
