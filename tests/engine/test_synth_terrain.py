"""engine.synth.terrain: hills, rays on them, the DEM they write, and what a flight sees."""

from __future__ import annotations

import numpy as np
import pytest

from core.camera import CameraPose, PinholeCamera, pixel_rays, project_points
from engine.synth.flyover import build_flight
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


@pytest.fixture(scope="module")
def hilly_flight(tmp_path_factory):
    from engine.synth import render_flyover

    out = tmp_path_factory.mktemp("hilly")
    return render_flyover(out, seconds=2.0, fps=5.0, size=(320, 180), seed=2, annotate_every=2, terrain_relief_m=30.0)


def truth_parts(paths) -> np.ndarray:
    import json

    doc = json.loads(paths.truth.read_text())
    rows = [(p["east_m"], p["north_m"], p["up_m"]) for f in doc["features"] for p in f["properties"]["parts"]]
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def test_hilly_render_writes_its_dem_and_stands_the_town_on_it(hilly_flight):
    rasterio = pytest.importorskip("rasterio")
    assert hilly_flight.dem is not None and hilly_flight.dem.is_file()
    assert hilly_flight.annotation_count > 0
    parts = truth_parts(hilly_flight)
    with rasterio.open(hilly_flight.dem) as src:
        z = src.read(1)
        row, col = src.index(0.0, 0.0)
        inside = [(e, n, up) for e, n, up in parts
                  if 0 <= src.index(e, n)[0] < z.shape[0] and 0 <= src.index(e, n)[1] < z.shape[1]]
        ground = np.array([z[src.index(e, n)] for e, n, _ in inside]) - 10.0
    assert z[row, col] == pytest.approx(10.0, abs=0.1)  # take-off elevation at the origin
    assert float(z.max() - z.min()) > 3.0
    heights = np.array([up for _, _, up in inside])
    assert len(heights) >= 5
    assert np.all(heights >= ground - 0.5)  # damage stands on the hills (ground or roof), not under them
    assert np.any(np.abs(ground) > 0.5)


def test_hilly_render_draws_the_parts_where_the_poses_put_them(hilly_flight):
    """Geometric consistency: a damaged part's true 3-D centroid, projected through the
    written pose of a frame, falls on that part's annotated mask there (where it would
    not, by the hill's height, had the town not been stood on the hills)."""
    import json

    from pycocotools import mask as mask_utils

    camera_doc = json.loads(hilly_flight.camera.read_text())
    annotations = json.loads(hilly_flight.annotations.read_text())
    frames = {image["id"]: image["frame_index"] for image in annotations["images"]}
    doc = json.loads(hilly_flight.truth.read_text())
    centroids = {p["part_id"]: (p["east_m"], p["north_m"], p["up_m"]) for f in doc["features"] for p in f["properties"]["parts"]}
    intr = camera_doc["intrinsics"]
    camera = PinholeCamera(intr["width_px"], intr["height_px"], intr["hfov_deg"])
    flight = build_flight(seconds=2.0, fps=5.0, size=(320, 180), seed=2, terrain_relief_m=30.0)
    lifted, sunk = [], []
    for annotation in annotations["annotations"]:
        if annotation["area"] < 20:
            continue
        pose = CameraPose(**camera_doc["frames"][frames[annotation["image_id"]]]["pose"])
        rle = mask_utils.frPyObjects(annotation["segmentation"], intr["height_px"], intr["width_px"])
        ys, xs = np.nonzero(mask_utils.decode(mask_utils.merge(rle) if isinstance(rle, list) else rle))
        if len(xs) == 0:
            continue
        centre = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
        point = np.array([centroids[annotation["part_id"]]], dtype=np.float64)
        uv, _ = project_points(camera, pose, point)
        lifted.append(float(np.hypot(*(uv[0] - centre))))
        point[0, 2] -= float(flight.hills.height(point[:, 0], point[:, 1])[0])
        uv, _ = project_points(camera, pose, point)
        sunk.append(float(np.hypot(*(uv[0] - centre))))
    assert len(lifted) >= 5
    assert float(np.median(lifted)) <= 1.5
    assert float(np.median(sunk)) > 2 * float(np.median(lifted))
