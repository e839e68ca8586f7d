"""Houses as textured 3-D faces, and the damage painted onto them.

A house is a box with a gable or hip roof (ridge along its long axis), fascia boards
under the eaves, walls with windows. Damage goes into the roof textures, with the same
pixels marked in the faces' label textures by the damaged part's surface id:

- Slight: strips of missing shingles exposing orange decking, or a blue tarp;
- Severe: a jagged hole with broken rafters, ringed by exposed decking;
- Debris: no house; a rubble outline (painted on the ground by :mod:`~engine.synth.ground`)
  and a few broken wall stubs, all of which count as the damaged part.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.types import DamageLevel
from engine.synth import textures
from engine.synth.geometry import Face
from engine.synth.layout import HouseSite
from engine.synth.style import METAL_ROOF_SHARE, Style

ROOF_PX_PER_M = 20.0  # texture detail for full-HD-ish frames; smaller frames pass less
WALL_SHARE = 0.6  # walls are seen at a grazing angle: coarser textures do
EAVE_OVERHANG_M = 0.45

METAL_ROOF_COLOURS = [(150, 154, 158), (120, 60, 50), (70, 100, 80), (175, 170, 160), (80, 95, 120), (196, 192, 182), (160, 110, 70)]
SHINGLE_COLOURS = [(62, 62, 66), (48, 48, 52), (92, 84, 76), (70, 60, 52), (84, 88, 96), (58, 70, 62), (110, 104, 98), (96, 70, 58)]
#: light, tan, beige and terracotta roofs: intact roofs the colour of bare decking, so a
#: model cannot learn "tan = damage" (hard negatives)
LIGHT_ROOF_COLOURS = [(168, 146, 116), (186, 166, 132), (150, 128, 100), (176, 104, 72), (160, 88, 62), (190, 186, 178), (200, 170, 120), (140, 120, 96)]
WALL_COLOURS = [(225, 222, 212), (200, 190, 170), (170, 180, 190), (150, 70, 55), (135, 62, 48), (210, 200, 180), (186, 196, 176)]


@dataclass
class DamagePart:
    """One damaged part: one ISBDA annotation wherever it is visible."""

    part_id: int
    building_id: int
    level: DamageLevel
    surface_id: int
    centroid_enu: np.ndarray = field(default_factory=lambda: np.zeros(3))


@dataclass
class Building:
    """A house, or what is left of it."""

    building_id: int
    surface_id: int
    site: HouseSite
    height_m: float
    roof: str  # "gable" | "hip" | "none" (debris)
    faces: list[Face] = field(default_factory=list)
    parts: list[DamagePart] = field(default_factory=list)
    wings: list[tuple[np.ndarray, list[Face]]] = field(default_factory=list)  # (centre, faces) of attached wings
    rubble_en: np.ndarray | None = None  # outline of the rubble pile (debris only)

    @property
    def footprint_en(self) -> np.ndarray:
        return self.site.footprint_en

    @property
    def centre_en(self) -> np.ndarray:
        return self.site.centre_en

    @property
    def level(self) -> DamageLevel | None:
        return max((p.level for p in self.parts), default=None)


def build_building(
    rng: np.random.Generator,
    style: Style,
    site: HouseSite,
    level: DamageLevel | None,
    *,
    building_id: int,
    surface_ids: Iterator[int],
    part_ids: Iterator[int],
    roof_px_per_m: float = ROOF_PX_PER_M,
) -> Building:
    """A house on ``site`` with damage of ``level`` (None: intact).

    ``surface_ids`` and ``part_ids`` hand out scene-wide unique ids; ``roof_px_per_m``
    is the roof texture resolution (walls get :data:`WALL_SHARE` of it).
    """
    building = Building(building_id, next(surface_ids), site, 0.0, "none")
    if level == DamageLevel.DEBRIS:
        part = DamagePart(next(part_ids), building_id, level, next(surface_ids))
        blob = jagged_blob(rng, np.zeros(2), 1.0, n=36, roughness=0.3)
        grow_x, grow_y = rng.uniform(0.5, 2.0, 2)
        building.rubble_en = site.centre_en + blob[:, :1] * site.axis_x * (site.half_length_m + grow_x) + blob[:, 1:] * site.axis_y * (site.half_width_m + grow_y)
        part.centroid_enu = np.array([*building.rubble_en.mean(axis=0), 0.0])
        building.parts.append(part)
        building.faces = _debris_stubs(rng, style, site, part.surface_id, roof_px_per_m * WALL_SHARE)
        building.height_m = max([1.0] + [float(f.polygon_enu[:, 2].max()) for f in building.faces])
        for face in building.faces:
            face.surface_id = building.surface_id
        return building

    storeys = 2 if rng.random() < 0.25 else 1  # (wings, below, are single-storey)
    wall_h = 2.9 * storeys + rng.uniform(-0.2, 0.3)
    building.roof = "gable" if rng.random() < 0.55 else "hip"
    look: dict = {}
    walls, roofs, building.height_m = _house_faces(rng, style, site, wall_h, building.roof, rng.uniform(18, 34), storeys, roof_px_per_m, look=look)
    if level is not None:
        for part_level in [level] + [DamageLevel.SLIGHT] * int(rng.choice([0, 0, 1, 2])):
            face = roofs[rng.integers(min(2, len(roofs)))] if rng.random() < 0.8 else roofs[rng.integers(len(roofs))]
            surface_id = next(surface_ids)
            if part_level == DamageLevel.SLIGHT and len(roofs) >= 2 and rng.random() < 0.15:
                centroid = _paint_ridge_caps(rng, roofs[:2], surface_id)
            else:
                centroid = _paint_roof_damage(rng, face, part_level, surface_id)
            if centroid is not None:
                building.parts.append(DamagePart(next(part_ids), building_id, part_level, surface_id, centroid))
    paint_roof_negatives(rng, roofs)
    for face in roofs:  # light the roofs after the damage is painted in
        face.texture = np.clip(face.texture.astype(np.float32) * style.lighting(face.normal) * style.exposure, 0, 255).astype(np.uint8)
    building.faces = walls + roofs
    for face in building.faces:
        face.surface_id = building.surface_id
    wing_rng = np.random.default_rng([building_id, 104729])  # wings draw from their own stream
    for wing in site.wings:
        porch = wing.half_width_m < 1.5
        wing_wall = 2.5 if porch else min(wall_h, 2.9) - wing_rng.uniform(0, 0.3)
        w_walls, w_roofs, w_top = _house_faces(wing_rng, style, wing, wing_wall, "hip" if porch else building.roof, wing_rng.uniform(8, 14) if porch else wing_rng.uniform(16, 28), 1, roof_px_per_m, look=look)
        paint_roof_negatives(wing_rng, w_roofs)
        for face in w_roofs:
            face.texture = np.clip(face.texture.astype(np.float32) * style.lighting(face.normal) * style.exposure, 0, 255).astype(np.uint8)
        for face in w_walls + w_roofs:
            face.surface_id = building.surface_id
        building.wings.append((wing.centre_en, w_walls + w_roofs))
        building.height_m = max(building.height_m, w_top)
    return building


def jagged_blob(rng: np.random.Generator, centre: np.ndarray, radius: float, n: int = 18, roughness: float = 0.35) -> np.ndarray:
    """A star-shaped polygon ``float[n, 2]`` with radii in ``[1 - roughness, 1] * radius``."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius * (1 - roughness * rng.random(n))
    return centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], axis=1)


