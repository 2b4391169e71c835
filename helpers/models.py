"""Small deterministic models for exercises and tests.

- :class:`ToyModel` is the seed slides' (and Captum README's) two-layer network: every number in it is
  known, so attributions can be checked by hand.
- :class:`SmallCNN` is a tiny convolutional classifier for 1- or 3-channel images of 28x28 or 32x32,
  with fixed, seeded random weights. Hidden tests use it so that a solution hard-coded for the
  ImageNet model scores nothing.

The ImageNet model of the labs is loaded by :func:`helpers.imagenet.load_imagenet_model`.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ToyModel", "SmallCNN", "ReLU6AsReLUs", "with_own_relus", "ReLU6ForGuidedBackprop", "for_guided_backprop"]


class ToyModel(nn.Module):
    """``Linear(3->3)`` with weights ``arange(-4, 5)`` and bias 0, ``ReLU``, ``Linear(3->2)`` with weights
    ``arange(-3, 3)`` and bias 1.

    >>> ToyModel()(torch.tensor([[1.0, 2.0, 3.0]]))
    tensor([[-23.,  43.]], grad_fn=<AddmmBackward0>)
    """

    def __init__(self) -> None:
        super().__init__()
        self.lin1 = nn.Linear(3, 3)
        self.relu = nn.ReLU()
        self.lin2 = nn.Linear(3, 2)
        with torch.no_grad():
            self.lin1.weight.copy_(torch.arange(-4.0, 5.0).view(3, 3))
            self.lin1.bias.zero_()
            self.lin2.weight.copy_(torch.arange(-3.0, 3.0).view(2, 3))
            self.lin2.bias.fill_(1.0)
        self.eval()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.lin2(self.relu(self.lin1(inputs)))


class SmallCNN(nn.Module):
    """A tiny CNN: ``conv1 -> relu1 -> pool -> conv2 -> relu2 -> gap(4x4) -> fc``.

    Works for any input of at least 8x8 pixels (28x28 and 32x32 in the course), ``in_channels`` 1 or 3.
    Every ReLU is its own module (no reuse), so layer and neuron hooks on any module are unambiguous.
    Weights are drawn from ``seed`` without touching the global random state; the model starts in eval mode.
    ``conv2`` is the layer for Grad-CAM.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, seed: int = 0) -> None:
        super().__init__()
        if in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {in_channels!r}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes!r}")
        self.conv1 = nn.Conv2d(in_channels, 8, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(4)
        self.fc = nn.Linear(16 * 4 * 4, num_classes)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for parameter in self.parameters():
                fan_in = parameter[0].numel() if parameter.dim() > 1 else parameter.numel()
                bound = (3.0 / fan_in) ** 0.5
                parameter.copy_((torch.rand(parameter.shape, generator=generator) * 2 - 1) * bound)
        self.eval()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu1(self.conv1(inputs)))
        x = self.gap(self.relu2(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


class ReLU6AsReLUs(nn.Module):
    """``relu6(z) = 6 - relu(6 - relu(z))`` written with two ``nn.ReLU`` modules, which Captum's DeepLift knows."""

    def __init__(self) -> None:
        super().__init__()
        self.relu_low = nn.ReLU()
        self.relu_high = nn.ReLU()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return 6 - self.relu_high(6 - self.relu_low(inputs))


class _BasicBlockOwnReLUs(nn.Module):
    """torchvision's ``BasicBlock`` with its two ReLU calls made by two modules (``relu`` then ``relu_out``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu_out(out + identity)


class _BottleneckOwnReLUs(nn.Module):
    """torchvision's ``Bottleneck`` with its three ReLU calls made by ``relu``, ``relu_mid`` and ``relu_out``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu_mid(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu_out(out + identity)


def with_own_relus(model: nn.Module, relu6: bool = True) -> nn.Module:
    """A copy of ``model`` in which every ReLU *use* is its own ``nn.ReLU`` module (same outputs).

    Captum's ``DeepLift``/``NeuronDeepLift``/``LayerDeepLift`` and guided backpropagation apply their rule per module
    and need each nonlinearity called once: torchvision's ResNet blocks call one in-place ``self.relu`` twice (three
    times in a ``Bottleneck``). Here each block gets ``relu`` (first use), ``relu_mid`` (Bottleneck) and ``relu_out``
    (after the residual addition), all not in place; every other ``nn.ReLU`` is made not in place. With ``relu6``
    each ``nn.ReLU6`` (EfficientNet-Lite0) becomes :class:`ReLU6AsReLUs`, which DeepLift knows (it does not know
    ReLU6). Module names of the original (``layer4``, ``layer4.1.conv2``, ``act_head`` ...) stay valid.
    """
    import copy

    from torchvision.models.resnet import BasicBlock, Bottleneck

    if not isinstance(model, nn.Module):
        raise TypeError(f"model should be a torch.nn.Module, got {type(model).__name__}")
    copied = copy.deepcopy(model)
    for module in list(copied.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(module, name, nn.ReLU())
            elif relu6 and isinstance(child, nn.ReLU6):
                setattr(module, name, ReLU6AsReLUs())
        if type(module) is BasicBlock:
            module.relu_out = nn.ReLU()
            module.__class__ = type("BasicBlock", (_BasicBlockOwnReLUs, BasicBlock), {})
        elif type(module) is Bottleneck:
            module.relu_mid, module.relu_out = nn.ReLU(), nn.ReLU()
            module.__class__ = type("Bottleneck", (_BottleneckOwnReLUs, Bottleneck), {})
    return copied.eval() if not model.training else copied


class ReLU6ForGuidedBackprop(nn.ReLU):
    """``relu6(z) = min(max(z, 0), 6)`` (same values and gradient as ``nn.ReLU6``) in a module of type ``nn.ReLU``.

    Captum's ``GuidedBackprop`` and ``Deconvolution`` change the backward pass of ``nn.ReLU`` modules only (they test
    ``isinstance(module, nn.ReLU)``) and leave ``nn.ReLU6`` alone. Given this type, a ReLU6 gets their rule: guided
    backpropagation passes back ``relu(gradient * 1[0 < z < 6])``, deconvolution ``relu(gradient)``.
    (Rewriting relu6 as ``6 - relu(6 - relu(z))`` would not do: the outer ReLU sees the gradient with its sign
    flipped, so guided backpropagation would zero every positive gradient.)
    """

    def __init__(self) -> None:
        super().__init__(inplace=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.relu6(inputs)

    def extra_repr(self) -> str:
        return "ReLU6"


def for_guided_backprop(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (same outputs) on which Captum's guided backpropagation and deconvolution act on every
    ReLU and ReLU6: :func:`with_own_relus` (one ``nn.ReLU`` module per ReLU call, e.g. in torchvision's ResNet
    blocks) with every ``nn.ReLU6`` replaced by :class:`ReLU6ForGuidedBackprop`. Module names stay valid."""
    relu6_names = [name for name, module in model.named_modules() if isinstance(module, (nn.ReLU6, ReLU6ForGuidedBackprop))]
    copied = with_own_relus(model, relu6=False)
    for name in relu6_names:
        parent, _, child = name.rpartition(".")
        setattr(copied.get_submodule(parent), child, ReLU6ForGuidedBackprop())
    return copied
