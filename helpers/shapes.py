"""A data set with ground truth for evaluating explanations (lab 10): shapes on textured backgrounds.

Every image (RGB, 32x32, values in [0, 1], no normalisation) shows one **circle**, **square** or **triangle**
(one class per shape) of a random colour, size and position on a noisy, textured background. The object
mask of every image is known, so an explanation can be checked against it (pointing game, relevance mass).

The **Clever Hans** variant (Lapuschkin et al., 2019) adds a small watermark (a faint 4x4 grey checker)
in the top-left corner of every image of one class (``WATERMARK_CLASS``): a model trained on it can get the
class right by looking at the corner instead of the object. The watermark is pasted on top of the very same
images, so ``make_shapes(n, seed, watermark="none")`` gives the images with the watermark removed.

Everything is generated in code from a seed (``torch.Generator``, no global random state) and trains in
seconds on a CPU with :func:`train_model` (a :class:`ShapesCNN`).

The labs (10 and 11) and their graders use :func:`course_model`: the course's two models, trained by one fixed
recipe on one CPU thread, so that the notebook, the self-check and the instructor's grader (each in its own process)
get bitwise the same weights on one machine, whatever the number of threads or the device of the notebook.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "CLASSES", "IMAGE_SIZE", "WATERMARK_CLASS", "WATERMARK_BOX",
    "ShapesData", "make_shapes", "watermark_mask", "ShapesCNN", "train_model", "accuracy",
    "COURSE_MODELS", "course_model", "CONCEPTS", "concept_images", "random_images",
]

CLASSES = ("circle", "square", "triangle")
IMAGE_SIZE = 32
WATERMARK_CLASS = 0  # the circles carry the watermark in the Clever Hans variant
WATERMARK_BOX = (slice(2, 6), slice(2, 6))  # rows, columns of the 4x4 watermark (top-left corner)
WATERMARK_MODES = ("none", "class", "all")


@dataclass
class ShapesData:
    """``images`` (N, 3, 32, 32) float in [0, 1]; ``labels`` (N,) long (index into ``CLASSES``);
    ``masks`` (N, 1, 32, 32) bool, True on the object; ``watermarked`` (N,) bool."""

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    watermarked: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> "ShapesData":
        """A subset, e.g. ``data[:8]`` or ``data[data.labels == 0]``."""
        if isinstance(index, torch.Tensor):
            index = index.to(self.images.device)
        return ShapesData(self.images[index], self.labels[index], self.masks[index], self.watermarked[index])

    def to(self, device) -> "ShapesData":
        """The same data on ``device`` (e.g. the lab's ``device``)."""
        return ShapesData(self.images.to(device), self.labels.to(device), self.masks.to(device),
                          self.watermarked.to(device))


def _grid(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel-centre coordinates y, x, each (1, 32, 32), broadcastable against per-image (n, 1, 1) values."""
    coords = torch.arange(IMAGE_SIZE, dtype=torch.float32) + 0.5
    return coords.view(1, -1, 1), coords.view(1, 1, -1)


def _backgrounds(n: int, generator: torch.Generator) -> torch.Tensor:
    """Smooth colour blobs (a random 4x4 colour grid upsampled) plus faint stripes: (n, 3, 32, 32)."""
    coarse = torch.rand(n, 3, 4, 4, generator=generator) * 0.6 + 0.2
    texture = F.interpolate(coarse, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", align_corners=False)
    frequency, phase, angle = torch.rand(3, n, 1, 1, generator=generator)
    y, x = _grid(n)
    direction = x * torch.cos(torch.pi * angle) + y * torch.sin(torch.pi * angle)
    stripes = 0.08 * torch.sin(direction * (0.5 + 1.5 * frequency) + 2 * torch.pi * phase)
    return texture + stripes.unsqueeze(1)


def _shape_masks(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(n, 32, 32) bool masks of one shape per image, of random size and position, away from the
    watermark corner (a shape whose box would touch the top-left 8x8 pixels is moved to the right)."""
    n = len(labels)
    radius = 5 + 5 * torch.rand(n, 1, 1, generator=generator)  # half-size 5..10 pixels
    low, high = radius + 1, IMAGE_SIZE - radius - 1
    cy, cx = low + (high - low) * torch.rand(2, n, 1, 1, generator=generator)
    cx = torch.where((cy - radius < 8) & (cx - radius < 8), IMAGE_SIZE - cx, cx)
    y, x = _grid(n)
    dy, dx = y - cy, x - cx
    circle = dy**2 + dx**2 <= radius**2
    square = (dy.abs() <= 0.85 * radius) & (dx.abs() <= 0.85 * radius)
    triangle = (dy.abs() <= radius) & (dx.abs() <= (dy + radius) / 2)  # apex up at cy - radius
    return torch.stack([circle, square, triangle])[labels, torch.arange(n)]


def _watermark() -> torch.Tensor:
    """The (3, 4, 4) faint grey checker (0.35 and 0.65) pasted at ``WATERMARK_BOX``."""
    checker = (torch.arange(4).view(4, 1) + torch.arange(4).view(1, 4)) % 2
    return (0.35 + 0.3 * checker.float()).expand(3, 4, 4)


def watermark_mask(n: int = 1) -> torch.Tensor:
    """(n, 1, 32, 32) bool mask of the watermark box (to measure how much relevance falls on it)."""
    mask = torch.zeros(n, 1, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool)
    mask[(slice(None), slice(None), *WATERMARK_BOX)] = True
    return mask


def make_shapes(n: int, seed: int = 0, watermark: str = "none", noise: float = 0.06) -> ShapesData:
    """``n`` images with balanced random classes, deterministic from ``seed``.

    ``watermark``: "none" (clean), "class" (the Clever Hans variant: every image of ``WATERMARK_CLASS``
    carries the watermark) or "all" (every image does). The same ``seed`` gives the same images in every
    mode, only the watermark differs. ``noise``: the standard deviation of the per-pixel Gaussian noise.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if watermark not in WATERMARK_MODES:
        raise ValueError(f"watermark must be one of {WATERMARK_MODES}, got {watermark!r}")
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randperm(n, generator=generator) % len(CLASSES)
    background = _backgrounds(n, generator)
    masks = _shape_masks(labels, generator).unsqueeze(1)
    # a random colour, pushed away from the background's mean colour in one random channel
    colour = torch.rand(n, 3, generator=generator)
    channel = torch.randint(3, (n,), generator=generator)
    mean = background.mean(dim=(2, 3))[torch.arange(n), channel]
    offset = 0.35 + 0.1 * torch.rand(n, generator=generator)
    colour[torch.arange(n), channel] = torch.where(mean < 0.5, mean + offset, mean - offset)
    images = torch.where(masks, colour.view(n, 3, 1, 1), background)
    images += noise * torch.randn(images.shape, generator=generator)
    watermarked = (labels == WATERMARK_CLASS) if watermark == "class" else torch.full((n,), watermark == "all")
    images[(watermarked, slice(None), *WATERMARK_BOX)] = _watermark()
    return ShapesData(images.clamp(0, 1), labels, masks, watermarked)


class ShapesCNN(nn.Module):
    """Three conv blocks and a linear layer, for (N, 3, 32, 32) images in [0, 1]: ``(x - 0.5) * 4``, then
    ``conv1 -> bn1 -> relu1 -> pool1 -> conv2 -> bn2 -> relu2 -> pool2 -> conv3 -> bn3 -> relu3 ->
    global_pool (max) -> fc`` (3 logits). Every ReLU is its own module; ``relu3`` (8x8: the output of the last
    conv block, after its ReLU, like ``layer4`` of a ResNet) is the layer for Grad-CAM. PyTorch's default initialisation, drawn under ``seed`` (the global random state is restored);
    starts in eval mode (batch norm then uses its running statistics: a fixed affine map)."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
            self.bn1 = nn.BatchNorm2d(16)
            self.relu1 = nn.ReLU()
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
            self.bn2 = nn.BatchNorm2d(32)
            self.relu2 = nn.ReLU()
            self.pool2 = nn.MaxPool2d(2)
            self.conv3 = nn.Conv2d(32, 32, kernel_size=3, padding=1)
            self.bn3 = nn.BatchNorm2d(32)
            self.relu3 = nn.ReLU()
            self.global_pool = nn.AdaptiveMaxPool2d(1)
            self.fc = nn.Linear(32, len(CLASSES))
        self.eval()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = (inputs - 0.5) * 4  # centre and scale the [0, 1] pixels
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        x = self.global_pool(self.relu3(self.bn3(self.conv3(x))))
        return self.fc(torch.flatten(x, 1))


def train_model(data: ShapesData, epochs: int = 3, batch_size: int = 32, lr: float = 3e-3, seed: int = 0) -> ShapesCNN:
    """Train a ``ShapesCNN(seed)`` with Adam and cross-entropy; returns it in eval mode. Deterministic for a
    fixed seed and number of threads (the batch order comes from ``seed``); the last bits may differ
    between machines and thread counts."""
    if not isinstance(data, ShapesData):
        raise TypeError(f"data must be a ShapesData (from make_shapes), got {type(data).__name__}")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    model = ShapesCNN(seed).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(data), generator=generator).split(batch_size):
            optimizer.zero_grad()
            F.cross_entropy(model(data.images[batch]), data.labels[batch]).backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` whose highest logit is the label."""
    return (model(images).argmax(dim=1) == labels).float().mean().item()


#: The course's models: the training data (``make_shapes(TRAIN_SIZE, seed=0, watermark=...)``) and the epochs.
COURSE_MODELS = {"clean": {"watermark": "none", "epochs": 3}, "clever_hans": {"watermark": "class", "epochs": 2}}
TRAIN_SIZE = 2000


@functools.lru_cache(maxsize=None)
def _course_state(kind: str) -> dict[str, torch.Tensor]:
    """The trained weights of the course model ``kind``, computed once per process on the CPU with one thread
    (the number of threads changes how sums are split, hence the last bits of the weights)."""
    recipe = COURSE_MODELS[kind]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = make_shapes(TRAIN_SIZE, seed=0, watermark=recipe["watermark"])
        model = train_model(data, epochs=recipe["epochs"], seed=0)
    finally:
        torch.set_num_threads(threads)
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def course_model(kind: str = "clean") -> ShapesCNN:
    """A fresh copy (CPU, eval mode) of one of the course's trained models:

    - ``"clean"``: ``train_model(make_shapes(2000, seed=0), epochs=3, seed=0)``;
    - ``"clever_hans"``: ``train_model(make_shapes(2000, seed=0, watermark="class"), epochs=2, seed=0)``, trained
      on images where every circle carries the watermark.

    Trained on the first call in a process (a few seconds), on one CPU thread, so every process on the same machine
    gets bitwise the same weights; each call returns a new model that the caller may move or change.
    """
    if kind not in COURSE_MODELS:
        raise ValueError(f"kind must be one of {tuple(COURSE_MODELS)}, got {kind!r}")
    model = ShapesCNN()
    model.load_state_dict(_course_state(kind))
    return model.eval()


# ----------------------------------------------------------------------------------------------------------------
# Concept images (lab 13, TCAV): the same generator, with one property added to every image.

#: The concepts of :func:`concept_images`.
CONCEPTS = ("stripes", "dots", "red", "watermark")
_CONCEPT_SALT = 7919  # the pattern of concept images comes from a generator of its own, seeded with seed + this


def _pattern(concept: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """(n, 32, 32) bool: stripes (random orientation, period 3 to 6 pixels, random phase) or a grid of dots
    (spacing 4 to 6 pixels, radius 0.8 to 1.4 pixels, random offset)."""
    y, x = _grid(n)
    if concept == "stripes":
        angle, period, phase = torch.rand(3, n, 1, 1, generator=generator)
        direction = x * torch.cos(torch.pi * angle) + y * torch.sin(torch.pi * angle)
        return torch.sin(2 * torch.pi * (direction / (3 + 3 * period) + phase)) > 0
    spacing = 4 + 2 * torch.rand(n, 1, 1, generator=generator)
    radius = 0.8 + 0.6 * torch.rand(n, 1, 1, generator=generator)
    offset_y, offset_x = spacing * torch.rand(2, n, 1, 1, generator=generator)
    dy = torch.remainder(y - offset_y, spacing) - spacing / 2
    dx = torch.remainder(x - offset_x, spacing) - spacing / 2
    return dy**2 + dx**2 <= radius**2


def random_images(n: int, seed: int = 0) -> torch.Tensor:
    """``make_shapes(n, seed).images``: the images of the data set's own generator (the "random" examples of TCAV:
    random classes, shapes, colours and backgrounds, no watermark)."""
    return make_shapes(n, seed=seed).images


def concept_images(concept: str, n: int, seed: int = 0) -> torch.Tensor:
    """(n, 3, 32, 32) images in [0, 1] showing ``concept`` (one of :data:`CONCEPTS`): the images of
    ``random_images(n, seed)`` with one property added, so that a concept set and a random set differ in that
    property (and in the random draw) only:

    - ``"stripes"``: the object is striped (its colour inverted, ``1 - colour``, on stripes of random orientation
      and period);
    - ``"dots"``: the object is dotted (its colour inverted on a grid of small dots);
    - ``"red"``: the object is red (0.85, 0.1, 0.1) plus the data set's noise;
    - ``"watermark"``: every image carries the Clever Hans watermark (``make_shapes(n, seed, watermark="all")``).

    Deterministic from ``seed``; the backgrounds are untouched (except under the watermark).
    """
    if concept not in CONCEPTS:
        raise ValueError(f"concept must be one of {CONCEPTS}, got {concept!r}")
    if concept == "watermark":
        return make_shapes(n, seed=seed, watermark="all").images
    data = make_shapes(n, seed=seed)
    generator = torch.Generator().manual_seed(seed + _CONCEPT_SALT)
    objects = data.masks.expand(-1, 3, -1, -1)
    if concept == "red":
        red = torch.tensor([0.85, 0.1, 0.1]).view(1, 3, 1, 1) + 0.06 * torch.randn(data.images.shape, generator=generator)
        return torch.where(objects, red.clamp(0, 1), data.images)
    on = _pattern(concept, n, generator).unsqueeze(1) & objects
    return torch.where(on, 1 - data.images, data.images)