# ----------------------------------------------------------------------------- faces


def _make_face(poly: np.ndarray, axis_u: np.ndarray, normal: np.ndarray, px_per_m: float) -> tuple[Face, int, int]:
    """A face whose texture (width, height returned) just covers ``poly`` along ``axis_u``."""
    axis_u = axis_u / np.linalg.norm(axis_u)
    normal = normal / np.linalg.norm(normal)
    axis_v = np.cross(normal, axis_u)
    uv = np.stack([poly @ axis_u, poly @ axis_v], axis=1)
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    origin = lo[0] * axis_u + lo[1] * axis_v + float(np.dot(poly[0], normal)) * normal
    w = max(2, int(math.ceil((hi[0] - lo[0]) * px_per_m)) + 1)
    h = max(2, int(math.ceil((hi[1] - lo[1]) * px_per_m)) + 1)
    return Face(origin, axis_u, axis_v, px_per_m, poly, np.zeros((h, w, 3), np.uint8), normal=normal), w, h


def _house_faces(
    rng: np.random.Generator,
    style: Style,
    site: HouseSite,
    wall_h: float,
    roof_kind: str,
    roof_pitch_deg: float,
    storeys: int,
    roof_px_per_m: float,
    *,
    look: dict | None = None,
) -> tuple[list[Face], list[Face], float]:
    """Walls (+ fascia boards) and roof faces; also the ridge height.

    ``look`` (wall and roof colours and materials) is filled in when empty and reused
    when not, so a house's wings match it.
    """
    look = {} if look is None else look
    wall_px_per_m = roof_px_per_m * WALL_SHARE
    ax3, ay3, z3 = np.array([*site.axis_x, 0.0]), np.array([*site.axis_y, 0.0]), np.array([0.0, 0.0, 1.0])
    c3 = np.array([*site.centre_en, 0.0])
    half_l, half_w = site.half_length_m, site.half_width_m

    def p(a: float, b: float, z: float) -> np.ndarray:
        return c3 + a * ax3 + b * ay3 + z * z3

    tan_pitch = math.tan(math.radians(roof_pitch_deg))
    top = wall_h + half_w * tan_pitch
    if "wall" not in look:
        look["wall"] = textures.jitter_colour(rng, WALL_COLOURS[rng.integers(len(WALL_COLOURS))], 0.08)
        look["trim"] = textures.jitter_colour(rng, (235, 235, 230), 0.05)
    wall_colour, trim = look["wall"], look["trim"]
    brick = bool(wall_colour[0] > wall_colour[2] * 1.6)

    walls: list[Face] = []
    # (bottom start, bottom end, outward normal); with u = end - start, the texture's v axis is +z
    specs = [
        (p(-half_l, -half_w, 0), p(half_l, -half_w, 0), -ay3),
        (p(half_l, half_w, 0), p(-half_l, half_w, 0), ay3),
        (p(half_l, -half_w, 0), p(half_l, half_w, 0), ax3),
        (p(-half_l, half_w, 0), p(-half_l, -half_w, 0), -ax3),
    ]
    for k, (b0, b1, normal) in enumerate(specs):
        outline = [b0, b1, b1 + wall_h * z3]
        if roof_kind == "gable" and k >= 2:  # gable ends are pentagons
            outline.append((b0 + b1) / 2 + top * z3)
        outline.append(b0 + wall_h * z3)
        poly = np.array(outline)
        face, w, h = _make_face(poly, b1 - b0, normal, wall_px_per_m)
        light = style.lighting(normal) * style.exposure
        paint = textures.wall(rng, h, w, wall_px_per_m, tuple(wall_colour * light), brick=brick, storeys=storeys, top_z_m=float(poly[:, 2].max()), trim=tuple(trim * light))
        face.texture = paint[::-1].astype(np.uint8)  # painted top row first; texture row 0 is the bottom
        walls.append(face)

    la, wa = half_l + EAVE_OVERHANG_M, half_w + EAVE_OVERHANG_M
    ez = wall_h - EAVE_OVERHANG_M * tan_pitch
    if roof_kind == "gable":
        outlines = [
            np.array([p(la, -wa, ez), p(-la, -wa, ez), p(-la, 0, top), p(la, 0, top)]),
            np.array([p(-la, wa, ez), p(la, wa, ez), p(la, 0, top), p(-la, 0, top)]),
        ]
    else:
        inner = max(half_l - half_w, 0.3)
        outlines = [
            np.array([p(la, -wa, ez), p(-la, -wa, ez), p(-inner, 0, top), p(inner, 0, top)]),
            np.array([p(-la, wa, ez), p(la, wa, ez), p(inner, 0, top), p(-inner, 0, top)]),
            np.array([p(la, wa, ez), p(la, -wa, ez), p(inner, 0, top)]),
            np.array([p(-la, -wa, ez), p(-la, wa, ez), p(-inner, 0, top)]),
        ]
    if "roof" not in look:
        kind = rng.random()
        metal = kind < METAL_ROOF_SHARE
        light = not metal and kind < METAL_ROOF_SHARE + style.light_roof_share
        tiles = light and rng.random() < 0.4  # clay/concrete tiles
        palette = METAL_ROOF_COLOURS if metal else LIGHT_ROOF_COLOURS if light else SHINGLE_COLOURS
        look["roof"] = (metal, tiles, textures.jitter_colour(rng, palette[rng.integers(len(palette))], 0.10))
    metal, tiles, roof_colour = look["roof"]
    roofs: list[Face] = []
    for poly in outlines:  # first edge: the eave
        normal = np.cross(poly[1] - poly[0], poly[2] - poly[1])
        normal /= np.linalg.norm(normal)
        if normal[2] < 0:
            normal = -normal
        face, w, h = _make_face(poly, poly[1] - poly[0], normal, roof_px_per_m)
        paint = textures.metal_roof if metal else textures.tiles if tiles else textures.shingles
        face.texture = paint(rng, h, w, roof_px_per_m, tuple(roof_colour))  # float until lit
        roofs.append(face)
        outward = np.array([normal[0], normal[1], 0.0]) / np.linalg.norm(normal[:2])
        fascia = np.array([poly[0] - 0.22 * z3, poly[1] - 0.22 * z3, poly[1], poly[0]])
        board, fw, fh = _make_face(fascia, poly[1] - poly[0], outward, wall_px_per_m)
        board.texture = np.broadcast_to(np.clip(trim * style.lighting(outward) * style.exposure * 0.95, 0, 255), (fh, fw, 3)).astype(np.uint8)
        walls.append(board)  # drawn before the roofs, which overhang it
    return walls, roofs, top


