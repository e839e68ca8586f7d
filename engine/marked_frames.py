"""What a detector finds on real frames whose damage was marked by hand.

A handful of real frames cannot give a meaningful AP, but they answer the question an
analyst asks first: does the model see *this* damage, and how sure is it, and how many
false alarms does it raise on a frame with no damage at all? A marked part counts as
found by a detection of any damage level whose box overlaps the part's box with IoU >=
:data:`FOUND_IOU` (the paper's loosest threshold) or whose box centre lies inside the
part's polygon (hand-drawn outlines are approximate, and a detector may outline only the
brightest patch of a damaged roof).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.types import box_iou

FOUND_IOU = 0.25


@dataclass(frozen=True)
class MarkedPart:
    """One hand-marked damaged part of a real frame."""

    part_id: int
    level: int
    box_xyxy: tuple[float, float, float, float]
    polygon_xy: np.ndarray  # float[N, 2]


@dataclass(frozen=True)
class PartFinding:
    part: MarkedPart
    best_score: float  # 0.0 when no detection finds it
    best_level: int | None

    def found(self, threshold: float) -> bool:
        return self.best_level is not None and self.best_score >= threshold


def marked_parts(annotations: dict[str, Any], image_id: int) -> list[MarkedPart]:
    """The ISBDA annotations of one image as :class:`MarkedPart` (first polygon each)."""
    parts = []
    for ann in annotations["annotations"]:
        if ann["image_id"] != image_id:
            continue
        polygon = np.asarray(ann["segmentation"][0], dtype=np.float64).reshape(-1, 2)
        x, y, w, h = ann.get("damage_bbox") or ann["bbox"]
        parts.append(MarkedPart(int(ann["id"]), int(ann["category_id"]), (x, y, x + w, y + h), polygon))
    return parts


def _inside(point: tuple[float, float], polygon: np.ndarray) -> bool:
    """Even-odd rule."""
    x, y = point
    inside = False
    xs, ys = polygon[:, 0], polygon[:, 1]
    for i in range(len(polygon)):
        x1, y1, x2, y2 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def finds(result: dict[str, Any], part: MarkedPart) -> bool:
    """Whether one COCO result (``bbox`` as ``[x, y, w, h]``) finds ``part``."""
    x, y, w, h = result["bbox"]
    box = (x, y, x + w, y + h)
    return box_iou(box, part.box_xyxy) >= FOUND_IOU or _inside((x + w / 2, y + h / 2), part.polygon_xy)


def find_parts(results: list[dict[str, Any]], parts: list[MarkedPart]) -> list[PartFinding]:
    """For each marked part, the best-scoring detection that finds it."""
    findings = []
    for part in parts:
        hits = [r for r in results if finds(r, part)]
        best = max(hits, key=lambda r: r["score"], default=None)
        findings.append(PartFinding(part, float(best["score"]) if best else 0.0,
                                    int(best["category_id"]) if best else None))
    return findings


def false_alarms(results: list[dict[str, Any]], parts: list[MarkedPart], threshold: float) -> int:
    """Detections at or above ``threshold`` that find no marked part."""
    return sum(1 for r in results if r["score"] >= threshold and not any(finds(r, p) for p in parts))
