"""Plain data shared by every package: frames, detections, telemetry, sites.

Frozen, slotted dataclasses with units in their field names and checks in
``__post_init__``. No torch, no Qt: ``engine`` and ``geo`` exchange only these.
Edits use :func:`dataclasses.replace`.

Conventions
-----------
- Pixel boxes are ``(x1, y1, x2, y2)`` floats with ``0 <= x1 < x2 <= width``.
- Geographic coordinates are WGS84 degrees; sequences of points are ``(lon, lat)`` as
  RFC 7946 wants.
- Times are seconds (float). ``Frame.pts_s`` comes from the container's presentation
  timestamps, not ``index / fps``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from core.frame_quality import FrameQuality
    from core.masks import RleMask

BoxXYXY = tuple[float, float, float, float]
LonLat = tuple[float, float]


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes (0 where they do not
    meet, or both are empty)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class _ParsableEnumMixin:
    """Case-insensitive parsing that lists the valid values when it fails."""

    @classmethod
    def parse(cls, value: object) -> Self:
        """The member named or valued ``value`` (any case; digits for an int value)."""
        if isinstance(value, cls):
            return value
        members: list[Self] = list(cls.__members__.values())  # type: ignore[attr-defined]
        if isinstance(value, str):
            text = value.strip()
            for member in members:
                if text.lower() in (member.name.lower(), str(member.value).lower()):  # type: ignore[attr-defined]
                    return member
            if text.isdigit():
                value = int(text)
        try:
            return cls(value)  # type: ignore[call-arg]
        except ValueError:
            valid = ", ".join(f"{m.name.lower()} ({m.value})" for m in members)  # type: ignore[attr-defined]
            raise ValueError(f"{cls.__name__}: expected one of {valid}; got {value!r}") from None


class DamageLevel(_ParsableEnumMixin, enum.IntEnum):
    """ISBDA damage classes; the value is the COCO ``category_id``."""

    SLIGHT = 1
    SEVERE = 2
    DEBRIS = 3

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @property
    def colour_rgb(self) -> tuple[int, int, int]:
        """Display colour: Slight green, Severe orange, Debris red (DESIGN.md)."""
        return _LEVEL_COLOURS[self]

    @property
    def colour_hex(self) -> str:
        r, g, b = self.colour_rgb
        return f"#{r:02x}{g:02x}{b:02x}"


_LEVEL_COLOURS = {
    DamageLevel.SLIGHT: (46, 204, 64),
    DamageLevel.SEVERE: (255, 140, 0),
    DamageLevel.DEBRIS: (230, 25, 25),
}


class ReviewState(_ParsableEnumMixin, enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Origin(_ParsableEnumMixin, enum.Enum):
    """Where a detection came from."""

    MODEL = "model"
    EDITED = "edited"
    ADDED = "added"


def _check_box(box: BoxXYXY, what: str) -> None:
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise ValueError(f"{what}: expected 4 finite numbers (x1, y1, x2, y2); got {box!r}")
    if box[2] < box[0] or box[3] < box[1]:
        raise ValueError(f"{what}: expected x1 <= x2 and y1 <= y2; got {box!r}")


def frame_number(index: int) -> int:
    """The number a person reads for the frame at ``index``: frames are counted from 1 in
    everything written for a person (the transport, the table, the maps, ``info``), while
    the data (``frame_index``, ``best_frame``, ``info --json``) keeps indices from 0."""
    return index + 1


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded video frame.

    ``image`` is ``uint8[H, W, 3]`` RGB, or ``None`` where only the metadata travels.
    """

    index: int
    pts_s: float
    width_px: int
    height_px: int
    image: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: how dark, uniform and sharp the frame is, measured where it was decoded for the
    #: analysis (``engine.frame_quality``); ``None`` when not measured
    quality: FrameQuality | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError(f"Frame.index must be >= 0; got {self.index!r}")
        if not math.isfinite(self.pts_s):
            raise ValueError(f"Frame.pts_s must be finite; got {self.pts_s!r}")
        if self.width_px <= 0 or self.height_px <= 0:
            raise ValueError(f"Frame size must be positive; got {self.width_px}x{self.height_px}")


@dataclass(frozen=True, slots=True)
class Detection:
    """One damaged part found (or drawn) on one frame.

    ``score`` is the detector's; ``refined_score`` the SRN's where it ran. ``mask`` is a
    full-frame run-length mask. ``id`` is the project store's row id (``None`` before
    the detection is stored).
    """

    frame_index: int
    level: DamageLevel
    score: float
    box_xyxy_px: BoxXYXY
    mask: RleMask | None = None
    building_box_xyxy_px: BoxXYXY | None = None
    refined_score: float | None = None
    origin: Origin = Origin.MODEL
    review: ReviewState = ReviewState.PENDING
    id: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Detection.score must be in [0, 1]; got {self.score!r}")
        if self.refined_score is not None and not 0.0 <= self.refined_score <= 1.0:
            raise ValueError(f"Detection.refined_score must be in [0, 1]; got {self.refined_score!r}")
        _check_box(self.box_xyxy_px, "Detection.box_xyxy_px")
        if self.building_box_xyxy_px is not None:
            _check_box(self.building_box_xyxy_px, "Detection.building_box_xyxy_px")

    @property
    def final_score(self) -> float:
        """The score to show and threshold on: refined where SRN ran."""
        return self.score if self.refined_score is None else self.refined_score

    @property
    def reviewed(self) -> bool:
        """A person has decided on it: accepted, rejected, relabelled, redrawn or added
        (the one meaning of "reviewed": the map, the training export and the review
        progress all use it)."""
        return self.review is not ReviewState.PENDING or self.origin is not Origin.MODEL

    @property
    def confirmed(self) -> bool:
        """Reviewed and not rejected: a person vouches for it, whatever its score."""
        return self.reviewed and self.review is not ReviewState.REJECTED