def _debris_stubs(rng: np.random.Generator, style: Style, site: HouseSite, label: int, px_per_m: float) -> list[Face]:
    """Broken wall stubs standing in a rubble pile; every pixel of them is debris."""
    ax3, ay3, z3 = np.array([*site.axis_x, 0.0]), np.array([*site.axis_y, 0.0]), np.array([0.0, 0.0, 1.0])
    c3 = np.array([*site.centre_en, 0.0])
    hl, hw = site.half_length_m, site.half_width_m
    colour = textures.jitter_colour(rng, WALL_COLOURS[rng.integers(len(WALL_COLOURS))], 0.1)
    sides = [(-ay3, ax3, hw, hl), (ay3, -ax3, hw, hl), (ax3, ay3, hl, hw), (-ax3, -ay3, hl, hw)]
    faces = []
    for k in rng.permutation(4)[: rng.integers(1, 4)]:
        normal, along, dist, half_len = sides[k]
        s0 = rng.uniform(-half_len, 0.2 * half_len)
        s1 = min(half_len, s0 + rng.uniform(0.3, 1.0) * half_len)
        if s1 - s0 < 1.0:
            continue
        b0, b1 = c3 + normal * dist + along * s0, c3 + normal * dist + along * s1
        tops = [b0 + (b1 - b0) * f + z3 * rng.uniform(0.3, 2.2) for f in np.linspace(1.0, 0.0, int(rng.integers(3, 7)))]
        face, w, h = _make_face(np.array([b0, b1, *tops]), b1 - b0, normal, px_per_m)
        light = style.lighting(normal) * style.exposure
        paint = textures.wall(rng, h, w, px_per_m, tuple(colour * light), brick=False, storeys=0, top_z_m=h / px_per_m, trim=(200, 200, 200))
        face.texture = paint[::-1].astype(np.uint8)
        face.labels = np.full((h, w), label, np.uint16)
        faces.append(face)
    return faces


