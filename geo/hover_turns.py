"""Where a hovering drone looked, from the video: its turns read from the image motion.

Telemetry without a heading (a GPX, the SRT of a Mini or a Mavic Pro) gives the camera's
heading from the direction of travel (``geo.sync``); while the drone hovers there is none,
and the pilot may turn it to look anywhere, so those frames are not placed. The video
still shows the turn: a camera pitched ``p`` below the horizon that turns at ``w``
(radians a second, clockwise seen from above) slides the scene at its centre sideways at
``-f cos(p) w`` pixels a second (``f``: the focal length in pixels) and rotates the
image at ``-sin(p) w``. :func:`turn_rate_deg_s` reads ``w`` from both (``engine.motion``
measures them; a weighted least-squares blend), from the rotation alone when the field of
view is not known (one estimated from the image flow was 69 degrees on a rendered 84-degree
camera, and turned a 90-degree turn into 65), and :func:`turns_from_motion` sums it into
the angle turned. :func:`headings_while_still` then starts from the heading the drone had
when it stopped (its bearing of travel) and adds the turn; where it flew on after the
hover, the bearing it left on must agree with where the turns say it ended (within
:data:`MAX_CLOSURE_DEG`; the difference is spread over the hover, which takes out a
field of view or a pitch a little off), else the hover stays unplaced.

The turns are kept in the project settings, a stretch of readable motion at a time (a
pair where too few features were followed ends one): ``(start, step, d1, d2, ...)``, the
degrees turned ``k`` steps after ``start`` (video seconds). No torch here: the motion
comes as arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: How sure one pair's sideways motion is (pixels a second of a 320-pixel-wide frame) and
#: its in-image rotation (degrees a second): the weights of the blend.
DX_SIGMA_PX_S = 0.5
ROTATION_SIGMA_DEG_S = 0.3
#: Turns are kept this far either side of a hover (seconds): a clock offset changed by a
#: few seconds after they were read still finds them.
MARGIN_S = 5.0
#: Where the drone flies on after the hover, the bearing it leaves on and the heading the
#: turns end at may differ by this much (degrees); more and the hover stays unplaced.
MAX_CLOSURE_DEG = 25.0
#: How far off a heading the turns give may be (one sigma), as a share of the angle turned
#: since the nearest bearing it is anchored on: on rendered flights the blend came within
#: 2-7% of a 90-degree turn, the rotation alone with a pitch read from the flow within 20%.
TURN_SIGMA_SHARE = 0.1

#: stretches of ``(start video seconds, step seconds, degrees after 1 step, after 2, ...)``
Turns = tuple[tuple[float, ...], ...]


def turn_rate_deg_s(dx_px_s: np.ndarray, rotation_deg_s: np.ndarray, width_px: int, *, pitch_deg: float,
                    hfov_deg: float | None) -> np.ndarray:
    """The camera's turn rate (degrees a second, clockwise seen from above) that best
    explains the sideways motion at the frame centre and the in-image rotation (NaN where
    neither is known); ``hfov_deg`` ``None`` (not known): the rotation alone."""
    if hfov_deg is None:
        dx_px_s = np.full(len(np.atleast_1d(dx_px_s)), np.nan)
        hfov_deg = 84.0  # unused: no sideways motion enters
    focal = width_px / 2.0 / math.tan(math.radians(hfov_deg) / 2.0)
    depression = math.radians(min(max(-pitch_deg, 1.0), 90.0))
    # per radian a second of turn: the centre's sideways slide and the image's rotation
    slide, spin = -focal * math.cos(depression), -math.sin(depression)
    dx_sigma = DX_SIGMA_PX_S * width_px / 320.0
    rot_sigma = math.radians(ROTATION_SIGMA_DEG_S)
    dx = np.asarray(dx_px_s, dtype=np.float64)
    rot = np.radians(np.asarray(rotation_deg_s, dtype=np.float64))
    w_dx = np.where(np.isfinite(dx), (slide / dx_sigma) ** 2, 0.0)
    w_rot = np.where(np.isfinite(rot), (spin / rot_sigma) ** 2, 0.0)
    total = w_dx + w_rot
    num = (w_dx * np.where(np.isfinite(dx), dx / slide, 0.0) + w_rot * np.where(np.isfinite(rot), rot / spin, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.degrees(np.where(total > 0, num / np.where(total > 0, total, 1.0), np.nan))


def turns_from_motion(t_s: np.ndarray, rate_deg_s: np.ndarray, valid: np.ndarray,
                      keep: Sequence[tuple[float, float]] | None = None) -> Turns:
    """The angle turned, summed over each stretch of consecutive readable motion pairs
    (see the module docstring for the form). ``t_s`` are the pairs' middles
    (``engine.motion.ImageMotion.t_s``, evenly spaced); ``keep``: only the pairs inside
    these ``(start, end)`` spans (the hovers, with a margin)."""
    t = np.asarray(t_s, dtype=np.float64)
    if len(t) < 2:
        return ()
    step = float(np.median(np.diff(t)))
    ok = np.asarray(valid, dtype=bool) & np.isfinite(rate_deg_s)
    span_of = np.full(len(t), -1)
    if keep is not None:
        for number, (start, end) in enumerate(keep):
            span_of[(t - step / 2 >= start - 1e-6) & (t + step / 2 <= end + 1e-6)] = number
        ok &= span_of >= 0
    stretches: list[tuple[float, ...]] = []
    current: list[float] = []
    turned = 0.0
    for k in range(len(t)):
        joins = ok[k] and current and ok[k - 1] and span_of[k] == span_of[k - 1]
        if current and not joins:
            stretches.append(tuple(current))
            current = []
        if not ok[k]:
            continue
        if not current:
            current, turned = [round(float(t[k] - step / 2), 3), round(step, 4)], 0.0
        turned += float(rate_deg_s[k]) * step
        current.append(round(turned, 2))
    if current:
        stretches.append(tuple(current))
    return tuple(stretches)


def hover_spans(t_s: np.ndarray, still: np.ndarray, *, margin_s: float = MARGIN_S) -> list[tuple[float, float]]:
    """``(start, end)`` of each run of ``still`` times, widened by ``margin_s`` (merged
    where they meet)."""
    spans: list[tuple[float, float]] = []
    for first, last in still_runs(t_s, still):
        start, end = first - margin_s, last + margin_s
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def still_runs(t_s: np.ndarray, still: np.ndarray) -> list[tuple[float, float]]:
    """``(first, last)`` times of each run of ``still`` (``t_s`` sorted)."""
    t = np.asarray(t_s, dtype=np.float64)
    return [(float(t[k]), float(t[j])) for k, j in _runs(still)]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` indices of each run of True in ``mask``."""
    flags = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(flags.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def _stretches(turns: Turns) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each stretch as its sample times and degrees turned (0 at its start)."""
    out = []
    for stretch in turns:
        start, step, degrees = stretch[0], stretch[1], stretch[2:]
        if step > 0 and degrees:
            out.append((start + step * np.arange(len(degrees) + 1), np.concatenate([[0.0], degrees])))
    return out


def _turn_between(stretches: list[tuple[np.ndarray, np.ndarray]], a: float, b: float) -> float | None:
    """Degrees turned from ``a`` to ``b`` within one stretch covering both (``None``: none)."""
    for t, deg in stretches:
        if t[0] - 1e-6 <= min(a, b) and max(a, b) <= t[-1] + 1e-6:
            return float(np.interp(b, t, deg) - np.interp(a, t, deg))
    return None


def _wrap(degrees: float) -> float:
    return (degrees + 180.0) % 360.0 - 180.0


def headings_while_still(t_s: np.ndarray, hovers: Sequence[tuple[float, float]], moving_t_s: np.ndarray,
                         moving_bearing_deg: np.ndarray, turns: Turns, *,
                         reach_s: float = 1.0) -> tuple[np.ndarray, np.ndarray, int]:
    """The heading (grid degrees) the turns give at the times ``t_s`` in and around each
    hover (``hovers``: the ``(first, last)`` times of each run of the track's still
    samples, widened by ``reach_s``; the track's, not the times asked for, so a single
    time in a hover is anchored where the whole hover is), NaN elsewhere and where they
    do not; how far off each may be (one sigma, degrees: :data:`TURN_SIGMA_SHARE` of
    the angle turned since the nearer anchor; 0 where no heading is given); and how many
    hovers were left unplaced because the turns disagreed with the way the drone flew on
    (by more than :data:`MAX_CLOSURE_DEG`).

    A hover is anchored ``reach_s`` before it on the bearing of travel there
    (``moving_t_s``, ``moving_bearing_deg``: the track's samples where it travelled,
    sorted; the stillness is judged over ``reach_s`` either side, so the drone was
    already slowing, and maybe turning, at the first still time), and where the drone
    flew on, checked and corrected ``reach_s`` after it; a hover at the start of the
    video is anchored on the bearing it left on.
    """
    t = np.asarray(t_s, dtype=np.float64)
    heading = np.full(len(t), np.nan)
    sigma = np.zeros(len(t))
    stretches = _stretches(turns)
    if not stretches or not len(moving_t_s):
        return heading, sigma, 0
    unwrapped = np.degrees(np.unwrap(np.radians(moving_bearing_deg)))

    def bearing_at(x: float) -> float | None:
        if not moving_t_s[0] <= x <= moving_t_s[-1]:
            return None
        return float(np.interp(x, moving_t_s, unwrapped)) % 360.0

    refused = 0
    for first, last in hovers:
        run = np.flatnonzero((t >= first - reach_s) & (t <= last + reach_s))
        if not len(run):
            continue
        begin, end = first - reach_s, last + reach_s
        start_bearing, end_bearing = bearing_at(begin), bearing_at(end)
        if start_bearing is not None and _turn_between(stretches, begin, last) is None:
            start_bearing = None
        if end_bearing is not None and _turn_between(stretches, first, end) is None:
            end_bearing = None
        since = np.array([_turn_between(stretches, begin, float(t[i])) or 0.0 for i in run])
        until = np.array([_turn_between(stretches, float(t[i]), end) or 0.0 for i in run])
        if start_bearing is not None:
            values = start_bearing + since
            turned = _turn_between(stretches, begin, end) if end_bearing is not None else None
            if end_bearing is not None and turned is not None:
                closure = _wrap(end_bearing - (start_bearing + turned))
                if abs(closure) > MAX_CLOSURE_DEG:
                    refused += 1
                    continue
                values = values + closure * (t[run] - begin) / (end - begin)
                off = np.minimum(np.abs(since), np.abs(until))
            else:
                off = np.abs(since)
        elif end_bearing is not None:
            values, off = end_bearing - until, np.abs(until)
        else:
            continue
        heading[run] = values % 360.0
        sigma[run] = TURN_SIGMA_SHARE * off
    return heading, sigma, refused


__all__ = ["MAX_CLOSURE_DEG", "TURN_SIGMA_SHARE", "Turns", "headings_while_still", "hover_spans", "still_runs", "turn_rate_deg_s", "turns_from_motion"]
