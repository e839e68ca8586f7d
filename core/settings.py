"""A project's georeferencing and map settings, typed.

:class:`ProjectSettings` is what turns a project's stored detections into a damage map
without analysing again: the telemetry time offset, the camera's field of view, the
ground elevation and the score below which unreviewed detections stay off the map. The
project store persists it (:meth:`core.store.ProjectStore.project_settings`), so the
command line and the desktop app build the same map from the same project.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Unreviewed detections whose final score is below this are left off the map.
DEFAULT_MIN_SCORE = 0.5
#: The smallest short side (pixels) a detector may be run at: its coarsest FPN level is 1/64.
MIN_INPUT_SIZE = 64
#: The largest: a 4K frame's short side (2160) and some room; past it the frame is only
#: blown up, and the detector's memory grows with its square (--input-size 20000 asked
#: for 22 GB and was killed).
MAX_INPUT_SIZE = 4096
#: The largest grid a detector's tiled look may take (N x N tiles; 1: off).
MAX_TILES = 4
#: While the drone holds one view (it hovers), one frame every this many seconds of it is
#: analysed, not every frame the analysis rate selects (``geo.views.frames_a_view_repeats``).
HOVER_EVERY_S = 2.0


def detector_overrides(*, input_size: int | None = None, building_gate: float | None = None,
                       flip_check: bool = False, close_look: bool | None = None,
                       sharpness_ceiling: float | None = None, tiles: int | None = None) -> dict[str, float | bool]:
    """The detector's test-time settings (the weights' ``"inference"`` keys,
    ``engine.msnet.inference``) a user sets over the weights' own: only those given
    (the mirror check only when asked for; the close look on or off, or ``None``: the
    weights' own; a sharpness ceiling of 0: frames as they come; the tiled look's grid,
    1: off)."""
    given: dict[str, float | bool | None] = {"input_size": input_size, "gate_threshold": building_gate,
                                             "flip_check": flip_check or None, "close_look": close_look,
                                             "sharpness_ceiling": sharpness_ceiling, "tiles": tiles}
    return {key: value for key, value in given.items() if value is not None}


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """How a project's detections are placed on the ground and filtered for the map.

    Attributes
    ----------
    time_offset_s
        Seconds added to the telemetry times after they are aligned with the video
        (corrects a clock difference between the drone's log and the video).
    time_offset_sigma_s
        How sure ``time_offset_s`` is (one sigma, seconds): the estimate's uncertainty
        when it was read from the video (``geo.clock_offset``); ``None`` when typed or
        unknown. It enters each site's uncertainty (``geo.uncertainty``, times the
        drone's speed).
    hfov_deg
        The camera's horizontal field of view in degrees, or a preset name such as
        ``"mavic-2-pro"`` (``geo.camera.HFOV_PRESETS_DEG``); ``None``: from the
        telemetry's focal length, else a DJI default.
    hfov_sigma_deg
        How sure ``hfov_deg`` is (one sigma, degrees) when it was read from the video's
        flow (``--camera auto``): the map says it was estimated, and the spread enters
        each site's uncertainty; ``None`` when typed, a preset or from the telemetry.
    hfov_unsure
        Whether the flight that gave ``hfov_deg`` turned too little to pin it down
        (``geo.pitch.FlowView.width_unsure``): the map cautions that the width, and the
        pitch read with it, are unsure. Only a width read from the video (one with
        ``hfov_sigma_deg``) can be unsure: without one it is ``False``, so a width typed
        over the reading clears it.
    ground_elevation_m
        Absolute elevation (m) of the ground plane, for telemetry with absolute
        altitude only (GPX) whose first point is not the take-off; ``None``: the first
        point's.
    ground_elevation_sigma_m
        How sure ``ground_elevation_m`` is (one sigma, metres): the estimate's spread
        when it was read from the video's motion (``geo.flow_height``); ``None`` when
        typed or unknown. It enters each site's uncertainty (``geo.uncertainty``, as the
        fixes' vertical accuracy does).
    flight_height_m
        The drone's height above the ground (m), taken as constant, for telemetry with no
        altitude at all (some Mavic 2 SRTs); ``None``: such a track cannot be mapped.
    flight_height_sigma_m
        How sure ``flight_height_m`` is (one sigma, metres), as ``ground_elevation_sigma_m``.
    camera_pitch_deg
        The camera's pitch in degrees (negative below the horizon, -90 straight down), for
        telemetry that gives none (a GPX, most DJI Mini SRTs): typed, or read from the
        video's motion (``geo.pitch``); ``None``: assumed (``geo.camera.DEFAULT_PITCH_DEG``).
        A gimbal pitch in the telemetry always wins.
    camera_pitch_sigma_deg
        How sure ``camera_pitch_deg`` is (one sigma, degrees): the reading's spread when it
        was read from the video; ``None`` when typed (a typed pitch counts as a reading,
        ``geo.camera.ESTIMATED_PITCH_SIGMA_DEG``).
    heading_offset_deg
        Degrees added to the heading taken from the direction of travel (a camera not
        looking straight ahead), for telemetry without a heading; ``None``: none.
    heading_offset_sigma_deg
        How sure ``heading_offset_deg`` is (one sigma, degrees), as
        ``camera_pitch_sigma_deg``; ``None``: ``geo.camera.TRACK_HEADING_SIGMA_DEG``.
    min_score
        Unreviewed detections whose final score is below this are left off the map, in
        ``[0, 1]``. Reviewed detections are always kept.
    hover_turns
        For telemetry without a heading, the camera's turns read from the video where the
        drone hovered (``geo.hover_turns``: stretches of ``(start s, step s, degrees
        turned after each step...)``); the map places those frames by them. Empty: none read.
    """

    time_offset_s: float = 0.0
    hfov_deg: float | str | None = None
    ground_elevation_m: float | None = None
    min_score: float = DEFAULT_MIN_SCORE
    time_offset_sigma_s: float | None = None
    ground_elevation_sigma_m: float | None = None
    flight_height_m: float | None = None
    flight_height_sigma_m: float | None = None
    camera_pitch_deg: float | None = None
    camera_pitch_sigma_deg: float | None = None
    heading_offset_deg: float | None = None
    heading_offset_sigma_deg: float | None = None
    hover_turns: tuple[tuple[float, ...], ...] = ()
    hfov_sigma_deg: float | None = None
    hfov_unsure: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.hfov_unsure, bool):
            raise ValueError(f"ProjectSettings.hfov_unsure must be true or false; got {self.hfov_unsure!r}")
        if self.hfov_unsure and (self.hfov_deg is None or self.hfov_sigma_deg is None):
            object.__setattr__(self, "hfov_unsure", False)  # typed, a preset or none: given, not read unsure
        if isinstance(self.time_offset_s, bool) or not isinstance(self.time_offset_s, (int, float)) or not math.isfinite(self.time_offset_s):
            raise ValueError(f"ProjectSettings.time_offset_s must be a finite number of seconds; got {self.time_offset_s!r}")
        if isinstance(self.hfov_deg, str):
            if not self.hfov_deg.strip():
                raise ValueError("ProjectSettings.hfov_deg: expected degrees, a preset name or None; got ''")
        elif self.hfov_deg is not None:
            if isinstance(self.hfov_deg, bool) or not isinstance(self.hfov_deg, (int, float)) or not (
                math.isfinite(self.hfov_deg) and 1.0 < self.hfov_deg < 170.0  # as geo.camera.resolve_hfov
            ):
                raise ValueError(
                    f"ProjectSettings.hfov_deg must be between 1 and 170 degrees, a preset name or None; "
                    f"got {self.hfov_deg!r}"
                )
        if self.ground_elevation_m is not None and (
            isinstance(self.ground_elevation_m, bool)
            or not isinstance(self.ground_elevation_m, (int, float))
            or not math.isfinite(self.ground_elevation_m)
        ):
            raise ValueError(
                f"ProjectSettings.ground_elevation_m must be a finite number of metres or None; "
                f"got {self.ground_elevation_m!r}"
            )
        if isinstance(self.min_score, bool) or not isinstance(self.min_score, (int, float)) or not (
            0.0 <= self.min_score <= 1.0
        ):
            raise ValueError(f"ProjectSettings.min_score must be in [0, 1]; got {self.min_score!r}")
        sigma = self.time_offset_sigma_s
        if sigma is not None and (isinstance(sigma, bool) or not isinstance(sigma, (int, float))
                                  or not (math.isfinite(sigma) and sigma >= 0)):
            raise ValueError(
                f"ProjectSettings.time_offset_sigma_s must be a finite number of seconds >= 0 or None; got {sigma!r}")
        for name in ("ground_elevation_sigma_m", "flight_height_sigma_m"):
            sigma = getattr(self, name)
            if sigma is not None and (isinstance(sigma, bool) or not isinstance(sigma, (int, float))
                                      or not (math.isfinite(sigma) and sigma >= 0)):
                raise ValueError(f"ProjectSettings.{name} must be a finite number of metres >= 0 or None; got {sigma!r}")
        height = self.flight_height_m
        if height is not None and (isinstance(height, bool) or not isinstance(height, (int, float))
                                   or not (math.isfinite(height) and height > 0)):
            raise ValueError(f"ProjectSettings.flight_height_m must be a finite number of metres > 0 or None; "
                             f"got {height!r}")
        for name, low, high in (("camera_pitch_deg", -90.0, 0.0), ("heading_offset_deg", -180.0, 180.0),
                                ("camera_pitch_sigma_deg", 0.0, 90.0), ("heading_offset_sigma_deg", 0.0, 180.0),
                                ("hfov_sigma_deg", 0.0, 170.0)):
            angle = getattr(self, name)
            if angle is not None and (isinstance(angle, bool) or not isinstance(angle, (int, float))
                                      or not (math.isfinite(angle) and low <= angle <= high)):
                raise ValueError(f"ProjectSettings.{name} must be degrees from {low:g} to {high:g} or None; "
                                 f"got {angle!r}")
        for stretch in self.hover_turns:
            if (not isinstance(stretch, tuple) or len(stretch) < 3 or stretch[1] <= 0
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                               for v in stretch)):
                raise ValueError("ProjectSettings.hover_turns must be stretches of (start s, step s > 0, degrees...), "
                                 f"finite numbers; got {stretch!r:.80}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ProjectSettings:
        """The settings among ``values`` (a store's key/value settings); other keys are
        ignored, missing ones take their defaults, ``None`` means the default too."""
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in values.items() if k in known and v is not None}
        if "hover_turns" in given:  # stored as JSON lists
            turns = given["hover_turns"]
            if not isinstance(turns, (list, tuple)) or not all(isinstance(t, (list, tuple)) for t in turns):
                raise ValueError(f"ProjectSettings.hover_turns must be a list of stretches; got {turns!r:.80}")
            given["hover_turns"] = tuple(tuple(stretch) for stretch in turns)
        return cls(**given)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready values by key (``None`` for an unset optional, for no turns, and for
        a width not read unsure: a project that never read one stores no such key)."""
        values = asdict(self)
        if not values["hover_turns"]:
            values["hover_turns"] = None
        if not values["hfov_unsure"]:
            values["hfov_unsure"] = None
        return values


__all__ = ["DEFAULT_MIN_SCORE", "ProjectSettings"]
