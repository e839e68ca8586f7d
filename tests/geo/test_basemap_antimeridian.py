"""A basemap read over 180° longitude (Fiji, Tonga): the raster in a UTM zone or in
degrees (written past 180 or wrapped to -180..180), read into Web Mercator and a UTM zone,
comes back whole, west of 180° on the left and east of it on the right."""

from __future__ import annotations

import numpy as np
import pytest

from geo.basemap import read_basemap

LAT = -16.5
#: The area flown: 100 m either side of 180° (continuous longitudes, east past 180).
AREA = (179.99906, LAT - 0.0009, 180.00094, LAT + 0.0009)
WEST_COLOUR, EAST_COLOUR = (200, 30, 30), (30, 30, 200)


def _write(path, crs: str, transform, width: int, height: int, lon_of) -> None:  # noqa: ANN001
    """An RGB GeoTIFF whose pixels are :data:`WEST_COLOUR` west of 180° and :data:`EAST_COLOUR`
    east of it, ``lon_of(cols, rows)`` giving each pixel centre's longitude."""
    import rasterio

    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    lon = np.mod(lon_of(cols, rows), 360.0)  # 0..360: east of 180° is past 180
    image = np.where((lon < 180.0)[None], np.array(WEST_COLOUR)[:, None, None], np.array(EAST_COLOUR)[:, None, None])
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8",
                       crs=crs, transform=transform) as dst:
        dst.write(image.astype(np.uint8))


def _degrees(path, west: float) -> None:  # noqa: ANN001
    from rasterio.transform import from_origin

    step = 0.00002  # about 2 m
    transform = from_origin(west, LAT + 0.003, step, step)
    _write(path, "EPSG:4326", transform, 300, 300, lambda c, r: west + c * step)


def _utm(path) -> None:  # noqa: ANN001
    from pyproj import Transformer
    from rasterio.transform import from_origin

    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32660", always_xy=True)
    to_lonlat = Transformer.from_crs("EPSG:32660", "EPSG:4326", always_xy=True)
    x, y = to_utm.transform(180.0, LAT)
    transform = from_origin(x - 300.0, y + 300.0, 2.0, 2.0)
    _write(path, "EPSG:32660", transform, 300, 300,
           lambda c, r: to_lonlat.transform(x - 300.0 + 2.0 * c, y + 300.0 - 2.0 * r)[0])


@pytest.fixture(scope="module", params=["utm", "degrees past 180", "degrees wrapped"])
def raster(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("dateline") / "basemap.tif"
    if request.param == "utm":
        _utm(path)
    elif request.param == "degrees past 180":
        _degrees(path, 179.997)
    else:
        _degrees(path, -180.003)
    return path


def _sides(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean colour of the left and the right quarter of ``image``."""
    quarter = image.shape[1] // 4
    return image[:, :quarter, :3].reshape(-1, 3).mean(axis=0), image[:, -quarter:, :3].reshape(-1, 3).mean(axis=0)


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:32660", "EPSG:32601"])
def test_a_basemap_across_180_is_read_whole_west_on_the_left(raster, crs):
    basemap = read_basemap(raster, AREA, crs=crs, margin_m=20.0)
    assert basemap.image[..., 3].all(), "the raster covers the whole area"
    left, right = _sides(basemap.image)
    assert left == pytest.approx(WEST_COLOUR, abs=2) and right == pytest.approx(EAST_COLOUR, abs=2)
    west, _, east, _ = basemap.bounds_lonlat()
    assert west == pytest.approx(AREA[0], abs=0.0005) and east == pytest.approx(AREA[2], abs=0.0005)
    width_m = (basemap.bounds[2] - basemap.bounds[0]) / (1 / np.cos(np.radians(LAT)) if crs == "EPSG:3857" else 1)
    assert width_m == pytest.approx(200 + 2 * 20.0, rel=0.02)
