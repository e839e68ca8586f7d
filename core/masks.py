"""Compact full-frame masks: COCO-style uncompressed run-length encoding.

Runs are counted in column-major (Fortran) order, starting with a run of zeros, exactly
as COCO's uncompressed RLE, so ``RleMask.to_coco()`` goes straight into pycocotools.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    def from_polygon(cls, points_xy: np.ndarray | list, height_px: int, width_px: int) -> RleMask:
        """Rasterise a polygon given as ``(x, y)`` pixel vertices."""
        import cv2  # lazy: only polygon editing needs it

        canvas = np.zeros((height_px, width_px), dtype=np.uint8)
        pts = np.round(np.asarray(points_xy, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
        if len(pts) >= 3:
            cv2.fillPoly(canvas, [pts], 1)
        return cls.from_array(canvas.astype(bool))

    def to_array(self) -> np.ndarray:
        """Decode to ``bool[H, W]``."""
        values = np.zeros(len(self.counts), dtype=bool)
        values[1::2] = True
        flat = np.repeat(values, self.counts)
        return flat.reshape((self.height_px, self.width_px), order="F")

    def to_coco(self) -> dict:
        """Uncompressed COCO RLE: ``{"size": [h, w], "counts": [...]}``."""
        return {"size": [self.height_px, self.width_px], "counts": list(self.counts)}

    @property
    def area_px(self) -> int:
        return int(sum(self.counts[1::2]))

    def bbox_xyxy(self) -> tuple[float, float, float, float] | None:
        """Tight box around the set pixels, or ``None`` for an empty mask."""
        arr = self.to_array()
        ys, xs = np.nonzero(arr)
        if xs.size == 0:
            return None
        return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)

    def to_polygons(self, *, min_points: int = 3) -> list[np.ndarray]:
        """Outer contours as ``float[N, 2]`` ``(x, y)`` arrays (for editing and export)."""
        import cv2

        arr = self.to_array().astype(np.uint8)
        contours, _ = cv2.findContours(arr, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        return [c.reshape(-1, 2).astype(np.float64) for c in contours if len(c) >= min_points]
