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

from core.masks import RleMask, coco_rle
from core.types import DamageLevel, DamageSite, Detection
from geo.local import LocalFrame


def detections_from_coco(path: str | Path, *, score: float = 1.0) -> tuple[list[Detection], dict[int, float]]:
    """ISBDA annotations as detections (one per annotation, ``id`` = annotation id) and
    the annotated frames' times. Images must carry ``frame_index`` and ``pts_s``. Masks are
    rasterised as COCO tools do (pycocotools: a pixel is in when its centre is), so they
    equal the masks the annotations were written from."""
    from pycocotools import mask as mask_utils

    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    images = {img["id"]: img for img in doc["images"]}
    detections = []
    for ann in doc["annotations"]:
        img = images[ann["image_id"]]
        h, w = int(img["height"]), int(img["width"])
        segmentation = ann["segmentation"]
        if isinstance(segmentation, list) and not segmentation:
            canvas = np.zeros((h, w), dtype=np.uint8)
        else:
            canvas = mask_utils.decode(coco_rle(segmentation, h, w))
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
    """One damaged part of ``truth.geojson``; ``enu_m`` in the flyover's own ENU frame."""

    part_id: int
    building_id: int
    level: DamageLevel
    lon_deg: float
    lat_deg: float
    enu_m: tuple[float, float, float] = (0.0, 0.0, 0.0)


def read_truth_parts(path: str | Path) -> list[TruthPart]:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    parts = []
    for feature in doc["features"]:
        props = feature["properties"]
        for part in props.get("parts", []):
            enu = (float(part.get("east_m", 0.0)), float(part.get("north_m", 0.0)), float(part.get("up_m", 0.0)))
            parts.append(TruthPart(int(part["part_id"]), int(props["id"]), DamageLevel.parse(part["level"]),
                                   float(part["lon"]), float(part["lat"]), enu))
    return parts


def sightings(annotations_path: str | Path) -> dict[int, list[tuple[int, float, bool]]]:
    """Part id -> ``(frame index, mask area in pixels, whole)`` of each annotation of it;
    ``whole`` is False when its box touches the image border (only part of it shows)."""
    doc = json.loads(Path(annotations_path).read_text(encoding="utf-8"))
    images = {img["id"]: img for img in doc["images"]}
    seen: dict[int, list[tuple[int, float, bool]]] = {}
    for ann in doc["annotations"]:
        img = images[ann["image_id"]]
        x, y, w, h = ann.get("damage_bbox", ann["bbox"])
        whole = x > 0 and y > 0 and x + w < img["width"] and y + h < img["height"]
        seen.setdefault(int(ann["part_id"]), []).append((int(img["frame_index"]), float(ann["area"]), bool(whole)))
    return seen


def placeable(
    part: TruthPart,
    sighted: list[tuple[int, float, bool]],
    camera_poses: dict[int, tuple[float, float, float]],
    *,
    min_parallax_deg: float = 5.0,
    min_depression_deg: float = 25.0,
    min_area_px: float = 16.0,
) -> bool:
    """Whether the flight's geometry lets *any* method place the part to about a metre,
    judged from the truth alone, over the frames where it shows whole (not cut by the
    image border) and at least ``min_area_px`` pixels (smaller is too small to classify
    or outline): seen at
    least 25 degrees below the horizon (where a few metres of unknown height move it
    little), or from viewpoints at least 5 degrees apart (enough parallax to triangulate
    it). Parts seen only tiny, or far and flat from one short stretch of track, are
    "don't care" in :func:`evaluate_sites`, as KITTI's DontCare regions: neither
    rewarded nor penalised.
    """
    target = np.asarray(part.enu_m, dtype=np.float64)
    rays = []
    frames = [frame for frame, area, whole in sighted if whole and area >= min_area_px]
    for frame in frames:
        if frame not in camera_poses:
            continue
        ray = target - np.asarray(camera_poses[frame], dtype=np.float64)
        ray /= np.linalg.norm(ray)
        if np.degrees(np.arcsin(-ray[2])) >= min_depression_deg:
            return True
        rays.append(ray)
    if len(rays) < 2:
        return False
    rays_array = np.array(rays)
    cosines = np.clip(rays_array @ rays_array.T, -1.0, 1.0)
    return float(np.degrees(np.arccos(cosines.min()))) >= min_parallax_deg


