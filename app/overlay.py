"""Turning a frame's detections into something QPainter can draw quickly.

Masks are painted as one 8-bit indexed image per frame whose colour table carries the
level colours with alpha: one byte per pixel (2 MB at 1080p), filled straight from the
run-length counts without decoding each mask to a full boolean array, and cached per
frame so playback and scrubbing only pay for it once. Boxes and labels are vector
drawing and cost nothing to repeat.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtGui import QColor, QImage

from core.types import DamageLevel, Detection, ReviewState

#: Colour-table index of the selected detection's mask (drawn brighter).
_SELECTED_INDEX = 4


@dataclass(frozen=True, slots=True)
class OverlayStyle:
    """Which overlay layers are visible and how strongly they are drawn."""

    show_masks: bool = True
    show_boxes: bool = True
    show_building_boxes: bool = True
    show_labels: bool = True
    show_rejected: bool = False
    score_threshold: float = 0.3
    mask_alpha: int = 110

    def visible(self, detection: Detection) -> bool:
        """Whether a detection passes the threshold and the rejected filter."""
        if detection.review is ReviewState.REJECTED and not self.show_rejected:
            return False
        if detection.review is ReviewState.ACCEPTED:
            return True  # a reviewer's yes outranks the score
        return detection.final_score >= self.score_threshold


def level_colour(level: DamageLevel, alpha: int = 255) -> QColor:
    r, g, b = level.colour_rgb
    return QColor(r, g, b, alpha)


def _colour_table(alpha: int) -> list[int]:
    table = [QColor(0, 0, 0, 0).rgba()]
    for level in DamageLevel:
        table.append(level_colour(level, alpha).rgba())
    table.append(QColor(255, 255, 255, min(255, alpha + 60)).rgba())  # selected
    return table + [0] * (256 - len(table))


def paint_rle_runs(target_fortran: np.ndarray, counts: Sequence[int], value: int) -> None:
    """Write ``value`` into the set runs of a column-major RLE mask.

    Parameters
    ----------
    target_fortran
        ``uint8[W * H]``: the label image flattened in column-major (Fortran) order,
        which is the order COCO RLE counts run in.
    counts
        Alternating run lengths, zeros first.
    value
        Colour-table index to write where the mask is set.
    """
    bounds = np.cumsum(np.asarray(counts, dtype=np.int64))
    starts = bounds[0:-1:2]
    ends = bounds[1::2]
    for start, end in zip(starts.tolist(), ends.tolist()):
        target_fortran[start:end] = value


def render_mask_layer(
    detections: Iterable[Detection],
    width_px: int,
    height_px: int,
    style: OverlayStyle,
    selected_id: int | None = None,
) -> QImage | None:
    """Paint the masks of one frame into an indexed image with a translucent palette.

    Returns ``None`` when no visible detection has a mask. Masks of a different size
    than the frame (should not happen) are skipped rather than stretched.
    """
    visible = [d for d in detections if d.mask is not None and style.visible(d)]
    if not visible:
        return None
    # Column-major buffer: COCO runs index it directly.
    labels = np.zeros(width_px * height_px, dtype=np.uint8)
    # Lower scores first so the most confident (and the selected) end up on top.
    for det in sorted(visible, key=lambda d: (d.id == selected_id, d.final_score)):
        mask = det.mask
        if mask.width_px != width_px or mask.height_px != height_px:
            continue
        paint_rle_runs(labels, mask.counts, _SELECTED_INDEX if det.id == selected_id else int(det.level))
    row_major = np.ascontiguousarray(labels.reshape(width_px, height_px).T)
    image = QImage(row_major.data, width_px, height_px, width_px, QImage.Format.Format_Indexed8)
    image.setColorTable(_colour_table(style.mask_alpha))
    return image.copy()  # own the pixels: the numpy buffer goes away


@dataclass
class MaskLayerCache:
    """Least-recently-used cache of mask layers per frame, bounded in bytes."""

    max_bytes: int = 256 * 1024 * 1024
    _images: OrderedDict[int, QImage | None] = field(default_factory=OrderedDict)
    _bytes: int = 0

    def get(self, frame_index: int) -> tuple[bool, QImage | None]:
        """``(hit, image)``; ``image`` may be ``None`` for a frame with no masks."""
        if frame_index not in self._images:
            return False, None
        self._images.move_to_end(frame_index)
        return True, self._images[frame_index]

    def put(self, frame_index: int, image: QImage | None) -> None:
        self.discard(frame_index)
        self._images[frame_index] = image
        self._bytes += image.sizeInBytes() if image is not None else 0
        while self._bytes > self.max_bytes and len(self._images) > 1:
            _, old = self._images.popitem(last=False)
            self._bytes -= old.sizeInBytes() if old is not None else 0

    def discard(self, frame_index: int) -> None:
        old = self._images.pop(frame_index, None)
        if old is not None:
            self._bytes -= old.sizeInBytes()

    def clear(self) -> None:
        self._images.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._images)
