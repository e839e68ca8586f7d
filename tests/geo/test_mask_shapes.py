"""Mask outlines and centroids worked out for many detections at once are, byte for byte,
what outlining each mask alone from its listed pixels gives."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.masks import RleMask
from core.types import DamageLevel, Detection
from geo import observe

HEIGHT, WIDTH = 48, 64


def _one_at_a_time(mask: RleMask | None, box: tuple[float, float, float, float]):
    """A mask's shape as it was worked out alone: its pixels listed, cropped and outlined."""
    x1, y1, x2, y2 = box
    if mask is None:
        if (x2 - x1) * (y2 - y1) < observe.MIN_MASK_AREA_PX:
            return None
        return ([np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)],
                np.array([(x1 + x2) / 2, (y1 + y2) / 2]), float((x2 - x1) * (y2 - y1)), False, False)
    if mask.area_px < observe.MIN_MASK_AREA_PX:
        return None
    xs, ys = mask.pixels()
    crop, x0, y0 = RleMask.crop_of(xs, ys)
    centroid = np.array([(xs - x0).sum() / len(xs) + x0 + 0.5, (ys - y0).sum() / len(ys) + y0 + 0.5])
    contours, _ = cv2.findContours(crop.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outlines = [c.reshape(-1, 2).astype(np.float64) + (x0, y0) for c in contours if len(c) >= 3]
    h, w = mask.height_px, mask.width_px
    truncated = bool(x0 == 0 or y0 == 0 or x0 + crop.shape[1] == w or y0 + crop.shape[0] == h)
    gap = min(x0, y0, w - (x0 + crop.shape[1]), h - (y0 + crop.shape[0]))
    near_edge = truncated or gap < observe.EDGE_MARGIN_FRACTION * min(w, h)
    if not outlines:
        outlines = [np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], dtype=np.float64)]
    return outlines, centroid, float(len(xs)), truncated, near_edge


def _varied_masks() -> list[np.ndarray | None]:
    rng = np.random.default_rng(11)
    arrays: list[np.ndarray | None] = [None]  # no mask: the box
    empty = np.zeros((HEIGHT, WIDTH), dtype=bool)
    arrays.append(empty)
    one = empty.copy()
    one[20, 30] = True
    arrays.append(one)
    line = empty.copy()
    line[5, 10:20] = True  # a one-pixel-high line: contours of two points
    arrays.append(line)
    for y, x in ((0, 20), (20, 0), (HEIGHT - 6, 20), (20, WIDTH - 6)):  # touching each edge
        edge = empty.copy()
        edge[y:y + 6, x:x + 6] = True
        arrays.append(edge)
    ring = empty.copy()
    ring[10:30, 10:40] = True
    ring[15:25, 18:30] = False  # a hole
    arrays.append(ring)
    blobs = empty.copy()
    blobs[2:8, 3:9] = blobs[30:40, 40:55] = blobs[20:21, 25:27] = True  # several blobs, one too thin
    arrays.append(blobs)
    arrays.append(np.ones((HEIGHT, WIDTH), dtype=bool))
    tall = empty.copy()
    tall[30:, 12:15] = tall[:4, 15] = True  # runs across columns
    arrays.append(tall)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    for _ in range(40):
        cx, cy, r = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT), rng.uniform(1, 20)
        blob = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        arrays.append(blob & (rng.random(blob.shape) < 0.8))  # ragged, with holes
    return arrays


def _detections() -> list[Detection]:
    detections = []
    for k, array in enumerate(_varied_masks()):
        mask = None if array is None else RleMask.from_array(array)
        box = (5.0, 6.0, 25.5, 18.0) if mask is None or mask.bbox_xyxy() is None else mask.bbox_xyxy()
        detections.append(Detection(k, DamageLevel(1 + k % 3), 0.5, box, mask=mask))
    return detections


def _as_bytes(shape) -> object:
    if shape is None:
        return None
    outlines, centroid, area, truncated, near_edge = shape
    return ([(o.dtype.str, o.shape, o.tobytes()) for o in outlines], centroid.dtype.str, centroid.tobytes(),
            area, truncated, near_edge)


@pytest.fixture(autouse=True)
def _cold():
    observe.clear_cache()
    yield
    observe.clear_cache()


def test_shapes_of_many_masks_at_once_are_each_one_worked_out_alone():
    detections = _detections()
    expected = [_one_at_a_time(d.mask, tuple(float(v) for v in d.box_xyxy_px)) for d in detections]
    assert sum(shape is None for shape in expected) == 2  # the empty mask and the single pixel
    got = observe._mask_shapes(detections)
    assert [_as_bytes(s) for s in got] == [_as_bytes(s) for s in expected]
    # kept: the next build is given the very same read-only arrays
    again = observe._mask_shapes(list(reversed(detections)))
    for first, second in zip(got, reversed(again)):
        assert first is second
    outlined = next(s for s in got if s is not None)
    assert not outlined[1].flags.writeable and not outlined[0][0].flags.writeable


def test_mask_centroids_of_boxes_and_masks():
    detections = _detections()
    centroids = observe.mask_centroids(detections)
    for detection, centroid in zip(detections, centroids):
        expected = _one_at_a_time(detection.mask, tuple(float(v) for v in detection.box_xyxy_px))
        assert (centroid is None) == (expected is None)
        if centroid is not None:
            assert centroid.tobytes() == expected[1].tobytes()
