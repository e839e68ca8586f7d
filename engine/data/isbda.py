"""The ISBDA dataset layout and annotation format, as torchvision detection targets.

Layout: ``DIR/annotations/instances_<split>.json`` (COCO JSON) and the images in
``DIR/<split>/<file_name>``. Each annotation is one damaged part with ``segmentation``
(polygons, or RLE), ``category_id`` (1 Slight, 2 Severe, 3 Debris), ``damage_bbox`` and
``house_bbox`` (``[x, y, w, h]``); several parts can share one house box. The synthetic
flyovers (:mod:`engine.synth`) write the same format.
"""

from __future__ import annotations

import json
import random
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from core.errors import DamagemapWarning, InputError

Target = dict[str, Tensor]
Transform = Callable[[Tensor, Target], tuple[Tensor, Target]]


def annotation_path(root: str | Path, split: str) -> Path:
    return Path(root) / "annotations" / f"instances_{split}.json"


def image_dir(root: str | Path, split: str) -> Path:
    return Path(root) / split


def read_coco_json(path: str | Path) -> dict[str, Any]:
    """A COCO-style annotation file, checked for the three top-level lists."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: annotation file not found (expected DIR/annotations/instances_<split>.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable COCO JSON file ({exc})") from None
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "true or false", int: "a number", float: "a number"}.get(
            type(data), "null")
        raise InputError(f"{path}: not a COCO annotation file (expected an object with images, annotations and "
                         f"categories; the file holds {kind})")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise InputError(f"{path}: expected a COCO file with an {key!r} list")
    _check_fields(path, data["images"], "image", ("id", "file_name", "width", "height"))
    _check_fields(path, data["annotations"], "annotation", ("image_id", "category_id"))
    for image in data["images"]:  # COCO's are whole numbers; a text id stopped training at its first batch
        if not isinstance(image["id"], int) or isinstance(image["id"], bool):
            raise InputError(f"{path}: image {image.get('file_name', '?')!r} has the id {image['id']!r}; COCO image "
                             "ids are whole numbers (and each annotation's image_id one of them)")
    data.setdefault("categories", [])
    _check_category_ids(path, data["categories"])
    return data


#: The levels' ids, as ISBDA numbers them and damagemap reads every file, by the words
#: datasets name them with (xBD's minor / major / destroyed among them); 0: no damage.
_LEVEL_IDS = {"slight": 1, "minor": 1, "severe": 2, "major": 2, "debris": 3, "destroyed": 3,
              "no": 0, "none": 0, "undamaged": 0, "intact": 0}


def _level_named(name: str) -> int | None:
    """The level a category's name says (``"Severe damage"``, ``severe_damage``,
    ``minor-damage``: 2, 2, 1; ``no-damage``: 0), or ``None`` for a name that says none."""
    words = [w for w in re.split(r"[\s_\-]+", name.strip().lower()) if w and w != "damage" and w != "damaged"]
    return _LEVEL_IDS.get(words[0]) if len(words) == 1 else None


def _check_category_ids(path: Path, categories: Any) -> None:
    """Refuse a file whose categories name the levels under other ids (a labelling tool
    that numbers them alphabetically, or from 0): damagemap reads 1 as Slight, 2 as Severe
    and 3 as Debris, so such a file trained a model with the levels swapped, and scored
    perfect predictions 0."""
    if not isinstance(categories, list):
        return
    wrong = []
    for category in categories:
        if not isinstance(category, dict):
            continue
        level = _level_named(str(category.get("name", "")))
        number = category.get("id")
        if isinstance(number, str) and number.strip().isdigit():
            number = int(number)
        if level is None or (level == 0 and number not in (1, 2, 3)):
            continue  # a name that says no level, or no damage under an id no level has
        if number != level:
            wrong.append(f"{category.get('name')!r} is {category.get('id')!r}")
    if wrong:
        raise InputError(f"{path}: its categories number the levels otherwise ({', '.join(wrong)}); damagemap reads "
                         "category 1 as Slight, 2 as Severe, 3 as Debris, as ISBDA numbers them: renumber the "
                         "categories and the annotations' category_id")


def _check_fields(path: Path, items: list[Any], kind: str, fields: tuple[str, ...]) -> None:
    """Every entry of ``items`` is an object holding ``fields``: said for the first that is
    not (training would stop at it mid-run, evaluation in a pycocotools traceback)."""
    for number, item in enumerate(items):
        missing = [name for name in fields if name not in item] if isinstance(item, dict) else list(fields)
        if missing:
            which = f"{kind} {item['id']!r}" if isinstance(item, dict) and "id" in item else f"{kind} number {number + 1}"
            raise InputError(f"{path}: {which} has no {', '.join(repr(m) for m in missing)}; every {kind} needs "
                             f"{', '.join(fields)}")


def xywh_to_xyxy(box: list[float] | tuple[float, ...]) -> list[float]:
    x, y, w, h = (float(v) for v in box)
    return [x, y, x + w, y + h]


def _overlaps_image(box: list[float] | tuple[float, ...], image: dict[str, Any]) -> bool:
    """Whether an ``[x, y, w, h]`` box keeps some area once clipped to the image (its
    targets are clipped so): a box wholly beside it clips to an empty one, whose
    regression target is infinite."""
    x1, y1, x2, y2 = xywh_to_xyxy(box)
    return min(x2, float(image["width"])) > max(x1, 0.0) and min(y2, float(image["height"])) > max(y1, 0.0)


def rle_pixel_count(counts: Any) -> int | None:
    """How many pixels a COCO RLE's run lengths cover (a mask's ``height * width`` when
    sound), from its ``counts``: a list of runs, or the compressed string pycocotools
    writes; ``None`` for anything else.

    pycocotools decodes runs that cover fewer pixels (an empty ``counts``) into a mask of
    whatever the memory held, and more past its end, without a word.
    """
    if isinstance(counts, list):
        return sum(int(run) for run in counts) if all(isinstance(run, int) for run in counts) else None
    if isinstance(counts, bytes):
        counts = counts.decode("ascii", errors="replace")
    if not isinstance(counts, str):
        return None
    runs: list[int] = []
    value, shift = 0, 0
    for character in counts:  # pycocotools' rleFrString: 5 bits a character, 0x20 more to come, 0x10 sign
        code = ord(character) - 48
        value |= (code & 0x1F) << shift
        shift += 5
        if code & 0x20:
            continue
        if code & 0x10:
            value -= 1 << shift
        runs.append(value + (runs[-2] if len(runs) > 2 else 0))
        value, shift = 0, 0
    return sum(runs)


def _size_of(image: dict[str, Any]) -> str:
    return f"{image['width']}x{image['height']}"


@dataclass(frozen=True, slots=True)
class _Instance:
    annotation_id: int
    label: int
    box_xyxy: list[float]
    polygons: list[list[float]] | None
    rle: dict | None


class ISBDADataset(Dataset):
    """ISBDA (or synthetic flyover) images with damage and building targets.

    Parameters
    ----------
    root : path-like
        Dataset folder holding ``annotations/`` and the split's image folder.
    split : str
        ``"train"``, ``"val"``, ...
    transforms : callable, optional
        ``(image, target) -> (image, target)``, e.g. :func:`engine.data.transforms.train_transforms`.
    video_frames : float
        Probability that an item's image is the frame as the flight's video gives it
        (:attr:`video_path` decoded at the image's ``frame_index``, with the codec's
        artefacts the analysis sees) instead of the still beside it; 1: always. Needs a
        flyover folder (:mod:`engine.synth` writes both). ``seed`` seeds the choice.

    Items are ``(image, target)``: ``image`` FloatTensor[3, H, W] in ``[0, 1]``; ``target``
    with ``boxes`` FloatTensor[N, 4] (xyxy pixels, from ``damage_bbox``, else ``bbox``),
    ``labels`` Int64Tensor[N] (1..3), ``masks`` UInt8Tensor[N, H, W], ``building_boxes``
    FloatTensor[B, 4] (the distinct ``house_bbox`` es of the image), ``image_id`` and
    ``area``. A file with top-level ``"negatives"`` (regions a reviewer rejected) or
    ``"unreviewed"`` lists (detections nobody decided on; see
    :func:`engine.export_coco.export_reviewed_frames`) adds ``negative_boxes`` and
    ``ignore_boxes`` FloatTensor[K, 4] to every target: the model trains on the first as
    background and gives the anchors and proposals on the second no label
    (:mod:`engine.msnet.unlabelled`). Crowd annotations (``iscrowd``) are no targets:
    their boxes join ``ignore_boxes``, as COCO's evaluation ignores them. Polygons with fewer than 3 points are
    skipped with a :class:`~core.errors.DamagemapWarning` naming the annotation; an
    annotation left with no polygon, with an empty box or one wholly outside its image, or
    with an RLE whose runs do not cover the image, is dropped likewise (a house box
    outside the image is left out).
    """

    #: a flyover folder's video, beside ``annotations/`` (or in ``flights/<split>/``)
    VIDEO_NAME = "flight.mp4"

    def __init__(self, root: str | Path, split: str = "train", transforms: Transform | None = None, *,
                 video_frames: float = 0.0, seed: int | None = None) -> None:
        if not 0.0 <= video_frames <= 1.0:
            raise ValueError(f"video_frames must be a probability in [0, 1], got {video_frames!r}")
        self.root = Path(root)
        self.split = split
        self.transforms = transforms
        self.annotation_file = annotation_path(root, split)
        self.coco = read_coco_json(self.annotation_file)
        self.images = sorted(self.coco["images"], key=lambda image: image["id"])
        self._image_of = {image["id"]: image for image in self.images}
        self.video_frames = video_frames
        self._video_choice = random.Random(seed)
        self._decoded: dict[int, np.ndarray] | None = None
        if video_frames > 0:
            self._check_video()
        if video_frames < 1:  # an image missing would stop a training run at it, mid-run
            missing = [image["file_name"] for index, image in enumerate(self.images)
                       if not self.image_path(index).is_file()]
            if missing:
                raise InputError(f"{image_dir(self.root, split)}: {len(missing)} image(s) the annotations name are "
                                 f"not there (e.g. {missing[0]!r})")
        self._instances: dict[int, list[_Instance]] = {image["id"]: [] for image in self.images}
        self._buildings: dict[int, list[list[float]]] = {image["id"]: [] for image in self.images}
        self._crowds: dict[int, list[list[float]]] = {image["id"]: [] for image in self.images}
        self._skipped: dict[str, list[tuple[dict, str]]] = {}
        for annotation in self.coco["annotations"]:
            self._add(annotation)
        self._report_skipped()
        self._regions: dict[str, dict[int, list[list[float]]]] = {}
        for key, name in (("negatives", "negative_boxes"), ("unreviewed", "ignore_boxes")):
            if isinstance(self.coco.get(key), list):
                boxes: dict[int, list[list[float]]] = {image["id"]: [] for image in self.images}
                for region in self.coco[key]:
                    box = region.get("damage_bbox", region.get("bbox"))
                    if region.get("image_id") in boxes and box is not None and len(box) == 4 and box[2] > 0 and box[3] > 0:
                        boxes[region["image_id"]].append(xywh_to_xyxy(box))
                self._regions[name] = boxes
        if any(self._crowds.values()):  # crowd regions are ignored as the unreviewed ones are
            ignored = self._regions.setdefault("ignore_boxes", {image["id"]: [] for image in self.images})
            for image_id, boxes in self._crowds.items():
                ignored[image_id].extend(boxes)

    #: how many annotations' ids a warning about skipped ones names
    NAMED_IDS = 5

    def _warn(self, annotation: dict, problem: str, reason: str) -> None:
        """Note ``annotation``'s ``problem``; said once per ``reason`` (:meth:`_report_skipped`)."""
        self._skipped.setdefault(reason, []).append((annotation, problem))

    def _report_skipped(self) -> None:
        """One warning per reason an annotation was skipped: the whole problem where one
        annotation has it, else how many, the first's problem and the first few ids (a
        file with thousands of building annotations gives a line, not thousands)."""
        for reason, skipped in self._skipped.items():
            annotation, problem = skipped[0]
            first = f"annotation id {annotation.get('id')!r} (image {annotation.get('image_id')!r})"
            if len(skipped) == 1:
                message = f"{first}: {problem}"
            else:
                ids = ", ".join(repr(a.get("id")) for a, _ in skipped[:self.NAMED_IDS])
                more = f" and {len(skipped) - self.NAMED_IDS} more" if len(skipped) > self.NAMED_IDS else ""
                message = f"{len(skipped)} annotations {reason} (ids {ids}{more}; the first, {first}: {problem})"
            warnings.warn(f"{self.annotation_file}: {message}", DamagemapWarning, stacklevel=3)
        self._skipped = {}

    def _add(self, annotation: dict) -> None:
        image_id = annotation.get("image_id")
        if image_id not in self._instances:
            self._warn(annotation, "refers to an image not in the file; skipped",
                       "refer to an image not in the file; skipped")
            return
        image = self._image_of[image_id]
        house = annotation.get("house_bbox")
        if house is not None and len(house) == 4 and house[2] > 0 and house[3] > 0:
            if _overlaps_image(house, image):
                self._buildings[image_id].append(xywh_to_xyxy(house))
            else:
                self._warn(annotation, f"house box {house!r} lies outside the {_size_of(image)} image; left out",
                           "have a house box outside their image; left out")
        box = annotation.get("damage_bbox", annotation.get("bbox"))
        if annotation.get("iscrowd", 0):  # COCO's "don't know": ignored, not trained on as background
            if box is not None and len(box) == 4 and box[2] > 0 and box[3] > 0:
                self._crowds[image_id].append(xywh_to_xyxy(box))
            return
        if box is None or len(box) != 4 or box[2] <= 0 or box[3] <= 0:
            self._warn(annotation, f"damage box {box!r} is missing or empty; skipped",
                       "have a missing or empty damage box; skipped")
            return
        if not _overlaps_image(box, image):  # clipped to the image, an empty box: a NaN loss at its first batch
            self._warn(annotation, f"damage box {box!r} lies outside the {_size_of(image)} image; skipped",
                       "have a damage box outside their image; skipped")
            return
        segmentation = annotation.get("segmentation")
        polygons, rle = None, None
        if isinstance(segmentation, dict):
            image = self._image_of.get(image_id, {})
            size = [image.get("height"), image.get("width")]
            if None not in size and list(segmentation.get("size", [])) != size:  # stopped the run mid-epoch
                self._warn(annotation, f"its mask is {segmentation.get('size')} (height, width), the image "
                                       f"{size}; skipped",
                           "have a mask of another size than their image; skipped")
                return
            covered = rle_pixel_count(segmentation.get("counts"))
            if None not in size and covered != size[0] * size[1]:  # decoded into memory it does not own
                self._warn(annotation, f"its mask's run lengths cover {covered} pixels, not the image's "
                                       f"{size[0]} x {size[1]}; skipped",
                           "have a mask whose run lengths do not cover their image; skipped")
                return
            rle = segmentation
        else:
            polygons = [[float(v) for v in polygon] for polygon in segmentation or [] if len(polygon) >= 6]
            short = [len(polygon) // 2 for polygon in segmentation or [] if len(polygon) < 6]
            if not polygons:
                found = f"only polygon(s) of {', '.join(map(str, short))} point(s)" if short else "no polygon"
                self._warn(annotation, f"{found} (need 3 points); annotation skipped",
                           "have no polygon of 3 points; skipped")
                return
            if short:
                self._warn(annotation, f"polygon(s) of {', '.join(map(str, short))} point(s) (need 3) skipped",
                           "have polygons of fewer than 3 points; those polygons skipped")
        label = int(annotation.get("category_id", 0))
        if label not in (1, 2, 3):
            self._warn(annotation, f"category_id {label!r} is not 1 (Slight), 2 (Severe) or 3 (Debris); skipped",
                       "have a category_id other than 1 (Slight), 2 (Severe) or 3 (Debris); skipped")
            return
        self._instances[image_id].append(
            _Instance(int(annotation.get("id", -1)), label, xywh_to_xyxy(box), polygons, rle)
        )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def instance_count(self) -> int:
        """The damaged parts the targets hold, over every image: the annotations left
        once crowd ones and the ones warned about (skipped) are set aside."""
        return sum(len(instances) for instances in self._instances.values())

    def image_path(self, index: int) -> Path:
        return image_dir(self.root, self.split) / self.images[index]["file_name"]

    def read_image(self, index: int) -> np.ndarray:
        """``uint8[H, W, 3]`` RGB as ``predict`` reads it (16-bit pictures scaled, not
        clipped white; upright by its EXIF orientation), checked against the size the JSON
        states: a photo stored sideways is taken as stored where the annotations were drawn
        on it so (a labelling tool that ignores the orientation)."""
        from engine.image_files import read_image_file

        path = self.image_path(index)
        array = read_image_file(path)
        info = self.images[index]
        expected = (info.get("height"), info.get("width"))
        if None not in expected and tuple(array.shape[:2]) != expected:
            stored = read_image_file(path, upright=False)
            if tuple(stored.shape[:2]) == expected:
                return stored
            raise InputError(f"{path}: image is {array.shape[1]}x{array.shape[0]}, annotations say {expected[1]}x{expected[0]}")
        return array

    @property
    def video_path(self) -> Path:
        """The split's video: ``DIR/flights/<split>/flight.mp4`` where ``damagemap synth
        --splits`` put one flight per split, else ``DIR/flight.mp4`` (a one-split flyover)."""
        per_split = self.root / "flights" / self.split / self.VIDEO_NAME
        return per_split if per_split.is_file() else self.root / self.VIDEO_NAME

    def video_of(self, index: int) -> Path:
        """The video image ``index`` was taken from: the one its ``video`` field names (as
        ``damagemap export --training`` writes it; a relative path from the data set's
        folder), else the flyover's :attr:`video_path`."""
        named = self.images[index].get("video")
        if isinstance(named, str) and named:
            path = Path(named).expanduser()
            return path if path.is_absolute() else self.root / path
        return self.video_path

    def _check_video(self) -> None:
        videos: dict[Path, dict[str, Any]] = {}
        for index, image in enumerate(self.images):
            videos.setdefault(self.video_of(index), image)
        for video, image in videos.items():
            if video.is_file():
                continue
            if image.get("video"):
                raise InputError(f"{self.annotation_file}: no video to take frames from: image "
                                 f"{image.get('file_name')!r} names {image['video']!r}, and {video} is not there "
                                 "(a relative 'video' is read from the data set's folder)")
            per_split = self.root / "flights" / self.split / self.VIDEO_NAME
            raise InputError(f"{self.root}: no flight.mp4 to take video frames from: looked for {per_split} and "
                             f"{self.root / self.VIDEO_NAME} (a flyover folder holds its video: DIR/flight.mp4, or "
                             f"DIR/flights/{self.split}/flight.mp4 from synth --splits; an exported data set's "
                             "images name theirs in 'video')")
        missing = [image.get("file_name") for image in self.images if image.get("frame_index") is None]
        if missing:
            raise InputError(f"{self.annotation_file}: {len(missing)} image(s) without a 'frame_index' "
                             f"(e.g. {missing[0]!r}), so no video frame to take")

    def reseed(self, seed: int) -> None:
        """Seed the choice of video frame or still, and the transforms, afresh from
        ``seed``: the trainer reseeds before every item, so an item's choices follow from
        the run's seed and the item's place in its epoch, in whichever DataLoader worker
        reads it (:class:`engine.train.SeededItems`)."""
        from engine.data.transforms import reseed

        self._video_choice.seed(seed)
        if self.transforms is not None:
            reseed(self.transforms, seed + 1)

    def read_video_frame(self, index: int) -> np.ndarray:
        """``uint8[H, W, 3]`` RGB: image ``index`` as the flight's video gives it.

        The first call decodes every annotated frame in one pass and keeps them (about
        90 MB for a 60-image 960x540 flight), as random seeks into H.264 would decode
        each group of pictures again and again."""
        if self._decoded is None:
            self._check_video()
            self._decoded = self._decode_annotated_frames()
        return self._decoded[index]

    def _decode_annotated_frames(self) -> dict[int, np.ndarray]:
        from engine.video import VideoReader

        by_video: dict[Path, dict[int, int]] = {}
        for index, image in enumerate(self.images):
            by_video.setdefault(self.video_of(index), {})[int(image["frame_index"])] = index
        decoded: dict[int, np.ndarray] = {}
        for video, by_frame in by_video.items():
            with VideoReader(video) as reader:
                for frame in reader.iter_frames(sorted(by_frame)):
                    assert frame.image is not None
                    index = by_frame[frame.index]
                    info = self.images[index]
                    expected = (info.get("height"), info.get("width"))
                    if None not in expected and tuple(frame.image.shape[:2]) != expected:
                        raise InputError(f"{video}: frame {frame.index} is {frame.image.shape[1]}x"
                                         f"{frame.image.shape[0]}, the annotations of {info.get('file_name')!r} say "
                                         f"{expected[1]}x{expected[0]}")
                    decoded[index] = frame.image
        return decoded

    def target(self, index: int, height: int, width: int) -> Target:
        from pycocotools import mask as mask_utils

        image_id = self.images[index]["id"]
        instances = self._instances[image_id]
        masks = np.zeros((len(instances), height, width), dtype=np.uint8)
        for row, instance in enumerate(instances):
            if instance.rle is not None:
                rle = instance.rle
                if isinstance(rle.get("counts"), list):
                    rle = mask_utils.frPyObjects(rle, height, width)
            else:
                rle = mask_utils.merge(mask_utils.frPyObjects(instance.polygons, height, width))
            masks[row] = mask_utils.decode(rle)
        boxes = torch.tensor([i.box_xyxy for i in instances], dtype=torch.float32).reshape(-1, 4)
        buildings = torch.tensor(self._buildings[image_id], dtype=torch.float32).reshape(-1, 4)
        buildings = torch.unique(buildings, dim=0) if len(buildings) else buildings
        limits = torch.tensor([width, height, width, height], dtype=torch.float32)
        boxes = torch.minimum(boxes.clamp(min=0), limits)
        buildings = torch.minimum(buildings.clamp(min=0), limits)
        target = {
            "boxes": boxes,
            "labels": torch.tensor([i.label for i in instances], dtype=torch.int64),
            "masks": torch.from_numpy(masks),
            "building_boxes": buildings,
            "image_id": torch.tensor(image_id),
            "area": torch.from_numpy(masks.sum(axis=(1, 2)).astype(np.float32)),
        }
        for name, by_image in self._regions.items():
            regions = torch.tensor(by_image[image_id], dtype=torch.float32).reshape(-1, 4)
            target[name] = torch.minimum(regions.clamp(min=0), limits)
        return target

    def __getitem__(self, index: int) -> tuple[Tensor, Target]:
        from_video = self.video_frames > 0 and (self.video_frames >= 1 or self._video_choice.random() < self.video_frames)
        array = self.read_video_frame(index) if from_video else self.read_image(index)
        height, width = array.shape[:2]
        image = torch.from_numpy(array).permute(2, 0, 1).float().div_(255.0)
        target = self.target(index, height, width)
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target


def collate(batch: list[tuple[Tensor, Target]]) -> tuple[tuple[Tensor, ...], tuple[Target, ...]]:
    """Keep images of different sizes apart (the model batches them itself)."""
    images, targets = zip(*batch)
    return images, targets
