"""geo.terrain: a GeoTIFF DEM read in any CRS, rays put on it, and damage on slopes
placed with it (perfect detections: within a metre, where the flat plane is metres off)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import GeoreferenceError
from geo.local import LocalFrame
from geo.terrain import Terrain

rasterio = pytest.importorskip("rasterio")
ROOT = Path(__file__).resolve().parents[2]


def write_dem(path: Path, elevation, *, crs="EPSG:4326", origin=(-85.67, 30.17), pixel=(1e-4, 1e-4)) -> Path:
    from rasterio.transform import from_origin

    data = np.asarray(elevation, dtype=np.float32)
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="float32", crs=crs, transform=from_origin(origin[0], origin[1], *pixel),
                       nodata=-9999.0) as dst:
        dst.write(data, 1)
    return path


def tilted_dem(tmp_path: Path) -> tuple[Path, LocalFrame]:
    """A plane rising 10 % to the east in a UTM DEM at 1 m, 20 m at the frame origin."""
    local = LocalFrame.around(-85.66, 30.16)
    e = np.arange(-300, 300) + 0.5
    z = 20.0 + 0.1 * np.tile(e, (600, 1))
    origin = (local.origin_easting_m - 300.0, local.origin_northing_m + 300.0)
    return write_dem(tmp_path / "tilted.tif", z, crs=local.crs, origin=origin, pixel=(1.0, 1.0)), local


def test_samples_are_bilinear_in_the_local_frame(tmp_path):
    path, local = tilted_dem(tmp_path)
    terrain = Terrain.open(path).in_frame(local, 20.0)
    heights = terrain.height(np.array([0.0, 50.0, -120.3]), np.array([0.0, 10.0, 77.0]))
    assert np.allclose(heights, [0.0, 5.0, -12.03], atol=1e-3)
    assert np.isnan(terrain.height(np.array([1000.0]), np.array([0.0]))[0])  # off the DEM


def test_rays_meet_the_slope(tmp_path):
    path, local = tilted_dem(tmp_path)
    terrain = Terrain.open(path).in_frame(local, 20.0)
    direction = np.array([[0.6, 0.0, -0.8]])
    hit = terrain.intersect(np.array([0.0, 0.0, 50.0]), direction)[0]
    # z = 50 - 0.8 t meets z = 0.1 * 0.6 t at t = 50 / 0.86
    t = 50.0 / 0.86
    assert np.allclose(hit, [0.6 * t, 0.0, 50.0 - 0.8 * t], atol=0.01)
    assert np.isnan(terrain.intersect(np.array([0.0, 0.0, 50.0]), np.array([[0.0, 0.0, 1.0]]))).all()


def test_a_geographic_dem_with_no_data(tmp_path):
    z = np.full((50, 50), 12.0)
    z[:, 25:] = -9999.0  # no data on the east half
    path = write_dem(tmp_path / "geo.tif", z)
    terrain = Terrain.open(path)
    assert terrain.resolution_m == pytest.approx(11.1, abs=0.1)
    local = LocalFrame.around(-85.6690, 30.1690)
    near = terrain.in_frame(local, 2.0)
    assert near.height(np.array([-5.0]), np.array([0.0]))[0] == pytest.approx(10.0)
    assert np.isnan(near.height(np.array([300.0]), np.array([0.0]))[0])


@pytest.mark.parametrize("content", [None, b"not a raster"])
def test_bad_dem_files_are_one_line(tmp_path, content):
    path = tmp_path / "dem.tif"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GeoreferenceError, match="dem.tif"):
        Terrain.open(path)


@pytest.fixture(scope="module")
def slope_case(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from terrain_accuracy import terrain_case
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return terrain_case(2, tmp_path_factory.mktemp("slopes"), relief_m=15.0, seconds=12.0, fps=1.0,
                        size=(640, 360), count=12)


def test_damage_on_slopes_lands_within_a_metre_with_the_dem(slope_case):
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    detections, times, srt, dem, video, truth, frame = slope_case
    track = read_telemetry(srt)

    def median_error(damage_map):
        errors = []
        for site in damage_map.sites:
            e, n = frame.to_enu(np.array([site.lon_deg]), np.array([site.lat_deg]))
            errors.append(float(np.min(np.hypot(truth[:, 0] - e[0], truth[:, 1] - n[0]))))
        return float(np.median(errors))

    flat = build_damage_map_from(detections, times, track, video=video, hfov_deg=84.0, min_score=0.0)
    hilly = build_damage_map_from(detections, times, track, video=video, hfov_deg=84.0, min_score=0.0, dem=dem)
    assert median_error(hilly) <= 1.0
    assert median_error(flat) > 2 * median_error(hilly) and median_error(flat) > 1.0
    assert any("terrain from" in note for note in hilly.notes)


def test_an_rgb_orthophoto_is_no_elevation_model(tmp_path):
    from rasterio.transform import from_origin

    path = tmp_path / "nadir.tif"
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=3, dtype="uint8", crs="EPSG:4326",
                       transform=from_origin(-85.67, 30.17, 1e-4, 1e-4), photometric="RGB") as dst:
        dst.write(np.full((3, 8, 8), 120, dtype=np.uint8))
    with pytest.raises(GeoreferenceError, match=r"nadir\.tif: not an elevation model: 3 bands of 8-bit values; "
                                                r"give a single-band DEM"):
        Terrain.open(path)
    # a single band of heights is one
    heights = write_dem(tmp_path / "low.tif", np.full((8, 8), 12.0))
    assert np.nanmax(Terrain.open(heights).data) == 12.0
