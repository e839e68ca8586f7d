"""An offline basemap from the user's raster: a GeoTIFF orthophoto or an MBTiles file.

Read with rasterio (GDAL), clipped to the mapped area plus a margin and resampled into
the map's projection at no more than ``max_px`` pixels on its longer side, so an
orthophoto of a whole city still gives a page of a few megabytes. A window larger than
``max_source_px`` source pixels is refused with a message (reading it would take minutes):
give a smaller extract or add overviews (``gdaladdo``).

Across 180° longitude (Fiji, Tonga, Chukotka) the area's bounds run continuously past 180
(``east`` > 180), and so does the warp: Web Mercator is read with x past the world's edge
(PROJ's ``+over``), and a raster in degrees has its longitudes taken around its own middle
(``+lon_wrap``), whether it is written with longitudes past 180 or wrapped to -180..180.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InputError

#: Longest side of the resampled basemap (pixels).
MAX_PX = 2048
#: Source pixels the clipped window may hold (without overviews to read from).
MAX_SOURCE_PX = 400_000_000


class BasemapError(InputError):
    """The basemap cannot be used (names the file and why)."""


@dataclass(frozen=True, eq=False)
class Basemap:
    """An RGBA image ``uint8[H, W, 4]`` covering ``bounds`` (west, south, east, north) in
    ``crs``; rows run north to south, columns west to east, evenly spaced in ``crs``."""

    image: np.ndarray = field(repr=False)
    bounds: tuple[float, float, float, float]
    crs: str
    source: str
    resolution_m: float | None = None

    def encoded(self, *, quality: int = 85) -> tuple[str, str]:
        """``(mime type, base64)``: JPEG when fully opaque, else WebP (lossy, with alpha;
        PNG would be several times larger and slower to write)."""
        from PIL import Image

        opaque = bool((self.image[..., 3] == 255).all())
        buffer = io.BytesIO()
        if opaque:
            Image.fromarray(self.image[..., :3]).save(buffer, format="JPEG", quality=quality)
            mime = "image/jpeg"
        else:
            Image.fromarray(self.image).save(buffer, format="WEBP", quality=quality, method=0)
            mime = "image/webp"
        return mime, base64.b64encode(buffer.getvalue()).decode("ascii")

    def data_url(self) -> str:
        mime, data = self.encoded()
        return f"data:{mime};base64,{data}"

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """``bounds`` in lon/lat, continuous across 180° (``east`` past 180 there)."""
        from pyproj import Transformer

        to = Transformer.from_crs(_continuous(self.crs, (self.bounds[0] + self.bounds[2]) / 2), "EPSG:4326",
                                  always_xy=True)
        west, south, east, north = to.transform_bounds(*self.bounds)
        if west > east:  # across 180°, as pyproj gives it
            east += 360.0
        return float(west), float(south), float(east), float(north)


def _decimated(src, window, shrink: float, indexes: list[int]) -> tuple[np.ndarray, object] | None:  # noqa: ANN001
    """The window of ``src`` read already shrunk by a whole factor, each pixel the
    average of those it stands for: ``(pixels[band, row, col], their transform)``;
    ``None`` when the basemap keeps about the source's resolution (``shrink`` < 2).

    Warping a whole orthophoto down to a page's pixels reads and weighs every source
    pixel for each band; the shrunk read is a third less time for the same picture
    (from the file's overviews where it has them), on the job thread that the map's
    next build waits for."""
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    factor = int(math.floor(shrink))
    if factor < 2:
        return None
    col0, row0 = int(math.floor(window.col_off)), int(math.floor(window.row_off))
    col1 = min(src.width, int(math.ceil(window.col_off + window.width)))
    row1 = min(src.height, int(math.ceil(window.row_off + window.height)))
    whole = Window(col0, row0, col1 - col0, row1 - row0)
    cols, rows = max(1, math.ceil(whole.width / factor)), max(1, math.ceil(whole.height / factor))
    pixels = src.read(indexes, window=whole, out_shape=(len(indexes), rows, cols), resampling=Resampling.average)
    from affine import Affine

    return pixels, src.window_transform(whole) * Affine.scale(whole.width / cols, whole.height / rows)


def read_basemap(
    path: str | Path,
    bounds_lonlat: tuple[float, float, float, float],
    *,
    crs: str = "EPSG:3857",
    margin_m: float = 50.0,
    max_px: int = MAX_PX,
    max_source_px: int = MAX_SOURCE_PX,
) -> Basemap:
    """The part of the raster at ``path`` over ``bounds_lonlat`` (plus ``margin_m``),
    resampled into ``crs`` (Web Mercator, as Leaflet draws; or the map's UTM zone).

    Raises
    ------
    BasemapError
        Missing or unreadable file, no georeferencing, no overlap with the area, or a
        window too large to read.
    """
    import rasterio
    from pyproj import CRS, Transformer
    from rasterio.enums import Resampling
    from rasterio.errors import RasterioError
    from rasterio.warp import reproject, transform_bounds
    from rasterio.windows import from_bounds

    path = Path(path)
    if not path.is_file():
        raise BasemapError(f"{path}: no such basemap file")
    target = CRS.from_user_input(crs)
    warp_target = _continuous(target, (bounds_lonlat[0] + bounds_lonlat[2]) / 2)
    to_target = Transformer.from_crs("EPSG:4326", warp_target, always_xy=True)
    west, south, east, north = to_target.transform_bounds(*bounds_lonlat)
    # A margin in metres (Web Mercator metres stretch with latitude).
    stretch = 1.0 / math.cos(math.radians((bounds_lonlat[1] + bounds_lonlat[3]) / 2)) if target.to_epsg() == 3857 else 1.0
    pad = margin_m * stretch
    west, south, east, north = west - pad, south - pad, east + pad, north + pad
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
    except RasterioError as exc:
        raise BasemapError(f"{path}: cannot read the basemap ({str(exc).splitlines()[0]})") from None
    try:
        with src:
            if src.crs is None or src.transform.is_identity:
                raise BasemapError(f"{path}: the raster is not georeferenced (no CRS or transform)")
            if src.count not in (1, 3, 4):
                raise BasemapError(f"{path}: expected a grey, RGB or RGBA raster; it has {src.count} bands")
            src_crs = _continuous(src.crs, (src.bounds.left + src.bounds.right) / 2)
            sw, ss, se, sn = transform_bounds(warp_target, src_crs, west, south, east, north, densify_pts=21)
            window = from_bounds(sw, ss, se, sn, transform=src.transform)
            window = window.intersection(rasterio.windows.Window(0, 0, src.width, src.height)) \
                if _overlaps(window, src.width, src.height) else None
            if window is None or window.width < 1 or window.height < 1:
                raise BasemapError(f"{path}: the basemap does not cover the mapped area")
            pixels = window.width * window.height
            if pixels > max_source_px and not src.overviews(1):
                raise BasemapError(
                    f"{path}: too large: {pixels / 1e6:.0f} million pixels over the mapped area "
                    f"(at most {max_source_px / 1e6:.0f} million); give a smaller extract or add overviews (gdaladdo)")
            # The area covered, in the target CRS, at about the source's resolution, capped.
            res_src = abs(src.transform.a) * (_metres_per_unit(src.crs))
            width_m, height_m = east - west, north - south
            res = max(res_src * (stretch if target.to_epsg() == 3857 else 1.0), max(width_m, height_m) / max_px)
            cols = max(1, int(round(width_m / res)))
            rows = max(1, int(round(height_m / res)))
            from affine import Affine

            dst_transform = Affine((east - west) / cols, 0.0, west, 0.0, -(north - south) / rows, north)
            bands = src.count
            read = [b + 1 for b in (range(min(bands, 3)) if bands != 4 else range(4))]
            shrunk = _decimated(src, window, res / (res_src * (stretch if target.to_epsg() == 3857 else 1.0)), read)
            out = np.zeros((4, rows, cols), dtype=np.uint8)
            valid = np.ones((rows, cols), dtype=bool)
            warped = np.full((len(read), rows, cols), np.nan, dtype=np.float32)
            if shrunk is None:
                for k, index in enumerate(read):
                    reproject(rasterio.band(src, index), warped[k], src_crs=src_crs, dst_transform=dst_transform,
                              dst_crs=warp_target, resampling=Resampling.bilinear, dst_nodata=np.nan,
                              init_dest_nodata=True)
            else:  # every band in one pass: the pixels' places are computed once
                reproject(shrunk[0], warped, src_transform=shrunk[1], src_crs=src_crs, src_nodata=src.nodata,
                          dst_transform=dst_transform, dst_crs=warp_target, resampling=Resampling.bilinear,
                          dst_nodata=np.nan, init_dest_nodata=True)
            for k, index in enumerate(read):
                b, band = index - 1, warped[k]
                valid &= np.isfinite(band)  # outside the file or nodata
                out[b] = np.clip(np.nan_to_num(band), 0, 255).astype(np.uint8)
            if bands == 1:
                out[1], out[2] = out[0], out[0]
            out[3] = np.where(valid, out[3] if bands == 4 else 255, 0)
    except RasterioError as exc:
        raise BasemapError(f"{path}: cannot read the basemap ({str(exc).splitlines()[0]})") from None
    image = np.moveaxis(out, 0, 2).copy()
    if not image[..., 3].any():
        raise BasemapError(f"{path}: the basemap does not cover the mapped area")
    return Basemap(image, (west, south, east, north), target.to_string(), str(path), round(res / stretch, 3))


def check_basemap(path: Path) -> None:
    """Refuse a basemap that :func:`geo.basemap.read_basemap` could not use whatever the
    area, reading only its header: unreadable, not georeferenced, or not grey, RGB or RGBA.

    Raises
    ------
    BasemapError
        Naming the file and the problem.
    """
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    if not path.is_file():
        raise BasemapError(f"{path}: no such basemap file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                if src.crs is None or src.transform.is_identity:
                    raise BasemapError(f"{path}: the raster is not georeferenced (no CRS or transform)")
                if src.count not in (1, 3, 4):
                    raise BasemapError(f"{path}: expected a grey, RGB or RGBA raster; it has {src.count} bands")
    except RasterioError as exc:
        raise BasemapError(f"{path}: cannot read the basemap ({str(exc).splitlines()[0]})") from None


def _continuous(crs, centre_lon: float = 180.0):  # noqa: ANN001, ANN202 - a pyproj or rasterio CRS, a pyproj CRS
    """``crs`` with its coordinates continuous across 180° where it has an edge there:
    Web Mercator with x past the world's edge (``+over``), degrees taken within 180° of
    ``centre_lon`` (``+lon_wrap``); any other CRS (a UTM zone) as it is, PROJ taking a
    longitude past 180 there already."""
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    if crs.to_epsg() == 3857:
        return CRS.from_proj4("+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 "
                              "+units=m +nadgrids=@null +over +no_defs")
    if crs.is_geographic:
        wrap = float(centre_lon) if math.isfinite(centre_lon) else 0.0
        return CRS.from_proj4(f"+proj=longlat +datum=WGS84 +lon_wrap={wrap:.9f} +no_defs")
    return crs


def _overlaps(window, width: int, height: int) -> bool:  # noqa: ANN001
    return (window.col_off < width and window.row_off < height
            and window.col_off + window.width > 0 and window.row_off + window.height > 0)


def _metres_per_unit(crs) -> float:  # noqa: ANN001
    if crs.is_geographic:
        return 111_320.0
    try:
        return float(crs.linear_units_factor[1])
    except Exception:  # an unnamed unit: assume metres
        return 1.0


__all__ = ["Basemap", "BasemapError", "MAX_PX", "check_basemap", "read_basemap"]