# ----------------------------------------------------------------------------- roof damage


def _face_mask(face: Face) -> np.ndarray:
    """``bool[H, W]``: the texture pixels inside the face outline."""
    h, w = face.texture.shape[:2]
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(face.plane_coords(face.polygon_enu) * 8).astype(np.int32).reshape(-1, 1, 2)], 1, shift=3)
    return m.astype(bool)


def _stepped_patch(rng: np.random.Generator, face_mask: np.ndarray, centre: tuple[int, int], px_per_m: float, size_m: float) -> np.ndarray:
    """Missing shingles: courses stripped over ragged lengths, tapering away from the centre."""
    cx, cy = centre
    course = max(1, int(0.14 * px_per_m))
    half = size_m * px_per_m / 2
    m = np.zeros(face_mask.shape, np.uint8)
    rows = int(rng.uniform(0.5, 1.2) * half / course) + 1
    for r in range(-rows, rows + 1):
        y0 = int(cy + r * course)
        taper = 1 - abs(r) / (rows + 1) * rng.uniform(0.2, 0.9)
        x0 = int(cx - half * taper * rng.uniform(0.5, 1.2))
        x1 = int(cx + half * taper * rng.uniform(0.5, 1.2))
        cv2.rectangle(m, (x0, y0), (x1, y0 + course - 1), 1, -1)
    return m.astype(bool) & face_mask