#: Metres above or below sea level (or take-off) past which a log's altitude is not one
#: (a field filled with 1e300, a unit misread): more than twice the highest ground.
MAX_ALTITUDE_M = 20_000.0

#: The :class:`TelemetrySample` fields a file may leave out (``None``), and the largest
#: magnitude each may have (past it, or NaN, the field is absent).
_OPTIONAL_SAMPLE_LIMITS = (("alt_abs_m", MAX_ALTITUDE_M), ("alt_rel_m", MAX_ALTITUDE_M), ("yaw_deg", 1e9),
                           ("gimbal_pitch_deg", 1e9), ("gimbal_yaw_deg", 1e9), ("focal_length_mm", 1e9),
                           ("h_accuracy_m", 1e9), ("v_accuracy_m", 1e9))


@dataclass(frozen=True, slots=True)
class TelemetrySample:
    """One position fix of the drone.

    ``t_s`` is seconds on the telemetry's own clock: UNIX epoch seconds (UTC) for GPX
    and logs with absolute times, seconds from the video start for per-frame SRT.
    ``gimbal_pitch_deg`` follows DJI: 0 is level, -90 straight down. ``yaw_deg`` is the
    camera heading, clockwise from true north, where known. ``h_accuracy_m`` and
    ``v_accuracy_m`` are the fix's one-sigma horizontal and vertical GPS errors (metres)
    where the file gives them (accuracy columns, or dilution of precision times
    ``geo.uncertainty.UERE_M``).
    """

    t_s: float
    lat_deg: float
    lon_deg: float
    alt_abs_m: float | None = None
    alt_rel_m: float | None = None
    yaw_deg: float | None = None
    gimbal_pitch_deg: float | None = None
    gimbal_yaw_deg: float | None = None
    focal_length_mm: float | None = None
    frame_index: int | None = None
    h_accuracy_m: float | None = None
    v_accuracy_m: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat_deg) and -90.0 <= self.lat_deg <= 90.0):
            raise ValueError(f"TelemetrySample.lat_deg must be in [-90, 90]; got {self.lat_deg!r}")
        if not (math.isfinite(self.lon_deg) and -180.0 <= self.lon_deg <= 180.0):
            raise ValueError(f"TelemetrySample.lon_deg must be in [-180, 180]; got {self.lon_deg!r}")
        if not math.isfinite(self.t_s):
            raise ValueError(f"TelemetrySample.t_s must be finite; got {self.t_s!r}")
        # an optional field written as NaN or inf (a GPX <ele>NaN</ele>), or an altitude no
        # drone flies at, is absent: read as a number, every later step took it for one
        for name, limit in _OPTIONAL_SAMPLE_LIMITS:  # one comparison each: a million-sample log is read
            value = getattr(self, name)
            if value is not None and not -limit <= value <= limit:  # (False for NaN too)
                object.__setattr__(self, name, None)


@dataclass(frozen=True, slots=True)
class Observation:
    """A detection placed on the ground.

    ``easting_m``/``northing_m`` are in ``crs`` (a local UTM zone, e.g. ``"EPSG:32616"``);
    ``footprint_lonlat`` is the mask outline on the ground, WGS84 ``(lon, lat)`` pairs,
    where one is given: a map's observations leave it empty and keep the outline in local
    metres (``geo.observe.Projected.footprint``), which the exports write.
    """

    detection_id: int | None
    frame_index: int
    t_s: float
    level: DamageLevel
    score: float
    lon_deg: float
    lat_deg: float
    easting_m: float
    northing_m: float
    crs: str
    footprint_lonlat: tuple[LonLat, ...] = ()
    review: ReviewState = ReviewState.PENDING
    origin: Origin = Origin.MODEL


@dataclass(frozen=True, slots=True)
class DamageSite:
    """Observations of one physical damage fused across frames.

    ``confidence`` is the level agreement (the share of the sightings' votes that went to
    ``level``), not how sure the detector is; ``best_score`` is the detector's best score
    among the sightings (``geo.fusion.best_score``), the number a person reads as "best
    score". ``frame_count``: the distinct frames of the ``observation_count`` sightings."""

    id: int
    level: DamageLevel
    confidence: float
    lon_deg: float
    lat_deg: float
    observation_count: int
    first_frame: int
    last_frame: int
    first_time_s: float
    last_time_s: float
    best_frame: int
    best_detection_id: int | None = None
    footprint_lonlat: tuple[LonLat, ...] = ()
    reviewed: bool = False
    best_score: float = 0.0
    frame_count: int = 0
