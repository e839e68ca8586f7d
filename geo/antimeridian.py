"""Geometries that cross the antimeridian (180° longitude), as GIS files need them.

A flight over Fiji or Tonga can cross 180°: a UTM frame's east-west metres turn into
longitudes that jump from +179.9999 to -179.9999 there. Drawn as they are, a polygon or a
line spans the whole world (and a polygon made valid by GEOS fails), so geometries are
unwrapped to continuous longitudes first and then split at 180° into parts each within
-180..180 (RFC 7946 section 3.1.9). Points are only brought back into -180..180.
"""

from __future__ import annotations

import math

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


def bounds_around(boxes, centre: float) -> tuple[float, float, float, float]:  # noqa: ANN001 - rows of 4 numbers
    """The ``(west, south, east, north)`` of ``boxes`` (rows of the same, each under 180°
    wide) moved next to ``centre``: continuous across 180°, ``west`` within -180..180 and
    ``east`` past 180 there (179.99 to 180.01, not -180 to 180: the area, not the world)."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(boxes):
        raise ValueError("no bounds")
    west = display_longitudes(boxes[:, 0], centre)  # as they are away from 180°
    east = west + (boxes[:, 2] - boxes[:, 0])
    shift = 360.0 * np.floor((west.min() + 180.0) / 360.0)
    return (float(west.min() - shift), float(boxes[:, 1].min()), float(east.max() - shift),
            float(boxes[:, 3].max()))


def split_bounds(bounds: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    """``bounds`` (continuous, :func:`bounds_around`) as the one box, or the two either
    side of 180°, within -180..180 that cover it: what a file's spatial filter takes."""
    west, south, east, north = (float(v) for v in bounds)
    if east - west >= 360.0:
        return [(-180.0, south, 180.0, north)]
    shift = 360.0 * math.floor((west + 180.0) / 360.0)
    west, east = west - shift, east - shift
    if east <= 180.0:
        return [(west, south, east, north)]
    return [(west, south, 180.0, north), (-180.0, south, east - 360.0, north)]


def geometry_bounds(geometries, centre: float) -> tuple[float, float, float, float]:  # noqa: ANN001
    """The bounds of ``geometries`` (lon/lat, one or an array), their longitudes taken
    next to ``centre`` (:func:`bounds_around`): a polygon whose corners lie on either side
    of 180° bounded where it is, not across the world."""
    xy = shapely.get_coordinates(geometries)
    if not len(xy):
        raise ValueError("no coordinates")
    lon = display_longitudes(xy[:, 0], centre)
    return bounds_around([[lon.min(), xy[:, 1].min(), lon.max(), xy[:, 1].max()]], centre)


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


__all__ = ["antimeridian_safe", "bounds_around", "central_longitude", "crosses_antimeridian", "display_longitudes",
           "geometry_bounds", "split_bounds", "unwrap_longitudes"]
