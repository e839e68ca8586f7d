"""A procedurally generated neighbourhood in local ENU metres.

Streets on a rotated grid, lots with houses (gable or hip roofs), lawns, driveways,
pools, fences, cars and trees. Some houses are damaged:

- Slight: exposed decking patches and blue tarps on the roof,
- Severe: a hole in the roof with jagged decking edges and broken rafters,
- Debris: no house left, a rubble pile in the footprint (painted on the ground).

Static things (ground, shadows, cars, rubble) are painted once into a top-down
:class:`GroundMap`; houses and tree crowns are planar :class:`~engine.synth.geometry.Face`
objects the renderer draws in 3-D. Damaged parts carry *surface ids* in label textures,
so the renderer can tell which pixels of a frame show which part.
"""

from __future__ import annotations

import math
from collections.abc import Callable  # noqa: F401  (used in ColourSource)
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.types import DamageLevel
from engine.synth import textures
from engine.synth.geometry import Face

ColourSource = "tuple[float, float, float] | Callable[[np.ndarray, np.ndarray], np.ndarray]"

ROOF_PX_PER_M = 20.0
WALL_PX_PER_M = 12.0
CANOPY_PX_PER_M = 10.0

SHINGLE_COLOURS = [(62, 62, 66), (48, 48, 52), (92, 84, 76), (70, 60, 52), (84, 88, 96), (58, 70, 62), (110, 104, 98), (96, 70, 58)]
WALL_COLOURS = [(225, 222, 212), (200, 190, 170), (170, 180, 190), (150, 70, 55), (135, 62, 48), (210, 200, 180), (186, 196, 176)]
CAR_COLOURS = [(230, 230, 232), (180, 182, 186), (30, 32, 36), (150, 30, 30), (40, 60, 120), (90, 92, 96), (210, 200, 170)]


@dataclass(frozen=True)
class Style:
    """Per-seed look: palette, sun and post-processing."""

    grass: tuple[float, float, float]
    dry_grass: tuple[float, float, float]
    asphalt: tuple[float, float, float]
    concrete: tuple[float, float, float]
    tree: tuple[float, float, float]
    sun_azimuth_deg: float
    sun_elevation_deg: float
    ambient: float
    debris_density: float
    white_balance: tuple[float, float, float]
    saturation: float
    exposure: float
    haze: float

    @property
    def sun_direction(self) -> np.ndarray:
        """Unit vector towards the sun (ENU)."""
        az, el = math.radians(self.sun_azimuth_deg), math.radians(self.sun_elevation_deg)
        return np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Style:
        overcast = bool(rng.random() < 0.3)  # post-storm skies are often grey: soft shadows
        lawns = [(86, 118, 60), (104, 116, 68), (122, 124, 78), (64, 98, 48), (92, 110, 72)]
        green = np.array(lawns[rng.integers(len(lawns))]) * rng.uniform(0.85, 1.1) + rng.normal(0, 6, 3)
        return cls(
            grass=tuple(np.clip(green, 20, 230)),
            dry_grass=tuple(np.clip(np.array([140, 135, 85]) * rng.uniform(0.8, 1.1), 0, 255)),
            asphalt=tuple(np.clip(np.array([105, 104, 104]) * rng.uniform(0.75, 1.2), 0, 255)),
            concrete=tuple(np.clip(np.array([180, 176, 168]) * rng.uniform(0.85, 1.1), 0, 255)),
            tree=tuple(np.clip(np.array([58, 88, 40]) * rng.uniform(0.75, 1.2) + rng.normal(0, 6, 3), 0, 255)),
            sun_azimuth_deg=float(rng.uniform(0, 360)),
            sun_elevation_deg=float(rng.uniform(35, 70)),
            ambient=float(rng.uniform(0.82, 0.92) if overcast else rng.uniform(0.45, 0.65)),
            debris_density=float(rng.uniform(0.2, 1.0)),
            white_balance=tuple(rng.uniform(0.92, 1.08, 3)),
            saturation=float(rng.uniform(0.6, 0.85) if overcast else rng.uniform(0.8, 1.05)),
            exposure=float(rng.uniform(0.85, 1.12)),
            haze=float(rng.uniform(0.0, 0.12)),
        )

    def lighting(self, normal: np.ndarray) -> float:
        """Lambertian brightness factor for a surface normal."""
        return self.ambient + (1.0 - self.ambient) * max(0.0, float(np.dot(normal, self.sun_direction))) * 1.25


@dataclass
class DamagePart:
    """One annotated damaged part (an ISBDA annotation)."""

    part_id: int
    building_id: int
    level: DamageLevel
    surface_id: int = 0
    centroid_enu: np.ndarray = field(default_factory=lambda: np.zeros(3))


@dataclass
class Building:
    """A house (or what is left of it)."""

    building_id: int
    footprint_enu: np.ndarray  # float[4, 2], counter-clockwise
    centre_enu: np.ndarray  # float[2]
    height_m: float
    roof: str  # "gable" | "hip" | "none"
    surface_id: int
    faces: list[Face] = field(default_factory=list)
    parts: list[DamagePart] = field(default_factory=list)

    @property
    def level(self) -> DamageLevel | None:
        return max((p.level for p in self.parts), default=None)


