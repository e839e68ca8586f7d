"""Turn hand-drawn damage polygons into an ISBDA-layout split, and draw them for checking.

Input: a labels file (JSON) with one entry per image::

    {"description": "...",
     "images": [{"file": "path/to/photo.jpg",
                 "parts": [{"level": "slight" | "severe" | "debris",
                            "polygons": [[[x, y], [x, y], ...], ...],
                            "house_bbox": [x, y, w, h],      # optional
                            "grow": 0.5}]}]}                  # optional, default 0.5

Each part becomes one COCO annotation: ``segmentation`` (the polygons, flattened),
``category_id`` (1 slight, 2 severe, 3 debris), ``bbox`` = ``damage_bbox`` (the polygons'
box), ``area`` (pycocotools' mask area), ``iscrowd`` 0, and ``house_bbox``: the one given,
else the damage box grown by ``grow`` (half on each side), clipped to the image.
Images are copied byte for byte into ``OUT/<split>/``.

    python bench/label_gallery.py LABELS.json OUT_DIR --split train [--overlay DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from pycocotools import mask as mask_utils

LEVELS = {"slight": 1, "severe": 2, "debris": 3}
CATEGORIES = [{"id": i, "name": n} for n, i in LEVELS.items()]
COLOURS = {1: (255, 230, 0), 2: (255, 60, 0), 3: (255, 0, 255)}


def polygon_box(polygons: list[list[list[float]]]) -> list[float]:
    points = np.array([p for polygon in polygons for p in polygon], dtype=float)
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    return [round(float(x0), 1), round(float(y0), 1), round(float(x1 - x0), 1), round(float(y1 - y0), 1)]


def grown_box(box: list[float], grow: float, width: int, height: int) -> list[float]:
    x, y, w, h = box
    x0, y0 = max(0.0, x - w * grow / 2), max(0.0, y - h * grow / 2)
    x1, y1 = min(float(width), x + w * (1 + grow / 2)), min(float(height), y + h * (1 + grow / 2))
    return [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)]


def annotation(part: dict, ann_id: int, image_id: int, width: int, height: int) -> dict:
    polygons = [[[min(max(float(x), 0.0), width), min(max(float(y), 0.0), height)] for x, y in poly] for poly in part["polygons"]]
    flat = [[round(v, 1) for point in poly for v in point] for poly in polygons if len(poly) >= 3]
    if not flat:
        raise ValueError(f"annotation {ann_id}: no polygon of 3 points or more")
    rle = mask_utils.merge(mask_utils.frPyObjects(flat, height, width))
    box = polygon_box(polygons)
    house = part.get("house_bbox") or grown_box(box, float(part.get("grow", 0.5)), width, height)
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": LEVELS[part["level"]],
        "segmentation": flat,
        "area": float(mask_utils.area(rle)),
        "iscrowd": 0,
        "bbox": box,
        "damage_bbox": box,
        "house_bbox": [round(float(v), 1) for v in house],
    }


def build(labels: dict, out: Path, split: str) -> dict:
    images, annotations = [], []
    (out / split).mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    for image_id, entry in enumerate(labels["images"], start=1):
        src = Path(entry["file"])
        with Image.open(src) as image:
            width, height = image.size
        shutil.copyfile(src, out / split / src.name)
        images.append({"id": image_id, "file_name": src.name, "width": width, "height": height})
        for part in entry["parts"]:
            annotations.append(annotation(part, len(annotations) + 1, image_id, width, height))
    coco = {
        "info": {"description": labels["description"]},
        "images": images,
        "annotations": annotations,
        "categories": CATEGORIES,
    }
    (out / "annotations" / f"instances_{split}.json").write_text(dumps(coco), encoding="utf-8")
    return coco


def dumps(coco: dict) -> str:
    """COCO JSON with one image, annotation or category per line (short diffs, small file)."""
    lines = ["{", f' "info": {json.dumps(coco["info"])},']
    for key in ("images", "annotations", "categories"):
        items = [f"  {json.dumps(item, separators=(',', ':'))}" for item in coco[key]]
        lines.append(f' "{key}": [\n' + ",\n".join(items) + "\n ]" + ("," if key != "categories" else ""))
    return "\n".join(lines) + "\n}\n"


def draw(coco: dict, image_dir: Path, out: Path, scale: int = 2) -> None:
    """One PNG per image: polygons coloured by level (yellow slight, orange severe, magenta debris),
    house boxes in cyan."""
    out.mkdir(parents=True, exist_ok=True)
    for info in coco["images"]:
        with Image.open(image_dir / info["file_name"]) as image:
            canvas = image.convert("RGB").resize((info["width"] * scale, info["height"] * scale))
        pen = ImageDraw.Draw(canvas)
        for ann in (a for a in coco["annotations"] if a["image_id"] == info["id"]):
            x, y, w, h = (v * scale for v in ann["house_bbox"])
            pen.rectangle([x, y, x + w, y + h], outline=(0, 255, 255))
            for flat in ann["segmentation"]:
                points = [(flat[i] * scale, flat[i + 1] * scale) for i in range(0, len(flat), 2)]
                pen.polygon(points, outline=COLOURS[ann["category_id"]])
            pen.text((ann["bbox"][0] * scale, ann["bbox"][1] * scale - 10), str(ann["id"]), fill=COLOURS[ann["category_id"]])
        canvas.save(out / (Path(info["file_name"]).stem + ".png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--split", required=True)
    parser.add_argument("--overlay", type=Path, help="folder for the checking overlays (keep it outside the repo)")
    args = parser.parse_args()
    coco = build(json.loads(args.labels.read_text(encoding="utf-8")), args.out, args.split)
    counts: dict[str, dict[int, int]] = {}
    for info in coco["images"]:
        counts[info["file_name"]] = {i: 0 for i in LEVELS.values()}
    names = {i["id"]: i["file_name"] for i in coco["images"]}
    for ann in coco["annotations"]:
        counts[names[ann["image_id"]]][ann["category_id"]] += 1
    print(f"{'image':60s} slight severe debris")
    for name, c in counts.items():
        print(f"{name:60s} {c[1]:6d} {c[2]:6d} {c[3]:6d}")
    if args.overlay:
        draw(coco, args.out / args.split, args.overlay)


if __name__ == "__main__":
    main()
