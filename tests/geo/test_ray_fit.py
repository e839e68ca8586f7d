"""The rays of a site's sightings taken together (``geo.fusion``): all at once, each the
very numbers one ray after another gives (a long flight's sites hold thousands of rays,
and the map must not move when it is built faster)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from geo.fusion import _reaches_m, triangulate
from geo.observe import point_on_plane


def _rays(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    origins = rng.normal(0.0, 200.0, (count, 3)) + (0.0, 0.0, 60.0)
    directions = rng.normal(0.0, 1.0, (count, 3)) - (0.0, 0.0, 1.5)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return origins, directions, rng.uniform(1e-3, 50.0, count)


def _triangulated_ray_by_ray(origins, directions, weights, height_prior=None):
    eye = np.eye(3)
    a = np.zeros((3, 3))
    b = np.zeros(3)
    for o, d, w in zip(origins, directions, weights):
        m = eye - np.outer(d, d)
        a += w * m
        b += w * (m @ o)
    if height_prior is not None:
        a[2, 2] += height_prior[1]
        b[2] += height_prior[1] * height_prior[0]
    return a, b, np.linalg.lstsq(a, b, rcond=None)[0]


@pytest.mark.parametrize("height_prior", [None, (4.0, 1.0 / 16.0)])
def test_rays_triangulated_together_are_those_added_one_by_one(height_prior):
    rng = np.random.default_rng(11)
    for count in (1, 2, 3, 7, 40, 400):
        for _ in range(20):
            origins, directions, weights = _rays(rng, count)
            fit = triangulate(origins, directions, weights, height_prior=height_prior)
            a, _b, point = _triangulated_ray_by_ray(origins, directions, weights, height_prior)
            assert fit.normal.tobytes() == a.tobytes()
            assert fit.point.tobytes() == point.tobytes()


def test_each_ray_s_reach_to_a_plane_is_the_one_it_has_alone():
    rng = np.random.default_rng(12)
    origins, directions, _ = _rays(rng, 500)
    directions[:20, 2] = np.abs(directions[:20, 2])  # looking up: they never meet the plane
    origins[20:40, 2] = 0.0  # not above the planes
    members = [SimpleNamespace(ray_origin=o, ray_direction=d) for o, d in zip(origins, directions)]
    for plane in (0.0, 4.0, 17.5):
        alone = []
        for m in members:
            point = point_on_plane(m.ray_origin, m.ray_direction, plane)
            alone.append(50.0 if point is None else float(np.linalg.norm(point - m.ray_origin)))
        reaches = _reaches_m(members, plane)
        assert reaches.tolist()[:40] == [50.0] * 40
        assert np.array(alone).tobytes() == reaches.tobytes()
    assert _reaches_m([], 4.0).shape == (0,)
