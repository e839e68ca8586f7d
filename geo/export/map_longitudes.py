"""Continuous longitudes for a Leaflet page: a flight across 180° drawn in one place.

A flight over Fiji has sites at 179.9999 and at -179.9999; Leaflet draws them at the two
edges of the world, the track and the heatmap across it. Leaflet takes longitudes past
180, so before the page is written every layer's longitudes are moved next to the map's
centre (-179.9999 becomes 180.0001). Done once on the finished ``folium.Map``, it covers
every layer (the flight's, the relief package's buildings and coverage, a survey's
flights) without each building it in; the GIS files are never touched and stay within
-180..180.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from geo.antimeridian import central_longitude, display_longitudes

#: The folium attributes holding ``[lat, lon]`` pairs, nested to any depth: a marker's
#: ``location``, a line's or a polygon's ``locations``, an image overlay's ``bounds``.
_LOCATED = ("location", "locations", "bounds")


def map_centre_longitude(points: Iterable[Sequence[float]]) -> float | None:
    """The central longitude (around the circle) of ``(lat, lon)`` points, ``None`` without
    any; past 180 when they straddle 180°, so that the western side stays as it is and the
    eastern one continues it (-179.9999 drawn at 180.0001)."""
    lons = np.array([float(p[1]) for p in points], dtype=np.float64)
    if not lons.size:
        return None
    centre = central_longitude(lons)
    straddles = bool(np.any(np.abs(lons - centre) > 180.0))
    return centre + 360.0 if straddles and centre < 0.0 else centre


def _moved(value, centre: float):  # noqa: ANN001, ANN202 - nested lists of [lat, lon]
    if _is_pair(value):
        lat, lon = value
        if abs(float(lon) - centre) <= 180.0:  # where display_longitudes leaves it as it is (most points)
            return [lat, lon]
        shifted = float(display_longitudes(np.array([float(lon)]), centre)[0])
        return [lat, lon if shifted == float(lon) else shifted]
    return [_moved(item, centre) for item in value]


def _is_pair(value) -> bool:  # noqa: ANN001
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float, np.floating)) for v in value))


def continuous_points(points: Iterable[Sequence[float]], centre: float) -> list[tuple[float, float]]:
    """``(lat, lon)`` points with their longitudes next to ``centre``."""
    return [(lat, lon) for lat, lon in (_moved(list(p), centre) for p in points)]


def make_longitudes_continuous(m, centre: float) -> None:  # noqa: ANN001 - a folium Map
    """Move the longitude of every point, line, polygon and image overlay on ``m`` next to
    ``centre`` (:func:`geo.antimeridian.display_longitudes`); a map away from 180° is
    left exactly as it is."""
    stack = list(m._children.values())
    while stack:
        element = stack.pop()
        for name in _LOCATED:
            value = getattr(element, name, None)
            if isinstance(value, (list, tuple)) and value:
                setattr(element, name, _moved(value, centre))
        stack.extend(getattr(element, "_children", {}).values())


__all__ = ["continuous_points", "make_longitudes_continuous", "map_centre_longitude"]
