"""Reviewed frames of a project as ISBDA/COCO training data.

A frame goes into the data set when a reviewer has looked at it: at least one of its
detections is accepted, rejected, edited or added. Its annotations are the detections a
reviewer kept (accepted; optionally also still-pending ones), so a correction made in the
GUI becomes a training label. With ``negatives`` the rejected detections of those frames
are written too, in a top-level ``"negatives"`` list (same fields as an annotation; stock
COCO tools ignore it), and the still-pending ones in ``"unreviewed"``: training and
fine-tuning teach the first as background and give the second no label, neither damage
nor background (:mod:`engine.msnet.unlabelled`). The layout and fields follow ISBDA (``MSNET-NOTES.md``):
``DIR/annotations/instances_<split>.json`` plus ``DIR/<split>/<file_name>``; each
annotation carries ``segmentation`` polygons, ``area``, ``category_id``, ``iscrowd``,
``damage_bbox`` and ``house_bbox`` ``[x, y, w, h]`` and a plain ``bbox`` equal to
``damage_bbox`` so stock COCO tools read it.

The polygons run along the pixels' edges (:func:`mask_polygons`), so that COCO's
rasterisation gives back the mask itself, pixel for pixel.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Collection
from typing import Any

import numpy as np

from core.errors import ExportError
from core.types import DamageLevel, Detection, ReviewState

CATEGORIES = [{"id": int(level), "name": level.label, "supercategory": "damage"} for level in DamageLevel]


@dataclass(frozen=True, slots=True)
class CocoExport:
    """Where an export went and what it holds."""

    annotations_path: Path
    image_dir: Path
    image_count: int
    annotation_count: int


def _xywh(box: tuple[float, float, float, float]) -> list[float]:
    x1, y1, x2, y2 = box
    return [float(x1), float(y1), float(x2 - x1), float(y2 - y1)]


def _keep(det: Detection, include_pending: bool) -> bool:
    return det.confirmed or (include_pending and det.review is not ReviewState.REJECTED)


def _boundary_edges(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The unit edges between set and unset pixels of ``crop`` (``bool[H, W]``), on the
    lattice of pixel corners (pixel ``(x, y)`` spans ``[x, x + 1] x [y, y + 1]``), as
    ``int[N, 2]`` starts and ``int[N, 2]`` directions, directed so that the set pixel
    lies on the right (clockwise on screen around a part, anticlockwise around a hole).
    Top edges come first, in row-major order, so each part's ring starts at its top-left."""
    padded = np.pad(crop, 1).astype(np.int8)
    across_rows = padded[1:, 1:-1] - padded[:-1, 1:-1]  # [H + 1, W]: lattice row y, pixel column x
    across_cols = padded[1:-1, 1:] - padded[1:-1, :-1]  # [H, W + 1]: pixel row y, lattice column x
    starts, directions = [], []
    for found, start, direction in (
        (across_rows == 1, (0, 0), (1, 0)),  # top edge of pixel (x, y): eastwards
        (across_cols == -1, (0, 0), (0, 1)),  # right edge of pixel (x - 1, y): southwards
        (across_rows == -1, (1, 0), (-1, 0)),  # bottom edge of pixel (x, y - 1): westwards
        (across_cols == 1, (0, 1), (0, -1)),  # left edge of pixel (x, y): northwards
    ):
        y, x = np.nonzero(found)
        starts.append(np.stack([x + start[0], y + start[1]], axis=1))
        directions.append(np.tile(direction, (len(x), 1)))
    return np.concatenate(starts), np.concatenate(directions)


def _rings(crop: np.ndarray) -> list[np.ndarray]:
    """The closed boundaries of ``crop``'s set pixels as ``int[N, 2]`` corner lattice
    rings without collinear vertices, set pixels on the right. Where two set pixels touch
    only at a corner the boundary turns left, on to the other pixel (as OpenCV's contours
    join them), so each ring bounds one 8-connected part, or one of its holes, and may
    touch itself at such a corner but never crosses itself."""
    starts, directions = _boundary_edges(crop)
    outgoing: dict[tuple[int, int], list[int]] = {}
    for index, (x, y) in enumerate(starts.tolist()):
        outgoing.setdefault((x, y), []).append(index)
    ends = (starts + directions).tolist()
    step = directions.tolist()

    def successor(index: int) -> int:
        candidates = outgoing[tuple(ends[index])]
        if len(candidates) == 1:
            return candidates[0]
        dx, dy = step[index]
        return next(c for c in candidates if step[c] == [dy, -dx])  # left turn at a pinch

    visited = np.zeros(len(starts), dtype=bool)
    rings = []
    for first in range(len(starts)):
        if visited[first]:
            continue
        ring = []
        index = first
        while not visited[index]:
            visited[index] = True
            ring.append(index)
            index = successor(index)
        turns = [i for k, i in enumerate(ring) if step[i] != step[ring[k - 1]]]
        rings.append(starts[turns])
    return rings