def _paint_ridge_caps(rng: np.random.Generator, roofs: list[Face], surface_id: int) -> np.ndarray | None:
    """Missing ridge caps: broken runs of bare decking straddling the ridge, painted on the
    two faces that meet there as one part; its ENU centroid, or None."""
    a, b = (roofs[0].polygon_enu[k] for k in np.flatnonzero(roofs[0].polygon_enu[:, 2] > roofs[0].polygon_enu[:, 2].max() - 0.05)[[0, -1]])
    if np.linalg.norm(b - a) < 0.5:
        return None
    runs, t = [], rng.uniform(0, 0.3)
    while t < 1.0:
        run = rng.uniform(0.1, 0.5)
        runs.append((t, min(1.0, t + run)))
        t += run + rng.uniform(0.0, 0.3)
    width_m = rng.uniform(0.2, 0.4)
    total = 0
    for face in roofs:
        h, w = face.texture.shape[:2]
        if face.labels is None:
            face.labels = np.zeros((h, w), np.uint16)
        free = _face_mask(face) & (face.labels == 0)
        m = np.zeros((h, w), np.uint8)
        for t0, t1 in runs:
            p0, p1 = face.plane_coords(np.array([a + (b - a) * t0, a + (b - a) * t1]))
            cv2.line(m, (int(round(p0[0])), int(round(p0[1]))), (int(round(p1[0])), int(round(p1[1]))), 1, max(1, int(2 * width_m * face.px_per_m)))
        mask = m.astype(bool) & free
        if mask.any():
            face.texture[mask] = textures.decking(rng, h, w, face.px_per_m)[mask]
            face.labels[mask] = surface_id
            total += int(mask.sum())
    if total < 4:
        return None
    mids = [a + (b - a) * (t0 + t1) / 2 for t0, t1 in runs]
    weights = [t1 - t0 for t0, t1 in runs]
    return np.average(np.array(mids), axis=0, weights=weights)


