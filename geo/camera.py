"""Camera intrinsics and per-frame poses from telemetry.

Intrinsics are a :class:`core.camera.PinholeCamera` (the same model the synthetic
renderer uses): the video size and a horizontal field of view, taken from the user, else
from the focal length the telemetry reports, else from the preset of the drone the video
names in its metadata (``engine.video_metadata``), else a default preset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from core.camera import CameraPose, PinholeCamera
from geo.sync import AlignedTrack

#: Horizontal field of view (degrees) of common DJI cameras in 16:9 video, from their
#: 35 mm-equivalent focal lengths (hfov = 2 atan(18 mm / f)).
HFOV_PRESETS_DEG: dict[str, float] = {
    "mavic-pro": 69.4,  # FC220, 26 mm
    "mavic-air": 73.7,  # 24 mm
    "mavic-2-pro": 65.5,  # Hasselblad L1D-20c, 28 mm
    "mavic-2-zoom": 73.7,  # 24 mm at the wide end
    "mavic-air-2": 73.7,
    "mavic-3": 73.7,
    "mini-2": 73.7,
    "mini-3-pro": 73.7,
    "mini-4-pro": 73.7,
    "air-3": 73.7,
    "phantom-4-pro": 73.7,
    "phantom-4-rtk": 73.7,
    "generic": 73.7,
}
DEFAULT_HFOV_DEG = HFOV_PRESETS_DEG["generic"]
#: Camera names DJI writes as a model instead of the drone's name (the ``Model`` of its
#: photos' EXIF and of some videos' user data), for the presets above.
DJI_CAMERA_PRESETS: dict[str, str] = {
    "fc220": "mavic-pro",
    "fc2103": "mavic-air",
    "l1d-20c": "mavic-2-pro",
    "fc2204": "mavic-2-zoom",
    "fc3170": "mavic-air-2",
    "l2d-20c": "mavic-3",
    "fc7303": "mini-2",
    "fc3582": "mini-3-pro",
    "fc6310": "phantom-4-pro",
    "fc6310s": "phantom-4-pro",
    "fc6310r": "phantom-4-rtk",
}
#: Gimbal pitch assumed when the telemetry has none (ISBDA footage is about 45 deg down).
DEFAULT_PITCH_DEG = -45.0


def hfov_from_focal_35mm(focal_mm: float) -> float:
    """Horizontal field of view of a 35 mm-equivalent focal length (36 mm wide frame)."""
    return math.degrees(2.0 * math.atan(18.0 / focal_mm))


def _plain(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def preset_for_model(model: str | None) -> str | None:
    """The :data:`HFOV_PRESETS_DEG` key of a camera model as a video or photo names it
    ("DJI Mavic 3", "DJIMavic3", "Mini 4 Pro", "FC3170"), ignoring case, spaces,
    dashes and a leading "DJI" (a version suffix such as "V2" too); ``None`` for a model
    without a preset (another lens, another maker): guessing would be worse than the
    default."""
    if not model:
        return None
    known = {_plain(key): key for key in HFOV_PRESETS_DEG if key != "generic"}
    known.update({_plain(code): preset for code, preset in DJI_CAMERA_PRESETS.items()})
    plain = _plain(model).removeprefix("dji")
    for candidate in (plain, re.sub(r"v\d+$", "", plain)):
        if candidate in known:
            return known[candidate]
    return None


@dataclass(frozen=True, slots=True)
class FieldOfView:
    hfov_deg: float
    source: str


#: :attr:`FieldOfView.source` of a preset found from the video's metadata starts so.
VIDEO_METADATA_SOURCE = "video metadata"


def hfov_preset(text: str) -> str | None:
    """The :data:`HFOV_PRESETS_DEG` key ``text`` names (case, spaces and underscores
    aside), ``None`` when ``text`` is a number of degrees (checked by range elsewhere).

    The one check of a field-of-view setting's spelling, shared by every flag that takes
    one (``analyze --hfov``, ``export --hfov``) and by :func:`resolve_hfov`, so a typo is
    refused before it is stored rather than when a map is made.

    Raises
    ------
    ValueError
        For a name that is neither a preset nor a number, listing the presets.
    """
    key = text.strip().lower().replace(" ", "-").replace("_", "-")
    if key in HFOV_PRESETS_DEG:
        return key
    try:
        float(text)
    except ValueError:
        raise ValueError(
            f"unknown camera preset {text!r}; give degrees or one of {', '.join(HFOV_PRESETS_DEG)}"
        ) from None
    return None


def resolve_hfov(hfov_deg: float | str | None, focal_lengths_mm: list[float] | None = None,
                 video_model: str | None = None) -> FieldOfView:
    """The field of view to use: ``hfov_deg`` (a number or a preset name) if given, else
    the median 35 mm-equivalent focal length of the telemetry when plausible, else the
    preset of the camera the video's metadata names (``video_model``,
    :func:`preset_for_model`; source "video metadata: <model>"), else
    :data:`DEFAULT_HFOV_DEG`.

    Raises
    ------
    ValueError
        For an unknown preset name or a field of view outside (1, 170) degrees.
    """
    if isinstance(hfov_deg, str):
        key = hfov_preset(hfov_deg)
        if key is not None:
            return FieldOfView(HFOV_PRESETS_DEG[key], f"preset {key}")
        hfov_deg = float(hfov_deg)  # hfov_preset refused what is neither a preset nor a number
    if hfov_deg is not None:
        if not (math.isfinite(hfov_deg) and 1.0 < hfov_deg < 170.0):
            raise ValueError(f"horizontal field of view must be between 1 and 170 degrees; got {hfov_deg!r}")
        return FieldOfView(float(hfov_deg), "given")
    focal = [f for f in (focal_lengths_mm or []) if f is not None and 10.0 <= f <= 200.0]
    if focal:
        median = float(np.median(focal))
        return FieldOfView(hfov_from_focal_35mm(median), f"telemetry focal length {median:g} mm (35 mm equiv.)")
    preset = preset_for_model(video_model)
    if preset is not None:
        return FieldOfView(HFOV_PRESETS_DEG[preset], f"{VIDEO_METADATA_SOURCE}: {video_model}")
    return FieldOfView(DEFAULT_HFOV_DEG, "default (DJI 24 mm equiv.)")


@dataclass(frozen=True)
class FramePoses:
    """Camera poses of the frames that have telemetry; ``missing`` lists the others but
    ``hovering``, the frames a track without headings shows the drone still in (where its
    camera looked is unknown: :class:`geo.sync.FrameState`). ``turn_sigma_deg``: the
    placed frames filmed hovering whose heading the video's turns gave
    (``geo.hover_turns``), each with how far off that heading may be (degrees, one sigma);
    ``turns_refused``: hovers whose turns disagreed with where the drone flew on."""

    poses: dict[int, CameraPose]
    times_s: dict[int, float]
    missing: tuple[int, ...]
    heading_source: str
    pitch_source: str
    hovering: frozenset[int] = frozenset()
    turn_sigma_deg: dict[int, float] = field(default_factory=dict)
    turns_refused: int = 0

    @property
    def turned(self) -> frozenset[int]:
        """The frames placed by the camera's turns read from the video."""
        return frozenset(self.turn_sigma_deg)


