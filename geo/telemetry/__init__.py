"""Flight telemetry: GPX, DJI SRT and CSV flight logs read into a :class:`Track`."""

from geo.telemetry.read import find_telemetry_beside, read_telemetry
from geo.telemetry.track import Gap, TimeBase, Track

__all__ = ["Gap", "TimeBase", "Track", "find_telemetry_beside", "read_telemetry"]
