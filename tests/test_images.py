"""helpers.images: sample images, class names, top-k decoding and tensor conversions."""
from __future__ import annotations

import math
import shutil

import matplotlib
import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from torchvision import transforms

from helpers import images

matplotlib.use("Agg")


# --- sample images -----------------------------------------------------------------------------------------


def test_load_image_cat_is_chelsea():
    cat = images.load_image("cat")
    assert cat.mode == "RGB" and cat.size == (451, 300)
    # JPEG quality 95 of skimage's PNG: close to the original pixels.
    difference = np.abs(np.asarray(cat, dtype=float) - skimage.data.chelsea().astype(float))
    assert difference.mean() < 2.0


def test_load_image_coffee_and_by_path():
    coffee = images.load_image("coffee")
    assert coffee.mode == "RGB" and coffee.size == (600, 400)
    by_path = images.load_image(images.DATA_DIR / "coffee.jpg")
    assert np.array_equal(np.asarray(by_path), np.asarray(coffee))


def test_load_image_converts_to_rgb(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(skimage.data.camera()).save(path)
    assert images.load_image(str(path)).mode == "RGB"


def test_load_image_unknown_name():
    with pytest.raises(FileNotFoundError, match="name_or_path='dog'.*cat"):
        images.load_image("dog")


def test_load_image_wrong_type():
    with pytest.raises(TypeError, match="name_or_path"):
        images.load_image(3)


def test_missing_data_folder_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("XAI_COURSE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="reinstall the course.*XAI_COURSE_DATA"):
        images.load_image("cat")


def test_data_folder_override(monkeypatch, tmp_path):
    shutil.copy(images.DATA_DIR / "cat.jpg", tmp_path / "cat.jpg")
    monkeypatch.setenv("XAI_COURSE_DATA", str(tmp_path))
    assert images.data_path("cat.jpg") == tmp_path / "cat.jpg"
    assert images.load_image("cat").size == (451, 300)


def _make_data():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_data", images.DATA_DIR / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cat_and_coffee_is_the_composition_of_make_data():
    make_data = _make_data()
    loaded = np.asarray(images.load_image("cat_and_coffee"), dtype=float)
    built = np.asarray(make_data.cat_and_coffee(), dtype=float)
    assert loaded.shape == built.shape == (512, 512, 3)
    assert np.abs(loaded - built).mean() < 2.0           # JPEG quality 95
    assert np.array_equal(np.asarray(make_data.cat_and_coffee()), built.astype(np.uint8))  # deterministic


def test_cat_and_coffee_preprocessing_keeps_both_objects_whole():
    """The centre crop of Resize(256), CenterCrop(224) has only background along its border: nothing is cut."""
    make_data = _make_data()
    crop = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.PILToTensor()])
    pixels = crop(make_data.cat_and_coffee()).permute(1, 2, 0).numpy().astype(float)
    border = np.concatenate([pixels[:3].reshape(-1, 3), pixels[-3:].reshape(-1, 3),
                             pixels[:, :3].reshape(-1, 3), pixels[:, -3:].reshape(-1, 3)])
    assert np.abs(border - np.array(make_data.COMPOSITION_BACKGROUND)).max() <= 2
    inside = pixels[3:-3, 3:-3]
    background = np.abs(inside - np.array(make_data.COMPOSITION_BACKGROUND)).max(axis=2) <= 2
    assert 0.3 < 1 - background.mean() < 0.9              # and the objects are there, large


def test_offline_model_ranks_a_cat_and_the_coffee_high_on_cat_and_coffee():
    """EfficientNet-Lite0 puts a cat class (281-285) and espresso or cup (967, 968) in its top 5.

    (ResNet18's weights cannot be downloaded here; the labs choose both classes from the printed ranking.)"""
    from helpers.imagenet import load_imagenet_model

    lab_model = load_imagenet_model(offline=True, quiet=True)
    with torch.no_grad():
        top5 = lab_model.model(lab_model.load_input("cat_and_coffee"))[0].topk(5).indices.tolist()
    assert set(top5) & {281, 282, 283, 284, 285}, top5
    assert set(top5) & {967, 968}, top5


# --- class names -------------------------------------------------------------------------------------------


def test_imagenet_class_names_known_entries():
    names = images.imagenet_class_names()
    assert len(names) == 1000
    assert (names[0], names[281], names[282], names[967]) == ("tench", "tabby", "tiger cat", "espresso")
    assert images.imagenet_class_index() is images.imagenet_class_index()


# --- top-k -------------------------------------------------------------------------------------------------


def test_decode_topk_analytic_probabilities():
    logits = torch.zeros(2, 1000)
    logits[0, 281] = 10.0
    logits[1, 967] = 5.0
    decoded = images.decode_topk(logits, k=1)
    assert decoded[0][0][:2] == (281, "tabby")
    assert decoded[0][0][2] == pytest.approx(math.exp(10) / (math.exp(10) + 999))
    assert decoded[1][0][:2] == (967, "espresso")
    assert decoded[1][0][2] == pytest.approx(math.exp(5) / (math.exp(5) + 999))


