"""A sighting's footprint on a roof's plane: the rays leave the camera's centre, so it is
the footprint on the ground drawn towards the point under the camera."""

from __future__ import annotations

import numpy as np
import pytest

from core.camera import CameraPose, PinholeCamera
from geo import observe


@pytest.mark.parametrize("plane_up_m", [0.5, 4.0, 17.3])
def test_the_footprint_on_a_plane_is_the_outline_projected_onto_it(plane_up_m, monkeypatch):
    camera = PinholeCamera(1280, 720, 70.0)
    pose = CameraPose(12.0, -30.0, 60.0, 35.0, -40.0, 2.0)
    t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    outline = np.column_stack([640 + 120 * np.cos(t) + 15 * np.cos(5 * t), 420 + 80 * np.sin(t)])
    observe.clear_cache()
    on_ground = observe.footprint_on_plane(camera, pose, [outline])
    projections = []
    project = observe.intersect_grounds
    monkeypatch.setattr(observe, "intersect_grounds", lambda *a, **k: projections.append(1) or project(*a, **k))
    scaled = observe.footprint_on_plane(camera, pose, [outline], plane_up_m)
    assert projections == []  # the footprint on the ground, scaled: the outline is not projected again
    monkeypatch.undo()
    projected = observe.outlines_on_planes(camera, [pose], [[outline]], [plane_up_m])[0]
    assert scaled.is_valid and not scaled.is_empty
    assert scaled.symmetric_difference(projected).area <= 1e-9 * projected.area
    assert scaled.area < on_ground.area  # nearer the camera


def test_a_plane_at_or_above_the_camera_holds_no_footprint():
    camera = PinholeCamera(640, 360, 60.0)
    pose = CameraPose(0.0, 0.0, 10.0, 0.0, -45.0)
    outline = np.array([[300.0, 200.0], [340.0, 200.0], [340.0, 240.0], [300.0, 240.0]])
    assert observe.footprint_on_plane(camera, pose, [outline], 10.0).is_empty
    assert observe.footprint_on_plane(camera, pose, [outline], 12.0).is_empty


def _one_by_one(camera, pose, outlines, plane_up_m):
    """A sighting's footprint as one outline after another makes it: each projected, made
    a polygon (mended when invalid), the pieces joined."""
    from shapely.geometry import Polygon
    from shapely.ops import unary_union

    from core.camera import intersect_ground

    pieces = []
    for outline in outlines:
        ground = intersect_ground(camera, pose, outline, ground_up_m=plane_up_m)
        ok = np.isfinite(ground[:, 0])
        if ok.sum() < 3:
            continue
        polygon = Polygon(ground[ok, :2])
        if not polygon.is_valid:
            polygon = polygon.buffer(0)
        if not polygon.is_empty:
            pieces.append(polygon)
    return unary_union(pieces) if pieces else Polygon()


def test_footprints_projected_together_are_those_projected_one_by_one():
    """:func:`geo.observe.outlines_on_planes` gives each sighting the very geometry its
    outlines give one by one: several outlines joined, a bow tie mended, an outline partly
    above the horizon cut to the pixels that meet the plane, one with fewer than three
    such pixels left out, a plane above the camera and no outlines at all empty."""
    rng = np.random.default_rng(3)
    camera = PinholeCamera(1280, 720, 80.0)
    t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    poses, outlines, planes = [], [], []
    for _ in range(120):
        poses.append(CameraPose(float(rng.normal(0, 200)), float(rng.normal(0, 200)), float(rng.uniform(20, 90)),
                                float(rng.uniform(0, 360)), float(rng.uniform(-80, -15)), float(rng.normal(0, 2))))
        blobs = []
        for _ in range(int(rng.integers(1, 4))):
            cx, cy, r = rng.uniform(50, 1230), rng.uniform(0, 700), rng.uniform(4, 60)
            blobs.append(np.column_stack([cx + r * np.cos(t) * rng.uniform(0.8, 1.2, len(t)),
                                          cy + r * np.sin(t) * rng.uniform(0.8, 1.2, len(t))]))
        outlines.append(blobs)
        planes.append(float(rng.choice([0.0, 0.0, 3.5, 150.0])))
    poses.append(CameraPose(0.0, 0.0, 50.0, 0.0, -45.0))  # a bow tie, and a sliver above the horizon
    outlines.append([np.array([[500.0, 500.0], [600.0, 600.0], [600.0, 500.0], [500.0, 600.0]]),
                     np.array([[640.0, 0.0], [700.0, 0.0], [700.0, 400.0], [640.0, 0.0]])])
    planes.append(0.0)
    poses.append(CameraPose(0.0, 0.0, 50.0, 0.0, -45.0))
    outlines.append([])
    planes.append(0.0)

    together = observe.outlines_on_planes(camera, poses, outlines, planes)
    alone = [_one_by_one(camera, *sighting) for sighting in zip(poses, outlines, planes)]
    assert [g.wkb for g in together] == [g.wkb for g in alone]
    assert sum(g.geom_type == "MultiPolygon" for g in alone) > 5 and sum(g.is_empty for g in alone) > 10
    assert not alone[-2].is_empty and alone[-1].is_empty