def flyover_parts(annotations_path: str | Path, truth_path: str | Path, camera_path: str | Path) -> tuple[list[TruthPart], list[TruthPart]]:
    """The parts seen in the annotated frames, split into (placeable, don't care)."""
    camera = json.loads(Path(camera_path).read_text(encoding="utf-8"))
    poses = {int(f["index"]): (f["pose"]["east_m"], f["pose"]["north_m"], f["pose"]["up_m"]) for f in camera["frames"]}
    seen = sightings(annotations_path)
    cared, dont_care = [], []
    for part in read_truth_parts(truth_path):
        if part.part_id in seen:
            (cared if placeable(part, seen[part.part_id], poses) else dont_care).append(part)
    return cared, dont_care


@dataclass(frozen=True)
class SiteEvaluation:
    sites: int
    parts: int
    matched: int
    errors_m: tuple[float, ...] = field(repr=False)
    levels_right: int

    def __add__(self, other: SiteEvaluation) -> SiteEvaluation:
        """Pool two evaluations (e.g. of two flights)."""
        return SiteEvaluation(self.sites + other.sites, self.parts + other.parts, self.matched + other.matched,
                              self.errors_m + other.errors_m, self.levels_right + other.levels_right)

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


def part_of_detection(annotations_path: str | Path) -> dict[int, int]:
    """Annotation (= detection, see :func:`detections_from_coco`) id -> part id."""
    doc = json.loads(Path(annotations_path).read_text(encoding="utf-8"))
    return {int(a["id"]): int(a["part_id"]) for a in doc["annotations"] if "part_id" in a}


def evaluate_sites(
    sites: list[DamageSite],
    parts: list[TruthPart],
    *,
    dont_care: list[TruthPart] = (),
    match_m: float = 5.0,
    part_of: dict[int, int] | None = None,
) -> SiteEvaluation:
    """Match sites to truth parts one to one, nearest first, within ``match_m``.

    Sites matched to a ``dont_care`` part, or left unmatched within ``2 * match_m`` of
    one, are not counted at all; nor, when ``part_of`` (detection id -> part id, for
    ground-truth detections) is given, are sites whose best detection shows a
    ``dont_care`` part.
    """
    if part_of is not None and dont_care:
        ignored_parts = {p.part_id for p in dont_care}
        sites = [s for s in sites if part_of.get(s.best_detection_id) not in ignored_parts]
    everything = list(parts) + list(dont_care)
    if not everything:
        return SiteEvaluation(len(sites), 0, 0, (), 0)
    local = LocalFrame.around(everything[0].lon_deg, everything[0].lat_deg)
    pe, pn = local.to_local([p.lon_deg for p in everything], [p.lat_deg for p in everything])
    if sites:
        se, sn = local.to_local([s.lon_deg for s in sites], [s.lat_deg for s in sites])
    else:
        se = sn = np.zeros(0)
    distance = np.hypot(se[:, None] - pe[None, :], sn[:, None] - pn[None, :])
    pairs = sorted((distance[i, j], i, j) for i, j in zip(*np.nonzero(distance <= match_m)))
    used_s, used_p, errors, right, ignored = set(), set(), [], 0, 0
    cared = len(parts)
    for d, i, j in pairs:
        if i in used_s or j in used_p:
            continue
        used_s.add(i)
        used_p.add(j)
        if j >= cared:
            ignored += 1
            continue
        errors.append(float(d))
        right += int(sites[i].level == everything[j].level)
    if len(everything) > cared:  # unmatched sites near a don't-care part: its sightings, placed loosely
        near_dont_care = (distance[:, cared:] <= 2 * match_m).any(axis=1)
        ignored += sum(1 for i in range(len(sites)) if i not in used_s and near_dont_care[i])
    return SiteEvaluation(len(sites) - ignored, cared, len(errors), tuple(errors), right)
