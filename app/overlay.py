"""Turning a frame's detections into something QPainter can draw quickly.

Masks are painted into one label image per frame straight from the run-length counts
(no per-mask boolean decode), cropped to the masks' extent, coloured through a
premultiplied-ARGB lookup table (the format QPainter blends fastest) and cached per
frame, so playback and scrubbing pay for it once and memory stays small. Boxes and labels are vector
drawing and cost nothing to repeat.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
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
    #: draw only each damage site's best box in a frame (see ``hidden_ids``)
    one_per_site: bool = True
    score_threshold: float = 0.3
    mask_alpha: int = 110
    #: detections not drawn: with ``one_per_site``, the second boxes of a site in a frame
    #: (``services.sites.SiteReview.second_sightings``), the selected one excepted
    hidden_ids: frozenset[int] = frozenset()

    def visible(self, detection: Detection) -> bool:
        """Whether a detection passes the threshold, the rejected filter and, with
        ``one_per_site``, is its site's best box in its frame."""
        if self.one_per_site and detection.id in self.hidden_ids:
            return False
        if detection.review is ReviewState.REJECTED and not self.show_rejected:
            return False
        if detection.review is ReviewState.ACCEPTED:
            return True  # a reviewer's yes outranks the score
        return detection.final_score >= self.score_threshold


def level_colour(level: DamageLevel, alpha: int = 255) -> QColor:
    r, g, b = level.colour_rgb
    return QColor(r, g, b, alpha)


def _premultiplied_lut(alpha: int) -> np.ndarray:
    """``uint32[256]`` ARGB32-premultiplied colours indexed by label (0 = transparent)."""
    lut = np.zeros(256, dtype=np.uint32)
    colours = {int(level): level.colour_rgb for level in DamageLevel}
    colours[_SELECTED_INDEX] = (255, 255, 255)
    for index, (r, g, b) in colours.items():
        a = min(255, alpha + 60) if index == _SELECTED_INDEX else alpha
        lut[index] = (a << 24) | ((r * a // 255) << 16) | ((g * a // 255) << 8) | (b * a // 255)
    return lut


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
        Label to write where the mask is set.
    """
    bounds = np.cumsum(np.asarray(counts, dtype=np.int64))
    starts = bounds[0:-1:2]
    ends = bounds[1::2]
    for start, end in zip(starts.tolist(), ends.tolist()):
        target_fortran[start:end] = value


@dataclass(frozen=True, slots=True)
class MaskLayer:
    """The translucent masks of one frame, cropped to where there are any.

    ``image`` is ARGB32-premultiplied (the format QPainter blends fastest) and goes at
    ``(x_px, y_px)`` on the frame.
    """

    image: QImage
    x_px: int
    y_px: int

    def sizeInBytes(self) -> int:  # noqa: N802 - QImage's name, so the cache treats both alike
        return int(self.image.sizeInBytes())


def render_mask_layer(
    detections: Iterable[Detection],
    width_px: int,
    height_px: int,
    style: OverlayStyle,
    selected_id: int | None = None,
) -> MaskLayer | None:
    """Paint the masks of one frame with the level colours at ``style.mask_alpha``.

    Returns ``None`` when no visible detection has a mask. Masks of a different size
    than the frame (should not happen) are skipped rather than stretched.
    """
    visible = [
        d for d in detections
        if d.mask is not None and style.visible(d) and d.mask.width_px == width_px and d.mask.height_px == height_px
    ]
    extents = [e for e in (d.mask.extent_xyxy() for d in visible) if e is not None]
    if not extents:
        return None
    x1, y1 = min(e[0] for e in extents), min(e[1] for e in extents)
    x2, y2 = max(e[2] for e in extents), max(e[3] for e in extents)
    # Column-major buffer: COCO runs index it directly.
    labels = np.zeros(width_px * height_px, dtype=np.uint8)
    # Lower scores first so the most confident (and the selected) end up on top.
    for det in sorted(visible, key=lambda d: (d.id == selected_id, d.final_score)):
        paint_rle_runs(labels, det.mask.counts, _SELECTED_INDEX if det.id == selected_id else int(det.level))
    crop = labels.reshape(width_px, height_px)[x1:x2, y1:y2].T  # -> rows, columns
    argb = np.ascontiguousarray(_premultiplied_lut(style.mask_alpha)[crop])
    h, w = argb.shape
    image = QImage(argb.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()
    return MaskLayer(image, x1, y1)


@dataclass
class MaskLayerCache:
    """Least-recently-used cache of mask layers per frame, bounded in bytes."""

    max_bytes: int = 256 * 1024 * 1024
    _images: OrderedDict[int, MaskLayer | None] = field(default_factory=OrderedDict)
    _bytes: int = 0

    def get(self, frame_index: int) -> tuple[bool, MaskLayer | None]:
        """``(hit, image)``; ``image`` may be ``None`` for a frame with no masks."""
        if frame_index not in self._images:
            return False, None
        self._images.move_to_end(frame_index)
        return True, self._images[frame_index]

    def put(self, frame_index: int, image: MaskLayer | None) -> None:
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
