"""Geometries that cross the antimeridian (180° longitude), as GIS files need them.

A flight over Fiji or Tonga can cross 180°: a UTM frame's east-west metres turn into
longitudes that jump from +179.9999 to -179.9999 there. Drawn as they are, a polygon or a
line spans the whole world (and a polygon made valid by GEOS fails), so geometries are
unwrapped to continuous longitudes first and then split at 180° into parts each within
-180..180 (RFC 7946 section 3.1.9). Points are only brought back into -180..180.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.affinity import translate
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

#: The world, and the two worlds beside it that an unwrapped geometry can reach into.
_WORLD = box(-180.0, -90.0, 180.0, 90.0)
_EAST = box(180.0, -90.0, 540.0, 90.0)
_WEST = box(-540.0, -90.0, -180.0, 90.0)


def unwrap_longitudes(lon: np.ndarray, centre: float) -> np.ndarray:
    """``lon`` (degrees) as the longitudes nearest ``centre``: continuous across 180°
    (179.9999 and -179.9999 become 179.9999 and 180.0001 around 180)."""
    lon = np.asarray(lon, dtype=np.float64)
    return centre + (np.mod(lon - centre + 180.0, 360.0) - 180.0)


def display_longitudes(lon: np.ndarray, centre: float) -> np.ndarray:
    """``lon`` (degrees) moved by 360° where it is more than 180° from ``centre``, and
    exactly as it is elsewhere: for drawing a flight across 180° in one place (Leaflet
    and a flat plane take 180.0001), never for a file (those stay within -180..180)."""
    lon = np.asarray(lon, dtype=np.float64)
    return np.where(np.abs(lon - centre) > 180.0, unwrap_longitudes(lon, centre), lon)


def central_longitude(lon: np.ndarray) -> float:
    """The median of ``lon`` (degrees) taken around the circle: a flight across 180° has
    its centre there, not at 0° (the plain median of +179.9 and -179.9)."""
    lon = np.asarray(lon, dtype=np.float64)
    if lon.size == 0:
        raise ValueError("no longitude")
    centre = float(np.median(unwrap_longitudes(lon, float(lon.flat[0]))))
    return float(unwrap_longitudes(np.array([centre]), 0.0)[0])


def crosses_antimeridian(geometry: BaseGeometry) -> bool:
    """Whether the longitudes of ``geometry`` jump across 180° (more than 180° apart)."""
    if geometry is None or geometry.is_empty:
        return False
    west, _, east, _ = geometry.bounds
    return east - west > 180.0 or west < -180.0 or east > 180.0


def antimeridian_safe(geometry: BaseGeometry | None) -> BaseGeometry | None:
    """``geometry`` with longitudes within -180..180: a point wrapped back; a line or a
    polygon that crosses 180° unwrapped around its first coordinate and split there
    (a Multi geometry of the parts); anything else as it is."""
    if geometry is None or not crosses_antimeridian(geometry):
        return geometry
    if geometry.geom_type in ("Point", "MultiPoint"):
        return shapely.transform(geometry, lambda xy: np.column_stack([unwrap_longitudes(xy[:, 0], 0.0), xy[:, 1]]))
    centre = float(shapely.get_coordinates(geometry)[0, 0])
    continuous = shapely.transform(
        geometry, lambda xy: np.column_stack([unwrap_longitudes(xy[:, 0], centre), xy[:, 1]]))
    if not continuous.is_valid:
        continuous = shapely.make_valid(continuous)
    parts = [continuous.intersection(_WORLD), translate(continuous.intersection(_EAST), xoff=-360.0),
             translate(continuous.intersection(_WEST), xoff=360.0)]
    pieces = [piece for part in parts if not part.is_empty for piece in getattr(part, "geoms", [part])]
    polygons = [orient(p, 1.0) for p in pieces if p.geom_type == "Polygon"]  # exteriors counter-clockwise
    lines = [p for p in pieces if p.geom_type == "LineString"]
    if polygons and geometry.geom_type in ("Polygon", "MultiPolygon"):
        return shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]
    if lines and geometry.geom_type in ("LineString", "MultiLineString", "LinearRing"):
        return shapely.MultiLineString(lines) if len(lines) > 1 else lines[0]
    return shapely.GeometryCollection(pieces)


__all__ = ["antimeridian_safe", "central_longitude", "crosses_antimeridian", "display_longitudes",
           "unwrap_longitudes"]
