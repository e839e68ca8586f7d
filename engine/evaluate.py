"""The MSNet paper's evaluation protocol, computed by pycocotools' ``COCOeval``.

COCO's evaluation with IoU thresholds 0.25:0.05:0.5 (six) instead of 0.5:0.95, maxDets
100, COCO's area ranges (32², 96²), for masks (``segm``) and boxes (``bbox``). Reported:
AP (mean over the six thresholds), AP25, AP50, APS, APM, APL. Values are fractions in
``[0, 1]``; -1 where COCO has nothing to measure (no ground truth in that area range).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError

PAPER_IOU_THRESHOLDS = np.round(np.linspace(0.25, 0.5, 6), 2)
METRIC_NAMES = ("AP", "AP25", "AP50", "APS", "APM", "APL")
IOU_TYPES = ("segm", "bbox")
_ISBDA_CATEGORIES = [
    {"id": 1, "name": "Slight", "supercategory": "damage"},
    {"id": 2, "name": "Severe", "supercategory": "damage"},
    {"id": 3, "name": "Debris", "supercategory": "damage"},
]


def _ground_truth(annotations: dict[str, Any]):  # type: ignore[no-untyped-def]
    """A pycocotools ``COCO`` over an ISBDA file (``bbox`` from ``damage_bbox`` if absent)."""
    from pycocotools.coco import COCO

    data = copy.deepcopy(annotations)
    data.setdefault("categories", [])
    if not data["categories"]:
        data["categories"] = list(_ISBDA_CATEGORIES)
    for annotation in data["annotations"]:
        if "bbox" not in annotation and "damage_bbox" in annotation:
            annotation["bbox"] = list(annotation["damage_bbox"])
        annotation.setdefault("iscrowd", 0)
        if "area" not in annotation:
            x, y, w, h = annotation["bbox"]
            annotation["area"] = float(w * h)
        # polygons of fewer than 3 points cannot be rasterised; the loader skips them too
        if isinstance(annotation.get("segmentation"), list):
            annotation["segmentation"] = [p for p in annotation["segmentation"] if len(p) >= 6]
    data["annotations"] = [
        a for a in data["annotations"] if not isinstance(a.get("segmentation"), list) or a["segmentation"]
    ]
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _summarise(precision: np.ndarray) -> dict[str, float]:
    """Paper metrics from ``COCOeval.eval['precision']`` ``[T, R, K, A, M]``."""

    def mean(values: np.ndarray) -> float:
        valid = values[values > -1]
        return float(valid.mean()) if valid.size else -1.0

    all_area, max_dets = 0, -1  # area "all"; maxDets 100 (the last of 1, 10, 100)
    thresholds = list(PAPER_IOU_THRESHOLDS)
    return {
        "AP": mean(precision[:, :, :, all_area, max_dets]),
        "AP25": mean(precision[thresholds.index(0.25), :, :, all_area, max_dets]),
        "AP50": mean(precision[thresholds.index(0.5), :, :, all_area, max_dets]),
        "APS": mean(precision[:, :, :, 1, max_dets]),
        "APM": mean(precision[:, :, :, 2, max_dets]),
        "APL": mean(precision[:, :, :, 3, max_dets]),
    }


def unknown_image_ids(annotations: dict[str, Any], results: Sequence[dict[str, Any]]) -> list[Any]:
    """The ``image_id`` values of ``results`` that are not images of ``annotations``, sorted
    (by their text, since a hand-made file may mix types): results made over other images,
    such as ``damagemap predict`` over a folder of photos, which COCO cannot score."""
    known = {image.get("id") for image in annotations.get("images", []) if isinstance(image, dict)}
    unknown = {r.get("image_id") for r in results} - known
    return sorted(unknown, key=str)


def describe_ids(ids: Sequence[Any], *, shown: int = 10) -> str:
    """``1, 2, 3`` or ``1, 2, ... (25 in all)``: a list of ids short enough for one line."""
    text = ", ".join(str(i) for i in ids[:shown])
    return text if len(ids) <= shown else f"{text}, ... ({len(ids)} in all)"


def evaluate_results(
    annotations: dict[str, Any], results: Sequence[dict[str, Any]], *, iou_types: Iterable[str] = IOU_TYPES
) -> dict[str, dict[str, float]]:
    """Score COCO-format results against ISBDA ground truth with the paper's protocol.

    Parameters
    ----------
    annotations : dict
        The ground-truth COCO/ISBDA JSON (as loaded).
    results : sequence of dict
        COCO results: ``image_id``, ``category_id``, ``score``, ``bbox`` ``[x, y, w, h]``
        and/or ``segmentation`` (RLE).
    iou_types : iterable of {"segm", "bbox"}

    Returns
    -------
    dict
        ``{"segm": {"AP": ..., "AP25": ..., ...}, "bbox": {...}}``.

    Raises
    ------
    InputError
        When a result names an image the annotations do not hold (pycocotools would
        stop on an ``AssertionError``).
    """
    from pycocotools.cocoeval import COCOeval

    unknown = unknown_image_ids(annotations, results)
    if unknown:
        raise InputError(f"the results name image ids {describe_ids(unknown)} that are not in the annotations; "
                         "score results made over this data set's images")

    coco_gt = _ground_truth(annotations)
    metrics: dict[str, dict[str, float]] = {}
    for iou_type in iou_types:
        key = "segmentation" if iou_type == "segm" else "bbox"
        usable = [dict(r) for r in results if key in r]
        if not usable:
            has_gt = bool(coco_gt.dataset["annotations"])
            metrics[iou_type] = {name: 0.0 if has_gt else -1.0 for name in METRIC_NAMES}
            continue
        if iou_type == "bbox":
            for r in usable:  # loadRes would otherwise derive boxes from the masks
                r.pop("segmentation", None)
        with contextlib.redirect_stdout(io.StringIO()):
            coco_dt = coco_gt.loadRes(usable)
            evaluator = COCOeval(coco_gt, coco_dt, iouType=iou_type)
            evaluator.params.iouThrs = PAPER_IOU_THRESHOLDS.copy()
            evaluator.params.maxDets = [1, 10, 100]
            evaluator.evaluate()
            evaluator.accumulate()
        metrics[iou_type] = _summarise(evaluator.eval["precision"])
    return metrics


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """A COCO results JSON (a list of detections)."""
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable COCO results JSON ({exc})") from None
    if not isinstance(results, list) or not all(isinstance(r, dict) and "image_id" in r for r in results):
        raise InputError(f"{path}: expected a COCO results list of detections with 'image_id'")
    return results


def outputs_to_results(outputs: dict[str, Any], image_id: int, *, mask_threshold: float = 0.5) -> list[dict[str, Any]]:
    """One image's model output (torch tensors) as COCO result dicts (boxes and RLE masks)."""
    from pycocotools import mask as mask_utils

    boxes = outputs["boxes"].detach().cpu().numpy()
    scores = outputs["scores"].detach().cpu().numpy()
    labels = outputs["labels"].detach().cpu().numpy()
    masks = outputs.get("masks")
    binary = None
    if masks is not None:
        binary = (masks.detach().cpu().numpy()[:, 0] > mask_threshold).astype(np.uint8)
    results = []
    for index, (box, score, label) in enumerate(zip(boxes, scores, labels)):
        x1, y1, x2, y2 = (float(v) for v in box)
        result: dict[str, Any] = {
            "image_id": int(image_id),
            "category_id": int(label),
            "bbox": [x1, y1, x2 - x1, y2 - y1],
            "score": float(score),
        }
        if binary is not None:
            rle = mask_utils.encode(np.asfortranarray(binary[index]))
            rle["counts"] = rle["counts"].decode("ascii")
            result["segmentation"] = rle
        results.append(result)
    return results


