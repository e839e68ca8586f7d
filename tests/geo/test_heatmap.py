"""The severity heatmap: a weighted Gaussian density of the sites on a metric grid."""

from __future__ import annotations

import numpy as np

from geo.heatmap import grid_kde, heat_grid, kde
from geo.local import LocalFrame


def test_the_grid_sum_is_the_kernel_sum_at_every_cell_centre():
    rng = np.random.default_rng(3)
    points = rng.uniform(-200, 200, size=(57, 2))
    weights = rng.uniform(0.2, 3.0, size=57)
    xs = np.linspace(-250, 250, 91)
    ys = np.linspace(240, -240, 77)  # north first, as the grid's rows go
    gx, gy = np.meshgrid(xs, ys)
    direct = kde(points, weights, np.stack([gx.ravel(), gy.ravel()], axis=1), 12.0).reshape(gx.shape)
    assert np.allclose(grid_kde(points, weights, xs, ys, 12.0), direct, rtol=1e-10, atol=1e-12)
    assert grid_kde(np.empty((0, 2)), np.empty(0), xs, ys, 12.0).shape == (77, 91)


def test_the_heat_is_highest_at_the_most_severe_site_and_placed_on_the_grid():
    local = LocalFrame.around(-82.0, 27.0)
    grid = heat_grid(np.array([[0.0, 0.0], [100.0, 40.0]]), np.array([1.0, 3.0]), local)
    row, col = np.unravel_index(np.argmax(grid.values), grid.shape)
    east = grid.west_m + (col + 0.5) * grid.cell_m
    north = grid.north_m - (row + 0.5) * grid.cell_m
    assert abs(east - 100.0) <= grid.cell_m and abs(north - 40.0) <= grid.cell_m
    assert np.isclose(grid.peak, float(grid.density_at(east, north)))
    assert heat_grid(np.empty((0, 2)), np.empty(0), local) is None