@dataclass
class Tree:
    centre_enu: np.ndarray
    faces: list[Face]


@dataclass
class GroundMap:
    """The top-down ground texture: pixel ``(col, row)`` centre is at
    ``east = east0 + (col + 0.5) * m_per_px``, ``north = north1 - (row + 0.5) * m_per_px``."""

    east0: float
    north1: float
    m_per_px: float
    image: np.ndarray  # uint8[H, W, 3]
    labels: np.ndarray  # uint16[H, W] surface ids of rubble

    def to_px(self, points_en: np.ndarray) -> np.ndarray:
        """ENU (east, north) -> texture index coordinates ``(col, row)``."""
        p = np.asarray(points_en, dtype=np.float64)[..., :2]
        return np.stack([(p[..., 0] - self.east0) / self.m_per_px - 0.5, (self.north1 - p[..., 1]) / self.m_per_px - 0.5], axis=-1)


@dataclass
class Scene:
    bounds_en: tuple[float, float, float, float]  # east0, north0, east1, north1
    style: Style
    ground: GroundMap
    buildings: list[Building]
    trees: list[Tree]
    parts: list[DamagePart]

    def surface_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Lookup arrays surface id -> building index (-1) and -> part index (-1)."""
        n = 1 + len(self.buildings) + len(self.parts)
        to_building = np.full(n, -1, np.int64)
        to_part = np.full(n, -1, np.int64)
        for i, b in enumerate(self.buildings):
            to_building[b.surface_id] = i
        for j, p in enumerate(self.parts):
            to_part[p.surface_id] = j
            to_building[p.surface_id] = next(i for i, b in enumerate(self.buildings) if b.building_id == p.building_id)
        return to_building, to_part


# ----------------------------------------------------------------------------- layout


@dataclass
class _Lot:
    centre_ab: np.ndarray  # lot frame: a along the street, b away from it
    house_size: tuple[float, float]  # along street, depth
    setback: float
    side: int  # +1 / -1: which side of the street


def _polygon_to_px(ground_px: GroundMap, poly_en: np.ndarray) -> np.ndarray:
    return np.round(ground_px.to_px(poly_en) * 8).astype(np.int32).reshape(-1, 1, 2)


class _Painter:
    """Paints ENU polygons into the ground texture with sub-pixel, anti-aliased edges."""

    def __init__(self, ground: GroundMap, canvas: np.ndarray) -> None:
        self.ground = ground
        self.canvas = canvas  # float32 RGB

    def mask(self, polys: list[np.ndarray], roi: tuple[int, int, int, int] | None = None) -> np.ndarray:
        h, w = self.canvas.shape[:2]
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [_polygon_to_px(self.ground, p) for p in polys], 255, lineType=cv2.LINE_AA, shift=3)
        return m

    def fill(self, polys: list[np.ndarray], colour: ColourSource) -> None:
        """Blend ``colour`` into the canvas inside the polygons (anti-aliased edges).

        ``colour`` is an RGB triple or a function ``(rows, cols) -> float32[N, 3]`` giving
        the colour at those canvas pixels (textured materials).
        """
        if not polys:
            return
        pts = [_polygon_to_px(self.ground, p) for p in polys]
        allp = np.concatenate([p.reshape(-1, 2) for p in pts]) >> 3
        h, w = self.canvas.shape[:2]
        x0, y0 = max(int(allp[:, 0].min()) - 2, 0), max(int(allp[:, 1].min()) - 2, 0)
        x1, y1 = min(int(allp[:, 0].max()) + 3, w), min(int(allp[:, 1].max()) + 3, h)
        if x1 <= x0 or y1 <= y0:
            return
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        offset = np.array([x0 * 8, y0 * 8], np.int32)
        cv2.fillPoly(m, [p - offset for p in pts], 255, lineType=cv2.LINE_AA, shift=3)
        ys, xs = np.nonzero(m)
        a = (m[ys, xs].astype(np.float32) / 255.0)[:, None]
        ys += y0
        xs += x0
        src = colour(ys, xs) if callable(colour) else np.asarray(colour, np.float32)
        self.canvas[ys, xs] = self.canvas[ys, xs] * (1.0 - a) + a * src


def _rot(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def _rect(centre: np.ndarray, ax: np.ndarray, ay: np.ndarray, half_a: float, half_b: float) -> np.ndarray:
    return np.array([centre - half_a * ax - half_b * ay, centre + half_a * ax - half_b * ay, centre + half_a * ax + half_b * ay, centre - half_a * ax + half_b * ay])


def _jagged_blob(rng: np.random.Generator, centre: np.ndarray, radius: float, n: int = 18, roughness: float = 0.35) -> np.ndarray:
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * (1 - roughness * rng.random(n))
    return centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], axis=1)


# ----------------------------------------------------------------------------- building faces


def _face_from_polygon(poly: np.ndarray, axis_u: np.ndarray, axis_v: np.ndarray, px_per_m: float, normal: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Origin and texture size so that the texture just covers ``poly`` in the (u, v) axes."""
    uv = np.stack([poly @ axis_u, poly @ axis_v], axis=1)
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    origin = lo[0] * axis_u + lo[1] * axis_v + float(np.dot(poly[0], normal)) * normal
    w = max(2, int(math.ceil((hi[0] - lo[0]) * px_per_m)) + 1)
    h = max(2, int(math.ceil((hi[1] - lo[1]) * px_per_m)) + 1)
    return origin, w, h


