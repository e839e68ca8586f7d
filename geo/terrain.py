"""The ground as a DEM/DSM instead of a flat plane: a GeoTIFF read with rasterio, sampled
in the map's local frame, and rays put on it.

Without a DEM the ground is the plane at take-off height (``z = 0`` of the local frame).
With one, each detection's ray is followed until it meets the terrain
(:meth:`LocalTerrain.intersect`: a march at the DEM's resolution, then bisection), and
``geo.observe`` places it there. Elevations are read in the DEM's own CRS (any CRS
pyproj knows) and bilinearly interpolated; the local ``z = 0`` is the elevation
``reference_m`` (:func:`reference_elevation` picks it from the telemetry).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import GeoreferenceError
from geo.local import LocalFrame
from geo.telemetry.altitude_check import takeoff_contradiction

#: Rays are followed this far at most (metres along the ray).
MAX_RAY_M = 1500.0


def _refuse_what_is_not_heights(path: Path, src) -> None:  # noqa: ANN001 - a rasterio dataset
    """Refuse a raster that is not a single band of heights (an RGB orthophoto given as
    a DEM would otherwise be read as terrain from its red band).

    Raises
    ------
    GeoreferenceError
        Naming the file and what it holds.
    """
    from rasterio.enums import ColorInterp

    colour = {ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha, ColorInterp.palette}
    if src.count == 1 and src.colorinterp[0] not in colour:
        return
    kinds = sorted(set(src.dtypes))
    values = " and ".join(_value_kind(kind) for kind in kinds)
    bands = f"{src.count} band{'s' if src.count != 1 else ''}"
    what = f"{bands} of {values} values" + (" (a colour palette)" if src.count == 1 else "")
    raise GeoreferenceError(f"{path}: not an elevation model: {what}; give a single-band DEM (GeoTIFF of heights)")


def _value_kind(dtype: str) -> str:
    """``"8-bit"``, ``"16-bit"``, ``"32-bit float"``... for a raster's data type."""
    kind = np.dtype(dtype)
    bits = f"{kind.itemsize * 8}-bit"
    return f"{bits} float" if kind.kind == "f" else bits