def _paint_roof_damage(rng: np.random.Generator, face: Face, level: DamageLevel, surface_id: int) -> np.ndarray | None:
    """Paint one damaged part onto a roof face; its ENU centroid, or None if it did not fit."""
    h, w = face.texture.shape[:2]
    px = face.px_per_m
    if face.labels is None:
        face.labels = np.zeros((h, w), np.uint16)
    free = _face_mask(face) & (face.labels == 0)
    ys, xs = np.nonzero(free)
    if len(xs) == 0:
        return None
    k = rng.integers(len(xs))
    centre = (int(xs[k]), int(ys[k]))
    kind = rng.random()
    if level == DamageLevel.SLIGHT and kind < 0.4:
        # wind-stripped field: several ragged patches of bare decking running together,
        # often over a large share of the face (what real post-storm footage shows most)
        m = np.zeros((h, w), np.uint8)
        reach = rng.uniform(1.2, 3.0) * px
        for _ in range(int(rng.integers(2, 7))):
            offset = np.clip(rng.normal(0, 0.8, 2), -1.5, 1.5) * reach
            radius = rng.uniform(0.6, 1.6) * reach / 1.5
            blob = jagged_blob(rng, np.array(centre, float) + offset, radius, n=24, roughness=0.6)
            cv2.fillPoly(m, [np.round(blob).astype(np.int32)], 1)
        mask = m.astype(bool) & free
        paint = textures.decking(rng, h, w, px)
    elif level == DamageLevel.SLIGHT and kind < 0.6:
        size = (rng.uniform(3.0, 7.0) * px, rng.uniform(2.0, 4.5) * px)
        box = cv2.boxPoints((centre, size, float(rng.normal(0, 4))))
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [np.round(box).astype(np.int32)], 1)
        mask = m.astype(bool) & free
        paint = textures.tarp(rng, h, w, px)
    elif level == DamageLevel.SLIGHT:
        mask = _stepped_patch(rng, free, centre, px, rng.uniform(2.0, 6.5))
        paint = textures.decking(rng, h, w, px)
    elif kind < 0.5:
        # torn off down to the framing: rafters over the attic, ragged decking at the edges
        radius = rng.uniform(2.5, 4.5) * px
        torn = np.zeros((h, w), np.uint8)
        cv2.fillPoly(torn, [np.round(jagged_blob(rng, np.array(centre, float), radius, n=26, roughness=0.45)).astype(np.int32)], 1)
        edge = np.zeros((h, w), np.uint8)
        cv2.fillPoly(edge, [np.round(jagged_blob(rng, np.array(centre, float), radius * rng.uniform(1.15, 1.4), n=30, roughness=0.35)).astype(np.int32)], 1)
        torn_mask = torn.astype(bool) & free
        mask = (edge.astype(bool) | torn_mask) & free
        paint = textures.decking(rng, h, w, px)
        paint[torn_mask] = textures.framing(rng, h, w, px)[torn_mask]
    else:
        radius = rng.uniform(1.8, 3.8) * px
        hole = np.zeros((h, w), np.uint8)
        cv2.fillPoly(hole, [np.round(jagged_blob(rng, np.array(centre, float), radius, n=22, roughness=0.55)).astype(np.int32)], 1)
        ring = np.zeros((h, w), np.uint8)
        cv2.fillPoly(ring, [np.round(jagged_blob(rng, np.array(centre, float), radius * rng.uniform(1.3, 1.7), n=26, roughness=0.4)).astype(np.int32)], 1)
        hole_mask = hole.astype(bool) & free
        mask = (ring.astype(bool) | hole_mask) & free
        paint = textures.decking(rng, h, w, px)
        paint[hole_mask] = textures.roof_hole(rng, h, w, px)[hole_mask]
    if mask.sum() < 4:
        return None
    face.texture[mask] = paint[mask]
    face.labels[mask] = surface_id
    ys, xs = np.nonzero(mask)
    a, b = (xs.mean() + 0.5) / px, (ys.mean() + 0.5) / px
    return face.origin + a * face.axis_u + b * face.axis_v



# ----------------------------------------------------------------------------- hard negatives

SKYLIGHT_M = (0.7, 1.2)  # across, up the slope
SOLAR_PANEL_M = (1.0, 1.7)
MOSS_COLOURS = [(58, 72, 40), (40, 46, 34), (30, 30, 30), (88, 92, 60)]


def _free_pixels(face: Face) -> np.ndarray:
    """Inside the face and not damaged: where hard negatives may go."""
    free = _face_mask(face)
    if face.labels is not None:
        free &= face.labels == 0
    return free


def _place_rect(rng: np.random.Generator, free: np.ndarray, size_px: tuple[int, int], tries: int = 12) -> tuple[int, int] | None:
    """Top-left ``(col, row)`` of a ``size_px`` (w, h) rectangle lying wholly in ``free``, or None."""
    h, w = free.shape
    rw, rh = size_px
    if rw >= w - 2 or rh >= h - 2:
        return None
    for _ in range(tries):
        c, r = int(rng.integers(1, w - rw - 1)), int(rng.integers(1, h - rh - 1))
        if free[r : r + rh, c : c + rw].all():
            return c, r
    return None


