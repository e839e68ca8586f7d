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
    project = observe.intersect_ground
    monkeypatch.setattr(observe, "intersect_ground", lambda *a, **k: projections.append(1) or project(*a, **k))
    scaled = observe.footprint_on_plane(camera, pose, [outline], plane_up_m)
    assert projections == []  # the footprint on the ground, scaled: the outline is not projected again
    monkeypatch.undo()
    projected = observe._footprint_on_plane(camera, pose, ((outline.shape, outline.tobytes()),), plane_up_m)
    assert scaled.is_valid and not scaled.is_empty
    assert scaled.symmetric_difference(projected).area <= 1e-9 * projected.area
    assert scaled.area < on_ground.area  # nearer the camera


def test_a_plane_at_or_above_the_camera_holds_no_footprint():
    camera = PinholeCamera(640, 360, 60.0)
    pose = CameraPose(0.0, 0.0, 10.0, 0.0, -45.0)
    outline = np.array([[300.0, 200.0], [340.0, 200.0], [340.0, 240.0], [300.0, 240.0]])
    assert observe.footprint_on_plane(camera, pose, [outline], 10.0).is_empty
    assert observe.footprint_on_plane(camera, pose, [outline], 12.0).is_empty