def _make_face(poly: np.ndarray, axis_u: np.ndarray, normal: np.ndarray, px_per_m: float) -> tuple[Face, int, int]:
    axis_u = axis_u / np.linalg.norm(axis_u)
    normal = normal / np.linalg.norm(normal)
    axis_v = np.cross(normal, axis_u)
    origin, w, h = _face_from_polygon(poly, axis_u, axis_v, px_per_m, normal)
    face = Face(origin, axis_u, axis_v, px_per_m, poly, np.zeros((h, w, 3), np.uint8), normal=normal)
    return face, w, h


def _house_faces(
    rng: np.random.Generator,
    style: Style,
    centre: np.ndarray,
    ax: np.ndarray,
    ay: np.ndarray,
    half_l: float,
    half_w: float,
    wall_h: float,
    roof_kind: str,
    roof_pitch_deg: float,
    storeys: int,
) -> tuple[list[Face], list[Face], float]:
    """Walls and roof faces of a box house with a gable or hip roof (ridge along ``ax``)."""
    ax3, ay3, z3 = np.array([ax[0], ax[1], 0.0]), np.array([ay[0], ay[1], 0.0]), np.array([0.0, 0.0, 1.0])
    c3 = np.array([centre[0], centre[1], 0.0])

    def p(a: float, b: float, z: float) -> np.ndarray:
        return c3 + a * ax3 + b * ay3 + z * z3

    ridge_h = half_w * math.tan(math.radians(roof_pitch_deg))
    top = wall_h + ridge_h
    over = 0.45
    eave_drop = over * math.tan(math.radians(roof_pitch_deg))
    wall_colour = textures.jitter_colour(rng, WALL_COLOURS[rng.integers(len(WALL_COLOURS))], 0.08)
    brick = bool(wall_colour[0] > wall_colour[2] * 1.6)
    trim = tuple(float(v) for v in textures.jitter_colour(rng, (235, 235, 230), 0.05))
    walls: list[Face] = []
    specs = [
        (p(-half_l, -half_w, 0), p(half_l, -half_w, 0), -ay3),
        (p(half_l, half_w, 0), p(-half_l, half_w, 0), ay3),
        (p(half_l, -half_w, 0), p(half_l, half_w, 0), ax3),
        (p(-half_l, half_w, 0), p(-half_l, -half_w, 0), -ax3),
    ]
    for k, (b0, b1, normal) in enumerate(specs):
        poly = [b0, b1, b1 + wall_h * z3]
        gable_end = roof_kind == "gable" and k >= 2
        if gable_end:
            poly.append((b0 + b1) / 2 + top * z3)
        poly.append(b0 + wall_h * z3)
        poly = np.array(poly)
        face, w, h = _make_face(poly, b1 - b0, normal, WALL_PX_PER_M)
        # axis_v = normal x u is +z: texture row 0 is the bottom, so flip the painted wall
        z_top = float(poly[:, 2].max())
        colour = wall_colour * style.lighting(normal) * style.exposure
        face.texture = textures.wall(rng, h, w, WALL_PX_PER_M, tuple(colour), brick=brick, storeys=storeys, top_z_m=z_top, trim=tuple(np.asarray(trim) * style.lighting(normal)))[::-1].astype(np.uint8)
        walls.append(face)
    roofs: list[Face] = []
    shingle = textures.jitter_colour(rng, SHINGLE_COLOURS[rng.integers(len(SHINGLE_COLOURS))], 0.10)
    la, wa = half_l + over, half_w + over
    ez = wall_h - eave_drop
    if roof_kind == "gable":
        quads = [
            (np.array([p(la, -wa, ez), p(-la, -wa, ez), p(-la, 0, top), p(la, 0, top)]), -ax3),
            (np.array([p(-la, wa, ez), p(la, wa, ez), p(la, 0, top), p(-la, 0, top)]), ax3),
        ]
    else:
        inner = max(half_l - half_w, 0.3)
        quads = [
            (np.array([p(la, -wa, ez), p(-la, -wa, ez), p(-inner, 0, top), p(inner, 0, top)]), -ax3),
            (np.array([p(-la, wa, ez), p(la, wa, ez), p(inner, 0, top), p(-inner, 0, top)]), ax3),
            (np.array([p(la, wa, ez), p(la, -wa, ez), p(inner, 0, top)]), -ay3),
            (np.array([p(-la, -wa, ez), p(-la, wa, ez), p(-inner, 0, top)]), ay3),
        ]
    for poly, u in quads:
        normal = np.cross(poly[1] - poly[0], poly[2] - poly[1])
        normal = normal / np.linalg.norm(normal)
        if normal[2] < 0:
            normal = -normal
        face, w, h = _make_face(poly, poly[1] - poly[0], normal, ROOF_PX_PER_M)
        face.texture = textures.shingles(rng, h, w, ROOF_PX_PER_M, tuple(shingle))  # float, lit later
        roofs.append(face)
        # fascia board under the eave edge
        out = np.array([normal[0], normal[1], 0.0])
        out /= np.linalg.norm(out)
        fascia = np.array([poly[0] - 0.22 * z3, poly[1] - 0.22 * z3, poly[1], poly[0]])
        board, fw, fh = _make_face(fascia, poly[1] - poly[0], out, WALL_PX_PER_M)
        board.texture = np.broadcast_to(np.clip(np.asarray(trim) * style.lighting(out) * style.exposure * 0.95, 0, 255), (fh, fw, 3)).astype(np.uint8)
        walls.append(board)
    return walls, roofs, top


