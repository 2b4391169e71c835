"""helpers.models.with_own_relus: the same function, every ReLU call its own module, and DeepLift works on it.

torchvision's ResNet blocks call one in-place ``nn.ReLU`` module twice (three times in a ``Bottleneck``), so Captum's
DeepLift refuses them; EfficientNet-Lite0 uses ``nn.ReLU6``, which DeepLift does not know. Labs 6, 7 and 9 rely on
the rewritten copies; these tests pin what the labs say about them.
"""
import warnings

import pytest
import torch
import torchvision
from captum.attr import DeepLift
from torch import nn

from helpers.imagenet import EfficientNetLite0
from helpers.models import ReLU6AsReLUs, with_own_relus


def random_model(name):
    torch.manual_seed(0)
    model = {"resnet18": torchvision.models.resnet18, "resnet50": torchvision.models.resnet50,
             "efficientnet_lite0": EfficientNetLite0}[name]()
    if name == "efficientnet_lite0":  # its default init gives tiny logits: spread the weights to exercise every unit
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.dim() > 1:
                    parameter.normal_(0, (2 / parameter[0].numel()) ** 0.5)
    return model.eval()


def activation_calls(model, inputs):
    """ids of the ReLU/ReLU6 modules called in one forward pass, in call order."""
    calls = []
    handles = [m.register_forward_hook(lambda module, args, output: calls.append(id(module)))
               for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return calls


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "efficientnet_lite0"])
def test_with_own_relus_keeps_the_outputs(name):
    model = random_model(name)
    inputs = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    rewritten = with_own_relus(model)
    with torch.no_grad():
        expected, got = model(inputs), rewritten(inputs)
    assert expected.abs().max() > 1e-2, "the random model should give non-trivial logits"
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5 * float(expected.abs().max()))
    calls = activation_calls(rewritten, inputs)
    assert len(calls) == len(set(calls)), "every ReLU call should be made by its own module"
    assert not any(isinstance(m, nn.ReLU6) for m in rewritten.modules())
    assert not any(getattr(m, "inplace", False) for m in rewritten.modules() if isinstance(m, nn.ReLU))
    names = {n for n, _ in model.named_modules()}
    assert names <= {n for n, _ in rewritten.named_modules()}, "module names of the original must stay valid"
    assert rewritten.training is False and rewritten is not model


def test_the_original_resnet18_reuses_relus_and_is_left_unchanged():
    model = random_model("resnet18")
    inputs = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    calls = activation_calls(model, inputs)
    assert len(calls) == 17 and len(set(calls)) == 9  # stem + two calls in each of the 8 blocks, 9 modules
    with_own_relus(model)
    assert activation_calls(model, inputs) == calls, "with_own_relus must work on a copy"


def test_relu6_is_rewritten_only_when_asked():
    model = random_model("efficientnet_lite0")
    assert sum(isinstance(m, ReLU6AsReLUs) for m in with_own_relus(model).modules()) == \
        sum(isinstance(m, nn.ReLU6) for m in model.modules()) > 0
    assert not any(isinstance(m, ReLU6AsReLUs) for m in with_own_relus(model, relu6=False).modules())


def deeplift(model, inputs, target):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Captum warns that it sets hooks on the nonlinearities
        return DeepLift(model).attribute(inputs, target=target, return_convergence_delta=True)


def output_change(model, inputs, target):
    with torch.no_grad():
        return model(inputs)[:, target] - model(torch.zeros_like(inputs))[:, target]


def test_captum_deeplift_refuses_the_original_resnet18():
    model = random_model("resnet18")
    inputs = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with pytest.raises(RuntimeError, match="used more than once|only once"):
        deeplift(model, inputs, target=3)


def test_deeplift_on_the_rewritten_resnet18_is_complete():
    model = with_own_relus(random_model("resnet18"))
    inputs = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    attributions, delta = deeplift(model, inputs, target=7)
    change = output_change(model, inputs, 7)
    assert float(change.abs().min()) > 1e-3, "the test needs a non-trivial output change"
    own_delta = attributions.reshape(2, -1).sum(1) - change
    torch.testing.assert_close(delta, own_delta, rtol=0, atol=1e-4 * float(change.abs().max()))
    assert float((delta.abs() / change.abs()).max()) < 1e-4, (delta, change)


def test_deeplift_on_efficientnet_lite0_needs_the_relu6_rewrite():
    """What lab 6 prints offline: DeepLift runs on Lite0 as loaded, but without the rescale rule at its ReLU6
    modules completeness fails; on the rewritten copy it holds."""
    from helpers.imagenet import load_imagenet_model

    lab_model = load_imagenet_model(offline=True, quiet=True)
    model, cat = lab_model.model, lab_model.load_input("cat")
    target = int(model(cat).argmax())
    change = float(output_change(model, cat, target))
    _, delta_as_loaded = deeplift(model, cat, target)
    _, delta_rewritten = deeplift(with_own_relus(model), cat, target)
    assert abs(float(delta_as_loaded)) > 0.1 * abs(change), (float(delta_as_loaded), change)
    assert abs(float(delta_rewritten)) < 1e-3 * abs(change), (float(delta_rewritten), change)
