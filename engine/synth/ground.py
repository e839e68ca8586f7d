"""The top-down ground texture: lawns, streets, driveways, pools, cars, fences, rubble, shadows.

Painted once per flight at a fixed resolution (metres per pixel) in ENU, then warped
into every frame by a homography. Rubble pixels also carry their damaged part's
surface id in :attr:`GroundMap.labels`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from engine.synth import storm, textures
from engine.synth.buildings import SHINGLE_COLOURS, Building
from engine.synth.layout import Layout, rectangle
from engine.synth.style import Style

CAR_COLOURS = [(230, 230, 232), (180, 182, 186), (30, 32, 36), (150, 30, 30), (40, 60, 120), (90, 92, 96), (210, 200, 170)]

#: storm litter: paper, plastic, branches, and bits of tan board (not damage)
LITTER_COLOURS = [(200, 198, 190), (200, 198, 190), (95, 75, 55), (95, 75, 55), (95, 75, 55), (190, 150, 100), (60, 90, 170)]
SOIL_COLOURS = [(128, 100, 72), (150, 120, 86), (172, 146, 108), (112, 88, 66), (188, 168, 128), (160, 110, 74)]

#: An RGB triple, or a function (rows, cols) -> float32[N, 3] giving a textured colour.
ColourSource = tuple[float, float, float] | Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class GroundMap:
    """The ground texture; pixel ``(col, row)`` has its centre at
    ``east = east0 + (col + 0.5) * m_per_px``, ``north = north1 - (row + 0.5) * m_per_px``."""

    east0: float
    north1: float
    m_per_px: float
    image: np.ndarray  # uint8[H, W, 3]
    labels: np.ndarray  # uint16[H, W]: surface ids of rubble, 0 elsewhere
    negatives: np.ndarray | None = None  # bool[H, W]: hard negatives (bare soil, building sites), never labelled

    def to_px(self, points_en: np.ndarray) -> np.ndarray:
        """ENU (east, north) -> texture index coordinates ``(col, row)``."""
        p = np.asarray(points_en, dtype=np.float64)[..., :2]
        return np.stack([(p[..., 0] - self.east0) / self.m_per_px - 0.5, (self.north1 - p[..., 1]) / self.m_per_px - 0.5], axis=-1)

    def to_fixed_point(self, polygon_en: np.ndarray) -> np.ndarray:
        """Texture coordinates with 3 fractional bits, for ``cv2.fillPoly(..., shift=3)``."""
        return np.round(self.to_px(polygon_en) * 8).astype(np.int32).reshape(-1, 1, 2)


class _Canvas:
    """A float RGB canvas over the ground, with anti-aliased polygon blending and a shadow layer."""

    def __init__(self, ground: GroundMap, image: np.ndarray) -> None:
        self.ground = ground
        self.image = image
        self.shadow = np.zeros(image.shape[:2], np.float32)

    def fill(self, polys: list[np.ndarray], colour: ColourSource) -> None:
        """Blend ``colour`` into the canvas inside the ENU polygons."""
        if not polys:
            return
        pts = [self.ground.to_fixed_point(p) for p in polys]
        corners = np.concatenate([p.reshape(-1, 2) for p in pts]) >> 3
        h, w = self.image.shape[:2]
        x0, y0 = max(int(corners[:, 0].min()) - 2, 0), max(int(corners[:, 1].min()) - 2, 0)
        x1, y1 = min(int(corners[:, 0].max()) + 3, w), min(int(corners[:, 1].max()) + 3, h)
        if x1 <= x0 or y1 <= y0:
            return
        coverage = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(coverage, [p - np.array([x0 * 8, y0 * 8], np.int32) for p in pts], 255, lineType=cv2.LINE_AA, shift=3)
        ys, xs = np.nonzero(coverage)
        alpha = (coverage[ys, xs].astype(np.float32) / 255.0)[:, None]
        ys += y0
        xs += x0
        src = colour(ys, xs) if callable(colour) else np.asarray(colour, np.float32)
        self.image[ys, xs] = self.image[ys, xs] * (1.0 - alpha) + alpha * src

    def mark(self, polys: list[np.ndarray]) -> None:
        """Mark ENU polygons as hard negatives in the ground's :attr:`GroundMap.negatives`."""
        if self.ground.negatives is not None and polys:
            cv2.fillPoly(self.ground.negatives, [self.ground.to_fixed_point(p) for p in polys], 1, shift=3)

    def cast_shadow(self, polygon_en: np.ndarray, strength: float = 1.0) -> None:
        cv2.fillPoly(self.shadow, [self.ground.to_fixed_point(polygon_en)], strength, lineType=cv2.LINE_AA, shift=3)