def test_decode_topk_custom_names_and_one_dimensional_logits():
    logits = torch.log(torch.tensor([0.1, 0.6, 0.3]))
    decoded = images.decode_topk(logits, k=2, class_names=["a", "b", "c"])
    assert [entry[:2] for entry in decoded[0]] == [(1, "b"), (2, "c")]
    assert [entry[2] for entry in decoded[0]] == pytest.approx([0.6, 0.3])


def test_format_topk_lines():
    logits = torch.log(torch.tensor([0.1, 0.6, 0.3]))
    assert images.format_topk(logits, k=2, class_names="abc") == "1 b: 0.60\n2 c: 0.30"
    batch = torch.stack([logits, logits.flip(0)])
    assert images.format_topk(batch, k=1, class_names="abc") == "[0] 1 b: 0.60\n[1] 1 b: 0.60"
    single = torch.zeros(1, 1000)
    single[0, 281] = 10.0
    assert images.format_topk(single, k=1) == "281 tabby: 0.96"


@pytest.mark.parametrize(
    ("logits", "kwargs", "message"),
    [
        (torch.zeros(1, 1, 1000), {}, "logits must have shape"),
        (torch.zeros(1, 10), {}, "class_names"),
        (torch.zeros(1, 3), {"class_names": "abc", "k": 4}, "k must be"),
        (torch.zeros(1, 3), {"class_names": "abc", "k": 0}, "k must be"),
    ],
)
def test_decode_topk_errors(logits, kwargs, message):
    with pytest.raises(ValueError, match=message):
        images.decode_topk(logits, **kwargs)


def test_decode_topk_rejects_numpy():
    with pytest.raises(TypeError, match="logits"):
        images.decode_topk(np.zeros((1, 1000)))


# --- denormalize and to_hwc --------------------------------------------------------------------------------

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def test_denormalize_inverts_normalize():
    pixels = torch.rand(2, 3, 8, 9, generator=torch.Generator().manual_seed(0))
    normalized = transforms.Normalize(MEAN, STD)(pixels)
    torch.testing.assert_close(images.denormalize(normalized, MEAN, STD), pixels)
    torch.testing.assert_close(images.denormalize(normalized[0], MEAN, STD), pixels[0])


def test_denormalize_clamps():
    out = images.denormalize(torch.tensor([[[-10.0]], [[0.0]], [[10.0]]]), MEAN, STD)
    assert out.flatten().tolist() == pytest.approx([0.0, 0.456, 1.0])


@pytest.mark.parametrize(
    ("tensor", "mean", "std", "error", "message"),
    [
        (torch.zeros(3, 4), MEAN, STD, ValueError, "tensor must have shape"),
        (torch.zeros(1, 3, 4, 4), MEAN[:2], STD, ValueError, "mean must have one value per channel"),
        (torch.zeros(1, 3, 4, 4), MEAN, (1.0,), ValueError, "std must have one value per channel"),
        (np.zeros((3, 4, 4)), MEAN, STD, TypeError, "tensor must be a torch.Tensor"),
    ],
)
def test_denormalize_errors(tensor, mean, std, error, message):
    with pytest.raises(error, match=message):
        images.denormalize(tensor, mean, std)


@pytest.mark.parametrize("shape", [(1, 3, 5, 7), (3, 5, 7), (1, 1, 5, 7), (1, 5, 7)])
def test_to_hwc_shapes_and_values(shape):
    tensor = torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape).requires_grad_()
    hwc = images.to_hwc(tensor)
    channels = shape[-3]
    assert isinstance(hwc, np.ndarray) and hwc.dtype == np.float32 and hwc.shape == (5, 7, channels)
    chw = tensor.detach().reshape(channels, 5, 7).numpy()
    assert hwc[2, 4, channels - 1] == chw[channels - 1, 2, 4]


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((2, 3, 5, 7), r"batch of 2 samples .* index one sample, e\.g\. to_hwc\(x\[0\]\)"),
        ((5, 7), "tensor must have shape"),
        ((1, 1, 1, 5, 7), "tensor must have shape"),
        ((5, 7, 3), "channels-last"),
    ],
)
def test_to_hwc_errors(shape, message):
    with pytest.raises(ValueError, match=message):
        images.to_hwc(torch.zeros(shape))


def test_to_hwc_output_works_with_captum_visualization():
    from captum.attr import visualization

    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    attribution = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    figure, _ = visualization.visualize_image_attr(
        images.to_hwc(attribution), images.to_hwc(image), method="blended_heat_map", sign="all", use_pyplot=False
    )
    assert figure.axes
