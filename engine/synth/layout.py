"""Where things go: a street grid with lots, houses, driveways, pools, fences, cars, trees.

Pure geometry in ENU metres (no pixels, no textures). The grid has its own frame:
``a`` along the main streets, ``b`` across them; :class:`StreetGrid` converts to ENU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StreetGrid:
    """The neighbourhood frame: ``centre + a * axis_a + b * axis_b`` in ENU metres."""

    centre: np.ndarray
    axis_a: np.ndarray
    axis_b: np.ndarray

    def to_en(self, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
        return self.centre + np.multiply.outer(a, self.axis_a) + np.multiply.outer(b, self.axis_b)

    def quad(self, a0: float, a1: float, b0: float, b1: float) -> np.ndarray:
        """The ENU corners of the grid-aligned rectangle ``[a0, a1] x [b0, b1]``."""
        return np.array([self.to_en(a0, b0), self.to_en(a1, b0), self.to_en(a1, b1), self.to_en(a0, b1)])


def rectangle(centre: np.ndarray, axis_x: np.ndarray, axis_y: np.ndarray, half_x: float, half_y: float) -> np.ndarray:
    """Corners (counter-clockwise for a right-handed axis pair) of an oriented rectangle."""
    return np.array([
        centre - half_x * axis_x - half_y * axis_y,
        centre + half_x * axis_x - half_y * axis_y,
        centre + half_x * axis_x + half_y * axis_y,
        centre - half_x * axis_x + half_y * axis_y,
    ])


@dataclass(frozen=True)
class HouseSite:
    """A house's footprint: ``axis_x`` is the ridge direction, ``half_length_m >= half_width_m``.

    ``wings`` are attached lower parts (a rear wing making an L or T, a front porch), each
    a site of its own; :attr:`footprint_en` is the rectangle (in the main axes) covering all.
    """

    centre_en: np.ndarray
    axis_x: np.ndarray
    axis_y: np.ndarray
    half_length_m: float
    half_width_m: float
    wings: tuple[HouseSite, ...] = ()

    @property
    def body_en(self) -> np.ndarray:
        return rectangle(self.centre_en, self.axis_x, self.axis_y, self.half_length_m, self.half_width_m)

    @property
    def footprint_en(self) -> np.ndarray:
        if not self.wings:
            return self.body_en
        pts = np.concatenate([self.body_en] + [w.body_en for w in self.wings]) - self.centre_en
        x, y = pts @ self.axis_x, pts @ self.axis_y
        centre = self.centre_en + (x.max() + x.min()) / 2 * self.axis_x + (y.max() + y.min()) / 2 * self.axis_y
        return rectangle(centre, self.axis_x, self.axis_y, (x.max() - x.min()) / 2, (y.max() - y.min()) / 2)


@dataclass(frozen=True)
class TreeSite:
    centre_en: np.ndarray
    radius_m: float
    height_m: float


@dataclass(frozen=True)
class PoleSite:
    """A utility pole: base, crossarm direction (across the street), height, lean (top offset, m)."""

    base_en: np.ndarray
    across: np.ndarray
    height_m: float
    lean_en: np.ndarray


@dataclass(frozen=True)
class CarSite:
    centre_en: np.ndarray
    forward: np.ndarray  # unit vector


@dataclass
class Layout:
    grid: StreetGrid
    roads: list[np.ndarray] = field(default_factory=list)
    lane_dashes: list[np.ndarray] = field(default_factory=list)
    sidewalks: list[np.ndarray] = field(default_factory=list)
    driveways: list[np.ndarray] = field(default_factory=list)
    pool_decks: list[np.ndarray] = field(default_factory=list)
    pool_water: list[np.ndarray] = field(default_factory=list)
    fences: list[np.ndarray] = field(default_factory=list)  # thin quads
    construction: list[np.ndarray] = field(default_factory=list)  # lots being built on (bare soil, slab, lumber)
    houses: list[HouseSite] = field(default_factory=list)
    trees: list[TreeSite] = field(default_factory=list)
    cars: list[CarSite] = field(default_factory=list)
    poles: list[PoleSite] = field(default_factory=list)


def _site(grid: StreetGrid, centre: np.ndarray, width_a: float, depth_b: float, side: int) -> HouseSite:
    """A grid-aligned box ``width_a`` along the street, ``depth_b`` across, ridge along its long side."""
    if width_a >= depth_b:
        return HouseSite(centre, grid.axis_a, grid.axis_b, width_a / 2, depth_b / 2)
    return HouseSite(centre, grid.axis_b, -grid.axis_a, depth_b / 2, width_a / 2)


def _thin_quad(p0: np.ndarray, p1: np.ndarray, half_width: float) -> np.ndarray:
    d = p1 - p0
    n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9) * half_width
    return np.array([p0 - n, p1 - n, p1 + n, p0 + n])


def plan_layout(
    rng: np.random.Generator,
    bounds_en: tuple[float, float, float, float],
    *,
    street_heading_deg: float,
    street_offset_m: float,
) -> Layout:
    """A suburban street grid covering ``bounds_en`` (east0, north0, east1, north1).

    Main streets run along ``street_heading_deg`` (clockwise from north), one of them
    ``street_offset_m`` sideways of the ENU origin (which the flight passes over); cross streets every 150-230 m.
    Both sides of every street are divided into lots, most with a house set back from
    the road, a driveway, maybe a car, a pool, a back fence and trees.
    """
    e0, n0, e1, n1 = bounds_en
    theta = math.radians(90.0 - street_heading_deg)
    axis_a = np.array([math.cos(theta), math.sin(theta)])
    axis_b = np.array([-axis_a[1], axis_a[0]])
    centre = np.array([(e0 + e1) / 2, (n0 + n1) / 2])
    grid = StreetGrid(centre, axis_a, axis_b)
    layout = Layout(grid)
    corners = np.array([[e0, n0], [e1, n0], [e1, n1], [e0, n1]]) - centre
    a_lo, a_hi = (corners @ axis_a).min() - 40, (corners @ axis_a).max() + 40
    b_lo, b_hi = (corners @ axis_b).min() - 40, (corners @ axis_b).max() + 40

    road_w = rng.uniform(7.0, 9.5)
    lot_depth = rng.uniform(28.0, 38.0)
    block = 2 * lot_depth + road_w
    cross_every = rng.uniform(150.0, 230.0)
    offset_b = street_offset_m - float(centre @ axis_b)  # measured from the ENU origin, where the flight passes
    offset_a = rng.uniform(0, cross_every)
    streets_b = [offset_b + k * block for k in range(int(math.floor((b_lo - offset_b) / block)), int(math.ceil((b_hi - offset_b) / block)) + 1)]
    cross_a = [offset_a + k * cross_every for k in range(int(math.floor((a_lo - offset_a) / cross_every)), int(math.ceil((a_hi - offset_a) / cross_every)) + 1)]

    for b in streets_b:
        layout.roads.append(grid.quad(a_lo, a_hi, b - road_w / 2, b + road_w / 2))
        for side in (-1, 1):
            inner = b + side * (road_w / 2 + 1.0)
            layout.sidewalks.append(grid.quad(a_lo, a_hi, min(inner, inner + side * 1.4), max(inner, inner + side * 1.4)))
        if rng.random() < 0.7:  # utility poles along one side, some leaning after the storm
            side = rng.choice([-1, 1])
            span = rng.uniform(35, 48)
            for a in np.arange(a_lo + rng.uniform(0, span), a_hi, span):
                lean = rng.normal(0, 0.25, 2) + (rng.normal(0, 1.6, 2) if rng.random() < 0.12 else 0.0)
                layout.poles.append(PoleSite(grid.to_en(a, b + side * (road_w / 2 + 0.6)), grid.axis_b, float(rng.uniform(8.5, 11.5)), np.asarray(lean, float)))
        if rng.random() < 0.6:
            layout.lane_dashes += [grid.quad(a, a + 4.0, b - 0.07, b + 0.07) for a in np.arange(a_lo, a_hi, 9.0)]
    for a in cross_a:
        layout.roads.append(grid.quad(a - road_w / 2, a + road_w / 2, b_lo, b_hi))

    for b in streets_b:
        for side in (-1, 1):
            for a_start, a_stop in zip(cross_a[:-1], cross_a[1:]):
                a = a_start + road_w / 2 + 1.5
                a_end = a_stop - road_w / 2 - 1.5
                while a < a_end - 15:
                    lot_w = min(rng.uniform(22, 32), a_end - a)
                    _plan_lot(rng, layout, a, lot_w, b + side * road_w / 2, side, lot_depth, road_w, (a_lo, a_hi, b_lo, b_hi))
                    a += lot_w
    return layout


def _plan_lot(
    rng: np.random.Generator,
    layout: Layout,
    a0: float,
    lot_w: float,
    road_edge_b: float,
    side: int,
    lot_depth: float,
    road_w: float,
    limits: tuple[float, float, float, float],
) -> None:
    """One lot from ``a0`` to ``a0 + lot_w``, starting at the road edge and going ``side``-wards."""
    grid = layout.grid

    def at(a: float, depth: float) -> np.ndarray:  # depth: metres from the road edge into the lot
        return grid.to_en(a, road_edge_b + side * depth)

    lot_a = a0 + lot_w / 2
    if rng.random() < 0.7:
        fence_w = rng.choice([0.08, 0.14])
        layout.fences.append(_thin_quad(at(a0, lot_depth), at(a0 + lot_w, lot_depth), fence_w))
        layout.fences.append(_thin_quad(at(a0, lot_depth * 0.55), at(a0, lot_depth), fence_w))
    a_lo, a_hi, b_lo, b_hi = limits
    centre_b = road_edge_b + side * lot_depth / 2
    if not (a_lo < lot_a < a_hi and b_lo < centre_b < b_hi):
        return
    empty = rng.random()
    if empty < 0.06:  # a construction site: bare soil, a slab, lumber (looks like debris, is not)
        layout.construction.append(np.array([at(a0 + 2, 1.0), at(a0 + lot_w - 2, 1.0), at(a0 + lot_w - 2, lot_depth - 2), at(a0 + 2, lot_depth - 2)]))
        return
    if empty < 0.14:  # an empty lot with a few trees
        for _ in range(rng.integers(1, 4)):
            layout.trees.append(TreeSite(at(lot_a + rng.uniform(-0.4, 0.4) * lot_w, rng.uniform(3, lot_depth - 2)), rng.uniform(2.5, 5.0), rng.uniform(6, 12)))
        return
    length = min(rng.uniform(11, 19), lot_w - 6)
    depth = rng.uniform(8, 13)
    setback = rng.uniform(6.5, 11)
    house_a = lot_a + rng.uniform(-1.5, 1.5)
    centre = at(house_a, setback + depth / 2)
    if rng.random() < 0.75:  # ridge along the street
        axis_x, axis_y, half_l, half_w = grid.axis_a, grid.axis_b, length / 2, depth / 2
    else:
        axis_x, axis_y, half_l, half_w = grid.axis_b, -grid.axis_a, depth / 2, length / 2
    if half_l < half_w:
        half_l, half_w = half_w + 0.5, half_l
    # wings come from their own generator, so they change nothing else in the street
    wing_rng = np.random.default_rng([int(abs(v) * 1000) for v in centre] + [int(length * 1000)])
    wings = []
    kind = wing_rng.random()
    if kind < 0.3:  # a rear wing: an L (at one end) or a T (in the middle)
        ww = wing_rng.uniform(4.0, max(4.5, min(7.0, 0.5 * length)))
        wd = wing_rng.uniform(3.5, 7.0)
        wa = house_a + wing_rng.choice([-1, 0, 1]) * (length / 2 - ww / 2)
        wings.append(_site(grid, at(wa, setback + depth + wd / 2 - 0.3), ww, wd + 0.3, side))
    elif kind < 0.5:  # a front porch
        pw = wing_rng.uniform(0.3, 0.6) * length
        pd = wing_rng.uniform(1.8, 2.6)
        wings.append(_site(grid, at(house_a + wing_rng.uniform(-0.2, 0.2) * length, setback - pd / 2 + 0.1), pw, pd, side))
    layout.houses.append(HouseSite(centre, axis_x, axis_y, half_l, half_w, tuple(wings)))
    rear_wing = kind < 0.3

    drive_a = house_a + rng.choice([-1, 1]) * (length / 2 - 2.5)
    layout.driveways.append(np.array([at(drive_a - 2.2, 0), at(drive_a + 2.2, 0), at(drive_a + 2.2, setback + 0.5), at(drive_a - 2.2, setback + 0.5)]))
    if rng.random() < 0.55:
        layout.cars.append(CarSite(at(drive_a, rng.uniform(2.5, setback - 2.5)), grid.axis_b * side))
    if rng.random() < 0.12:  # parked on the street
        layout.cars.append(CarSite(at(lot_a + rng.uniform(-8, 8), -1.2), grid.axis_a * rng.choice([-1, 1])))
    room = lot_depth - setback - depth - 1.5
    if room > 8 and rng.random() < 0.16:
        pool_w, pool_l = rng.uniform(3.5, 5.0), rng.uniform(6.5, 10)
        pool_centre = at(house_a + rng.uniform(-0.3, 0.3) * length, setback + depth + 1.5 + rng.uniform(2.5, room - 5.5) + pool_w / 2)
        if not rear_wing:
            layout.pool_decks.append(rectangle(pool_centre, grid.axis_a, grid.axis_b, pool_l / 2 + 1.5, pool_w / 2 + 1.5))
            layout.pool_water.append(rectangle(pool_centre, grid.axis_a, grid.axis_b, pool_l / 2, pool_w / 2))
    for _ in range(rng.integers(0, 8)):  # mature trees, crowns often over the eaves
        ta = lot_a + rng.uniform(-0.5, 0.5) * lot_w
        tb = rng.choice([rng.uniform(1.5, setback - 0.5), rng.uniform(setback + depth + 1.0, lot_depth - 0.5)])
        if abs(ta - house_a) < length / 2 + 1 and setback - 0.5 < tb < setback + depth + 0.5:
            continue
        layout.trees.append(TreeSite(at(ta, tb), rng.uniform(2.5, 7.0), rng.uniform(6, 13)))
