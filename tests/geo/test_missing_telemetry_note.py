"""The map's note on analysed frames without a pose: a hole in the log is named as such,
and the ground-elevation hint appears only when the ground elevation is unknown."""

from __future__ import annotations

from core.types import TelemetrySample
from geo.local import LocalFrame
from geo.mapping import build_damage_map_from
from geo.telemetry import TimeBase, Track

ORIGIN = (-85.66, 30.16)
VIDEO = {"width_px": 640, "height_px": 360, "duration_s": 12.0, "creation_time_utc": None}
FRAME_TIMES = {k: k / 2.0 for k in range(24)}  # 2 fps over the 12 s video
HINT = "--ground-elevation"


def gpx_like_track(*, hole_s: tuple[float, float] | None = None, climb_from_s: float | None = None) -> Track:
    """10 Hz samples on the video clock flying north at 5 m/s, 60 m above a ground at
    10 m elevation, absolute altitudes only (as a GPX); none inside ``hole_s``; with
    ``climb_from_s`` the log starts on the ground, the drone climbs straight up then
    and flies off 2 s later."""
    local = LocalFrame.around(*ORIGIN)
    samples = []
    for t in (k / 10.0 for k in range(121)):
        if hole_s is not None and hole_s[0] < t < hole_s[1]:
            continue
        height, flown_s = 60.0, t
        if climb_from_s is not None:
            height, flown_s = min(max(0.0, t - climb_from_s) * 30.0, 60.0), max(0.0, t - climb_from_s - 2.0)
        lon, lat = local.to_lonlat(0.0, 5.0 * flown_s)
        samples.append(TelemetrySample(t_s=t, lat_deg=float(lat), lon_deg=float(lon),
                                       alt_abs_m=10.0 + height))
    return Track(tuple(samples), path=None, format="gpx", time_base=TimeBase.VIDEO)


def missing_notes(damage_map) -> list[str]:
    return [n for n in damage_map.notes if "analysed frame" in n and ("gap" in n or "no usable" in n)]


def test_frames_in_a_hole_of_the_log_are_said_to_fall_in_its_gap():
    damage_map = build_damage_map_from([], FRAME_TIMES, gpx_like_track(hole_s=(2.2, 4.7)), video=VIDEO,
                                       hfov_deg=80.0, ground_elevation_m=10.0)
    # the frames at 2.5, 3.0, 3.5, 4.0 and 4.5 s lie between the samples at 2.2 and 4.7 s
    assert missing_notes(damage_map) == ["5 analysed frames fall in a 2.5 s gap of the telemetry (2.2-4.7 s)"]


def test_the_ground_hint_only_when_the_ground_elevation_is_unknown():
    # the drone sits on the ground for the first 2 s: those frames have no usable pose
    track = gpx_like_track(climb_from_s=2.0)
    unknown = build_damage_map_from([], FRAME_TIMES, track, video=VIDEO, hfov_deg=80.0)
    given = build_damage_map_from([], FRAME_TIMES, track, video=VIDEO, hfov_deg=80.0, ground_elevation_m=10.0)
    [unknown_note] = missing_notes(unknown)
    [given_note] = missing_notes(given)
    assert "no usable telemetry" in unknown_note and HINT in unknown_note
    assert "no usable telemetry" in given_note and HINT not in given_note


def test_one_frame_in_a_gap_is_said_in_the_singular():
    """A hole holding one analysed frame said "1 analysed frames fall in ..."."""
    frames = {k: t for k, t in FRAME_TIMES.items() if not 2.2 < t < 4.7 or t == 3.0}
    damage_map = build_damage_map_from([], frames, gpx_like_track(hole_s=(2.2, 4.7)), video=VIDEO,
                                       hfov_deg=80.0, ground_elevation_m=10.0)
    assert missing_notes(damage_map) == ["1 analysed frame falls in a 2.5 s gap of the telemetry (2.2-4.7 s)"]
