import math

import numpy as np
import pytest

from core.camera import CameraPose, PinholeCamera, intersect_ground, project_points


@pytest.fixture
def camera():
    return PinholeCamera(1280, 720, 80.0)


@pytest.mark.parametrize("yaw", [0.0, 30.0, 135.0, 270.0])
def test_principal_ray_hits_ground_at_altitude_over_tan_pitch(camera, yaw):
    pose = CameraPose(10.0, -5.0, 50.0, yaw, -45.0)
    point = intersect_ground(camera, pose, np.array([[640.0, 360.0]]))[0]
    ahead = math.hypot(point[0] - 10.0, point[1] + 5.0)
    assert ahead == pytest.approx(50.0)
    bearing = math.degrees(math.atan2(point[0] - 10.0, point[1] + 5.0)) % 360
    assert bearing == pytest.approx(yaw % 360, abs=1e-6)


def test_image_right_is_right_of_heading(camera):
    pose = CameraPose(0.0, 0.0, 40.0, 0.0, -45.0)  # looking north
    left, right = intersect_ground(camera, pose, np.array([[100.0, 360.0], [1180.0, 360.0]]))
    assert left[0] < 0 < right[0]


def test_project_and_intersect_round_trip(camera):
    pose = CameraPose(3.0, 4.0, 60.0, 200.0, -50.0, 2.0)
    uv = np.array([[0.0, 719.0], [640.0, 200.0], [1279.0, 719.0], [800.0, 500.0]])
    ground = intersect_ground(camera, pose, uv)
    back, in_front = project_points(camera, pose, ground)
    assert in_front.all()
    assert np.allclose(back, uv, atol=1e-6)


def test_rays_above_the_horizon_are_rejected(camera):
    pose = CameraPose(0.0, 0.0, 50.0, 0.0, -10.0)  # shallow: top of image sees sky
    ground = intersect_ground(camera, pose, np.array([[640.0, 0.0], [640.0, 719.0]]))
    assert np.isnan(ground[0]).all()
    assert np.isfinite(ground[1]).all()


def test_points_behind_the_camera_are_flagged(camera):
    pose = CameraPose(0.0, 0.0, 50.0, 0.0, -45.0)
    _, in_front = project_points(camera, pose, np.array([[0.0, -100.0, 0.0], [0.0, 50.0, 0.0]]))
    assert in_front.tolist() == [False, True]


def test_bad_field_of_view_is_refused():
    with pytest.raises(ValueError, match="hfov_deg"):
        PinholeCamera(640, 480, 0.0)


def test_rays_cast_together_are_those_cast_one_by_one():
    """:func:`core.camera.pixel_rays_from` and :func:`core.camera.ground_points_from` give
    each pixel, seen from its own pose, the very numbers :func:`intersect_ground` gives it
    alone (NaN above the horizon and under a camera not above the ground)."""
    from core.camera import ground_points_from, pixel_rays, pixel_rays_from

    rng = np.random.default_rng(5)
    camera = PinholeCamera(1280, 720, 80.0)
    poses = [CameraPose(east_m=float(e), north_m=float(n), up_m=float(u), yaw_deg=float(y), pitch_deg=float(p),
                        roll_deg=float(r))
             for e, n, u, y, p, r in zip(rng.normal(0, 300, 500), rng.normal(0, 300, 500), rng.uniform(-5, 120, 500),
                                         rng.uniform(0, 360, 500), rng.uniform(-90, 10, 500), rng.normal(0, 3, 500))]
    uv = rng.uniform((0, 0), (1280, 720), (500, 2))
    rays = pixel_rays_from(camera, poses, uv)
    assert rays.tobytes() == np.concatenate([pixel_rays(camera, pose, p[None]) for pose, p in zip(poses, uv)]).tobytes()
    grounds = ground_points_from(poses, rays)
    alone = np.concatenate([intersect_ground(camera, pose, p[None]) for pose, p in zip(poses, uv)])
    assert np.isnan(alone[:, 0]).sum() > 50 and np.isfinite(alone[:, 0]).sum() > 50
    assert grounds.tobytes() == alone.tobytes()


def test_outlines_cast_together_are_those_cast_one_by_one():
    """:func:`core.camera.intersect_grounds` gives each block of pixels, seen from its own
    pose onto its own plane, the very numbers :func:`intersect_ground` gives it alone (a
    block's rotation is a product of as many rows as it has: a longer product's rows may
    differ in the last bit), NaN above the horizon and where the camera is not above the
    plane."""
    from core.camera import intersect_grounds

    rng = np.random.default_rng(7)
    camera = PinholeCamera(1280, 720, 80.0)
    count = 300
    poses = [CameraPose(east_m=float(e), north_m=float(n), up_m=float(u), yaw_deg=float(y), pitch_deg=float(p),
                        roll_deg=float(r))
             for e, n, u, y, p, r in zip(rng.normal(0, 300, count), rng.normal(0, 300, count),
                                         rng.uniform(5, 120, count), rng.uniform(0, 360, count),
                                         rng.uniform(-90, 10, count), rng.normal(0, 3, count))]
    blocks = [rng.uniform((0, 0), (1280, 720), (int(rng.integers(1, 60)), 2)) for _ in range(count)]
    planes = [float(up) for up in rng.uniform(-2, 30, count)]
    together = intersect_grounds(camera, poses, blocks, planes)
    alone = np.concatenate([intersect_ground(camera, pose, uv, ground_up_m=plane)
                            for pose, uv, plane in zip(poses, blocks, planes)])
    assert np.isnan(alone[:, 0]).sum() > 500 and np.isfinite(alone[:, 0]).sum() > 500
    assert any(plane >= pose.up_m for pose, plane in zip(poses, planes))
    assert together.tobytes() == alone.tobytes()
    assert intersect_grounds(camera, [], [], []).shape == (0, 3)
