"""engine.synth.terrain: hills, rays on them, the DEM they write, and what a flight sees."""

from __future__ import annotations

import numpy as np
import pytest

from core.camera import CameraPose, PinholeCamera, pixel_rays, project_points
from engine.synth.geodesy import LocalFrame
from engine.synth.terrain import Hills, ground_points, sightings


@pytest.fixture
def hills():
    return Hills.sample(np.random.default_rng(4), extent_m=300.0, relief_m=12.0)


def test_height_is_zero_at_the_origin_and_hilly_elsewhere(hills):
    assert hills.height(np.zeros(1), np.zeros(1))[0] == pytest.approx(0.0, abs=1e-9)
    grid = np.linspace(-150, 150, 31)
    e, n = np.meshgrid(grid, grid)
    z = hills.height(e, n)
    assert 4.0 < float(z.max() - z.min()) < 40.0


def test_rays_land_on_the_hills_and_project_back(hills):
    camera = PinholeCamera(640, 360, 84.0)
    pose = CameraPose(10.0, -20.0, 60.0, 30.0, -50.0)
    uv = np.array([[320.0, 180.0], [50.0, 300.0], [600.0, 120.0]])
    hits = hills.intersect(pose.position, pixel_rays(camera, pose, uv))
    assert np.allclose(hits[:, 2], hills.height(hits[:, 0], hits[:, 1]), atol=1e-3)
    back, in_front = project_points(camera, pose, hits)
    assert in_front.all() and np.allclose(back, uv, atol=1e-3)


def test_geotiff_holds_the_absolute_elevation(hills, tmp_path):
    rasterio = pytest.importorskip("rasterio")
    frame = LocalFrame(30.1588, -85.6602)
    path = hills.write_geotiff(tmp_path / "dem.tif", frame, (-100.0, -100.0, 100.0, 100.0), ground_alt_m=10.0,
                               resolution_m=2.0)
    with rasterio.open(path) as src:
        assert src.crs is not None and src.res == (2.0, 2.0)
        z = src.read(1)
        row, col = src.index(31.0, -47.0)
    assert z[row, col] == pytest.approx(10.0 + hills.height(np.array([31.0]), np.array([-47.0]))[0], abs=0.2)


def test_points_are_seen_where_they_project(hills):
    camera = PinholeCamera(640, 360, 84.0)
    poses = [CameraPose(0.0, -40.0 + 4 * k, 50.0, 0.0, -45.0) for k in range(5)]
    points = ground_points(np.random.default_rng(1), hills, camera, poses, count=10, spacing_m=10.0)
    assert len(points) == 10
    seen = sightings(hills, camera, poses, points)
    assert sum(len(rows) for rows in seen) >= 10
    for pose, rows in zip(poses, seen):
        for k, u, v in rows:
            uv, _ = project_points(camera, pose, points[k : k + 1])
            assert np.allclose(uv[0], (u, v))