def frame_poses(
    aligned: AlignedTrack,
    frame_times_s: Mapping[int, float],
    *,
    default_pitch_deg: float = DEFAULT_PITCH_DEG,
    heading_offset_deg: float = 0.0,
) -> FramePoses:
    """Interpolate the track at every frame time into a :class:`CameraPose` in the
    track's local frame (UTM grid metres, ground plane at take-off height ``z = 0``).

    ``heading_offset_deg`` is added to headings taken from the track's bearing (a
    camera not looking along the direction of travel); telemetry headings are kept."""
    indices = sorted(frame_times_s)
    times = np.array([frame_times_s[i] for i in indices], dtype=np.float64)
    state = aligned.interpolate(times, default_pitch_deg=default_pitch_deg)
    poses: dict[int, CameraPose] = {}
    missing, hovering = [], []
    turn_sigma: dict[int, float] = {}
    offset = heading_offset_deg if state.heading_source == "track bearing" else 0.0
    for k, index in enumerate(indices):
        if state.hovering[k] and state.height_m[k] > 0.5:
            hovering.append(index)
            continue
        if not state.valid[k] or state.height_m[k] <= 0.5:
            missing.append(index)
            continue
        poses[index] = CameraPose(
            east_m=float(state.east_m[k]),
            north_m=float(state.north_m[k]),
            up_m=float(state.height_m[k]),
            yaw_deg=float((state.heading_grid_deg[k] + offset) % 360.0),
            pitch_deg=float(state.pitch_deg[k]),
        )
        if state.turned[k]:
            turn_sigma[index] = float(state.turn_sigma_deg[k])
    return FramePoses(poses, {i: float(frame_times_s[i]) for i in indices}, tuple(missing),
                      state.heading_source, state.pitch_source, frozenset(hovering), turn_sigma,
                      state.turns_refused)