def paint_ground(
    rng: np.random.Generator,
    style: Style,
    bounds_en: tuple[float, float, float, float],
    m_per_px: float,
    layout: Layout,
    buildings: list[Building],
    tree_shadows: list[tuple[np.ndarray, float, float]],
    *,
    fallen: list[storm.FallenTree] | None = None,
) -> GroundMap:
    """Paint the ground under ``layout``; ``tree_shadows`` are (centre, radius, height),
    ``fallen`` the trees lying on the ground."""
    e0, n0, e1, n1 = bounds_en
    width_px = int(math.ceil((e1 - e0) / m_per_px))
    height_px = int(math.ceil((n1 - n0) / m_per_px))
    px_per_m = 1.0 / m_per_px
    ground = GroundMap(e0, n0 + height_px * m_per_px, m_per_px, np.zeros((height_px, width_px, 3), np.uint8), np.zeros((height_px, width_px), np.uint16), np.zeros((height_px, width_px), np.uint8))

    # lawns: base colour, dry patches, grain
    low = textures.smooth_noise(rng, height_px, width_px, 25 * px_per_m)
    mid = textures.smooth_noise(rng, height_px, width_px, 4 * px_per_m)
    fine = rng.standard_normal((height_px, width_px), dtype=np.float32)
    dry = np.clip(0.3 * low + 0.2 * mid, 0, 1)[..., None]
    image = np.asarray(style.grass, np.float32) * (1 - dry) + np.asarray(style.dry_grass, np.float32) * dry
    image *= (1 + 0.08 * mid + 0.07 * fine)[..., None]
    canvas = _Canvas(ground, image)

    def material(colour: tuple[float, float, float], grain: float, blotch: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        base = np.asarray(colour, np.float32)
        return lambda rows, cols: base * (1 + grain * fine[rows, cols] + blotch * mid[rows, cols])[:, None]

    concrete = material(style.concrete, 0.04, 0.05)
    _bare_soil(rng, canvas, material, bounds_en, style)
    canvas.fill(layout.roads, material(style.asphalt, 0.05, 0.06))
    canvas.fill(layout.lane_dashes, (200, 180, 90))
    canvas.fill(layout.sidewalks, concrete)
    canvas.fill(layout.driveways, concrete)
    canvas.fill(layout.pool_decks, material((205, 200, 190), 0.03, 0.03))
    canvas.fill(layout.pool_water, tuple(float(v) for v in np.asarray((40, 160, 185)) * rng.uniform(0.8, 1.1)))
    canvas.fill(layout.fences, (128, 118, 92))
    for lot in layout.construction:
        _construction_site(rng, canvas, material, lot, style)

    offset = style.shadow_offset
    for car in layout.cars:
        fwd = car.forward
        side = np.array([-fwd[1], fwd[0]])
        canvas.cast_shadow(rectangle(car.centre_en + offset * 0.8, fwd, side, 2.4, 1.0))
        canvas.fill([rectangle(car.centre_en, fwd, side, 2.3, 0.92)], tuple(float(v) for v in textures.jitter_colour(rng, CAR_COLOURS[rng.integers(len(CAR_COLOURS))], 0.06)))
        canvas.fill([rectangle(car.centre_en + fwd * 0.55, fwd, side, 0.45, 0.78)], (35, 40, 48))  # windscreen
        canvas.fill([rectangle(car.centre_en - fwd * 1.35, fwd, side, 0.3, 0.75)], (45, 50, 58))  # rear window

    for building in buildings:
        if building.rubble_en is not None:
            _paint_rubble(rng, ground, canvas, building)
            continue
        # cast shadow: hull of the footprint and the roof pushed along the sun; contact shadow around the walls
        roof_pts = np.concatenate([f.polygon_enu for f in building.faces] + [f.polygon_enu for _, faces in building.wings for f in faces])
        pts = np.concatenate([building.footprint_en, roof_pts[:, :2] + offset * roof_pts[:, 2:3]])
        canvas.cast_shadow(cv2.convexHull(pts.astype(np.float32)).reshape(-1, 2))
        site = building.site
        for box in (site, *site.wings):
            canvas.cast_shadow(rectangle(box.centre_en, box.axis_x, box.axis_y, box.half_length_m + 0.5, box.half_width_m + 0.5))
    for centre, radius, height in tree_shadows:
        c = ground.to_px(centre + offset * height * 0.8)
        cv2.ellipse(canvas.shadow, (int(c[0]), int(c[1])), (int(radius * 0.85 * px_per_m), int(radius * 0.8 * px_per_m)), 0, 0, 360, 0.75, -1, lineType=cv2.LINE_AA)

    for pole in layout.poles:
        a, b = ground.to_px(pole.base_en), ground.to_px(pole.base_en + pole.lean_en + offset * pole.height_m)
        cv2.line(canvas.shadow, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 0.8, max(1, int(0.25 * px_per_m)), lineType=cv2.LINE_AA)

    # standing water on lawns and streets
    for _ in range(int((e1 - e0) * (n1 - n0) / 2500.0 * style.storm * rng.uniform(0.0, 1.5))):
        storm.paint_puddle(rng, image, ground.to_px, px_per_m, rng.uniform([e0, n0], [e1, n1]), style)
    for tree in fallen or []:
        storm.paint_fallen_tree(rng, image, ground.to_px, px_per_m, tree, storm.tree_colour(rng, style), canvas.shadow)
    # cut branches piled on lawns and at the kerb (not building debris)
    for _ in range(int((e1 - e0) * (n1 - n0) / 3000.0 * style.storm * rng.uniform(0.3, 1.5))):
        hull = storm.paint_branch_pile(rng, image, ground.to_px, px_per_m, rng.uniform([e0, n0], [e1, n1]), storm.tree_colour(rng, style))
        canvas.mark([hull])

    for building in buildings:
        if building.level is not None:
            _scatter_around(rng, ground, image, building)
    for centre, radius, _ in tree_shadows:
        if rng.random() < 0.25 * style.debris_density + 0.05:
            _fallen_branches(rng, ground, image, style, centre, radius)

    # storm litter on lawns and streets
    for _ in range(int((e1 - e0) * (n1 - n0) * 0.008 * style.debris_density)):
        c = rng.uniform([0, 0], [width_px, height_px])
        size = (rng.uniform(0.2, 1.0) * px_per_m, rng.uniform(0.08, 0.2) * px_per_m)
        box = cv2.boxPoints(((float(c[0]), float(c[1])), size, float(rng.uniform(0, 180))))
        cv2.fillPoly(image, [np.round(box).astype(np.int32)], LITTER_COLOURS[rng.integers(len(LITTER_COLOURS))])

    soft = cv2.GaussianBlur(canvas.shadow, (0, 0), 0.35 * px_per_m)
    image *= (1 - (1 - style.ambient) * 0.9 * np.clip(soft, 0, 1))[..., None]
    image *= style.exposure * (style.ambient + (1 - style.ambient) * style.sun_direction[2] * 1.25)
    ground.image = np.clip(image, 0, 255).astype(np.uint8)
    ground.negatives[ground.labels > 0] = 0  # rubble painted over them is damage
    return ground


def _blob_en(rng: np.random.Generator, centre: np.ndarray, radius_m: float, stretch: float = 1.0) -> np.ndarray:
    angles = np.sort(rng.uniform(0, 2 * np.pi, 20))
    radii = radius_m * (1 - 0.45 * rng.random(20))
    turn = rng.uniform(0, np.pi)
    pts = np.stack([np.cos(angles) * radii * stretch, np.sin(angles) * radii], axis=1)
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    return centre + pts @ rot.T


def _bare_soil(rng: np.random.Generator, canvas: _Canvas, material: Callable, bounds_en: tuple[float, float, float, float], style: Style) -> None:
    """Worn and dug-up patches of bare soil and sand on the lawns (hard negatives: tan, not damage)."""
    e0, n0, e1, n1 = bounds_en
    count = int((e1 - e0) * (n1 - n0) / 1500.0 * rng.uniform(0.3, 1.5))
    for _ in range(count):
        centre = rng.uniform([e0, n0], [e1, n1])
        blob = _blob_en(rng, centre, rng.uniform(1.0, 5.0), rng.uniform(1.0, 2.5))
        colour = SOIL_COLOURS[rng.integers(len(SOIL_COLOURS))]
        canvas.fill([blob], material(tuple(float(v) for v in np.asarray(colour) * rng.uniform(0.85, 1.1)), 0.08, 0.12))
        canvas.mark([blob])


def _construction_site(rng: np.random.Generator, canvas: _Canvas, material: Callable, lot: np.ndarray, style: Style) -> None:
    """A lot being built on: bare soil, a concrete slab, stacked lumber, pallets, a dumpster."""
    centre = lot.mean(axis=0)
    ax = lot[1] - lot[0]
    along = float(np.linalg.norm(ax))
    ax = ax / along
    ay = lot[3] - lot[0]
    across = float(np.linalg.norm(ay))
    ay = ay / across
    soil = SOIL_COLOURS[rng.integers(len(SOIL_COLOURS))]
    canvas.fill([lot], material(tuple(float(v) for v in soil), 0.10, 0.15))
    marked = [lot]
    if rng.random() < 0.7:
        slab = rectangle(centre + ay * rng.uniform(-2, 2), ax, ay, min(along / 2 - 2, rng.uniform(5, 9)), min(across / 2 - 4, rng.uniform(4, 6)))
        canvas.fill([slab], material(style.concrete, 0.04, 0.06))
        if rng.random() < 0.5:  # wall framing laid out on the slab
            for t in np.linspace(-0.9, 0.9, int(rng.integers(5, 12))):
                a, b = slab[0] + (slab[1] - slab[0]) * (t + 1) / 2, slab[3] + (slab[2] - slab[3]) * (t + 1) / 2
                canvas.fill([np.array([a, b, b + ax * 0.08, a + ax * 0.08])], (205, 172, 122))
    for _ in range(int(rng.integers(2, 7))):  # lumber stacks and pallets
        c = centre + ax * rng.uniform(-0.45, 0.45) * along + ay * rng.uniform(-0.45, 0.45) * across
        turn = rng.uniform(0, np.pi)
        fx = np.array([np.cos(turn), np.sin(turn)])
        fy = np.array([-fx[1], fx[0]])
        canvas.cast_shadow(rectangle(c + 0.3, fx, fy, 1.8, 0.7), 0.7)
        canvas.fill([rectangle(c, fx, fy, rng.uniform(1.0, 2.5), rng.uniform(0.4, 1.0))], tuple(float(v) for v in textures.jitter_colour(rng, (200, 165, 112), 0.12)))
    if rng.random() < 0.6:  # a dumpster
        c = centre + ax * rng.uniform(-0.4, 0.4) * along - ay * 0.35 * across
        box = rectangle(c, ax, ay, 3.0, 1.2)
        canvas.cast_shadow(box + 0.4)
        canvas.fill([box], tuple(float(v) for v in textures.jitter_colour(rng, [(40, 90, 60), (40, 60, 120), (200, 100, 30)][rng.integers(3)], 0.1)))
    canvas.mark(marked)


def _paint_rubble(rng: np.random.Generator, ground: GroundMap, canvas: _Canvas, building: Building) -> None:
    """The rubble pile of a destroyed house; its pixels are labelled with the debris part."""
    px = ground.to_px(building.rubble_en)
    h, w = canvas.image.shape[:2]
    x0, y0 = (max(int(v), 0) for v in np.floor(px.min(axis=0)) - 2)
    x1, y1 = min(int(np.ceil(px[:, 0].max())) + 3, w), min(int(np.ceil(px[:, 1].max())) + 3, h)
    if x1 <= x0 or y1 <= y0:
        return
    roof = textures.jitter_colour(rng, SHINGLE_COLOURS[rng.integers(len(SHINGLE_COLOURS))], 0.1)
    tex = textures.rubble(rng, y1 - y0, x1 - x0, 1.0 / ground.m_per_px, tuple(roof))
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(inside, [np.round((px - [x0, y0]) * 8).astype(np.int32)], 1, shift=3)
    m = inside.astype(bool)
    canvas.image[y0:y1, x0:x1][m] = tex[m]
    ground.labels[y0:y1, x0:x1][m] = building.parts[0].surface_id


def _scatter_around(rng: np.random.Generator, ground: GroundMap, image: np.ndarray, building: Building) -> None:
    """Shingles, boards and insulation blown off a damaged house onto its yard (not annotated)."""
    px_per_m = 1.0 / ground.m_per_px
    roof = textures.jitter_colour(rng, SHINGLE_COLOURS[rng.integers(len(SHINGLE_COLOURS))], 0.1)
    palette = [tuple(float(v) for v in roof)] * 3 + [(190, 150, 105), (225, 220, 210), (150, 120, 90)]
    site = building.site
    count = int(rng.uniform(15, 60) * (3 if building.rubble_en is not None else 1))
    for _ in range(count):
        along = rng.uniform(-1.6, 1.6) * site.half_length_m
        across = rng.choice([-1, 1]) * (site.half_width_m + rng.exponential(4.0))
        if rng.random() < 0.5:
            along, across = rng.choice([-1, 1]) * (site.half_length_m + rng.exponential(4.0)), rng.uniform(-1.6, 1.6) * site.half_width_m
        c = ground.to_px(site.centre_en + along * site.axis_x + across * site.axis_y)
        size = (rng.uniform(0.25, 1.2) * px_per_m, rng.uniform(0.15, 0.5) * px_per_m)
        box = cv2.boxPoints(((float(c[0]), float(c[1])), size, float(rng.uniform(0, 180))))
        cv2.fillPoly(image, [np.round(box * 8).astype(np.int32)], palette[rng.integers(len(palette))], lineType=cv2.LINE_AA, shift=3)


def _fallen_branches(rng: np.random.Generator, ground: GroundMap, image: np.ndarray, style: Style, centre: np.ndarray, radius: float) -> None:
    """A broken limb with leaves lying on the ground near a tree."""
    px_per_m = 1.0 / ground.m_per_px
    angle = rng.uniform(0, 2 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    start = centre + direction * radius * rng.uniform(0.6, 1.2)
    length = rng.uniform(2.0, 6.0)
    a, b = ground.to_px(start), ground.to_px(start + direction * length)
    cv2.line(image, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (80, 62, 45), max(1, int(0.15 * px_per_m)), lineType=cv2.LINE_AA)
    leaves = max(4, int(1.6 * px_per_m))
    for t in np.linspace(0.3, 1.0, 4):
        p = a + (b - a) * t + rng.normal(0, 0.3 * px_per_m, 2)
        rgb, alpha = textures.canopy(rng, leaves, tuple(np.asarray(style.tree) * 0.9), np.array([0.0, 1.0]))
        x0, y0 = int(p[0] - leaves / 2), int(p[1] - leaves / 2)
        if x0 < 0 or y0 < 0 or y0 + leaves > image.shape[0] or x0 + leaves > image.shape[1]:
            continue
        weight = (alpha.astype(np.float32) / 255.0)[..., None]
        region = image[y0 : y0 + leaves, x0 : x0 + leaves]
        region *= 1 - weight
        region += weight * rgb
