"""Reviewed frames of a project as ISBDA/COCO training data.

A frame goes into the data set when a reviewer has looked at it: at least one of its
detections is accepted, rejected, edited or added. Its annotations are the detections a
reviewer kept (accepted; optionally also still-pending ones), so a correction made in the
GUI becomes a training label. With ``negatives`` the rejected detections of those frames
are written too, in a top-level ``"negatives"`` list (same fields as an annotation; stock
COCO tools ignore it), and the still-pending ones in ``"unreviewed"``: a fine-tune teaches
the first as background and leaves the second alone. The layout and fields follow ISBDA (``MSNET-NOTES.md``):
``DIR/annotations/instances_<split>.json`` plus ``DIR/<split>/<file_name>``; each
annotation carries ``segmentation`` polygons, ``area``, ``category_id``, ``iscrowd``,
``damage_bbox`` and ``house_bbox`` ``[x, y, w, h]`` and a plain ``bbox`` equal to
``damage_bbox`` so stock COCO tools read it.
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


def annotation_for(det: Detection, annotation_id: int, image_id: int) -> dict[str, Any]:
    """One ISBDA annotation; the segmentation is the mask's outer contours."""
    if det.mask is not None:
        polygons = [p.reshape(-1).round(2).tolist() for p in det.mask.to_polygons() if len(p) >= 3]
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
