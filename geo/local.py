"""The local metric frame: a UTM zone chosen from the data, via pyproj.

Every metric computation (projection, distances, fusion, heatmap) happens in UTM grid
metres relative to an origin near the flight, so numbers stay small. Angles measured
from true north (drone and gimbal yaw) are turned into grid azimuths with the meridian
convergence at the origin (under 3 degrees inside a zone, but enough to move a point
100 m away by several metres).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pyproj.database import CRSInfo

WGS84 = "EPSG:4326"


class BeyondUtm(ValueError):
    """A place nearer a pole than the UTM zones reach (80 degrees south, 84 north): the
    maps are placed in UTM metres, so nothing there can be mapped."""

    def __init__(self, lat_deg: float) -> None:
        self.lat_deg = lat_deg
        where = f"{abs(lat_deg):.4f}° {'S' if lat_deg < 0 else 'N'}"
        super().__init__(f"the flight is at {where}, nearer the pole than the UTM zones reach (80° S to 84° N), in "
                         "which damagemap places its maps: it cannot map a flight there")


def utm_crs_for(lon_deg: float, lat_deg: float):
    """The WGS 84 / UTM zone CRS containing a point, chosen as geopandas'
    ``estimate_utm_crs`` does (pyproj's ``query_utm_crs_info``)."""
    from pyproj import CRS

    return CRS.from_epsg(_utm_epsg_for(float(lon_deg), float(lat_deg)))


@lru_cache(maxsize=256)
def _utm_epsg_for(lon_deg: float, lat_deg: float) -> int:
    """The zone's EPSG code, kept: a project's map asks it of the same point on every build."""
    if -180.0 <= lon_deg <= 180.0 and -90.0 <= lat_deg <= 90.0:
        infos = [info for info in utm_zones() if _within(info.area_of_use, lon_deg, lat_deg)]
    else:  # off the globe (or NaN): whatever pyproj makes of it
        from pyproj.aoi import AreaOfInterest
        from pyproj.database import query_utm_crs_info

        infos = query_utm_crs_info(
            datum_name="WGS 84",
            area_of_interest=AreaOfInterest(lon_deg, lat_deg, lon_deg, lat_deg),
        )
    if not infos:  # polar regions: no UTM zone
        raise BeyondUtm(lat_deg)
    return int(infos[0].code)


@lru_cache(maxsize=1)
def utm_zones() -> tuple[CRSInfo, ...]:
    """Every WGS 84 / UTM zone with its area of use, in the order pyproj's database query
    lists them: asked once, where each point was a database query of its own (a package
    export asks for three: the map's frame, the footprints', the area filmed's)."""
    from pyproj.database import query_utm_crs_info

    return tuple(query_utm_crs_info(datum_name="WGS 84"))


def _within(area, lon_deg: float, lat_deg: float) -> bool:  # noqa: ANN001 - pyproj AreaOfUse
    """Whether a point lies in a zone's area of use, its edges included, as the database's
    area-of-interest query has it (a point on the edge of two zones is in both, the first
    listed chosen)."""
    return area.west <= lon_deg <= area.east and area.south <= lat_deg <= area.north


@dataclass(frozen=True, eq=False)
class LocalFrame:
    """UTM grid metres relative to ``origin`` (a point near the flight).

    ``to_local``/``to_lonlat`` convert arrays; ``grid_azimuth_deg`` turns a true-north
    azimuth into a grid azimuth. Transformers are built once (``always_xy=True``:
    lon/lat and easting/northing order).
    """

    crs_name: str
    origin_easting_m: float
    origin_northing_m: float
    convergence_deg: float
    _to_utm: object = field(repr=False)
    _to_lonlat: object = field(repr=False)

    @classmethod
    def around(cls, lon_deg: float, lat_deg: float) -> LocalFrame:
        from pyproj import Transformer

        crs = utm_crs_for(lon_deg, lat_deg)
        to_utm = Transformer.from_crs(WGS84, crs, always_xy=True)
        to_lonlat = Transformer.from_crs(crs, WGS84, always_xy=True)
        e0, n0 = to_utm.transform(lon_deg, lat_deg)
        # True north in grid coordinates: step a little north and see where it lands.
        e1, n1 = to_utm.transform(lon_deg, lat_deg + 1e-3)
        convergence = math.degrees(math.atan2(e1 - e0, n1 - n0))
        return cls(crs.to_string(), float(e0), float(n0), convergence, to_utm, to_lonlat)

    @property
    def key(self) -> tuple[str, float, float]:
        """The frame by value, its zone and origin: what a result computed in it is kept by
        (two frames built for one flight's map are two objects, and equal in this)."""
        return self.crs_name, self.origin_easting_m, self.origin_northing_m

    @property
    def crs(self) -> str:
        """``"EPSG:326zz"`` / ``"EPSG:327zz"``."""
        return self.crs_name

    def to_local(self, lon_deg, lat_deg) -> tuple[np.ndarray, np.ndarray]:
        """Local east/north metres (UTM grid minus the origin) for lon/lat arrays."""
        e, n = self._to_utm.transform(np.asarray(lon_deg, dtype=np.float64), np.asarray(lat_deg, dtype=np.float64))
        return np.asarray(e) - self.origin_easting_m, np.asarray(n) - self.origin_northing_m

    def to_lonlat(self, east_m, north_m) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 lon/lat arrays for local east/north metres."""
        lon, lat = self._to_lonlat.transform(
            np.asarray(east_m, dtype=np.float64) + self.origin_easting_m,
            np.asarray(north_m, dtype=np.float64) + self.origin_northing_m,
        )
        return np.asarray(lon), np.asarray(lat)

    def to_utm(self, east_m, north_m) -> tuple[np.ndarray, np.ndarray]:
        """Absolute UTM easting/northing for local metres."""
        return (np.asarray(east_m, dtype=np.float64) + self.origin_easting_m,
                np.asarray(north_m, dtype=np.float64) + self.origin_northing_m)

    def grid_azimuth_deg(self, true_azimuth_deg):
        """Grid azimuth for an azimuth measured clockwise from true north."""
        return (np.asarray(true_azimuth_deg, dtype=np.float64) + self.convergence_deg) % 360.0