def _debris_stubs(rng: np.random.Generator, style: Style, centre: np.ndarray, ax: np.ndarray, ay: np.ndarray, half_l: float, half_w: float, label: int) -> list[Face]:
    """Broken wall stubs standing in a rubble pile; every pixel of them is debris."""
    ax3, ay3, z3 = np.array([ax[0], ax[1], 0.0]), np.array([ay[0], ay[1], 0.0]), np.array([0.0, 0.0, 1.0])
    c3 = np.array([centre[0], centre[1], 0.0])
    colour = textures.jitter_colour(rng, WALL_COLOURS[rng.integers(len(WALL_COLOURS))], 0.1)
    sides = [(-ay3, ax3, half_w, half_l), (ay3, -ax3, half_w, half_l), (ax3, ay3, half_l, half_w), (-ax3, -ay3, half_l, half_w)]
    faces = []
    for k in rng.permutation(4)[: rng.integers(1, 4)]:
        normal, along, dist, half_len = sides[k]
        s0 = rng.uniform(-half_len, 0.2 * half_len)
        s1 = min(half_len, s0 + rng.uniform(0.3, 1.0) * half_len)
        if s1 - s0 < 1.0:
            continue
        b0, b1 = c3 + normal * dist + along * s0, c3 + normal * dist + along * s1
        n_top = int(rng.integers(3, 7))
        fractions = np.linspace(1.0, 0.0, n_top)
        tops = [b0 + (b1 - b0) * f + z3 * rng.uniform(0.3, 2.2) for f in fractions]
        poly = np.array([b0, b1, *tops])
        face, w, h = _make_face(poly, b1 - b0, normal, WALL_PX_PER_M)
        paint = textures.wall(rng, h, w, WALL_PX_PER_M, tuple(colour * style.lighting(normal) * style.exposure), brick=False, storeys=0, top_z_m=h / WALL_PX_PER_M, trim=(200, 200, 200))
        face.texture = paint[::-1].astype(np.uint8)
        face.labels = np.full((h, w), label, np.uint16)
        faces.append(face)
    return faces


def _roof_face_mask(face: Face) -> np.ndarray:
    h, w = face.texture.shape[:2]
    m = np.zeros((h, w), np.uint8)
    pts = np.round(face.plane_coords(face.polygon_enu) * 8).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(m, [pts], 1, shift=3)
    return m.astype(bool)


def _stepped_patch(rng: np.random.Generator, shape: tuple[int, int], face_mask: np.ndarray, px_per_m: float, size_m: float) -> np.ndarray:
    """A patch of missing shingles: courses stripped over ragged lengths."""
    h, w = shape
    ys, xs = np.nonzero(face_mask)
    k = rng.integers(len(ys))
    cy, cx = ys[k], xs[k]
    course = max(1, int(0.14 * px_per_m))
    half = size_m * px_per_m / 2
    m = np.zeros((h, w), np.uint8)
    rows = int(rng.uniform(0.5, 1.2) * half / course) + 1
    for r in range(-rows, rows + 1):
        y0 = int(cy + r * course)
        taper = 1 - abs(r) / (rows + 1) * rng.uniform(0.2, 0.9)
        x0 = int(cx - half * taper * rng.uniform(0.5, 1.2))
        x1 = int(cx + half * taper * rng.uniform(0.5, 1.2))
        cv2.rectangle(m, (x0, y0), (x1, y0 + course - 1), 1, -1)
    return m.astype(bool) & face_mask