def predict_dataset(model, dataset, *, device: str = "cpu", batch_size: int = 2, progress: bool = False):  # type: ignore[no-untyped-def]
    """Run ``model`` (eval mode) over an :class:`~engine.data.ISBDADataset`; COCO results."""
    import torch
    from torch.utils.data import DataLoader

    from engine.data.isbda import collate

    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate, num_workers=0)
    if progress:
        from tqdm import tqdm

        loader = tqdm(loader, desc="evaluate", unit="batch", leave=False)
    was_training = model.training
    model.eval()
    results: list[dict[str, Any]] = []
    with torch.no_grad():
        for images, targets in loader:
            outputs = model([image.to(device) for image in images])
            for output, target in zip(outputs, targets):
                results.extend(outputs_to_results(output, int(target["image_id"])))
    model.train(was_training)
    return results


def evaluate_model(model, dataset, *, device: str = "cpu", batch_size: int = 2, progress: bool = False):  # type: ignore[no-untyped-def]
    """Paper metrics of ``model`` on ``dataset`` (segm and bbox)."""
    results = predict_dataset(model, dataset, device=device, batch_size=batch_size, progress=progress)
    return evaluate_results(dataset.coco, results)


def format_table(metrics: dict[str, dict[str, float]], *, title: str | None = None) -> str:
    """The paper's table (percent): one row per IoU type, AP AP25 AP50 APS APM APL."""
    lines = [title] if title else []
    lines.append(f"{'':6}" + "".join(f"{name:>8}" for name in METRIC_NAMES))
    for iou_type in IOU_TYPES:
        if iou_type not in metrics:
            continue
        row = metrics[iou_type]
        cells = "".join(f"{row[n] * 100:8.1f}" if row[n] >= 0 else f"{'-':>8}" for n in METRIC_NAMES)
        lines.append(f"{'mask' if iou_type == 'segm' else 'box':6}{cells}")
    return "\n".join(lines)
