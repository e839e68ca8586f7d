"""The outline of the ground a flight's frames saw, as the maps draw it ("Ground seen",
"Area filmed").

The union of the frames' camera footprints is saw-toothed: each frame's far edge stands
a little ahead of the one before (the drone moved between them), so the union's edge is
a row of teeth as many as the frames, a few metres deep. Drawn, that is noise; counted,
it is hundreds of vertices. :func:`clean_outline` opens the union (``buffer(-d)`` then
``buffer(+d)``, round joins: the teeth and every corner narrower than ``2 d`` go) and
simplifies it (``tolerance_m``). Opening only takes ground away, so the outline claims
no ground the frames did not see, but for the simplification's ``tolerance_m``; what it
takes is the teeth's tips, at the edge of the frames, where they saw least.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.last_few import KeptByMembers

#: how far (metres) the simplified outline may stray from the opened union, either way
OUTLINE_TOLERANCE_M = 1.0
#: the opening's radius, as a share of a footprint's size (the square root of its area)
OPENING_SHARE = 0.05
#: the least and most opening radius (metres): the teeth are a few metres apart, whatever the footprint
OPENING_BOUNDS_M = (0.5, 8.0)
#: an opening that takes more than this share of the union's area (a footprint narrower than
#: the opening) is not used: the union is only simplified
MOST_AREA_TAKEN = 0.05
#: :func:`ground_seen_lonlat` by the footprints it was given (each the very object)
_OUTLINES = KeptByMembers(4)


def opening_radius_m(footprints: Sequence[Any]) -> float:
    """The opening radius for footprints (shapely polygons in metres): a share of a
    typical footprint's size, within :data:`OPENING_BOUNDS_M`."""
    areas = [p.area for p in footprints if not p.is_empty]
    if not areas:
        return OPENING_BOUNDS_M[0]
    low, high = OPENING_BOUNDS_M
    return float(np.clip(OPENING_SHARE * np.sqrt(np.median(areas)), low, high))


def clean_outline(seen: Any, radius_m: float, *, tolerance_m: float = OUTLINE_TOLERANCE_M) -> Any:
    """``seen`` (the union of footprints, shapely, in metres) without its saw teeth: opened
    by ``radius_m`` and simplified to ``tolerance_m`` (see the module docstring). An empty
    ``seen`` is returned as it is."""
    if seen.is_empty:
        return seen
    opened = seen.buffer(-radius_m).buffer(radius_m)
    if opened.is_empty or opened.area < (1.0 - MOST_AREA_TAKEN) * seen.area:
        opened = seen
    return opened.simplify(tolerance_m)


def ground_seen(footprints: Sequence[Any]) -> Any:
    """The clean outline (:func:`clean_outline`) of the union of ``footprints`` (shapely
    polygons in metres, made valid here)."""
    import shapely

    valid = [p if p.is_valid else p.buffer(0) for p in footprints]
    valid = [p for p in valid if not p.is_empty]
    if not valid:
        from shapely.geometry import Polygon

        return Polygon()
    return clean_outline(shapely.union_all(valid), opening_radius_m(valid))


def ground_seen_lonlat(footprints_lonlat: Sequence[Any]) -> Any:
    """:func:`ground_seen` of footprints in WGS84 (lon/lat), in WGS84: worked out in
    metres about their middle. Footprints across 180 degrees (each jumping from 179.9999
    to -179.9999, or split there) are worked out about their middle around the circle,
    and the outline is given with longitudes next to it (past 180 where it crosses, as
    :func:`geo.antimeridian.antimeridian_safe` splits for a file and a map draws it).
    Kept by the footprints themselves: an export's web map, KMZ and print map each draw
    the outline of the same camera footprints."""
    return _OUTLINES.get_or_compute(footprints_lonlat, (), lambda: _ground_seen_lonlat(footprints_lonlat))


def clear_cache() -> None:
    """Forget the outlines kept (tests, benchmarks)."""
    _OUTLINES.clear()


def _ground_seen_lonlat(footprints_lonlat: Sequence[Any]) -> Any:
    import shapely

    from geo.antimeridian import central_longitude, display_longitudes, unwrap_longitudes
    from geo.local import LocalFrame

    footprints = [p for p in footprints_lonlat if not p.is_empty]
    if not footprints:
        from shapely.geometry import Polygon

        return Polygon()
    # Across 180 degrees a frame's footprint jumps from 179.9999 to -179.9999 (or is split
    # there): its vertices are placed in metres about the footprints' middle around the
    # circle, and the outline is given back next to it (180.0001), as a map draws it; a
    # flight away from 180 degrees is worked out about the middle of its box, as it is.
    coordinates = shapely.get_coordinates(footprints)
    centre = central_longitude(coordinates[:, 0])
    longitudes = display_longitudes(coordinates[:, 0], centre)
    middle = (float(longitudes.min()) + float(longitudes.max())) / 2
    if abs(middle) > 180.0:
        middle = float(unwrap_longitudes(np.array([middle]), 0.0)[0])
    local = LocalFrame.around(middle, (float(coordinates[:, 1].min()) + float(coordinates[:, 1].max())) / 2)

    def to_local(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(local.to_local(coords[:, 0], coords[:, 1]))

    def to_lonlat(coords: np.ndarray) -> np.ndarray:
        lon, lat = local.to_lonlat(coords[:, 0], coords[:, 1])
        return np.column_stack((display_longitudes(lon, centre), lat))

    outline = ground_seen([shapely.transform(p, to_local) for p in footprints])
    return shapely.transform(outline, to_lonlat)