@dataclass(frozen=True, eq=False)
class Terrain:
    """A single-band elevation raster (metres): ``data[row, col]`` (NaN where no data),
    its affine ``transform`` (pixel corner -> CRS coordinates) and CRS (WKT)."""

    path: Path | None
    data: np.ndarray = field(repr=False)
    transform: tuple[float, float, float, float, float, float]  # a, b, c, d, e, f (GDAL order via affine)
    crs_wkt: str = field(repr=False)
    resolution_m: float = 1.0

    @classmethod
    def open(cls, path: str | Path) -> Terrain:
        """Read a GeoTIFF (or any raster GDAL reads) DEM/DSM.

        Raises
        ------
        GeoreferenceError
            Naming the file: missing, unreadable, without a CRS, or holding no elevation.
        """
        import rasterio
        from rasterio.errors import RasterioError

        path = Path(path)
        if not path.is_file():
            raise GeoreferenceError(f"{path}: elevation model not found")
        try:
            with rasterio.open(path) as src:
                _refuse_what_is_not_heights(path, src)
                if src.crs is None:
                    raise GeoreferenceError(f"{path}: the elevation model has no coordinate reference system")
                data = src.read(1, masked=True).astype(np.float64).filled(np.nan)
                transform = src.transform
                crs_wkt = src.crs.to_wkt()
                units = src.crs.linear_units if src.crs.is_projected else "degree"
        except RasterioError as exc:
            raise GeoreferenceError(f"{path}: not a readable elevation model: {exc}") from None
        if not np.isfinite(data).any():
            raise GeoreferenceError(f"{path}: the elevation model holds no elevation values")
        pixel = math.sqrt(abs(transform.a * transform.e - transform.b * transform.d))
        resolution = pixel * 111_000.0 if units == "degree" else pixel
        return cls(path, data, (transform.a, transform.b, transform.c, transform.d, transform.e, transform.f),
                   crs_wkt, float(resolution))

    def in_frame(self, local: LocalFrame, reference_m: float) -> LocalTerrain:
        """This DEM seen from ``local``, heights relative to the elevation ``reference_m``."""
        from pyproj import CRS, Transformer

        to_dem = Transformer.from_crs(local.crs, CRS.from_wkt(self.crs_wkt), always_xy=True)
        return LocalTerrain(self, local, float(reference_m), to_dem)

    def sample_crs(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear elevation at DEM-CRS coordinates (NaN outside or next to no-data)."""
        a, b, c, d, e, f = self.transform
        det = a * e - b * d
        xs, ys = np.asarray(x, dtype=np.float64) - c, np.asarray(y, dtype=np.float64) - f
        col = (e * xs - b * ys) / det - 0.5  # pixel centres at +0.5
        row = (-d * xs + a * ys) / det - 0.5
        rows, cols = self.data.shape
        c0, r0 = np.floor(col), np.floor(row)
        fc, fr = col - c0, row - r0
        inside = (c0 >= 0) & (r0 >= 0) & (c0 + 1 < cols) & (r0 + 1 < rows)
        c0i = np.where(inside, c0, 0).astype(np.intp)
        r0i = np.where(inside, r0, 0).astype(np.intp)
        z = ((1 - fr) * ((1 - fc) * self.data[r0i, c0i] + fc * self.data[r0i, c0i + 1])
             + fr * ((1 - fc) * self.data[r0i + 1, c0i] + fc * self.data[r0i + 1, c0i + 1]))
        return np.where(inside, z, np.nan)


@dataclass(frozen=True, eq=False)
class LocalTerrain:
    """A :class:`Terrain` in a map's local frame: ``height(e, n)`` is the ground's
    height above the local ``z = 0`` (the elevation ``reference_m``)."""

    terrain: Terrain
    local: LocalFrame
    reference_m: float
    _to_dem: object = field(repr=False)

    def height(self, east_m, north_m) -> np.ndarray:
        easting, northing = self.local.to_utm(east_m, north_m)
        x, y = self._to_dem.transform(easting, northing)  # type: ignore[attr-defined]
        return self.terrain.sample_crs(np.asarray(x), np.asarray(y)) - self.reference_m

    def elevation_lonlat(self, lon_deg: float, lat_deg: float) -> float:
        east, north = self.local.to_local(lon_deg, lat_deg)
        return float(self.height(np.atleast_1d(east), np.atleast_1d(north))[0]) + self.reference_m

    def intersect(self, origin: np.ndarray, directions: np.ndarray, *, max_ray_m: float = MAX_RAY_M,
                  above_m: float = 0.0) -> np.ndarray:
        """Where rays from ``origin`` (local metres) along unit ``directions`` ``float[N, 3]``
        first meet the terrain (raised by ``above_m``: a roof's height over the ground),
        ``float64[N, 3]``; NaN rows for rays that leave the DEM, go up, or do not meet it
        within ``max_ray_m``."""
        origin = np.asarray(origin, dtype=np.float64)
        d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
        out = np.full((len(d), 3), np.nan)
        step = max(0.5, 0.5 * self.terrain.resolution_m)
        t = np.arange(0.0, max_ray_m + step, step)
        for i, direction in enumerate(d):
            if direction[2] >= -1e-6:
                continue
            points = origin + t[:, None] * direction
            above = points[:, 2] - self.height(points[:, 0], points[:, 1]) - above_m
            below = np.flatnonzero(~(above > 0))  # NaN (off the DEM) counts as a stop
            if len(below) == 0 or below[0] == 0 or not np.isfinite(above[below[0]]):
                continue
            lo, hi = t[below[0] - 1], t[below[0]]
            for _ in range(20):
                mid = 0.5 * (lo + hi)
                p = origin + mid * direction
                if p[2] - self.height(p[:1], p[1:2])[0] - above_m > 0:
                    lo = mid
                else:
                    hi = mid
            out[i] = origin + 0.5 * (lo + hi) * direction
        return out


def reference_elevation(track, terrain: Terrain, local: LocalFrame, ground_elevation_m: float | None = None
                        ) -> tuple[float, bool, str]:
    """The elevation of the local ``z = 0`` for a track placed on ``terrain``, whether
    heights must be taken from the absolute altitudes (``align_track``'s
    ``ground_elevation_m``), and a note saying how it was chosen.

    Given ``ground_elevation_m``: that. A track with take-off-relative altitude: the
    elevation its own absolute altitudes imply for the take-off (median of absolute
    minus relative) when it has both, else the DEM under its first sample (the take-off
    spot when the log starts on the ground), which also stands in where the absolute
    altitudes contradict the relative ones and the DEM
    (:func:`geo.telemetry.altitude_check.takeoff_contradiction`). Absolute altitude only (GPX): the DEM under
    the first sample, heights from the absolute altitudes (no take-off assumption).
    """
    if ground_elevation_m is not None:
        return float(ground_elevation_m), True, f"terrain from {terrain.path}; z = 0 at {ground_elevation_m:g} m (given)"
    lon, lat = (float(v) for v in track.lonlat()[0])
    east, north = local.to_local(lon, lat)
    first = terrain.in_frame(local, 0.0).height(np.atleast_1d(east), np.atleast_1d(north))[0]
    rel = track.altitudes("rel")
    absolute = track.altitudes("abs")
    both = np.isfinite(rel) & np.isfinite(absolute)
    if np.isfinite(rel).any():
        if both.any():
            z0 = float(np.median(absolute[both] - rel[both]))
            problem = None if not np.isfinite(first) else takeoff_contradiction(
                track, float(first), "the DEM's elevation under the first fix")
            if problem is None:
                return z0, False, (f"terrain from {terrain.path}; take-off at {z0:.1f} m (absolute minus relative "
                                   "altitude)")
            return float(first), False, f"terrain from {terrain.path}; take-off at {first:.1f} m: {problem}"
        if np.isfinite(first):
            return float(first), False, (f"terrain from {terrain.path}; take-off at {first:.1f} m "
                                         "(the elevation under the first telemetry sample)")
    elif np.isfinite(absolute).any() and np.isfinite(first):
        return float(first), True, f"terrain from {terrain.path}; heights from the absolute altitudes"
    raise GeoreferenceError(
        f"{terrain.path}: the elevation model does not cover the start of the track "
        f"({lat:.6f}, {lon:.6f}); give --ground-elevation or a DEM covering the flight"
    )


__all__ = ["LocalTerrain", "Terrain", "reference_elevation"]
