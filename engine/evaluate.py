"""The MSNet paper's evaluation protocol, computed by pycocotools' ``COCOeval``.

COCO's evaluation with IoU thresholds 0.25:0.05:0.5 (six) instead of 0.5:0.95, maxDets
100, COCO's area ranges (32², 96²), for masks (``segm``) and boxes (``bbox``). Reported:
AP (mean over the six thresholds), AP25, AP50, APS, APM, APL. Values are fractions in
``[0, 1]``; -1 where COCO has nothing to measure (no ground truth in that area range).

A results file that names its images (``file_name``, as ``damagemap predict`` writes,
whose ``image_id`` is only the image's place on its command line) is scored against the
images of those names (:func:`match_results_to_images`); one without names by
``image_id``, as COCO does.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from core.errors import InputError
from core.masks import coco_rle

PAPER_IOU_THRESHOLDS = np.round(np.linspace(0.25, 0.5, 6), 2)
METRIC_NAMES = ("AP", "AP25", "AP50", "APS", "APM", "APL")
IOU_TYPES = ("segm", "bbox")
_ISBDA_CATEGORIES = [
    {"id": 1, "name": "Slight", "supercategory": "damage"},
    {"id": 2, "name": "Severe", "supercategory": "damage"},
    {"id": 3, "name": "Debris", "supercategory": "damage"},
]


def _ground_truth(annotations: dict[str, Any], *, masks: bool = True):  # type: ignore[no-untyped-def]
    """A pycocotools ``COCO`` over an ISBDA file (``bbox`` from ``damage_bbox`` if absent);
    ``masks``: the masks are scored too, so every annotation needs one."""
    from pycocotools.coco import COCO

    data = copy.deepcopy(annotations)
    needed = ("segmentation", "bbox") if masks else ("bbox",)
    for annotation in data["annotations"]:  # pycocotools would stop on a KeyError
        missing = [name for name in needed if name not in annotation
                   and not (name == "bbox" and "damage_bbox" in annotation)]
        if missing:
            raise InputError(f"the annotations' annotation {annotation.get('id', '?')!r} has no "
                             f"{' or '.join(repr(m) for m in missing)}: the paper's protocol scores masks and boxes")
    data.setdefault("categories", [])
    if not data["categories"]:
        data["categories"] = list(_ISBDA_CATEGORIES)
    data["annotations"] += _dont_know_regions(data)
    sizes = {image.get("id"): (image.get("height"), image.get("width")) for image in data.get("images", [])}
    for annotation in data["annotations"]:
        if "damage_bbox" in annotation:  # the damaged part's box, as training takes it (ISBDA's bbox may be the house's)
            annotation["bbox"] = list(annotation["damage_bbox"])
        annotation.setdefault("iscrowd", 0)
        # polygons of fewer than 3 points cannot be rasterised; the loader skips them too
        if isinstance(annotation.get("segmentation"), list):
            annotation["segmentation"] = [p for p in annotation["segmentation"] if len(p) >= 6]
        _check_mask_size(annotation, sizes.get(annotation.get("image_id")))
        if "area" not in annotation:  # COCO's area is the mask's (it sorts damage into small, medium, large)
            annotation["area"] = _mask_area(annotation, sizes.get(annotation.get("image_id")))
    data["annotations"] = [
        a for a in data["annotations"] if not isinstance(a.get("segmentation"), list) or a["segmentation"]
    ]
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _dont_know_regions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``unreviewed`` detections of a data set exported from reviews (``export
    --training``: those nobody decided on) as COCO crowd regions of every level: "don't
    know", as training takes them, so a detection on one is neither right nor wrong.
    Scored as background, they marked a model down for finding damage the reviewer had
    not got to."""
    regions = [r for r in data.pop("unreviewed", None) or [] if isinstance(r, dict) and "image_id" in r]
    if not regions:
        return []
    next_id = 1 + max((a["id"] for a in data["annotations"] if isinstance(a.get("id"), int)), default=0)
    crowds = []
    for region in regions:
        for category in data["categories"]:
            crowds.append({**region, "id": next_id, "category_id": category["id"], "iscrowd": 1})
            next_id += 1
    return crowds


