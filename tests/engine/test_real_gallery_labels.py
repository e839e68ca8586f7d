"""The hand-labelled real aerial gallery: readable as ISBDA, labels on the images, counts as documented."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine.data import ISBDADataset

GALLERY = Path(__file__).resolve().parents[1] / "data" / "real-gallery"
ROW = re.compile(r"^\| (\w+) \| `([^`]+)` \| (\d+) \| (\d+) \| (\d+) \| `([0-9a-f]{40})` \|")


def documented() -> dict[str, dict[str, tuple[tuple[int, int, int], str]]]:
    """split -> image -> ((slight, severe, debris), git blob), from the README table."""
    table: dict[str, dict[str, tuple[tuple[int, int, int], str]]] = {}
    for line in (GALLERY / "README.md").read_text(encoding="utf-8").splitlines():
        if match := ROW.match(line):
            split, name, slight, severe, debris, blob = match.groups()
            table.setdefault(split, {})[name] = ((int(slight), int(severe), int(debris)), blob)
    return table


SPLITS = sorted(documented())


def test_the_readme_documents_the_splits_on_disk():
    on_disk = sorted(p.stem.removeprefix("instances_") for p in (GALLERY / "annotations").glob("instances_*.json"))
    assert on_disk == SPLITS
    assert "train" in SPLITS


@pytest.mark.parametrize("split", SPLITS)
def test_each_split_reads_as_isbda_with_the_documented_counts(split):
    dataset = ISBDADataset(GALLERY, split)
    table = documented()[split]
    assert sorted(info["file_name"] for info in dataset.images) == sorted(table)
    for index, info in enumerate(dataset.images):
        image, target = dataset[index]
        height, width = image.shape[1:]
        assert (height, width) == (info["height"], info["width"])
        counts = tuple(int((target["labels"] == level).sum()) for level in (1, 2, 3))
        assert counts == table[info["file_name"]][0], info["file_name"]
        areas = target["masks"].flatten(1).sum(1)
        assert (areas > 0).all(), f"{info['file_name']}: an empty mask"
        if len(target["boxes"]):
            assert len(target["building_boxes"]) > 0


@pytest.mark.parametrize("split", SPLITS)
def test_labels_lie_inside_their_image_and_their_house(split):
    coco = json.loads((GALLERY / "annotations" / f"instances_{split}.json").read_text(encoding="utf-8"))
    assert [(c["id"], c["name"]) for c in coco["categories"]] == [(1, "slight"), (2, "severe"), (3, "debris")]
    assert len(coco["info"]["description"]) > 100
    sizes = {image["id"]: (image["width"], image["height"]) for image in coco["images"]}
    for ann in coco["annotations"]:
        width, height = sizes[ann["image_id"]]
        assert ann["category_id"] in (1, 2, 3) and ann["iscrowd"] == 0
        points = np.array([v for polygon in ann["segmentation"] for v in polygon], dtype=float).reshape(-1, 2)
        assert points.min() >= 0 and (points[:, 0] <= width).all() and (points[:, 1] <= height).all(), ann["id"]
        x, y, w, h = ann["damage_bbox"]
        assert ann["bbox"] == ann["damage_bbox"] and w > 0 and h > 0
        assert np.allclose([x, y, x + w, y + h], [*points.min(axis=0), *points.max(axis=0)], atol=0.2), ann["id"]
        hx, hy, hw, hh = ann["house_bbox"]
        assert hx >= 0 and hy >= 0 and hx + hw <= width + 0.1 and hy + hh <= height + 0.1, ann["id"]
        overlap_w = max(0.0, min(x + w, hx + hw) - max(x, hx))
        overlap_h = max(0.0, min(y + h, hy + hh) - max(y, hy))
        assert overlap_w * overlap_h >= 0.8 * w * h, f"annotation {ann['id']}: damage box mostly outside its house box"


@pytest.mark.parametrize("split", SPLITS)
def test_images_are_the_source_files_byte_for_byte(split):
    for name, (_, blob) in documented()[split].items():
        data = (GALLERY / split / name).read_bytes()
        assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == blob, name


def test_the_labelling_script_writes_a_split_that_reads_back(tmp_path):
    import importlib.util

    from PIL import Image

    spec = importlib.util.spec_from_file_location("label_gallery", Path(__file__).resolve().parents[2] / "bench" / "label_gallery.py")
    label_gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(label_gallery)
    Image.new("RGB", (64, 48), (90, 120, 60)).save(tmp_path / "photo.png")
    labels = {
        "description": "one tarp and one pile",
        "images": [
            {
                "file": str(tmp_path / "photo.png"),
                "parts": [
                    {"level": "slight", "polygons": [[[10, 10], [30, 10], [30, 20], [10, 20]]]},
                    {"level": "debris", "polygons": [[[50, 30], [70, 30], [70, 40], [50, 40]]], "house_bbox": [40, 25, 24, 23]},
                ],
            }
        ],
    }
    coco = label_gallery.build(labels, tmp_path / "out", "test")
    tarp, pile = coco["annotations"]
    assert tarp["damage_bbox"] == [10.0, 10.0, 20.0, 10.0] and tarp["house_bbox"] == [5.0, 7.5, 30.0, 15.0]
    assert pile["damage_bbox"] == [50.0, 30.0, 14.0, 10.0]  # clipped to the 64 px wide image
    assert (tmp_path / "out" / "test" / "photo.png").read_bytes() == (tmp_path / "photo.png").read_bytes()
    _, target = ISBDADataset(tmp_path / "out", "test")[0]
    assert target["labels"].tolist() == [1, 3]
    assert target["masks"][0].sum() == pytest.approx(200, abs=40)
