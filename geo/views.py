"""Distinct views: the analysed frames that are one look at the ground.

A drone that hovers films one scene again and again: at 2 frames a second, 30 s of
hovering is 60 analysed frames of nearly the same image, and the detector judges them
alike. A false alarm on a roof in that view comes back in all of them; a damage the
detector misses there is missed in all of them. Counted frame by frame, one hover would
confirm a flickering false alarm against the passing frames that never saw it, bury a
damage that the passing frames found under the hover's misses, and call a building
"seen well" from a single look. The same holds for any analysis rate above what the
drone's motion renews: at 10 frames a second a slow drone gives several frames per look.

So the counts that weigh evidence (a site's confirmation, a building's good views) count
views, not frames. Consecutive analysed frames are one view while the camera stays
within ``same_view_fraction`` of its height above the ground (at least
``min_same_view_m``) of where the view began and its optical axis turns less than
``same_view_deg`` from the view's first frame. A drone flying at survey speed and 2
frames a second moves several metres between analysed frames, so each frame is a view of
its own, as before; a turn on the spot (yaw) gives new views.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from core.camera import CameraPose


@dataclass(frozen=True)
class ViewSettings:
    """When consecutive frames are one view (see the module docstring)."""

    same_view_fraction: float = 0.02
    min_same_view_m: float = 0.5
    same_view_deg: float = 2.0


def distinct_views(poses: Mapping[int, CameraPose], settings: ViewSettings | None = None) -> dict[int, int]:
    """Frame index -> the number of its view (0, 1, ... in frame order) for the frames
    ``poses``; frames with the same number are one look at the ground."""
    settings = settings or ViewSettings()
    max_cos = math.cos(math.radians(settings.same_view_deg))
    views: dict[int, int] = {}
    start: tuple[float, float, float] | None = None
    start_axis = (0.0, 0.0, 0.0)
    reach = 0.0
    view = -1
    for index in sorted(poses):
        pose = poses[index]
        position, axis = (pose.east_m, pose.north_m, pose.up_m), pose.optical_axis
        if (start is not None and math.dist(position, start) <= reach
                and sum(a * b for a, b in zip(axis, start_axis)) >= max_cos):
            views[index] = view
            continue
        view += 1
        start, start_axis = position, axis
        reach = max(settings.min_same_view_m, settings.same_view_fraction * max(pose.up_m, 0.0))
        views[index] = view
    return views


def count_distinct(frames: Iterable[int], views: Mapping[int, int]) -> int:
    """How many distinct views ``frames`` hold (a frame without a view counts alone)."""
    return len({views.get(frame, ("frame", frame)) for frame in frames})


#: A run of consecutive frames of one view is a hover once it lasts this long (seconds of
#: video): the drone moved less than the view's reach in that time. Whatever the interval
#: a hover is thinned to, so that a longer interval never analyses more of a hover.
HOVER_MIN_S = 2.0


def frames_a_view_repeats(views: Mapping[int, int], times_s: Mapping[int, float], *, every_s: float) -> set[int]:
    """The frames of a held view that only repeat it: in each run of consecutive frames
    (``times_s``: the frames to analyse) of one view that lasts at least
    :data:`HOVER_MIN_S` of video (a hover), each frame less than ``every_s`` after the
    last frame kept; the run's first frame is always kept, so an interval longer than the
    hover keeps that frame alone. ``every_s`` 0 or less: none.

    A hover analysed at the full rate spends most of its time on copies of one image, and
    what the map counts of it is one view (see the module docstring); a frame every
    ``every_s`` of it still gives the detector several tries at what the view shows.
    Shorter views (a slow pass analysed at a high rate) are left whole, as the rate asked.
    Frames without a view (not placed: where the camera looked is unknown) are never in
    the result, and a view they interrupt is not held across them.
    """
    if every_s <= 0:
        return set()
    runs: list[list[int]] = []
    current: int | None = None
    for index in sorted(times_s):
        view = views.get(index)
        if view is None:
            current = None
            continue
        if view != current:
            runs.append([])
            current = view
        runs[-1].append(index)
    repeats: set[int] = set()
    for held in runs:
        if times_s[held[-1]] - times_s[held[0]] < HOVER_MIN_S:
            continue
        kept_at = times_s[held[0]]
        for index in held[1:]:
            if times_s[index] - kept_at < every_s:
                repeats.add(index)
            else:
                kept_at = times_s[index]
    return repeats


#: A view of at least this many analysed frames is a hover worth naming in the map's notes
#: (2 s at the usual 2 frames a second).
NAMED_HOVER_FRAMES = 4


def hovers(views: Mapping[int, int], times_s: Mapping[int, float], *,
           min_frames: int = NAMED_HOVER_FRAMES) -> list[tuple[float, float, int]]:
    """``(first, last, frames)`` of each view that holds at least ``min_frames`` analysed
    frames (video seconds; in time order): where the drone hovered, or crept."""
    frames: dict[int, list[int]] = {}
    for index, view in views.items():
        frames.setdefault(view, []).append(index)
    spans = [(times_s[min(f)], times_s[max(f)], len(f)) for f in frames.values()
             if len(f) >= min_frames and all(i in times_s for i in (min(f), max(f)))]
    return sorted(spans)


def describe_hovers(spans: Sequence[tuple[float, float, int]], *, listed: int = 3) -> str | None:
    """One line for a map's notes naming the hovers, the ``listed`` longest in time order
    (``None`` without any)."""
    if not spans:
        return None
    longest = sorted(sorted(spans, key=lambda span: -span[2])[:listed])
    named = ", ".join(f"{first:.0f}-{last:.0f} s ({count} frames)" for first, last, count in longest)
    more = f" and {len(spans) - listed} shorter" if len(spans) > listed else ""
    return (f"the drone hovered at {named}{more}: the frames of a hover count as one look at the ground, "
            "in a site's confirmation and a building's coverage alike")
