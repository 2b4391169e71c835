"""Images, ImageNet class names and tensor conversions for the labs.

- :func:`load_image` opens the course's sample photos (``"cat"``, ``"coffee"``, ``"cat_and_coffee"`` in the package's
  ``data/``) or any file.
- :func:`imagenet_class_index`, :func:`imagenet_class_names`: the canonical ImageNet-1k class index.
- :func:`decode_topk`, :func:`format_topk`: readable top-k predictions from raw logits.
- :func:`denormalize`, :func:`to_hwc`: undo ``transforms.Normalize`` and convert a tensor to the
  ``(H, W, C)`` numpy array that ``captum.attr.visualization.visualize_image_attr`` expects.
"""
from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image

__all__ = [
    "DATA_DIR",
    "SAMPLE_IMAGES",
    "data_path",
    "load_image",
    "imagenet_class_index",
    "imagenet_class_names",
    "decode_topk",
    "format_topk",
    "denormalize",
    "to_hwc",
]

#: The package's ``data/`` folder (package data, installed with the wheel); ``XAI_COURSE_DATA`` overrides it.
DATA_DIR = Path(str(resources.files("helpers").joinpath("data")))
#: Short names accepted by :func:`load_image`.
SAMPLE_IMAGES = {"cat": "cat.jpg", "coffee": "coffee.jpg", "cat_and_coffee": "cat_and_coffee.jpg"}


def data_path(filename: str) -> Path:
    """Path of ``filename`` in ``$XAI_COURSE_DATA`` if set, else in :data:`DATA_DIR`; FileNotFoundError if absent."""
    folder = Path(os.environ.get("XAI_COURSE_DATA") or DATA_DIR)
    path = folder / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"course data file {filename!r} not found in {folder}. The helpers package ships its data/ folder: "
            "reinstall the course (pip install ...) or set the environment variable XAI_COURSE_DATA to a folder "
            "holding cat.jpg, coffee.jpg, cat_and_coffee.jpg and imagenet_class_index.json."
        )
    return path


def load_image(name_or_path: str | os.PathLike = "cat") -> Image.Image:
    """Open ``"cat"`` (300x451 tabby, CC0), ``"coffee"`` (CC0), ``"cat_and_coffee"`` (the two on one 512x512 canvas,
    CC0) or an image file as an RGB PIL image."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(
            f"name_or_path must be one of {sorted(SAMPLE_IMAGES)} or a file path, got {type(name_or_path).__name__}"
        )
    if isinstance(name_or_path, str) and name_or_path in SAMPLE_IMAGES:
        path = data_path(SAMPLE_IMAGES[name_or_path])
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"name_or_path={str(name_or_path)!r} is neither a sample name {sorted(SAMPLE_IMAGES)} "
                "nor an existing file"
            )
    with Image.open(path) as image:
        return image.convert("RGB")


@functools.lru_cache(maxsize=None)
def imagenet_class_index() -> dict[str, list[str]]:
    """The canonical class index ``{"0": ["n01440764", "tench"], ...}``.

    Cached: every call returns the same dict, do not modify it.
    """
    return json.loads(data_path("imagenet_class_index.json").read_text(encoding="utf-8"))


def imagenet_class_names() -> list[str]:
    """The 1000 readable ImageNet names in class order, e.g. ``names[282] == "tiger cat"``."""
    index = imagenet_class_index()
    return [index[str(i)][1].replace("_", " ") for i in range(len(index))]


def decode_topk(
    logits: torch.Tensor, k: int = 5, class_names: Sequence[str] | None = None
) -> list[list[tuple[int, str, float]]]:
    """Top ``k`` classes of each sample as ``(class_index, name, probability)``, probabilities = softmax(logits).

    ``logits``: raw model outputs of shape ``(N, num_classes)`` or ``(num_classes,)`` (one sample).
    ``class_names`` defaults to the 1000 ImageNet names.
    """
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if logits.dim() == 1:
        logits = logits.unsqueeze(0)
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape (N, num_classes) or (num_classes,), got {tuple(logits.shape)}")
    names = imagenet_class_names() if class_names is None else list(class_names)
    if logits.shape[1] != len(names):
        raise ValueError(
            f"logits has {logits.shape[1]} classes but class_names has {len(names)}: pass class_names for a "
            "model that is not an ImageNet classifier"
        )
    if not isinstance(k, int) or not 1 <= k <= len(names):
        raise ValueError(f"k must be an integer between 1 and {len(names)}, got {k!r}")
    probabilities, indices = torch.softmax(logits.detach().double(), dim=1).topk(k, dim=1)
    return [
        [(int(i), names[int(i)], float(p)) for p, i in zip(sample_p, sample_i)]
        for sample_p, sample_i in zip(probabilities, indices)
    ]


def format_topk(logits: torch.Tensor, k: int = 3, class_names: Sequence[str] | None = None) -> str:
    """Printable top ``k``, one ``"281 tabby: 0.45"`` line per class (2 decimals); ``"[n] "`` prefixes if N > 1."""
    decoded = decode_topk(logits, k, class_names)
    lines = []
    for n, sample in enumerate(decoded):
        prefix = f"[{n}] " if len(decoded) > 1 else ""
        lines += [f"{prefix}{index} {name}: {probability:.2f}" for index, name, probability in sample]
    return "\n".join(lines)


def denormalize(tensor: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Undo ``transforms.Normalize(mean, std)``: ``tensor * std + mean`` per channel, clamped to ``[0, 1]``.

    ``tensor``: ``(C, H, W)`` or ``(N, C, H, W)``; ``mean`` and ``std`` have one value per channel.
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() not in (3, 4):
        raise ValueError(f"tensor must have shape (C, H, W) or (N, C, H, W), got {tuple(tensor.shape)}")
    channels = tensor.shape[-3]
    for argument, values in (("mean", mean), ("std", std)):
        if len(values) != channels:
            raise ValueError(f"{argument} must have one value per channel ({channels}), got {len(values)}")
    shape = (channels, 1, 1)
    mean_t = torch.as_tensor(mean, dtype=tensor.dtype, device=tensor.device).view(shape)
    std_t = torch.as_tensor(std, dtype=tensor.dtype, device=tensor.device).view(shape)
    return (tensor.detach() * std_t + mean_t).clamp(0.0, 1.0)


def to_hwc(tensor: torch.Tensor) -> np.ndarray:
    """``(1, C, H, W)`` or ``(C, H, W)`` tensor -> ``(H, W, C)`` float32 numpy array for Captum's visualization.

    One-channel attributions (e.g. upsampled Grad-CAM maps) stay ``(H, W, 1)``.
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() == 4:
        if tensor.shape[0] != 1:
            raise ValueError(
                f"tensor holds a batch of {tensor.shape[0]} samples {tuple(tensor.shape)}: index one sample, "
                "e.g. to_hwc(x[0])"
            )
        tensor = tensor[0]
    if tensor.dim() != 3:
        raise ValueError(f"tensor must have shape (1, C, H, W) or (C, H, W), got {tuple(tensor.shape)}")
    if tensor.shape[-1] in (1, 3) and tensor.shape[0] not in (1, 3):
        raise ValueError(f"tensor of shape {tuple(tensor.shape)} looks channels-last already; expected (C, H, W)")
    return tensor.detach().cpu().float().permute(1, 2, 0).numpy()