def _paint_roof_damage(rng: np.random.Generator, face: Face, level: DamageLevel, surface_id: int) -> bool:
    """Paint one damaged part onto a roof face's texture and labels; False if it did not fit."""
    h, w = face.texture.shape[:2]
    px = face.px_per_m
    face_mask = _roof_face_mask(face)
    if not face_mask.any():
        return False
    if face.labels is None:
        face.labels = np.zeros((h, w), np.uint16)
    if level == DamageLevel.SLIGHT:
        if rng.random() < 0.3:
            ys, xs = np.nonzero(face_mask)
            k = rng.integers(len(ys))
            tw, th = rng.uniform(3.0, 7.0) * px, rng.uniform(2.0, 4.5) * px
            box = cv2.boxPoints(((float(xs[k]), float(ys[k])), (tw, th), float(rng.normal(0, 4))))
            m = np.zeros((h, w), np.uint8)
            cv2.fillPoly(m, [np.round(box).astype(np.int32)], 1)
            mask = m.astype(bool) & face_mask
            paint = textures.tarp(rng, h, w, px)
        else:
            mask = _stepped_patch(rng, (h, w), face_mask, px, rng.uniform(2.0, 6.5))
            paint = textures.decking(rng, h, w, px)
    else:
        ys, xs = np.nonzero(face_mask)
        k = rng.integers(len(ys))
        radius = rng.uniform(1.8, 3.8) * px
        blob = _jagged_blob(rng, np.array([xs[k], ys[k]], float), radius, n=22, roughness=0.55)
        hole = np.zeros((h, w), np.uint8)
        cv2.fillPoly(hole, [np.round(blob).astype(np.int32)], 1)
        ring = np.zeros((h, w), np.uint8)
        cv2.fillPoly(ring, [np.round(_jagged_blob(rng, np.array([xs[k], ys[k]], float), radius * rng.uniform(1.3, 1.7), n=26, roughness=0.4)).astype(np.int32)], 1)
        hole_m = hole.astype(bool) & face_mask
        mask = (ring.astype(bool) | hole_m) & face_mask
        paint = textures.decking(rng, h, w, px)
        paint[hole_m] = textures.roof_hole(rng, h, w, px)[hole_m]
    mask &= face.labels == 0
    if mask.sum() < 4:
        return False
    face.texture[mask] = paint[mask]
    face.labels[mask] = surface_id
    return True


# ----------------------------------------------------------------------------- the scene


def _level_for(rng: np.random.Generator, weights: np.ndarray) -> DamageLevel | None:
    k = rng.choice(4, p=weights)
    return None if k == 0 else DamageLevel(int(k))


