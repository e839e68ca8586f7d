"""The offline basemap: a GeoTIFF or MBTiles clipped, resampled and size-bounded; the
synthetic scene's nadir rendering and footprints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geo.basemap import BasemapError, read_basemap


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory):
    """A tiny scene's orthophoto and footprints, without rendering a flight."""
    from engine.synth.flyover import build_flight
    from engine.synth.geodesy import LocalFrame
    from engine.synth.nadir import write_footprints_geojson, write_nadir_geotiff

    out = tmp_path_factory.mktemp("nadir")
    flight = build_flight(seconds=1.0, fps=2.0, size=(64, 36), seed=3)
    frame = LocalFrame(30.16, -85.66)
    write_nadir_geotiff(out / "nadir.tif", flight.scene, frame)
    write_footprints_geojson(out / "footprints.geojson", flight.scene, frame)
    return out, flight.scene, frame


def _central_ring(out, scene):
    """The outline of the building nearest the middle of the scene (inside the orthophoto)."""
    e0, n0, e1, n1 = scene.bounds_en
    middle = np.array([(e0 + e1) / 2, (n0 + n1) / 2])
    nearest = min(scene.buildings, key=lambda b: float(np.hypot(*(b.centre_en - middle))))
    doc = json.loads((out / "footprints.geojson").read_text())
    return next(f for f in doc["features"] if f["properties"]["id"] == nearest.building_id)["geometry"]["coordinates"][0]


def _bounds(lonlat_points):
    xs, ys = zip(*lonlat_points)
    return min(xs), min(ys), max(xs), max(ys)


def test_nadir_geotiff_is_georeferenced(scene_files):
    import rasterio
    from rasterio.warp import transform_bounds

    out, scene, frame = scene_files
    with rasterio.open(out / "nadir.tif") as src:
        assert src.count == 3 and src.crs is not None and src.res == (0.25, 0.25)
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    e0, n0, e1, n1 = scene.bounds_en
    lon, lat = frame.to_lonlat(np.array([e0, e1]), np.array([n0, n1]))
    assert west == pytest.approx(lon[0], abs=2e-5) and north == pytest.approx(lat[1], abs=2e-5)


def test_footprints_match_the_scene(scene_files):
    from geo.footprints import read_footprints

    out, scene, _ = scene_files
    doc = json.loads((out / "footprints.geojson").read_text())
    assert {f["properties"]["id"] for f in doc["features"]} == {b.building_id for b in scene.buildings}
    assert not any("level" in f["properties"] or "damaged" in f["properties"] for f in doc["features"])
    footprints = read_footprints(out / "footprints.geojson")
    assert footprints.heights_m[0] == pytest.approx(scene.buildings[0].height_m, abs=0.01)


def test_roofs_are_drawn_where_the_footprints_are(scene_files):
    """The orthophoto differs from the bare ground texture inside footprints (roofs)."""
    from engine.synth.nadir import render_nadir

    _, scene, _ = scene_files
    image, (e0, n1, mpp) = render_nadir(scene, m_per_px=0.5)
    ground = scene.ground
    bare = ground.image if ground.m_per_px == 0.5 else None
    inside = [b for b in scene.buildings if e0 < b.centre_en[0] < e0 + image.shape[1] * mpp
              and n1 - image.shape[0] * mpp < b.centre_en[1] < n1]
    assert inside
    changed = 0
    for b in inside:
        col = int((b.centre_en[0] - e0) / mpp)
        row = int((n1 - b.centre_en[1]) / mpp)
        reference = bare[row, col] if bare is not None else None
        if reference is None or np.abs(image[row, col].astype(int) - reference.astype(int)).sum() > 10:
            changed += 1
    assert changed >= 0.8 * len(inside)