def _signed_area(ring: np.ndarray) -> float:
    """Positive for a ring clockwise on screen (a part's outline), negative for a hole's."""
    x, y = ring[:, 0].astype(np.float64), ring[:, 1].astype(np.float64)
    return float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)) / 2


def _with_holes(outline: np.ndarray, holes: list[np.ndarray]) -> np.ndarray:
    """One polygon: ``outline`` with each hole joined to it by a cut, there and back,
    from the outline's vertex nearest the hole's first. COCO fills a polygon by the
    even-odd rule, on which a cut drawn twice cancels, and merges the polygons of one
    annotation as a union, so a hole must be in the same polygon as the outline around it."""
    joins: dict[int, list[np.ndarray]] = {}
    for hole in holes:
        at = int(np.argmin(((outline - hole[0]) ** 2).sum(axis=1)))
        joins.setdefault(at, []).append(hole)
    pieces = []
    for index, vertex in enumerate(outline):
        pieces.append(vertex[None])
        for hole in joins.get(index, []):
            pieces += [hole, hole[:1], vertex[None]]
    return np.concatenate(pieces)


def mask_polygons(mask: np.ndarray, *, offset: tuple[int, int] = (0, 0)) -> list[list[float]]:
    """COCO polygons (flat ``[x1, y1, x2, y2, ...]``) that rasterise, by pycocotools, to
    exactly the set pixels of ``mask`` (``bool[H, W]``, its pixel ``(0, 0)`` at ``offset``
    ``(x, y)`` of the image): one per 8-connected part, the largest first, holes included.

    COCO keeps the pixels whose centres lie inside a polygon, and a pixel ``(x, y)``'s
    centre is at ``(x + 0.5, y + 0.5)``, so the polygons run along the pixels' edges.
    Contours through the pixels' centres (OpenCV's ``findContours``) lose half a pixel
    all round: most of a small part, and all of one a pixel or two wide.
    """
    import cv2  # lazy, as in export_reviewed_frames

    mask = np.asarray(mask, dtype=bool)
    rows, cols = np.nonzero(mask)
    if not rows.size:
        return []
    top, left = int(rows.min()), int(cols.min())
    crop = mask[top : int(rows.max()) + 1, left : int(cols.max()) + 1]
    rings = _rings(crop)
    _, labels = cv2.connectedComponents(crop.astype(np.uint8), connectivity=8)
    sizes = np.bincount(labels.ravel())
    outlines: dict[int, np.ndarray] = {}
    holes: dict[int, list[np.ndarray]] = defaultdict(list)
    for ring in rings:
        # the set pixel right of the ring's first edge names its part
        (x0, y0), (x1, y1) = ring[0], ring[1]
        dx, dy = int(np.sign(x1 - x0)), int(np.sign(y1 - y0))
        part = int(labels[y0 + (dy + dx - 1) // 2, x0 + (dx - dy - 1) // 2])
        if _signed_area(ring) > 0:
            outlines[part] = ring
        else:
            holes[part].append(ring)
    shift = np.array([left + offset[0], top + offset[1]])
    polygons = []
    for part in sorted(outlines, key=lambda part: (-sizes[part], part)):
        polygon = _with_holes(outlines[part], holes[part]) + shift
        polygons.append(polygon.astype(np.float64).reshape(-1).tolist())
    return polygons


def annotation_for(det: Detection, annotation_id: int, image_id: int) -> dict[str, Any]:
    """One ISBDA annotation; the segmentation is the mask as polygons along its pixels'
    edges (:func:`mask_polygons`), holes included."""
    if det.mask is not None:
        crop = det.mask.crop()
        polygons = [] if crop is None else mask_polygons(crop[0], offset=(crop[1], crop[2]))
        area = float(det.mask.area_px)
    else:
        polygons = []
        area = 0.0
    damage_bbox = _xywh(det.box_xyxy_px)
    if not polygons:  # an empty or missing mask still teaches the box
        x, y, w, h = damage_bbox
        polygons = [[x, y, x + w, y, x + w, y + h, x, y + h]]
        area = area or w * h
    house = det.building_box_xyxy_px or det.box_xyxy_px
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": int(det.level),
        "segmentation": polygons,
        "area": area,
        "iscrowd": 0,
        "damage_bbox": damage_bbox,
        "house_bbox": _xywh(house),
        "bbox": damage_bbox,
        "score": det.final_score,
    }


def reviewed_frame_indices(detections_by_frame: Collection[Collection[Detection]]) -> list[int]:
    """The frames (sorted) on which a reviewer decided on at least one detection."""
    return sorted({d.frame_index for dets in detections_by_frame for d in dets if d.reviewed})


def export_reviewed_frames(
    store: Any,
    out_dir: Path,
    *,
    run_id: int | None = None,
    split: str = "train",
    include_pending: bool = False,
    jpeg_quality: int = 92,
    frame_indices: Collection[int] | None = None,
    negatives: bool = False,
) -> CocoExport:
    """Write the reviewed frames of a run as an ISBDA/COCO data set.

    Parameters
    ----------
    store
        An open :class:`core.store.ProjectStore`.
    out_dir
        Data set root; ``annotations/`` and ``<split>/`` are created in it.
    run_id
        The run to export (the latest when ``None``).
    split
        Name of the split (``train``, ``val``).
    include_pending
        Also label detections still pending review on the exported frames.
    frame_indices
        Export only these of the reviewed frames (a training/held-out split); ``None``: all.
    negatives
        Also write the rejected detections (``"negatives"``) and, unless
        ``include_pending``, the pending ones (``"unreviewed"``) of the exported frames.

    Raises
    ------
    ExportError
        When the project has no run or the files cannot be written.
    """
    import cv2  # lazy: only the exporter encodes images

    from engine.video import VideoReader

    run_id = store.latest_run_id() if run_id is None else run_id
    if run_id is None:
        raise ExportError(f"{store.path}: no analysis run to export; analyse the video first")
    by_frame: dict[int, list[Detection]] = defaultdict(list)
    for det in store.detections(run_id):
        by_frame[det.frame_index].append(det)
    frames = reviewed_frame_indices(by_frame.values())
    if frame_indices is not None:
        chosen = set(frame_indices)
        frames = [i for i in frames if i in chosen]

    out_dir = Path(out_dir)
    image_dir = out_dir / split
    annotations_path = out_dir / "annotations" / f"instances_{split}.json"
    if not frames:  # no reviewed frame: no data set, not an empty one to be mistaken for one
        return CocoExport(annotations_path, image_dir, 0, 0)
    try:
        image_dir.mkdir(parents=True, exist_ok=True)
        annotations_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{out_dir}: cannot create the data set folders ({exc.strerror})") from exc

    stem = Path(store.video_path).stem
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    unreviewed: list[dict[str, Any]] = []
    reader = VideoReader(store.video_path)
    try:
        for image_id, frame_index in enumerate(frames, start=1):
            frame = reader.frame_at(frame_index)
            file_name = f"{stem}_f{frame_index:06d}.jpg"
            bgr = np.ascontiguousarray(frame.image[:, :, ::-1])
            if not cv2.imwrite(str(image_dir / file_name), bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]):
                raise ExportError(f"{image_dir / file_name}: could not write the image; check the folder")
            images.append(
                {
                    "id": image_id,
                    "file_name": file_name,
                    "width": frame.width_px,
                    "height": frame.height_px,
                    "frame_index": frame_index,
                    "pts_s": frame.pts_s,
                    "video": str(store.video_path),
                }
            )
            for det in by_frame[frame_index]:
                if _keep(det, include_pending):
                    annotations.append(annotation_for(det, len(annotations) + 1, image_id))
                elif negatives and det.review is ReviewState.REJECTED:
                    rejected.append(annotation_for(det, len(rejected) + 1, image_id))
                elif negatives:
                    unreviewed.append(annotation_for(det, len(unreviewed) + 1, image_id))
    finally:
        reader.close()

    document = {
        "info": {"description": f"damagemap reviewed frames of {stem}", "run_id": run_id},
        "images": images,
        "annotations": annotations,
        "categories": CATEGORIES,
    }
    if negatives:
        document["negatives"] = rejected
        document["unreviewed"] = unreviewed
    try:
        annotations_path.write_text(json.dumps(document), encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"{annotations_path}: cannot write the annotations ({exc.strerror})") from exc
    return CocoExport(annotations_path, image_dir, len(images), len(annotations))