def generate_scene(
    rng: np.random.Generator,
    bounds_en: tuple[float, float, float, float],
    *,
    street_heading_deg: float,
    street_offset_m: float,
    m_per_px: float,
) -> Scene:
    """Lay out and paint a neighbourhood covering ``bounds_en`` (east0, north0, east1, north1).

    ``street_heading_deg`` (clockwise from north) is the direction of the main streets;
    ``street_offset_m`` shifts the grid sideways so the flight path follows or crosses one.
    """
    style = Style.sample(rng)
    e0, n0, e1, n1 = bounds_en
    width_px = int(math.ceil((e1 - e0) / m_per_px))
    height_px = int(math.ceil((n1 - n0) / m_per_px))
    ground = GroundMap(e0, n0 + height_px * m_per_px, m_per_px, np.zeros((height_px, width_px, 3), np.uint8), np.zeros((height_px, width_px), np.uint16))
    px_per_m = 1.0 / m_per_px

    # lawns: base colour, dry patches, fine grain
    low = textures.smooth_noise(rng, height_px, width_px, 25 * px_per_m)
    mid = textures.smooth_noise(rng, height_px, width_px, 4 * px_per_m)
    fine = rng.standard_normal((height_px, width_px), dtype=np.float32)
    dry = np.clip(0.3 * low + 0.2 * mid, 0, 1)[..., None]
    canvas = (np.asarray(style.grass, np.float32) * (1 - dry) + np.asarray(style.dry_grass, np.float32) * dry)
    canvas *= (1 + 0.08 * mid + 0.07 * fine)[..., None]
    painter = _Painter(ground, canvas)
    shadow = np.zeros((height_px, width_px), np.float32)

    def material(colour: tuple, grain: float, blotch: float):  # noqa: ANN202
        """A painter source: the colour with grain and blotches, computed per ROI."""
        base = np.asarray(colour, np.float32)

        def source(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
            return base * (1 + grain * fine[rows, cols] + blotch * mid[rows, cols])[:, None]

        return source

    theta = math.radians(90.0 - street_heading_deg)  # ENU angle of the street direction
    ax = np.array([math.cos(theta), math.sin(theta)])
    ay = np.array([-ax[1], ax[0]])
    centre = np.array([(e0 + e1) / 2, (n0 + n1) / 2])
    corners = np.array([[e0, n0], [e1, n0], [e1, n1], [e0, n1]]) - centre
    a_lo, a_hi = (corners @ ax).min() - 40, (corners @ ax).max() + 40
    b_lo, b_hi = (corners @ ay).min() - 40, (corners @ ay).max() + 40

    road_w = rng.uniform(7.0, 9.5)
    lot_depth = rng.uniform(28.0, 38.0)
    block = 2 * lot_depth + road_w
    cross_every = rng.uniform(150.0, 230.0)
    offset_b = street_offset_m - float(centre @ ay)  # street centre lines at b = offset_b + k * block
    offset_a = rng.uniform(0, cross_every)

    def to_en(a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
        return centre + np.multiply.outer(a, ax) + np.multiply.outer(b, ay)

    asphalt_img = material(style.asphalt, 0.05, 0.06)
    concrete_img = material(style.concrete, 0.04, 0.05)
    roads, walks, drives, pools_deck, pools_water = [], [], [], [], []
    k0, k1 = int(math.floor((b_lo - offset_b) / block)), int(math.ceil((b_hi - offset_b) / block))
    street_bs = [offset_b + k * block for k in range(k0, k1 + 1)]
    c0, c1 = int(math.floor((a_lo - offset_a) / cross_every)), int(math.ceil((a_hi - offset_a) / cross_every))
    cross_as = [offset_a + k * cross_every for k in range(c0, c1 + 1)]
    for b in street_bs:
        roads.append(np.array([to_en(a_lo, b - road_w / 2), to_en(a_hi, b - road_w / 2), to_en(a_hi, b + road_w / 2), to_en(a_lo, b + road_w / 2)]))
        for side in (-1, 1):
            bw = b + side * (road_w / 2 + 1.0)
            walks.append(np.array([to_en(a_lo, bw), to_en(a_hi, bw), to_en(a_hi, bw + side * 1.4), to_en(a_lo, bw + side * 1.4)]))
    for a in cross_as:
        roads.append(np.array([to_en(a - road_w / 2, b_lo), to_en(a + road_w / 2, b_lo), to_en(a + road_w / 2, b_hi), to_en(a - road_w / 2, b_hi)]))

    # lots and houses
    weights = np.array([0.6, 0.24, 0.10, 0.06])
    weights = weights * rng.uniform(0.7, 1.3, 4)
    weights /= weights.sum()
    buildings: list[Building] = []
    parts: list[DamagePart] = []
    trees: list[Tree] = []
    tree_specs: list[tuple[np.ndarray, float, float]] = []
    cars: list[tuple[np.ndarray, np.ndarray]] = []
    fences: list[np.ndarray] = []
    rubble_polys: list[tuple[np.ndarray, int]] = []
    house_specs = []
    for b in street_bs:
        for side in (-1, 1):
            for ci in range(len(cross_as) - 1):
                a = cross_as[ci] + road_w / 2 + 1.5
                a_end = cross_as[ci + 1] - road_w / 2 - 1.5
                while a < a_end - 15:
                    lot_w = min(rng.uniform(22, 32), a_end - a)
                    lot_a = a + lot_w / 2
                    lot_b0 = b + side * (road_w / 2)  # lot starts at the road edge
                    if rng.random() < 0.5:
                        fences.append(np.array([to_en(a, lot_b0 + side * lot_depth), to_en(a + lot_w, lot_b0 + side * lot_depth)]))
                        fences.append(np.array([to_en(a, lot_b0 + side * (lot_depth * 0.55)), to_en(a, lot_b0 + side * lot_depth)]))
                    a += lot_w
                    lot_centre_b = lot_b0 + side * lot_depth / 2
                    if not (a_lo < lot_a < a_hi and b_lo < lot_centre_b < b_hi):
                        continue
                    if rng.random() < 0.1:  # empty lot: a few trees
                        for _ in range(rng.integers(1, 4)):
                            tree_specs.append((to_en(lot_a + rng.uniform(-0.4, 0.4) * lot_w, lot_b0 + side * rng.uniform(3, lot_depth - 2)), rng.uniform(2.5, 5.0), rng.uniform(6, 12)))
                        continue
                    length = min(rng.uniform(11, 19), lot_w - 6)
                    depth = rng.uniform(8, 13)
                    setback = rng.uniform(6.5, 11)
                    hb = lot_b0 + side * (setback + depth / 2)
                    ha = lot_a + rng.uniform(-1.5, 1.5)
                    house_specs.append((ha, hb, length, depth, side, lot_a, lot_w, lot_b0))
                    # driveway from the road to the house front, on one side
                    da = ha + rng.choice([-1, 1]) * (length / 2 - 2.5)
                    drives.append(np.array([to_en(da - 2.2, lot_b0), to_en(da + 2.2, lot_b0), to_en(da + 2.2, lot_b0 + side * (setback + 0.5)), to_en(da - 2.2, lot_b0 + side * (setback + 0.5))]))
                    if rng.random() < 0.55:
                        cars.append((to_en(da, lot_b0 + side * rng.uniform(2.5, setback - 2.5)), ay * side))
                    if rng.random() < 0.12:
                        cars.append((to_en(lot_a + rng.uniform(-8, 8), b + side * (road_w / 2 - 1.2)), ax * rng.choice([-1, 1])))
                    back_b = lot_b0 + side * (setback + depth + 1.5)
                    room = lot_depth - setback - depth - 1.5
                    if room > 8 and rng.random() < 0.16:
                        pa = ha + rng.uniform(-0.3, 0.3) * length
                        pb = back_b + side * rng.uniform(2.5, room - 5.5)
                        pw, pl = rng.uniform(3.5, 5.0), rng.uniform(6.5, 10)
                        pc = to_en(pa, pb + side * pw / 2)
                        pools_deck.append(_rect(pc, ax, ay, pl / 2 + 1.5, pw / 2 + 1.5))
                        pools_water.append(_rect(pc, ax, ay, pl / 2, pw / 2))
                    for _ in range(rng.integers(0, 6)):
                        ta = lot_a + rng.uniform(-0.45, 0.45) * lot_w
                        tb = rng.choice([rng.uniform(1.5, setback - 1.0), rng.uniform(setback + depth + 2.5, lot_depth - 1.0)])
                        if abs(ta - ha) < length / 2 + 2 and setback - 1 < tb < setback + depth + 1:
                            continue
                        tree_specs.append((to_en(ta, lot_b0 + side * tb), rng.uniform(2.5, 6.0), rng.uniform(6, 13)))

    painter.fill(roads, asphalt_img)
    # lane markings
    for b in street_bs:
        if rng.random() < 0.6:
            dashes = [np.array([to_en(a, b - 0.07), to_en(a + 4.0, b - 0.07), to_en(a + 4.0, b + 0.07), to_en(a, b + 0.07)]) for a in np.arange(a_lo, a_hi, 9.0)]
            painter.fill(dashes, (200, 180, 90))
    painter.fill(walks, concrete_img)
    painter.fill(drives, concrete_img)
    painter.fill(pools_deck, material((205, 200, 190), 0.03, 0.03))
    water = np.asarray((40, 160, 185), np.float32) * rng.uniform(0.8, 1.1)
    painter.fill(pools_water, tuple(float(v) for v in water))

    sun = style.sun_direction
    shadow_vec = -sun[:2] / max(sun[2], 0.2)  # ground offset per metre of height

    # houses
    for ha, hb, length, depth, side, lot_a, lot_w, lot_b0 in house_specs:
        bid = len(buildings) + 1
        hc = to_en(ha, hb)
        ridge_along = rng.random() < 0.75
        hx, hy = (ax, ay) if ridge_along else (ay, -ax)
        half_l, half_w = (length / 2, depth / 2) if ridge_along else (depth / 2, length / 2)
        if half_l < half_w:
            half_l, half_w = half_w + 0.5, half_l
        footprint = _rect(hc, hx, hy, half_l, half_w)
        level = _level_for(rng, weights)
        storeys = 2 if rng.random() < 0.25 else 1
        wall_h = 2.9 * storeys + rng.uniform(-0.2, 0.3)
        building = Building(bid, footprint, hc, 0.0, "none", surface_id=0)
        if level == DamageLevel.DEBRIS:
            blob = _jagged_blob(rng, np.zeros(2), 1.0, n=28, roughness=0.18)
            poly = hc + blob[:, :1] * hx * (half_l + rng.uniform(0.5, 2.0)) + blob[:, 1:] * hy * (half_w + rng.uniform(0.5, 2.0))
            part = DamagePart(len(parts), bid, DamageLevel.DEBRIS)
            part.centroid_enu = np.array([*poly.mean(axis=0), 0.0])
            building.parts.append(part)
            parts.append(part)
            rubble_polys.append((poly, len(parts) - 1))
            building.faces = _debris_stubs(rng, style, hc, hx, hy, half_l, half_w, 60000 + part.part_id)
            building.height_m = max([1.0] + [float(f.polygon_enu[:, 2].max()) for f in building.faces])
        else:
            roof_kind = "gable" if rng.random() < 0.55 else "hip"
            pitch = rng.uniform(18, 34)
            walls, roofs, top = _house_faces(rng, style, hc, hx, hy, half_l, half_w, wall_h, roof_kind, pitch, storeys)
            building.roof, building.height_m = roof_kind, top
            if level is not None:
                wanted = [level] + [DamageLevel.SLIGHT] * int(rng.choice([0, 0, 1, 2]))
                for lv in wanted:
                    face = roofs[rng.integers(min(2, len(roofs)))] if rng.random() < 0.8 else roofs[rng.integers(len(roofs))]
                    part = DamagePart(len(parts), bid, lv)
                    part.surface_id = -1  # assigned below
                    face_tex = face.texture
                    if face.labels is None:
                        face.labels = np.zeros(face_tex.shape[:2], np.uint16)
                    if _paint_roof_damage(rng, face, lv, 60000 + len(parts)):
                        building.parts.append(part)
                        parts.append(part)
            for face in roofs:
                face.texture = np.clip(face.texture.astype(np.float32) * style.lighting(face.normal) * style.exposure, 0, 255).astype(np.uint8)
            building.faces = walls + roofs
            # cast shadow: hull of footprint and its roof points pushed along the sun
            top_pts = np.concatenate([r.polygon_enu for r in roofs])
            pts = np.concatenate([footprint, top_pts[:, :2] + shadow_vec * top_pts[:, 2:3]])
            hull = cv2.convexHull(ground.to_px(pts).astype(np.float32))
            cv2.fillPoly(shadow, [np.round(hull * 8).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=3)
            # contact shadow so the house sits on the ground
            rim = _rect(hc, hx, hy, half_l + 0.5, half_w + 0.5)
            cv2.fillPoly(shadow, [np.round(ground.to_px(rim) * 8).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=3)
        buildings.append(building)

    # surface ids: buildings 1..N, parts after
    for i, building in enumerate(buildings):
        building.surface_id = i + 1
    for j, part in enumerate(parts):
        part.surface_id = len(buildings) + 1 + j
    for building in buildings:
        for face in building.faces:
            face.surface_id = building.surface_id
            if face.labels is not None:
                lab = face.labels
                nz = lab > 0
                lab[nz] = (len(buildings) + 1 + (lab[nz].astype(np.int64) - 60000)).astype(np.uint16)
    # centroids of roof parts from their painted pixels
    for building in buildings:
        for face in building.faces:
            if face.labels is None:
                continue
            for part in building.parts:
                if part.level == DamageLevel.DEBRIS:
                    continue  # the rubble centroid on the ground stands
                ys, xs = np.nonzero(face.labels == part.surface_id)
                if len(xs):
                    ab = (np.array([xs.mean(), ys.mean()]) + 0.5) / face.px_per_m
                    part.centroid_enu = face.origin + ab[0] * face.axis_u + ab[1] * face.axis_v

    # cars (with shadows)
    for pos, fwd in cars:
        side_v = np.array([-fwd[1], fwd[0]])
        body = _rect(pos, fwd, side_v, 2.3, 0.92)
        shadow_poly = _rect(pos + shadow_vec * 0.8, fwd, side_v, 2.4, 1.0)
        cv2.fillPoly(shadow, [np.round(ground.to_px(shadow_poly) * 8).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=3)
        colour = textures.jitter_colour(rng, CAR_COLOURS[rng.integers(len(CAR_COLOURS))], 0.06)
        painter.fill([body], tuple(float(v) for v in colour))
        painter.fill([_rect(pos + fwd * 0.55, fwd, side_v, 0.45, 0.78)], (35, 40, 48))
        painter.fill([_rect(pos - fwd * 1.35, fwd, side_v, 0.3, 0.75)], (45, 50, 58))
    # fences
    fence_polys = []
    for line in fences:
        d = line[1] - line[0]
        n = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9)
        fence_polys.append(np.array([line[0] - n * 0.08, line[1] - n * 0.08, line[1] + n * 0.08, line[0] + n * 0.08]))
    painter.fill(fence_polys, (128, 118, 92))

    # rubble (annotated)
    for poly, part_index in rubble_polys:
        part = parts[part_index]
        px = ground.to_px(poly)
        x0, y0 = np.floor(px.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(px.max(axis=0)).astype(int) + 3
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, width_px), min(y1, height_px)
        if x1 <= x0 or y1 <= y0:
            continue
        tex = textures.rubble(rng, y1 - y0, x1 - x0, px_per_m, tuple(textures.jitter_colour(rng, SHINGLE_COLOURS[rng.integers(len(SHINGLE_COLOURS))], 0.1)))
        full = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(full, [np.round((px - [x0, y0]) * 8).astype(np.int32)], 1, shift=3)
        m = full.astype(bool)
        canvas[y0:y1, x0:x1][m] = tex[m]
        ground.labels[y0:y1, x0:x1][m] = part.surface_id

    # storm litter on lawns
    n_bits = int((e1 - e0) * (n1 - n0) * 0.008 * style.debris_density)
    for _ in range(n_bits):
        c = rng.uniform([0, 0], [width_px, height_px])
        ln, th = rng.uniform(0.2, 1.0) * px_per_m, rng.uniform(0.08, 0.2) * px_per_m
        box = cv2.boxPoints(((float(c[0]), float(c[1])), (ln, th), float(rng.uniform(0, 180))))
        colour = (200, 198, 190) if rng.random() < 0.35 else (95, 75, 55)
        cv2.fillPoly(canvas, [np.round(box).astype(np.int32)], colour)

    # trees
    sun_xy = sun[:2] / (np.linalg.norm(sun[:2]) + 1e-9)
    for centre_en, radius, height in tree_specs:
        if not (e0 - 10 < centre_en[0] < e1 + 10 and n0 - 10 < centre_en[1] < n1 + 10):
            continue
        if any(cv2.pointPolygonTest(b.footprint_enu.astype(np.float32), (float(centre_en[0]), float(centre_en[1])), True) > -1.0 for b in buildings):
            continue
        sc = centre_en + shadow_vec * height * 0.8
        cv2.ellipse(shadow, (int(ground.to_px(sc)[0]), int(ground.to_px(sc)[1])), (int(radius * 0.85 * px_per_m), int(radius * 0.8 * px_per_m)), 0, 0, 360, 0.75, -1, lineType=cv2.LINE_AA)
        faces = []
        colour = textures.jitter_colour(rng, style.tree, 0.15)
        for layer, (scale, z) in enumerate([(1.0, height * 0.75), (0.7, height)]):
            r = radius * scale
            size = max(4, int(2 * r * CANOPY_PX_PER_M))
            rgb, alpha = textures.canopy(rng, size, tuple(colour * (1 + 0.12 * layer)), sun_xy)
            origin = np.array([centre_en[0] - r, centre_en[1] + r, z])
            poly = np.array([[centre_en[0] - r, centre_en[1] - r, z], [centre_en[0] + r, centre_en[1] - r, z], [centre_en[0] + r, centre_en[1] + r, z], [centre_en[0] - r, centre_en[1] + r, z]])
            faces.append(Face(origin, np.array([1.0, 0, 0]), np.array([0, -1.0, 0]), size / (2 * r), poly, (rgb * style.exposure).clip(0, 255).astype(np.uint8), alpha=alpha))
        trees.append(Tree(np.asarray(centre_en), faces))

    # shadows, lighting, exposure
    soft = cv2.GaussianBlur(shadow, (0, 0), 0.35 * px_per_m)
    canvas *= (1 - (1 - style.ambient) * 0.9 * np.clip(soft, 0, 1))[..., None]
    canvas *= style.exposure * (style.ambient + (1 - style.ambient) * sun[2] * 1.25)
    ground.image = np.clip(canvas, 0, 255).astype(np.uint8)
    return Scene(bounds_en, style, ground, buildings, trees, parts)