def test_read_clipped_and_bounded(scene_files):
    out, scene, _ = scene_files
    ring = _central_ring(out, scene)
    small = read_basemap(out / "nadir.tif", _bounds(ring), margin_m=20.0)
    assert small.crs == "EPSG:3857" and small.image.shape[2] == 4
    assert small.image[..., 3].mean() > 200  # covered
    assert max(small.image.shape[:2]) < 400  # a ~50 m window at the source's 0.25 m, not the whole file
    capped = read_basemap(out / "nadir.tif", _bounds(ring), margin_m=20.0, max_px=64)
    assert max(capped.image.shape[:2]) <= 64
    assert capped.data_url().startswith("data:image/")
    west, south, east, north = capped.bounds_lonlat()
    assert west < ring[0][0] < east and south < ring[0][1] < north
    utm = read_basemap(out / "nadir.tif", _bounds(ring), crs="EPSG:32616", margin_m=20.0)
    assert utm.resolution_m == pytest.approx(0.25, abs=0.02)


def test_a_basemap_read_shrunk_is_the_one_resampled_from_every_pixel(scene_files, monkeypatch):
    """Far below the source's resolution the window is read already shrunk (averaged)
    and then warped: the same picture, in the same place, as warping every source pixel."""
    import geo.basemap

    out, scene, _ = scene_files
    ring = _central_ring(out, scene)
    shrunk = read_basemap(out / "nadir.tif", _bounds(ring), margin_m=40.0, max_px=48)
    monkeypatch.setattr(geo.basemap, "_decimated", lambda *_args: None)
    every_pixel = read_basemap(out / "nadir.tif", _bounds(ring), margin_m=40.0, max_px=48)
    assert shrunk.bounds == every_pixel.bounds and shrunk.image.shape == every_pixel.image.shape
    assert (shrunk.image[..., 3] == every_pixel.image[..., 3]).all()
    difference = np.abs(shrunk.image[..., :3].astype(float) - every_pixel.image[..., :3])
    assert difference.mean() < 3.0  # grey levels; a picture a pixel out of place differs by tens
    shifted = np.abs(shrunk.image[1:, :, :3].astype(float) - every_pixel.image[:-1, :, :3]).mean()
    assert shifted > 3 * difference.mean()


def test_clear_messages(scene_files, tmp_path):
    out, _, _ = scene_files
    far = (10.0, 50.0, 10.001, 50.001)
    with pytest.raises(BasemapError, match=r"nadir\.tif: the basemap does not cover the mapped area"):
        read_basemap(out / "nadir.tif", far)
    doc = json.loads((out / "footprints.geojson").read_text())
    area = _bounds([p for f in doc["features"] for p in f["geometry"]["coordinates"][0]])
    with pytest.raises(BasemapError, match=r"too large: .* million pixels"):
        read_basemap(out / "nadir.tif", area, max_source_px=1000)
    with pytest.raises(BasemapError, match="no such basemap file"):
        read_basemap(tmp_path / "none.tif", area)
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "plain.png")
    with pytest.raises(BasemapError, match="not georeferenced"):
        read_basemap(tmp_path / "plain.png", area)


def test_mbtiles(scene_files, tmp_path):
    """An MBTiles file (Web Mercator tiles) is read the same way."""
    import rasterio
    import rasterio.shutil
    from rasterio.warp import calculate_default_transform, reproject

    out, scene, _ = scene_files
    with rasterio.open(out / "nadir.tif") as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:3857", src.width, src.height, *src.bounds)
        data = np.zeros((3, height, width), np.uint8)
        for b in range(3):
            reproject(rasterio.band(src, b + 1), data[b], dst_transform=transform, dst_crs="EPSG:3857")
    mercator = tmp_path / "nadir-3857.tif"
    with rasterio.open(mercator, "w", driver="GTiff", width=width, height=height, count=3, dtype="uint8",
                       crs="EPSG:3857", transform=transform) as dst:
        dst.write(data)
    target = tmp_path / "nadir.mbtiles"
    rasterio.shutil.copy(mercator, target, driver="MBTiles")  # GDAL writes the tile pyramid
    ring = _central_ring(out, scene)
    basemap = read_basemap(target, _bounds(ring), margin_m=10.0)
    assert basemap.image[..., :3].mean() > 10 and basemap.image[..., 3].mean() > 100
