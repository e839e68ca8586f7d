"""Whether a track's absolute altitudes hold against the ground's elevation.

An absolute altitude less the ground's elevation is the camera's height above the ground
only where the altitude is measured from sea level, and a drone's is not always: a DJI
Mini 5 Pro near sea level in the Netherlands writes ``abs_alt: -122.769`` beside
``rel_alt: 6.000`` (an ellipsoid height gone wrong, or an offset), and an Air 2 writes
``[altitude: 27.3]`` 200 m above sea level (a height above its take-off). Taken as
written, either puts every camera over 100 m below the ground.

So where a ground elevation is known (``--ground-elevation M``, a DEM), the absolute
altitudes are checked against it, and against the relative altitude where the file has
one: the take-off that ``abs - rel`` implies lies within :data:`PLAUSIBLE_TAKEOFF_OFFSET_M`
of the ground (a take-off from a roof, a bank or a road above the mapped ground), and
the camera stays above the ground. Where they do not hold, the height that does is used
and a note names the file, the keys and the numbers.
"""

from __future__ import annotations

import numpy as np

from geo.telemetry.track import Track

#: How far (m) a take-off may lie above or below the ground whose elevation is given:
#: a roof, a bank, a road on a dike. Farther, and the absolute altitude is taken as wrong.
PLAUSIBLE_TAKEOFF_OFFSET_M = 30.0
#: How a note whose heights gave way to heights above the take-off ends, before the
#: ground elevation given (the map adds how sure that elevation is after it).
TAKEOFF_ON_THE_GROUND = "the take-off on the ground at"
#: How far (m) below the ground the camera may seem (barometer drift, a rounded
#: elevation) before the absolute altitude is taken as not measured from sea level.
BELOW_GROUND_TOLERANCE_M = 3.0

_GENERIC_KEY = {"rel": "the height above take-off", "abs": "the absolute altitude"}


def altitude_key(track: Track, kind: str) -> str:
    """The key the file wrote the ``kind`` altitude under (``abs_alt``), for messages."""
    text = dict(track.altitude_sources).get(kind, "")
    key = text.split(":", 1)[0] if ":" in text else ""
    return key if 0 < len(key) <= 30 else _GENERIC_KEY[kind]


def takeoff_elevation(track: Track) -> float | None:
    """The take-off's elevation that the absolute altitudes imply (median of absolute less
    relative altitude), ``None`` without both."""
    difference = track.altitudes("abs") - track.altitudes("rel")
    difference = difference[np.isfinite(difference)]
    return float(np.median(difference)) if difference.size else None


def takeoff_contradiction(track: Track, ground_elevation_m: float, ground_named: str = "the ground elevation given"
                          ) -> str | None:
    """Why the absolute altitudes of a track with both altitudes cannot be set against a
    ground at ``ground_elevation_m`` (the take-off they imply too far from it, or the
    camera below it), naming the file and the numbers; ``None`` where they hold."""
    takeoff = takeoff_elevation(track)
    if takeoff is None:
        return None
    absolute = track.altitudes("abs")
    relative = track.altitudes("rel")
    lowest = float(np.nanmin(absolute - ground_elevation_m))
    offset = takeoff - ground_elevation_m
    if abs(offset) <= PLAUSIBLE_TAKEOFF_OFFSET_M and lowest >= -BELOW_GROUND_TOLERANCE_M:
        return None
    abs_key, rel_key = altitude_key(track, "abs"), altitude_key(track, "rel")
    first = int(np.flatnonzero(np.isfinite(absolute) & np.isfinite(relative))[0])
    where = f"{-lowest:.1f} m below the ground" if lowest < 0 else f"{lowest:.1f} m above the ground at the lowest"
    side = "above" if offset > 0 else "below"
    return (f"{track.path or track.name}: {abs_key} contradicts {rel_key} and the ground: {abs_key} "
            f"{absolute[first]:.1f} m less {ground_named} ({ground_elevation_m:g} m) puts the camera {where}, "
            f"where {rel_key} says {relative[first]:.1f} m above the take-off; by {abs_key} the take-off lies "
            f"{abs(offset):.1f} m {side} the ground (at {takeoff:.1f} m), more than the "
            f"{PLAUSIBLE_TAKEOFF_OFFSET_M:g} m a take-off from a roof or a bank could; {abs_key} is not an altitude "
            f"above sea level here, so the heights are {rel_key}, {TAKEOFF_ON_THE_GROUND} "
            f"{ground_elevation_m:g} m")


def below_ground(track: Track, ground_elevation_m: float, ground_named: str = "the ground elevation given"
                 ) -> tuple[str, bool] | None:
    """For a track of absolute altitudes only: ``(why, as_takeoff)`` where they less
    ``ground_elevation_m`` put the camera below the ground over most of the track;
    ``as_takeoff`` where the file's altitude key is one whose zero differs between
    drones (a DJI ``[altitude: ..]``), so the altitudes are heights above the take-off.
    ``None`` where the camera stays above the ground."""
    from geo.telemetry.srt import ZERO_UNSTATED

    absolute = track.altitudes("abs")
    above = absolute[np.isfinite(absolute)] - ground_elevation_m
    if not above.size or float(np.median(above)) >= -BELOW_GROUND_TOLERANCE_M:
        return None
    as_takeoff = dict(track.altitude_sources).get("abs") in ZERO_UNSTATED
    key = altitude_key(track, "abs")
    said = (f"{track.path or track.name}: {key} {float(np.nanmin(absolute)):.1f} to {float(np.nanmax(absolute)):.1f} "
            f"m less {ground_named} ({ground_elevation_m:g} m) puts the camera {-float(np.median(above)):.1f} m below "
            "the ground")
    if as_takeoff:
        return (said + f"; this drone's {key} is a height above the take-off (an Air 2's is), so the heights are "
                f"{key} as written, {TAKEOFF_ON_THE_GROUND} {ground_elevation_m:g} m"), True
    return (said + f": is the ground elevation right? ({key} is taken as written; frames with the camera below "
            "the ground are not placed)"), False


def implausible_takeoff_note(track: Track) -> str | None:
    """A note for ``damagemap telemetry`` where the absolute altitudes put the take-off
    far below sea level (more than :data:`PLAUSIBLE_TAKEOFF_OFFSET_M`), which they cannot
    be measured from."""
    takeoff = takeoff_elevation(track)
    if takeoff is None or takeoff >= -PLAUSIBLE_TAKEOFF_OFFSET_M:
        return None
    abs_key, rel_key = altitude_key(track, "abs"), altitude_key(track, "rel")
    return (f"{abs_key} less {rel_key} puts the take-off at {takeoff:.1f} m, {-takeoff:.0f} m below sea level: "
            f"{abs_key} is not an altitude above sea level here (an ellipsoid height gone wrong, or an offset); the "
            f"map takes the heights from {rel_key}, also with --ground-elevation M or a DEM")


__all__ = ["BELOW_GROUND_TOLERANCE_M", "PLAUSIBLE_TAKEOFF_OFFSET_M", "TAKEOFF_ON_THE_GROUND", "altitude_key", "below_ground",
           "implausible_takeoff_note", "takeoff_contradiction", "takeoff_elevation"]
