"""Local ENU metres <-> WGS84 through a transverse Mercator projection centred on the origin.

A transverse Mercator with ``lat_0/lon_0`` at the origin and scale 1 is, within a few
kilometres, east/north metres from the origin (grid convergence is zero on the central
meridian and distortion is below 1e-6 here). Its PROJ string goes into ``camera.json``
so anyone can reproduce the mapping with pyproj.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyproj import CRS, Transformer


@dataclass(frozen=True)
class LocalFrame:
    lat_deg: float
    lon_deg: float
    _to_wgs84: Transformer = field(init=False, repr=False, compare=False)
    _from_wgs84: Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (-80.0 <= self.lat_deg <= 84.0 and -180.0 <= self.lon_deg <= 180.0):
            raise ValueError(f"origin {self.lat_deg}, {self.lon_deg} is outside the range a local projection supports")
        crs = CRS.from_proj4(self.proj_string)
        object.__setattr__(self, "_to_wgs84", Transformer.from_crs(crs, "EPSG:4326", always_xy=True))
        object.__setattr__(self, "_from_wgs84", Transformer.from_crs("EPSG:4326", crs, always_xy=True))

    @property
    def proj_string(self) -> str:
        return f"+proj=tmerc +lat_0={self.lat_deg:.9f} +lon_0={self.lon_deg:.9f} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"

    def to_lonlat(self, east_m: np.ndarray, north_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = self._to_wgs84.transform(np.asarray(east_m, float), np.asarray(north_m, float))
        return np.asarray(lon), np.asarray(lat)

    def to_enu(self, lon_deg: np.ndarray, lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        east, north = self._from_wgs84.transform(np.asarray(lon_deg, float), np.asarray(lat_deg, float))
        return np.asarray(east), np.asarray(north)