def camera_for(width_px: int, height_px: int, fov: FieldOfView) -> PinholeCamera:
    return PinholeCamera(int(width_px), int(height_px), fov.hfov_deg)


#: One-sigma errors (degrees) of camera angles the telemetry does not give: a gimbal
#: pitch assumed, or estimated from the video (``geo.pitch``); a heading taken from the
#: direction of travel; a field of view from the default preset. Measured on synthetic
#: GPX-only flights (bench/site_accuracy.py --truth-masks).
ASSUMED_PITCH_SIGMA_DEG = 10.0
ESTIMATED_PITCH_SIGMA_DEG = 3.0
TRACK_HEADING_SIGMA_DEG = 5.0
DEFAULT_FOV_SIGMA_DEG = 3.0
#: One-sigma error (degrees) of a preset found from the video's metadata: the preset is
#: the full-width 16:9 view, and some video modes crop the sensor.
METADATA_FOV_SIGMA_DEG = 3.0


def held_fov_sigma_deg(fov: FieldOfView) -> float:
    """How sure a field of view that is held, not estimated, is (one sigma, degrees):
    a preset found from the video's metadata is :data:`METADATA_FOV_SIGMA_DEG` off at
    most likely; one the user or the telemetry's focal length gives is taken as exact."""
    return METADATA_FOV_SIGMA_DEG if fov.source.startswith(VIDEO_METADATA_SOURCE) else 0.0


def camera_angle_sigma_deg(poses: FramePoses, fov: FieldOfView, *, pitch_estimated: bool = False,
                           pitch_sigma_deg: float | None = None, heading_sigma_deg: float | None = None,
                           hfov_sigma_deg: float | None = None) -> float:
    """How far (one sigma, degrees) the camera's pointing may be off for lack of
    telemetry: 0 when the telemetry gives gimbal pitch and heading and the field of view
    is known.

    The spreads of an estimate from the video (``geo.pitch.FlowView``) replace the
    defaults where given: ``pitch_sigma_deg`` for a pitch the telemetry lacks,
    ``heading_sigma_deg`` for a heading from the direction of travel, ``hfov_sigma_deg``
    for an estimated field of view (half of it counts, whatever the field of view's
    source: the frame's edge moves by half the error, its centre not at all); a preset
    from the video's metadata counts half of :data:`METADATA_FOV_SIGMA_DEG`."""
    terms = []
    if poses.pitch_source.startswith("default"):
        if pitch_sigma_deg is not None:
            terms.append(pitch_sigma_deg)
        else:
            terms.append(ESTIMATED_PITCH_SIGMA_DEG if pitch_estimated else ASSUMED_PITCH_SIGMA_DEG)
    if poses.heading_source == "track bearing":
        terms.append(TRACK_HEADING_SIGMA_DEG if heading_sigma_deg is None else heading_sigma_deg)
    if hfov_sigma_deg is not None:  # a field of view off by d moves the frame's edge by d/2, its centre not at all
        terms.append(0.5 * hfov_sigma_deg)
    elif fov.source.startswith("default"):
        terms.append(DEFAULT_FOV_SIGMA_DEG)
    elif fov.source.startswith(VIDEO_METADATA_SOURCE):
        terms.append(0.5 * held_fov_sigma_deg(fov))
    return float(math.hypot(*terms)) if terms else 0.0