def _check_mask_size(annotation: dict[str, Any], size: tuple[Any, Any] | None) -> None:
    """Refuse an RLE mask drawn for another image size: scored, it matched nothing (AP 0,
    without a word), where a result of the wrong size is refused."""
    segmentation = annotation.get("segmentation")
    if not isinstance(segmentation, dict) or size is None or None in size:
        return
    if list(segmentation.get("size", [])) != [int(size[0]), int(size[1])]:
        raise InputError(f"the annotations' annotation {annotation.get('id', '?')!r} has a mask of "
                         f"{segmentation.get('size')} (height, width) on image {annotation.get('image_id')!r} of "
                         f"{[int(size[0]), int(size[1])]}: its masks were made for other images")


def _mask_area(annotation: dict[str, Any], size: tuple[Any, Any] | None) -> float:
    """The area of the annotation's mask in pixels (its box's where it has no mask, or the
    image's size is unknown)."""
    from pycocotools import mask as mask_utils

    segmentation = annotation.get("segmentation")
    if segmentation and size is not None and None not in size:
        height, width = int(size[0]), int(size[1])
        if isinstance(segmentation, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
        else:
            rle = mask_utils.frPyObjects(segmentation, height, width) if isinstance(segmentation.get("counts"), list) \
                else segmentation
        return float(mask_utils.area(rle))
    x, y, w, h = annotation["bbox"]
    return float(w * h)


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


def _one_line(texts: Sequence[str], shown: int) -> str:
    text = ", ".join(texts[:shown])
    return text if len(texts) <= shown else f"{text}, ... ({len(texts)} in all)"


def describe_ids(ids: Sequence[Any], *, shown: int = 10) -> str:
    """``1, 2, 3`` or ``1, 2, ... (25 in all)``: a list of ids short enough for one line.
    Text ids are quoted (``'1', '2'``): a file whose ids are the text ``"1"`` is told
    apart from one whose ids are the number 1."""
    return _one_line([repr(i) if isinstance(i, str) else str(i) for i in ids], shown)


def describe_names(names: Sequence[str], *, shown: int = 5) -> str:
    """``'a.jpg', 'b.jpg'`` or ``'a.jpg', ... (25 in all)``: file names for one line."""
    return _one_line([repr(name) for name in names], shown)


def id_type_note(annotations: dict[str, Any], ids: Iterable[Any]) -> str:
    """``" (text ids; the annotations use integers)"`` where ``ids`` (a results file's
    unknown image ids) are text that, read as numbers, are images of ``annotations``:
    the ids were written as strings. ``""`` otherwise."""
    known = {image.get("id") for image in annotations.get("images", []) if isinstance(image, dict)}
    texts = [i for i in ids if isinstance(i, str)]
    as_numbers = {int(i) for i in texts if i.strip().lstrip("-").isdigit()}
    if texts and as_numbers and as_numbers <= known:
        return " (text ids; the annotations use integers)"
    return ""


def _relative_name(name: str) -> str:
    """A ``file_name`` as a POSIX path (Windows separators, ``./`` and ``//`` dropped)."""
    return PurePosixPath(name.replace("\\", "/")).as_posix()


def _named(result: dict[str, Any]) -> bool:
    return isinstance(result.get("file_name"), str) and bool(result["file_name"])


def match_results_to_images(
    annotations: dict[str, Any],
    results: Sequence[dict[str, Any]],
    *,
    results_name: str = "the results",
    annotations_name: str = "the annotations",
) -> list[dict[str, Any]]:
    """``results`` with each named result's ``image_id`` set to the annotations' id of the
    image it names; results without ``file_name`` are returned as they are.

    ``damagemap predict`` numbers images 1..N in the order they were given, so its ids say
    nothing about a data set's ids: the same images in another order would be scored
    against one another's ground truth. A result's ``file_name`` is matched to the
    annotations' ``file_name`` (relative to the split's folder) as a relative path first,
    then by its last part alone; where several images share that last part, by the path
    the result was made from (``path``, which ``predict`` writes) ending in one of theirs,
    else by its ``image_id`` when that is one of them.

    Raises
    ------
    InputError
        Naming ``results_name`` and a few of the offending names, when a result names an
        image the annotations do not hold or several of them alike; when results of
        several images of the file name one image of the annotations (``predict`` given
        ``cardA/DJI_0001.JPG`` and ``cardB/DJI_0001.JPG``: which one was annotated is
        unknown); or when results without ``file_name`` sit beside named ones whose
        ``image_id`` is not their image's (their ids cannot be trusted either).
    """
    if not any(_named(r) for r in results):
        return list(results)
    images = [image for image in annotations.get("images", []) if isinstance(image, dict)]
    by_path: dict[str, list[Any]] = defaultdict(list)
    by_last_part: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for image in images:
        name = image.get("file_name")
        if isinstance(name, str) and name:
            relative = _relative_name(name)
            by_path[relative].append(image.get("id"))
            by_last_part[PurePosixPath(relative).name].append((relative, image.get("id")))
    if not by_path:  # annotations without file names: ids are all there is to go by
        return list(results)

    unknown: set[str] = set()
    ambiguous: dict[str, list[str]] = {}

    def image_of(name: str, path: Any, image_id: Any) -> Any:
        relative = _relative_name(name)
        if len(by_path.get(relative, [])) == 1:
            return by_path[relative][0]
        candidates = by_last_part.get(PurePosixPath(relative).name, [])
        if len(candidates) == 1:
            return candidates[0][1]
        if not candidates:
            unknown.add(name)
            return None
        if isinstance(path, str) and path:
            made_from = "/" + _relative_name(path)
            ending = [found for candidate, found in candidates if made_from.endswith("/" + candidate)]
            if len(ending) == 1:
                return ending[0]
        if image_id in {found for _, found in candidates}:
            return image_id
        ambiguous[name] = sorted(candidate for candidate, _ in candidates)
        return None

    found: dict[tuple[str, Any, Any], Any] = {}
    sources: dict[Any, set[Any]] = defaultdict(set)  # annotations' image id -> the results' own ids
    moved: list[tuple[str, Any, Any]] = []
    matched: list[dict[str, Any]] = []
    for result in results:
        if not _named(result):
            matched.append(result)
            continue
        key = (result["file_name"], result.get("path"), result.get("image_id"))
        if key not in found:
            found[key] = image_of(*key)
            if found[key] is not None and found[key] != key[2]:
                moved.append((key[0], key[2], found[key]))
        if found[key] is None:
            continue
        sources[found[key]].add(result.get("image_id"))
        matched.append({**result, "image_id": found[key]})

    if unknown:
        raise InputError(f"{results_name}: {len(unknown)} image(s) it names are not in {annotations_name}: "
                         f"{describe_names(sorted(unknown))}; give results made over the images it lists")
    if ambiguous:
        name, candidates = next(iter(sorted(ambiguous.items())))
        raise InputError(f"{results_name}: {name!r} may be any of {describe_names(candidates)} in "
                         f"{annotations_name}; give each result's image as its path relative to the split's folder "
                         "in 'file_name'")
    shared = {image: ids for image, ids in sources.items() if len(ids) > 1}
    if shared:
        names = {image.get("id"): image.get("file_name") for image in images}
        image, ids = min(shared.items(), key=lambda item: str(item[0]))
        others = f" (and {len(shared) - 1} more of its images alike)" if len(shared) > 1 else ""
        raise InputError(f"{results_name}: results of {len(ids)} images (image ids "
                         f"{describe_ids(sorted(ids, key=str))}) are all of {names.get(image)!r} of "
                         f"{annotations_name}{others}; keep the results of one image for each")
    unnamed = sum(1 for r in results if not _named(r))
    if unnamed and moved:
        name, own, theirs = moved[0]
        raise InputError(f"{results_name}: {unnamed} result(s) have no 'file_name', and the image ids of the others "
                         f"are not {annotations_name}'s ({name!r} is image {own} in it, {theirs} in "
                         f"{annotations_name}): give every result its 'file_name', or none")
    return matched


def _no_detections(coco_gt):  # type: ignore[no-untyped-def]
    """An empty results ``COCO`` over ``coco_gt``'s images (``loadRes`` refuses ``[]``), so
    that COCOeval scores no detections as it scores any: 0 where there is ground truth,
    -1 in an area range (or for a category) without any."""
    from pycocotools.coco import COCO

    coco_dt = COCO()
    coco_dt.dataset = {"images": list(coco_gt.dataset.get("images", [])),
                       "categories": copy.deepcopy(coco_gt.dataset["categories"]), "annotations": []}
    coco_dt.createIndex()
    return coco_dt


def _loadable_masks(results: list[dict[str, Any]], coco_gt) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """``results`` (with masks) as pycocotools' ``loadRes`` can take them. It reads all of
    them as it reads the first: by their boxes where that one has a ``bbox`` (a result
    without one stops it on a ``KeyError``), else by their masks as compressed RLE
    (polygons stop it on a ``TypeError``). A result without a box then gets its mask's;
    masks read by themselves become compressed RLE."""
    from pycocotools import mask as mask_utils

    by_boxes = bool(results) and "bbox" in results[0]
    loadable = []
    for result in results:
        if not by_boxes or "bbox" not in result:
            image = coco_gt.imgs.get(result["image_id"], {})
            rle = coco_rle(result["segmentation"], image.get("height", 0), image.get("width", 0))
            result = {**result, "bbox": [float(v) for v in mask_utils.toBbox(rle)]} if by_boxes else \
                {**result, "segmentation": rle}
        loadable.append(result)
    return loadable


def evaluate_results(
    annotations: dict[str, Any], results: Sequence[dict[str, Any]], *, iou_types: Iterable[str] = IOU_TYPES,
    image_ids: Sequence[Any] | None = None,
) -> dict[str, dict[str, float]]:
    """Score COCO-format results against ISBDA ground truth with the paper's protocol.

    Parameters
    ----------
    annotations : dict
        The ground-truth COCO/ISBDA JSON (as loaded).
    results : sequence of dict
        COCO results: ``image_id``, ``category_id``, ``score``, ``bbox`` ``[x, y, w, h]``
        and/or ``segmentation`` (RLE); with ``file_name``, matched to the annotations'
        images by name (:func:`match_results_to_images`).
    iou_types : iterable of {"segm", "bbox"}
    image_ids : sequence, optional
        Score these images alone (their ground truth and results); ``None``: every image
        of the annotations, where an image with no result has each of its damages missed.

    Returns
    -------
    dict
        ``{"segm": {"AP": ..., "AP25": ..., ...}, "bbox": {...}}``.

    Raises
    ------
    InputError
        When a result names an image the annotations do not hold (pycocotools would
        stop on an ``AssertionError``), or names images in a way that cannot be matched
        (:func:`match_results_to_images`).
    """
    from pycocotools.cocoeval import COCOeval

    results = match_results_to_images(annotations, results)
    unknown = unknown_image_ids(annotations, results)
    if unknown:
        raise InputError(f"the results name image ids {describe_ids(unknown)}{id_type_note(annotations, unknown)} "
                         "that are not in the annotations; score results made over this data set's images")

    iou_types = tuple(iou_types)
    coco_gt = _ground_truth(annotations, masks="segm" in iou_types)
    metrics: dict[str, dict[str, float]] = {}
    for iou_type in iou_types:
        key = "segmentation" if iou_type == "segm" else "bbox"
        usable = [dict(r) for r in results if key in r]
        if iou_type == "bbox":
            for r in usable:  # loadRes would otherwise derive boxes from the masks
                r.pop("segmentation", None)
        else:
            usable = _loadable_masks(usable, coco_gt)
        with contextlib.redirect_stdout(io.StringIO()):
            coco_dt = coco_gt.loadRes(usable) if usable else _no_detections(coco_gt)
            evaluator = COCOeval(coco_gt, coco_dt, iouType=iou_type)
            evaluator.params.iouThrs = PAPER_IOU_THRESHOLDS.copy()
            evaluator.params.maxDets = [1, 10, 100]
            if image_ids is not None:
                evaluator.params.imgIds = list(image_ids)
            evaluator.evaluate()
            evaluator.accumulate()
        metrics[iou_type] = _summarise(evaluator.eval["precision"])
    return metrics


def _number(value: Any) -> bool:
    """A finite JSON number (``true`` and ``false`` are not numbers here, NaN is none)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _whole_number(value: Any) -> bool:
    return _number(value) and float(value).is_integer()


def _segmentation_problem(segmentation: Any) -> str | None:
    """What is wrong with a result's ``segmentation``: COCO's RLE ``{"size": [height,
    width], "counts": ...}`` or polygons ``[[x1, y1, x2, y2, x3, y3, ...], ...]``."""
    if isinstance(segmentation, dict):
        size, counts = segmentation.get("size"), segmentation.get("counts")
        if not (isinstance(size, list) and len(size) == 2 and all(_whole_number(v) and v >= 0 for v in size)):
            return f"has a 'segmentation' whose 'size' is {size!r}, not [height, width]"
        if not (isinstance(counts, str) or isinstance(counts, list) and all(_whole_number(v) for v in counts)):
            return "has a 'segmentation' without RLE 'counts' (text, or a list of whole numbers)"
        return None
    if isinstance(segmentation, list) and segmentation and all(
        isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0 and all(_number(v) for v in p) for p in segmentation
    ):
        return None
    return ("has a 'segmentation' that is neither an RLE {'size': [height, width], 'counts': ...} nor a list of "
            "polygons [x1, y1, x2, y2, x3, y3, ...]")


def _result_problem(result: Any) -> str | None:
    """What makes one entry of a results file unusable to COCOeval, which would stop on it
    with a ``KeyError``, ``TypeError`` or ``IndexError``; ``None`` for a usable one."""
    if not isinstance(result, dict):
        return f"is {type(result).__name__} {json.dumps(result)[:40]}, not an object with 'image_id', 'category_id', " \
               "'score' and 'bbox' or 'segmentation'"
    for field in ("image_id", "category_id", "score"):
        if field not in result:
            return f"has no {field!r}; every result needs 'image_id', 'category_id', 'score' and 'bbox' or " \
                   "'segmentation'"
    if not _whole_number(result["category_id"]):
        return f"has 'category_id' {result['category_id']!r}, not a whole number"
    if not _number(result["score"]):
        return f"has 'score' {result['score']!r}, not a number"
    if "bbox" not in result and "segmentation" not in result:
        return "has neither 'bbox' nor 'segmentation': nothing to score"
    box = result.get("bbox")
    if "bbox" in result and not (isinstance(box, list) and len(box) == 4 and all(_number(v) for v in box)):
        return f"has 'bbox' {json.dumps(box)[:60]}, not [x, y, width, height] (4 numbers)"
    if "segmentation" in result:
        return _segmentation_problem(result["segmentation"])
    return None


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """A COCO results JSON (a list of detections).

    Raises
    ------
    InputError
        When the file cannot be read or is not a list; or when an entry lacks a field
        COCOeval needs or has one of the wrong kind (a text ``score``, a ``bbox`` of two
        numbers): naming the file, the first such entry (counting from 1), the field and
        how many entries are alike.
    """
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable COCO results JSON ({exc})") from None
    if not isinstance(results, list):
        raise InputError(f"{path}: expected a COCO results list of detections with 'image_id'")
    problems = [(index, problem) for index, problem in enumerate(map(_result_problem, results)) if problem]
    if problems:
        index, problem = problems[0]
        alike = f" ({len(problems)} of the {len(results)} results have such a problem)" if len(problems) > 1 else ""
        raise InputError(f"{path}: result {index + 1} of {len(results)} {problem}{alike}")
    return results


def _category_names(annotations: dict[str, Any]) -> dict[int, str]:
    """The annotations' category ids and names (ISBDA's three where it lists none)."""
    listed = [c for c in annotations.get("categories") or [] if isinstance(c, dict) and "id" in c]
    return {int(c["id"]): str(c.get("name", "")) for c in listed or _ISBDA_CATEGORIES}


def ground_truth_problems(annotations: dict[str, Any], *, annotations_name: str = "the annotations",
                          shown: int = 5) -> list[str]:
    """One line per kind of ground-truth annotation the paper's protocol cannot score as
    written, which would otherwise change every AP without a word: on an image the file
    does not list, of a category it does not list, with no polygon of 3 points (left
    out: its damage is never counted), with an empty box (counted, but no box can match
    it). Scoring a model over the images (``evaluate --weights``) says this as the data
    set is read; scoring a results file does not read the images, so says it here."""
    images = {image.get("id") for image in annotations.get("images", []) if isinstance(image, dict)}
    categories = _category_names(annotations)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for annotation in annotations.get("annotations", []):
        if not isinstance(annotation, dict):
            continue
        segmentation = annotation.get("segmentation")
        box = annotation.get("damage_bbox", annotation.get("bbox"))
        if annotation.get("image_id") not in images:
            found["on an image the file does not list, not scored"].append(annotation)
        elif annotation.get("category_id") not in categories:
            found[f"a category_id other than {', '.join(map(str, sorted(categories)))}, not scored"].append(
                annotation)
        elif isinstance(segmentation, list) and not any(len(p) >= 6 for p in segmentation):
            found["no polygon of 3 points or more, not scored"].append(annotation)
        elif isinstance(box, (list, tuple)) and len(box) == 4 and _number(box[2]) and _number(box[3]) \
                and (box[2] <= 0 or box[3] <= 0):
            found["an empty box, which no box can match (a miss in box AP)"].append(annotation)
    lines = []
    for problem, listed in found.items():
        ids = ", ".join(repr(a.get("id", "?")) for a in listed[:shown])
        more = f" and {len(listed) - shown} more" if len(listed) > shown else ""
        lines.append(f"{annotations_name}: {len(listed)} of its {len(annotations.get('annotations', []))} "
                     f"annotations (ids {ids}{more}): {problem}")
    return lines


def check_results(
    annotations: dict[str, Any],
    results: Sequence[dict[str, Any]],
    *,
    results_name: str = "the results",
    annotations_name: str = "the annotations",
) -> list[str]:
    """Refuse results that COCOeval would score as misses without a word; warnings (one
    line each) for those it leaves out.

    ``results`` (each read by :func:`read_results`, their images those of
    ``annotations``) are checked for categories the annotations do not have, which COCOeval
    leaves out of every AP, and for RLE masks of another size than their image, which
    overlap nothing.

    Raises
    ------
    InputError
        When no result has one of the annotations' categories (labels of another
        numbering), or some have ``category_id`` 0 (0-based labels: 1 and 2 would be
        scored as the wrong levels), or a mask's ``size`` is not its image's.
    """
    names = _category_names(annotations)
    categories = ", ".join(f"{i} {name}" for i, name in sorted(names.items()))
    others: dict[Any, int] = defaultdict(int)
    for result in results:
        if result["category_id"] not in names:
            others[result["category_id"]] += 1
    warnings = []
    if others:
        counted = ", ".join(f"{n} {'result has' if n == 1 else 'results have'} category_id {c}"
                            for c, n in sorted(others.items(), key=lambda item: str(item[0])))
        found = f"{results_name}: {counted} (of {len(results)}); {annotations_name} uses {categories}"
        if sum(others.values()) == len(results):
            raise InputError(f"{found}: relabel the results (nothing in them could be scored)")
        if 0 in others:
            raise InputError(f"{found}: labels counted from 0? relabel the results (0 -> 1, 1 -> 2, ...)")
        warnings.append(f"{found}; those results are left out of every AP")

    sizes = {image.get("id"): (image.get("height"), image.get("width"))
             for image in annotations.get("images", []) if isinstance(image, dict)}
    wrong = [(index, result) for index, result in enumerate(results)
             if isinstance(result.get("segmentation"), dict)
             and sizes.get(result["image_id"], (None, None))[0] is not None
             and list(result["segmentation"]["size"]) != list(sizes[result["image_id"]])]
    if wrong:
        index, result = wrong[0]
        (mask_h, mask_w), (image_h, image_w) = result["segmentation"]["size"], sizes[result["image_id"]]
        raise InputError(f"{results_name}: {len(wrong)} of the {len(results)} results have a mask of another size "
                         f"than their image (result {index + 1}, image id {result['image_id']}: mask size "
                         f"{mask_w}x{mask_h}, image {image_w}x{image_h}); give masks at the size of the images of "
                         f"{annotations_name}")
    return warnings


class _LazyBinary:
    """:func:`binary_masks` of masks pasted one at a time (``engine.msnet.paste.FrameMasks``)."""

    def __init__(self, frames: Any, boxes: np.ndarray, threshold: float) -> None:
        self.frames, self.boxes, self.threshold = frames, boxes, threshold

    def __getitem__(self, index: int) -> np.ndarray:
        one = binary_masks(self.frames[index][None], self.boxes[index:index + 1], self.threshold)
        return one[0].astype(np.uint8)


def binary_masks(probabilities: np.ndarray, boxes: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``bool[N, H, W]``: each mask's pixels above ``threshold``, never none at all.

    The mask head's probabilities, pasted into the image, may stay under the threshold
    everywhere for a box only a few pixels tall (most boxes under about 8 px); an empty
    mask scores an IoU of 0 however well its box fits, and gives a user no area. Such a
    mask keeps the pixels of its box at or above half its own largest probability there
    (at least its most probable pixel; the whole box where it is 0 throughout), so every
    mask is non-empty and inside its box.

    Parameters
    ----------
    probabilities : ndarray
        ``float[N, H, W]`` in ``[0, 1]``.
    boxes : ndarray
        ``float[N, 4]`` ``x1, y1, x2, y2`` in the same pixels.
    """
    binary = probabilities > threshold
    height, width = binary.shape[1:]
    for index in np.flatnonzero(~binary.any(axis=(1, 2))):
        x1, y1, x2, y2 = (float(v) for v in boxes[index])
        # the pixels the box touches, at least one, clipped to the image
        left = min(max(int(np.floor(x1)), 0), width - 1)
        top = min(max(int(np.floor(y1)), 0), height - 1)
        right = max(min(int(np.ceil(x2)), width), left + 1)
        bottom = max(min(int(np.ceil(y2)), height), top + 1)
        inside = np.nan_to_num(probabilities[index, top:bottom, left:right])
        binary[index, top:bottom, left:right] = inside >= inside.max() / 2
    return binary


def outputs_to_results(outputs: dict[str, Any], image_id: int, *, mask_threshold: float = 0.5,
                       image_size: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """One image's model output (torch tensors) as COCO result dicts (boxes and RLE masks).

    A mask is the pixels above ``mask_threshold``; one the threshold leaves empty (a box a
    few pixels tall) keeps its most probable pixels in its box instead
    (:func:`binary_masks`), so that no result has an empty mask. An output with
    ``mask_crops`` (masks inside their boxes only) needs the image's ``(H, W)``
    ``image_size``: each mask is pasted into it in turn.
    """
    from pycocotools import mask as mask_utils

    boxes = outputs["boxes"].detach().cpu().numpy()
    scores = outputs["scores"].detach().cpu().numpy()
    labels = outputs["labels"].detach().cpu().numpy()
    masks = outputs.get("masks")
    binary = None
    if masks is not None:
        binary = binary_masks(masks.detach().cpu().float().numpy()[:, 0], boxes, mask_threshold).astype(np.uint8)
    elif outputs.get("mask_crops") is not None and image_size is not None:
        from engine.msnet.paste import FrameMasks

        frames = FrameMasks(outputs["mask_crops"], image_size)
        binary = _LazyBinary(frames, boxes, mask_threshold)
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
