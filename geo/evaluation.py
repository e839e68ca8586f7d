"""Measuring damage sites against a synthetic flyover's ground truth, in metres.

Reads the flyover's files as plain JSON (``geo`` never imports ``engine``): the ISBDA/COCO
annotations become detections (``detections_from_coco``), ``truth.geojson`` gives every
damaged part's position, and :func:`evaluate_sites` matches sites to parts one to one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.masks import RleMask
from core.types import DamageLevel, DamageSite, Detection
from geo.local import LocalFrame


def detections_from_coco(path: str | Path, *, score: float = 1.0) -> tuple[list[Detection], dict[int, float]]:
    """ISBDA annotations as detections (one per annotation, ``id`` = annotation id) and
    the annotated frames' times. Images must carry ``frame_index`` and ``pts_s``."""
    import cv2

    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    images = {img["id"]: img for img in doc["images"]}
    detections = []
    for ann in doc["annotations"]:
        img = images[ann["image_id"]]
        h, w = int(img["height"]), int(img["width"])
        canvas = np.zeros((h, w), dtype=np.uint8)
        for poly in ann["segmentation"]:
            pts = np.round(np.asarray(poly, dtype=np.float64).reshape(-1, 2)).astype(np.int32)
            cv2.fillPoly(canvas, [pts], 1)
        x, y, bw, bh = ann.get("damage_bbox", ann["bbox"])
        house = ann.get("house_bbox")
        detections.append(
            Detection(
                frame_index=int(img["frame_index"]),
                level=DamageLevel(int(ann["category_id"])),
                score=score,
                box_xyxy_px=(float(x), float(y), float(x + bw), float(y + bh)),
                mask=RleMask.from_array(canvas.astype(bool)),
                building_box_xyxy_px=None if house is None else (house[0], house[1], house[0] + house[2], house[1] + house[3]),
                id=int(ann["id"]),
            )
        )
    times = {int(img["frame_index"]): float(img["pts_s"]) for img in doc["images"]}
    return detections, times


@dataclass(frozen=True)
class TruthPart:
    part_id: int
    building_id: int
    level: DamageLevel
    lon_deg: float
    lat_deg: float


def read_truth_parts(path: str | Path) -> list[TruthPart]:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    parts = []
    for feature in doc["features"]:
        props = feature["properties"]
        for part in props.get("parts", []):
            parts.append(TruthPart(int(part["part_id"]), int(props["id"]), DamageLevel.parse(part["level"]),
                                   float(part["lon"]), float(part["lat"])))
    return parts


@dataclass(frozen=True)
class SiteEvaluation:
    sites: int
    parts: int
    matched: int
    errors_m: tuple[float, ...] = field(repr=False)
    levels_right: int

    @property
    def median_error_m(self) -> float:
        return float(np.median(self.errors_m)) if self.errors_m else float("inf")

    @property
    def recall(self) -> float:
        return self.matched / self.parts if self.parts else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.sites if self.sites else 1.0

    @property
    def level_accuracy(self) -> float:
        return self.levels_right / self.matched if self.matched else 0.0

    def summary(self) -> str:
        return (f"sites {self.sites}, visible damaged parts {self.parts}, matched {self.matched}: "
                f"median error {self.median_error_m:.2f} m, recall {self.recall:.1%}, "
                f"precision {self.precision:.1%}, level right {self.level_accuracy:.1%}")


def evaluate_sites(
    sites: list[DamageSite],
    parts: list[TruthPart],
    *,
    match_m: float = 5.0,
) -> SiteEvaluation:
    """Match sites to truth parts one to one, nearest first, within ``match_m``."""
    if not parts:
        return SiteEvaluation(len(sites), 0, 0, (), 0)
    local = LocalFrame.around(parts[0].lon_deg, parts[0].lat_deg)
    pe, pn = local.to_local([p.lon_deg for p in parts], [p.lat_deg for p in parts])
    if sites:
        se, sn = local.to_local([s.lon_deg for s in sites], [s.lat_deg for s in sites])
    else:
        se = sn = np.zeros(0)
    distance = np.hypot(se[:, None] - pe[None, :], sn[:, None] - pn[None, :])
    pairs = sorted((distance[i, j], i, j) for i, j in zip(*np.nonzero(distance <= match_m)))
    used_s, used_p, errors, right = set(), set(), [], 0
    for d, i, j in pairs:
        if i in used_s or j in used_p:
            continue
        used_s.add(i)
        used_p.add(j)
        errors.append(float(d))
        right += int(sites[i].level == parts[j].level)
    return SiteEvaluation(len(sites), len(parts), len(errors), tuple(errors), right)
