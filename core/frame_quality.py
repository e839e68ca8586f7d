"""Frames too dark, too uniform or too blurred to count as having looked at the ground.

A drone video holds frames no detector can judge: black ones at the start of a clip or
with the lens covered, frames washed out by the sun, and frames smeared by a fast turn of
the drone or the gimbal. The detector finds nothing in them, which is not the same as
seeing that nothing is there. Each analysed frame carries three measures
(:class:`FrameQuality`, measured by ``engine.frame_quality`` on the grey frame at the
detector's input size and kept in the project), and :func:`unusable_frames` judges them:

- **blank**: almost no contrast (a grey spread under :data:`BLANK_CONTRAST`), or nearly
  all black or all white (a mean under :data:`DARK_MEAN` or over :data:`BRIGHT_MEAN`);
- **blurred**: a sharpness (variance of the Laplacian) under :data:`BLUR_SHARE` of the
  median of its neighbours (the :data:`NEIGHBOURS` analysed frames before it and after
  it), when at least :data:`MIN_FRAMES` of them were measured. Relative, since how sharp
  a frame is depends on what it shows and how the video was encoded; and local, since a
  flight goes from a dense town (sharp) to fields or floodwater (smooth): a frame a
  quarter as sharp as the frames around it is one the motion smeared.

Such a frame keeps its detections (one may still show damage), but it does not count as
a look: at a site's place (a site is confirmed by the share of the frames that showed its
place in which it was found, ``geo.fusion``), nor for a building's "No visible damage"
(``geo.coverage``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass

#: a grey spread (standard deviation, 0-255) under which a frame shows nothing
BLANK_CONTRAST = 4.0
#: mean grey levels under or over which a frame is black or washed out
DARK_MEAN = 12.0
BRIGHT_MEAN = 245.0
#: a frame sharper than this share of the video's median sharpness is not blurred
BLUR_SHARE = 0.25
#: a frame's sharpness is judged against this many analysed frames on each side ...
NEIGHBOURS = 10
#: ... of which at least this many must be measured (and not blank)
MIN_FRAMES = 8


@dataclass(frozen=True)
class FrameQuality:
    """One frame's grey ``mean`` and ``contrast`` (standard deviation), both 0-255, and
    ``sharpness``: the variance of its 3x3 Laplacian at the detector's input size."""

    mean: float
    contrast: float
    sharpness: float

    def __post_init__(self) -> None:
        for name in ("mean", "contrast", "sharpness"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"FrameQuality.{name} must be finite and >= 0; got {value!r}")

    @property
    def blank(self) -> str | None:
        """Why the frame shows nothing (``"black"``, ``"washed out"``, ``"uniform"``), or
        ``None``."""
        if self.mean < DARK_MEAN:
            return "black"
        if self.mean > BRIGHT_MEAN:
            return "washed out"
        if self.contrast < BLANK_CONTRAST:
            return "uniform"
        return None


def unusable_frames(qualities: Mapping[int, FrameQuality]) -> dict[int, str]:
    """Frame index -> why it cannot count as a look (``"black"``, ``"washed out"``,
    ``"uniform"``, ``"blurred"``), for the frames of ``qualities`` that cannot."""
    unusable = {index: q.blank for index, q in qualities.items() if q.blank is not None}
    order = sorted(qualities)
    for k, index in enumerate(order):
        if index in unusable:
            continue
        around = [qualities[i].sharpness for i in order[max(0, k - NEIGHBOURS):k + NEIGHBOURS + 1]
                  if qualities[i].blank is None]
        if len(around) >= MIN_FRAMES and qualities[index].sharpness < BLUR_SHARE * statistics.median(around):
            unusable[index] = "blurred"
    return dict(sorted(unusable.items()))


def describe_unusable(unusable: Mapping[int, str], analysed: int) -> str | None:
    """One line for a map's notes: how many of the ``analysed`` frames did not count as a
    look, and why (``None`` when all did)."""
    if not unusable:
        return None
    reasons: dict[str, int] = {}
    for reason in unusable.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    parts = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]))
    return (f"{len(unusable)} of the {analysed} analysed frames did not count as a look at the ground ({parts}): "
            "their detections are kept, but a site or a building they showed is not counted as seen in them")