def paint_roof_negatives(rng: np.random.Generator, roofs: list[Face]) -> None:
    """Things on intact roof pixels that look like damage but are not: moss and water
    stains, patches of mismatched replacement shingles, skylights, solar panels, vents.

    Painted after the damage and only where no damage is (``labels == 0``); the pixels
    are marked in each face's :attr:`~engine.synth.geometry.Face.negatives`.
    """
    solar_face = int(rng.integers(len(roofs))) if roofs and rng.random() < 0.1 else -1
    for k, face in enumerate(roofs):
        h, w = face.texture.shape[:2]
        px = face.px_per_m
        free = _free_pixels(face)
        neg = np.zeros((h, w), bool)
        tex = face.texture
        if rng.random() < 0.3:  # moss, lichen, water stains: streaks running down the slope
            streaks = textures.smooth_noise(rng, max(2, h // 6), w, 0.6 * px / 1.0)
            streaks = cv2.resize(streaks, (w, h), interpolation=cv2.INTER_LINEAR)
            blotch = textures.smooth_noise(rng, h, w, rng.uniform(1.0, 3.0) * px)
            strength = np.clip(0.6 * blotch + 0.4 * streaks - rng.uniform(0.5, 1.1), 0, 0.8) * free
            colour = textures.jitter_colour(rng, MOSS_COLOURS[rng.integers(len(MOSS_COLOURS))], 0.1)
            tex[:] = tex * (1 - strength[..., None]) + colour * strength[..., None]
            neg |= strength > 0.1
        if rng.random() < 0.12:  # replaced or sun-bleached shingles in another colour
            size = (int(rng.uniform(1.5, 5.0) * px), int(rng.uniform(1.0, 3.0) * px))
            at = _place_rect(rng, free, size)
            if at is not None:
                colour = LIGHT_ROOF_COLOURS[rng.integers(len(LIGHT_ROOF_COLOURS))] if rng.random() < 0.6 else SHINGLE_COLOURS[rng.integers(len(SHINGLE_COLOURS))]
                patch = textures.shingles(rng, size[1], size[0], px, tuple(textures.jitter_colour(rng, colour, 0.1)))
                c, r = at
                tex[r : r + size[1], c : c + size[0]] = patch
                neg[r : r + size[1], c : c + size[0]] = True
        if rng.random() < 0.14:  # skylights: framed glass reflecting the sky
            for _ in range(int(rng.integers(1, 3))):
                size = (max(2, int(SKYLIGHT_M[0] * px)), max(3, int(SKYLIGHT_M[1] * px * rng.uniform(0.8, 1.4))))
                at = _place_rect(rng, free & ~neg, size)
                if at is None:
                    continue
                c, r = at
                glass = textures.skylight(rng, size[1], size[0], px)
                tex[r : r + size[1], c : c + size[0]] = glass
                neg[r : r + size[1], c : c + size[0]] = True
        if k == solar_face:
            cols, rows = int(rng.integers(2, 7)), int(rng.integers(1, 4))
            size = (max(4, int(cols * SOLAR_PANEL_M[0] * px)), max(4, int(rows * SOLAR_PANEL_M[1] * px)))
            at = _place_rect(rng, free & ~neg, size, tries=30)
            if at is not None:
                c, r = at
                tex[r : r + size[1], c : c + size[0]] = textures.solar_array(rng, size[1], size[0], px, cols, rows)
                neg[r : r + size[1], c : c + size[0]] = True
        for _ in range(int(rng.integers(0, 3))):  # vents and pipe boots
            s = max(2, int(rng.uniform(0.25, 0.5) * px))
            at = _place_rect(rng, free & ~neg, (s, s), tries=4)
            if at is not None:
                c, r = at
                cv2.circle(tex, (c + s // 2, r + s // 2), max(1, s // 2), tuple(float(v) for v in textures.jitter_colour(rng, (70, 70, 72), 0.3)), -1)
                neg[r : r + s, c : c + s] = True
        face.negatives = neg & free
