"""Whether a log of absolute altitudes started with the drone already in the air.

A log that gives only absolute altitudes (a GPX, some DJI SRTs, a GoPro's GPS) tells the
map nothing of the ground under the drone. Without a ground elevation the map takes the
first fix as the take-off point and every height above it; that holds for a recording
started on the ground and is wrong by the whole flying height for a clip started in the
air, which is what a drone's camera usually records. Two signs give such a clip away,
and either is enough to refuse heights above the first fix:

- the drone is already moving over the ground at its first fixes (a drone on its
  take-off point does not travel at several metres a second), or
- it goes a long way from its first fix but never rises more than a few metres above
  it (a mapping flight climbs after take-off).

A log started in a hover that then climbs is taken at its word: nothing in it tells
the two apart.
"""

from __future__ import annotations

import numpy as np

#: Ground speed (m/s) over the first seconds of a log that only a flying drone has; GPS
#: noise on a drone standing still stays well under it.
AIRBORNE_SPEED_MPS = 2.0
#: The first seconds of a log looked at for it.
START_WINDOW_S = 3.0
#: Positions within this many seconds are taken together (their median) at each end.
SETTLE_S = 0.5
#: A drone that went this far (m) from its first fix and never rose :data:`MIN_CLIMB_M`
#: above it did not start on the ground.
FAR_M = 20.0
MIN_CLIMB_M = 5.0


def _speed_at_start(t: np.ndarray, east: np.ndarray, north: np.ndarray) -> float | None:
    """Ground speed over the log's first :data:`START_WINDOW_S` seconds: the distance
    between where it was in its first half second and where it was that much later, each
    a median, over the time between. Sample to sample, GPS noise and the rounding of a
    30 Hz SRT's coordinates alone look like metres a second; over seconds they do not."""
    end = np.flatnonzero(t >= START_WINDOW_S)
    if not len(end):
        end = np.flatnonzero(t >= 1.0)  # a shorter log: its last second
        if not len(end):
            return None
        later = t >= t[-1] - SETTLE_S
    else:
        later = (t >= t[end[0]]) & (t <= t[end[0]] + SETTLE_S)
    first = t <= SETTLE_S
    elapsed = float(np.median(t[later]) - np.median(t[first]))
    if elapsed <= 0.0:
        return None
    moved = np.hypot(np.median(east[later]) - np.median(east[first]), np.median(north[later]) - np.median(north[first]))
    return float(moved) / elapsed


def started_in_the_air(t_s: np.ndarray, east_m: np.ndarray, north_m: np.ndarray, above_first_m: np.ndarray,
                       outlier: np.ndarray | None = None) -> str | None:
    """Why a log with these samples (times, local east/north, altitude above the first
    fix; ``outlier``: GPS jumps to leave out) cannot have started at take-off, as words
    that finish "the log starts ...", or ``None`` when nothing says so."""
    t, east, north, above = (np.asarray(a, dtype=np.float64) for a in (t_s, east_m, north_m, above_first_m))
    keep = np.isfinite(t) & np.isfinite(east) & np.isfinite(north)
    if outlier is not None:
        keep &= ~np.asarray(outlier, dtype=bool)
    t, east, north, above = t[keep], east[keep], north[keep], above[keep]
    if len(t) < 2:
        return None
    speed = _speed_at_start(t - t[0], east, north)
    if speed is not None and speed >= AIRBORNE_SPEED_MPS:
        return f"with the drone already flying ({speed:.1f} m/s over the ground at its first fix)"
    first = t - t[0] <= SETTLE_S
    reach = float(np.max(np.hypot(east - np.median(east[first]), north - np.median(north[first]))))
    climbed = float(np.nanmax(above)) if np.isfinite(above).any() else 0.0
    if reach >= FAR_M and climbed < MIN_CLIMB_M:
        return (f"in the air (the drone went {reach:.0f} m from its first fix but never rose {MIN_CLIMB_M:g} m "
                "above it)")
    return None


__all__ = ["AIRBORNE_SPEED_MPS", "FAR_M", "MIN_CLIMB_M", "started_in_the_air"]
