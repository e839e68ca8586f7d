"""Compact full-frame masks: COCO-style uncompressed run-length encoding.

Runs are counted in column-major (Fortran) order, starting with a run of zeros, exactly
as COCO's uncompressed RLE, so ``RleMask.to_coco()`` goes straight into pycocotools.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class RleMask:
    """A binary mask of ``height_px x width_px`` as alternating run lengths (0s first)."""

    height_px: int
    width_px: int
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        if sum(self.counts) != self.height_px * self.width_px:
            raise ValueError(
                f"RleMask: runs add up to {sum(self.counts)}, expected "
                f"{self.height_px}x{self.width_px} = {self.height_px * self.width_px}"
            )

    @classmethod
    def from_array(cls, mask: np.ndarray) -> RleMask:
        """Encode a ``bool[H, W]`` (or 0/1) array."""
        if mask.ndim != 2:
            raise ValueError(f"RleMask.from_array: expected a 2-D array; got shape {mask.shape!r}")
        height, width = mask.shape
        flat = np.asarray(mask, dtype=bool).ravel(order="F")
        # Run boundaries: positions where the value changes, plus both ends.
        change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        bounds = np.concatenate(([0], change, [flat.size]))
        runs = np.diff(bounds)
        if flat.size and flat[0]:
            runs = np.concatenate(([0], runs))  # COCO runs always start with zeros
        return cls(int(height), int(width), tuple(int(r) for r in runs))

    @classmethod
    def from_polygon(cls, points_xy: np.ndarray | list[tuple[float, float]], height_px: int, width_px: int) -> RleMask:
        """Rasterise a polygon given as ``(x, y)`` pixel vertices."""
        import cv2  # lazy: only polygon editing needs it

        canvas = np.zeros((height_px, width_px), dtype=np.uint8)
        pts = np.round(np.asarray(points_xy, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
        if len(pts) >= 3:
            cv2.fillPoly(canvas, [pts], 1)
        return cls.from_array(canvas.astype(bool))

    def to_bytes(self) -> bytes:
        """The run lengths as zlib-compressed little-endian ``uint32`` (a 1280x720
        building mask takes a few hundred bytes); :meth:`from_bytes` reads them back."""
        return zlib.compress(np.asarray(self.counts, dtype="<u4").tobytes(), 6)

    @classmethod
    def from_bytes(cls, blob: bytes, height_px: int, width_px: int) -> RleMask:
        """Inverse of :meth:`to_bytes` (the size is not in the bytes)."""
        counts = np.frombuffer(zlib.decompress(blob), dtype="<u4")
        return cls(int(height_px), int(width_px), tuple(counts.tolist()))

    def to_array(self) -> np.ndarray:
        """Decode to ``bool[H, W]``."""
        values = np.zeros(len(self.counts), dtype=bool)
        values[1::2] = True
        flat = np.repeat(values, self.counts)
        return flat.reshape((self.height_px, self.width_px), order="F")

    def to_coco(self) -> dict[str, Any]:
        """Uncompressed COCO RLE: ``{"size": [h, w], "counts": [...]}``."""
        return {"size": [self.height_px, self.width_px], "counts": list(self.counts)}

    @property
    def area_px(self) -> int:
        return int(sum(self.counts[1::2]))

    def _set_runs(self) -> tuple[np.ndarray, np.ndarray]:
        """``(starts, ends)`` flat column-major offsets of the non-empty runs of ones
        (``ends`` exclusive), ``int64[N]`` each."""
        counts = np.asarray(self.counts, dtype=np.int64)
        ends = np.cumsum(counts)
        starts = ends - counts
        starts, ends = starts[1::2], ends[1::2]
        keep = ends > starts
        return starts[keep], ends[keep]

    def extent_xyxy(self) -> tuple[int, int, int, int] | None:
        """``(x1, y1, x2, y2)`` integer pixel bounds of the set pixels, ends exclusive,
        read from the runs without decoding the mask; ``None`` for an empty mask."""
        return self._extent(*self._set_runs())

    def _extent(self, starts: np.ndarray, ends: np.ndarray) -> tuple[int, int, int, int] | None:
        if not starts.size:
            return None
        h = self.height_px
        first_col, last_col = starts // h, (ends - 1) // h
        one_column = first_col == last_col
        y1 = int(np.where(one_column, starts % h, 0).min())
        y2 = int(np.where(one_column, (ends - 1) % h, h - 1).max()) + 1
        return int(first_col.min()), y1, int(last_col.max()) + 1, y2

    def bbox_xyxy(self) -> tuple[float, float, float, float] | None:
        """Tight box around the set pixels (floats, ends exclusive), or ``None`` for an
        empty mask."""
        extent = self.extent_xyxy()
        if extent is None:
            return None
        x1, y1, x2, y2 = extent
        return float(x1), float(y1), float(x2), float(y2)

    def crop(self) -> tuple[np.ndarray, int, int] | None:
        """The set pixels as a ``bool[y2 - y1, x2 - x1]`` crop of :meth:`extent_xyxy`
        and its top-left ``(x1, y1)``, painted straight from the runs (decoding a full
        frame per mask costs more than the work done on it). ``None`` for an empty mask."""
        pixels = self.pixels()
        return None if pixels is None else self.crop_of(*pixels)

    def pixels(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(x, y)`` of every set pixel (``int64[N]`` each, column by column), read from
        the runs; ``None`` for an empty mask."""
        starts, ends = self._set_runs()
        if not starts.size:
            return None
        lengths = ends - starts
        # every set pixel's flat column-major offset: each run's start, counted on
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        columns, rows = np.divmod(offsets, self.height_px)
        return columns, rows

    @staticmethod
    def crop_of(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, int, int]:
        """:meth:`crop` of the set pixels :meth:`pixels` gave (column by column, so the
        first and last are in the outer columns), for a caller that needs both."""
        x0, x1, y0, y1 = int(xs[0]), int(xs[-1]) + 1, int(ys.min()), int(ys.max()) + 1
        crop = np.zeros((y1 - y0, x1 - x0), dtype=bool)
        crop[ys - y0, xs - x0] = True
        return crop, x0, y0

    def to_polygons(self, *, min_points: int = 3) -> list[np.ndarray]:
        """Outer contours as ``float[N, 2]`` ``(x, y)`` arrays (for editing and export)."""
        import cv2

        arr = self.to_array().astype(np.uint8)
        contours, _ = cv2.findContours(arr, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        return [c.reshape(-1, 2).astype(np.float64) for c in contours if len(c) >= min_points]


def pixel_centres(masks: Sequence[RleMask]) -> np.ndarray:
    """The mean ``(x, y)`` of each mask's set pixels' centres (their indices + 0.5),
    ``float64[N, 2]``, NaN for an empty mask; all masks' runs at once, without listing a
    pixel (a long flight places tens of thousands of masks by their centres).

    Each is the very float of the pixels' mean from the corner of the mask's extent,
    ``(xs - x0).sum() / len(xs) + x0 + 0.5`` over :meth:`RleMask.pixels`: the sums are
    exact integers, worked out from the runs' ends. Below a flat column-major offset ``n =
    q h + r`` lie ``q`` whole columns and ``r`` rows of the next, whose column indices sum
    to ``h q (q - 1) / 2 + r q`` and row indices to ``q h (h - 1) / 2 + r (r - 1) / 2``."""
    out = np.full((len(masks), 2), np.nan)
    if not masks:
        return out
    runs = np.fromiter(map(len, (m.counts for m in masks)), dtype=np.int64, count=len(masks))
    counts = np.fromiter(chain.from_iterable(m.counts for m in masks), dtype=np.int64, count=int(runs.sum()))
    mask_of = np.repeat(np.arange(len(masks)), runs)
    first = np.cumsum(runs) - runs  # each mask's first run
    ends = np.cumsum(counts)
    ends -= np.repeat(ends[first] - counts[first], runs)  # from each mask's own start
    starts = ends - counts
    ones = ((np.arange(len(counts)) - first[mask_of]) % 2 == 1) & (counts > 0)
    starts, ends, mask_of = starts[ones], ends[ones], mask_of[ones]
    height = np.array([m.height_px for m in masks], dtype=np.int64)[mask_of]
    area = np.zeros(len(masks), dtype=np.int64)
    np.add.at(area, mask_of, ends - starts)
    sums = np.zeros((len(masks), 2), dtype=np.int64)
    np.add.at(sums, mask_of, _index_sums(ends, height) - _index_sums(starts, height))
    corner = np.full((len(masks), 2), np.iinfo(np.int64).max)  # the extent's top left, as RleMask._extent
    one_column = starts // height == (ends - 1) // height
    np.minimum.at(corner, mask_of, np.stack([starts // height, np.where(one_column, starts % height, 0)], axis=1))
    set_ = area > 0
    out[set_] = (sums[set_] - area[set_, None] * corner[set_]) / area[set_, None] + corner[set_] + 0.5
    return out


def _index_sums(offsets: np.ndarray, height_px: np.ndarray) -> np.ndarray:
    """``int64[N, 2]``: the column and row indices (``o // h``, ``o % h``) of every flat
    column-major offset ``o`` below each of ``offsets``, summed (see :func:`pixel_centres`)."""
    q, r = np.divmod(offsets, height_px)
    return np.stack([height_px * q * (q - 1) // 2 + r * q, q * (height_px * (height_px - 1) // 2) + r * (r - 1) // 2],
                    axis=1)


def coco_rle(segmentation: Any, height: int, width: int) -> dict[str, Any]:
    """A COCO ``segmentation`` (polygons, uncompressed or compressed RLE) as one compressed
    RLE, rasterised as COCO tools do (a pixel is in where its centre is): what
    ``pycocotools.mask.decode`` turns into the mask, and ``toBbox`` into its box."""
    from pycocotools import mask as mask_utils  # type: ignore[import-untyped]

    rle: dict[str, Any]
    if isinstance(segmentation, list):
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, *segmentation["size"])
    else:
        rle = segmentation
    return rle


#: How many crop pixels :func:`mask_crops` paints at once (a long flight's masks in a few
#: passes, each a few megabytes).
CROP_BATCH_PX = 4_000_000


def mask_crops(masks: Sequence[RleMask]) -> list[tuple[np.ndarray, int, int] | None]:
    """:meth:`RleMask.crop` of each mask as ``uint8`` 0/1 (C-ordered, what
    ``cv2.findContours`` takes), ``None`` for an empty one; the runs of many masks painted
    together, a pass per :data:`CROP_BATCH_PX` pixels of crop (one mask at a time, numpy's
    cost per call was most of a long flight's outlining).

    Every run of ones lies whole in its mask's crop, in the crop's own column-major order:
    one within a column is inside the crop's rows, and one that crosses columns makes the
    crop the frame's full height (:meth:`RleMask.extent_xyxy`), so it keeps its offsets
    less the crop's first column's. A mask's crop is then its runs of ones laid at those
    offsets, zeros between."""
    out: list[tuple[np.ndarray, int, int] | None] = [None] * len(masks)
    if not masks:
        return out
    runs = np.fromiter(map(len, (m.counts for m in masks)), dtype=np.int64, count=len(masks))
    counts = np.fromiter(chain.from_iterable(m.counts for m in masks), dtype=np.int64, count=int(runs.sum()))
    mask_of = np.repeat(np.arange(len(masks)), runs)
    first = np.cumsum(runs) - runs
    ends = np.cumsum(counts)
    ends -= np.repeat(ends[first] - counts[first], runs)  # from each mask's own start
    starts = ends - counts
    ones = ((np.arange(len(counts)) - first[mask_of]) % 2 == 1) & (counts > 0)
    starts, ends, mask_of = starts[ones], ends[ones], mask_of[ones]
    if not starts.size:
        return out
    height = np.array([m.height_px for m in masks], dtype=np.int64)[mask_of]
    first_col, last_col = starts // height, (ends - 1) // height
    one_column = first_col == last_col
    # each set mask's extent (as RleMask._extent): its runs are consecutive, in order
    set_masks, group = np.unique(mask_of, return_index=True)
    x0 = np.minimum.reduceat(first_col, group)
    x1 = np.maximum.reduceat(last_col, group) + 1
    y0 = np.minimum.reduceat(np.where(one_column, starts % height, 0), group)
    y1 = np.maximum.reduceat(np.where(one_column, (ends - 1) % height, height - 1), group) + 1
    crop_h = y1 - y0
    size = (x1 - x0) * crop_h
    # each run's offsets in its crop (column-major), then in the crops laid end to end
    of_set = np.repeat(np.arange(len(set_masks)), np.diff(np.append(group, len(starts))))
    base = np.cumsum(size) - size
    lengths = ends - starts
    at = base[of_set] + (first_col - x0[of_set]) * crop_h[of_set] + (starts - first_col * height) - y0[of_set]
    batch_start = 0
    while batch_start < len(set_masks):
        batch_end = batch_start + 1 + int(np.searchsorted(np.cumsum(size[batch_start + 1:]),
                                                          CROP_BATCH_PX - size[batch_start], side="right"))
        lo, hi = int(base[batch_start]), int(base[batch_end - 1] + size[batch_end - 1])
        in_batch = (of_set >= batch_start) & (of_set < batch_end)
        run_at, run_length = at[in_batch] - lo, lengths[in_batch]
        gaps = run_at - np.concatenate(([0], run_at[:-1] + run_length[:-1]))
        steps = np.empty(2 * len(run_at) + 1, dtype=np.int64)
        steps[0:-1:2], steps[1:-1:2] = gaps, run_length
        steps[-1] = (hi - lo) - int(run_at[-1] + run_length[-1])
        values = np.zeros(len(steps), dtype=np.uint8)
        values[1::2] = 1
        painted = np.repeat(values, steps)
        for j in range(batch_start, batch_end):
            start = int(base[j]) - lo
            width, rows = int(x1[j] - x0[j]), int(crop_h[j])
            crop = np.ascontiguousarray(painted[start:start + width * rows].reshape(width, rows).T)
            out[int(set_masks[j])] = crop, int(x0[j]), int(y0[j])
        batch_start = batch_end
    return out
