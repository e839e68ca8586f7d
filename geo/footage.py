"""Whether a flight was flown like the footage its detector learnt from.

A detector finds damage at the pixel sizes it was trained on. Flown much higher, the
same roof is a few pixels and the damage on it is missed; flown much lower, it is larger
than anything the detector saw. A map made from such a flight says so in its notes,
from the heights the telemetry gives and the range the weights' metadata states
(``"footage": {"altitude_above_ground_m": [low, high]}`` in the weights' JSON).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

#: How far outside the trained range (as a share of its bound) a flight may be unnoted.
HEIGHT_TOLERANCE = 0.1


def trained_height_range(metadata: Mapping[str, Any]) -> tuple[float, float] | None:
    """``(low, high)`` metres above the ground from a weights' metadata, or ``None`` when
    it states none (or states something that is not two increasing non-negative numbers)."""
    footage = metadata.get("footage")
    if not isinstance(footage, Mapping):
        return None
    value = footage.get("altitude_above_ground_m")
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    try:
        low, high = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low < high):
        return None
    return low, high


#: Below this median height above the ground (metres) over the analysed frames, the drone
#: the telemetry tells of was on the ground or taking off: not this video's flight, or
#: not at this time.
GROUNDED_M = 5.0


def flight_height_note(heights_m: Iterable[float], trained_m: tuple[float, float], *,
                       too_high_advice: str = "") -> str | None:
    """A note when the flight's median height above the ground (over the analysed
    frames) lies outside ``trained_m`` by more than :data:`HEIGHT_TOLERANCE`; else ``None``.
    ``too_high_advice`` ends the note of a flight flown too high (what to do about it)."""
    heights = [h for h in heights_m if math.isfinite(h)]
    if not heights:
        return None
    median = statistics.median(heights)
    low, high = trained_m
    trained = f"the {low:g}-{high:g} m of the footage the detector was trained on"
    if median > high * (1.0 + HEIGHT_TOLERANCE):
        return (f"the drone flew about {median:.0f} m above the ground, higher than {trained}: "
                "damage is smaller in the frame, and more of it is missed" + too_high_advice)
    if median < GROUNDED_M:
        return (f"the telemetry puts the drone about {median:.0f} m above the ground as the frames were filmed: "
                "on the ground or taking off, not filming a damage survey. The log is probably another flight's, or "
                "its clock is offset from the video's, and the frames are placed wrongly (few or no sites); check "
                "the time offset (damagemap telemetry LOG --video VIDEO) or give the video's own log")
    if median < low * (1.0 - HEIGHT_TOLERANCE):
        return (f"the drone flew about {median:.0f} m above the ground, lower than {trained}: "
                "damage is larger in the frame than the detector has seen, and may be missed or split")
    return None


__all__ = ["GROUNDED_M", "HEIGHT_TOLERANCE", "flight_height_note", "trained_height_range"]
