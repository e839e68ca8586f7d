"""What a storm leaves besides damaged houses: fallen and snapped trees, trees lying on
roofs, piles of cut branches, standing water, utility poles (some leaning).

None of it is annotated: a tree lying on a roof hides the roof (and its damage) from
the camera, so the annotation is only the damage still visible around it; a pile of
branches is not building debris.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.synth import textures
from engine.synth.geometry import Face
from engine.synth.style import Style

TRUNK_COLOURS = [(92, 78, 62), (118, 104, 88), (140, 132, 120), (78, 66, 54)]
ROOT_PLATE = (88, 70, 50)


@dataclass(frozen=True)
class FallenTree:
    """A tree lying on the ground: trunk from ``base_en`` along ``direction`` for ``length_m``."""

    base_en: np.ndarray
    direction: np.ndarray  # unit, ENU
    length_m: float
    crown_radius_m: float
    snapped: bool  # broken off above the ground (a stump, no root plate)


def tree_colour(rng: np.random.Generator, style: Style) -> np.ndarray:
    """One tree's foliage colour: the flight's tree colour, varied per tree (species, season)."""
    variants = [(1.0, 1.0, 1.0), (0.8, 0.85, 0.8), (1.25, 1.1, 0.8), (0.9, 1.05, 1.1), (1.35, 1.2, 0.9)]
    v = np.asarray(variants[rng.integers(len(variants))])
    return np.clip(np.asarray(style.tree) * v * rng.uniform(0.8, 1.2) + rng.normal(0, 6, 3), 0, 255).astype(np.float32)


def crown_sprite(rng: np.random.Generator, colour: np.ndarray, length_px: int, width_px: int, angle_deg: float, *, stripped: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A crown lying on its side, seen from above: ``(rgb float32[s, s, 3], alpha float32[s, s])``,
    ``length_px`` along ``angle_deg`` (image convention, degrees anticlockwise)."""
    base = max(4, max(length_px, width_px))
    rgb, alpha = textures.canopy(rng, base, tuple(float(v) for v in colour), np.array([0.3, 0.8]), stripped=stripped)
    rgb = cv2.resize(rgb, (max(2, length_px), max(2, width_px)), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha.astype(np.float32) / 255.0, (max(2, length_px), max(2, width_px)), interpolation=cv2.INTER_AREA)
    s = int(np.ceil(np.hypot(length_px, width_px))) + 2
    m = cv2.getRotationMatrix2D((length_px / 2, width_px / 2), angle_deg, 1.0)
    m[:, 2] += [(s - length_px) / 2, (s - width_px) / 2]
    rgb = cv2.warpAffine(rgb, m, (s, s), flags=cv2.INTER_LINEAR, borderValue=0)
    alpha = cv2.warpAffine(alpha, m, (s, s), flags=cv2.INTER_LINEAR, borderValue=0)
    return rgb, alpha


def blend(image: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, centre_px: np.ndarray) -> np.ndarray | None:
    """Alpha-blend a sprite centred at ``centre_px`` (col, row) into a float image; the
    ``(x0, y0, x1, y1)`` box it covered in the image, or None if off the image."""
    h, w = image.shape[:2]
    s_h, s_w = alpha.shape
    x0, y0 = int(round(centre_px[0] - s_w / 2)), int(round(centre_px[1] - s_h / 2))
    a0, b0 = max(0, -x0), max(0, -y0)
    a1, b1 = min(s_w, w - x0), min(s_h, h - y0)
    if a1 <= a0 or b1 <= b0:
        return None
    region = image[y0 + b0 : y0 + b1, x0 + a0 : x0 + a1]
    a = alpha[b0:b1, a0:a1, None]
    region *= 1 - a
    region += a * rgb[b0:b1, a0:a1]
    return np.array([x0 + a0, y0 + b0, x0 + a1, y0 + b1])


def paint_fallen_tree(rng: np.random.Generator, image: np.ndarray, to_px, px_per_m: float, tree: FallenTree, colour: np.ndarray, shadow: np.ndarray) -> None:
    """Trunk, crown and root plate (or stump) of a tree lying on the ground, painted top-down."""
    base, d = tree.base_en, tree.direction
    if not tree.snapped:  # the root plate stands up where the roots tore out of the lawn
        p = to_px(base - d * 0.4)
        r = max(1, int(rng.uniform(0.9, 1.5) * px_per_m))
        cv2.ellipse(image, (int(p[0]), int(p[1])), (r, max(1, int(r * 0.6))), float(np.degrees(np.arctan2(-d[1], d[0]))) + 90, 0, 360, ROOT_PLATE, -1, lineType=cv2.LINE_AA)
    else:
        p = to_px(base)
        cv2.circle(image, (int(p[0]), int(p[1])), max(1, int(0.3 * px_per_m)), (150, 128, 96), -1, lineType=cv2.LINE_AA)
    trunk_end = base + d * tree.length_m
    a, b = to_px(base), to_px(trunk_end)
    thick = max(1, int(rng.uniform(0.25, 0.5) * px_per_m))
    colour_trunk = TRUNK_COLOURS[rng.integers(len(TRUNK_COLOURS))]
    cv2.line(shadow, (int(a[0] + thick), int(a[1] + thick)), (int(b[0] + thick), int(b[1] + thick)), 0.8, thick, lineType=cv2.LINE_AA)
    cv2.line(image, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), colour_trunk, thick, lineType=cv2.LINE_AA)
    for _ in range(int(rng.integers(2, 6))):  # limbs
        t = rng.uniform(0.4, 0.9)
        start = base + d * tree.length_m * t
        side = np.array([-d[1], d[0]]) * rng.choice([-1, 1])
        end = start + (d * rng.uniform(0.3, 1.0) + side * rng.uniform(0.5, 1.0)) * tree.crown_radius_m * 0.8
        p0, p1 = to_px(start), to_px(end)
        cv2.line(image, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), colour_trunk, max(1, thick // 2), lineType=cv2.LINE_AA)
    # the crown is squashed along the trunk and lies past its end
    centre = base + d * (tree.length_m + tree.crown_radius_m * 0.4)
    length_px = int(2.2 * tree.crown_radius_m * px_per_m)
    width_px = int(1.8 * tree.crown_radius_m * px_per_m)
    angle = float(np.degrees(np.arctan2(d[1], d[0])))  # ENU north is image up: anticlockwise angle
    rgb, alpha = crown_sprite(rng, colour * rng.uniform(0.8, 1.0), length_px, width_px, angle, stripped=float(rng.uniform(0.0, 0.5)))
    blend(image, rgb, alpha, to_px(centre))


def paint_branch_pile(rng: np.random.Generator, image: np.ndarray, to_px, px_per_m: float, centre_en: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """A pile of cut and broken branches (at a kerb, on a lawn); its ENU hull."""
    length, width = rng.uniform(2.0, 7.0), rng.uniform(1.0, 2.5)
    turn = rng.uniform(0, np.pi)
    ax = np.array([np.cos(turn), np.sin(turn)])
    ay = np.array([-ax[1], ax[0]])
    for _ in range(int(length * width * 2) + 3):  # leafy clumps
        p = centre_en + ax * rng.uniform(-0.5, 0.5) * length + ay * rng.uniform(-0.5, 0.5) * width
        size = max(3, int(rng.uniform(0.6, 1.4) * px_per_m))
        rgb, alpha = textures.canopy(rng, size, tuple(float(v) for v in colour * rng.uniform(0.6, 1.05)), np.array([0.0, 1.0]), stripped=float(rng.uniform(0, 0.8)))
        blend(image, rgb, alpha.astype(np.float32) / 255.0, to_px(p))
    for _ in range(int(length * width * 3) + 4):  # sticks
        p = centre_en + ax * rng.uniform(-0.5, 0.5) * length + ay * rng.uniform(-0.5, 0.5) * width
        q = p + ax * rng.normal(0, 1.0) + ay * rng.normal(0, 0.4)
        a, b = to_px(p), to_px(q)
        shade = rng.uniform(0.7, 1.3)
        cv2.line(image, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), tuple(float(v) * shade for v in TRUNK_COLOURS[rng.integers(len(TRUNK_COLOURS))]), max(1, int(0.08 * px_per_m)), lineType=cv2.LINE_AA)
    return np.array([centre_en + s * ax * length / 2 + t * ay * width / 2 for s, t in ((-1, -1), (1, -1), (1, 1), (-1, 1))])


def paint_puddle(rng: np.random.Generator, image: np.ndarray, to_px, px_per_m: float, centre_en: np.ndarray, style: Style) -> None:
    """Standing water: a flat irregular sheet reflecting the sky, dark and muddy at its edge."""
    radius = rng.uniform(0.8, 4.5)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 24))
    radii = radius * (1 - 0.5 * rng.random(24))
    stretch = rng.uniform(1.0, 2.5)
    pts = centre_en + np.stack([np.cos(angles) * radii * stretch, np.sin(angles) * radii], axis=1)
    px = to_px(pts)
    x0, y0 = np.floor(px.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(px.max(axis=0)).astype(int) + 3
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    m = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(m, [np.round((px - [x0, y0]) * 8).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=3)
    a = cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), max(0.6, 0.3 * px_per_m))
    sky = np.asarray((120, 126, 130), np.float32) * (0.6 + 0.6 * (1 - style.ambient))
    mud = np.asarray((80, 74, 60), np.float32)
    depth = np.clip(a * 1.5 - 0.3, 0, 1)[..., None]
    water = mud * (1 - depth) + sky * depth * rng.uniform(0.5, 0.9)
    opacity = rng.uniform(0.5, 0.85)
    region = image[y0:y1, x0:x1]
    region *= 1 - a[..., None] * opacity
    region += a[..., None] * opacity * water


def build_pole(rng: np.random.Generator, style: Style, base_en: np.ndarray, across: np.ndarray, height_m: float, lean_en: np.ndarray, px_per_m: float) -> list[Face]:
    """A wooden utility pole with a crossarm: two-sided vertical faces (seen from any side)."""
    colour = textures.jitter_colour(rng, (96, 84, 70), 0.15) * style.exposure
    base = np.array([*base_en, 0.0])
    top = np.array([*(base_en + lean_en), height_m])
    along = np.array([-across[1], across[0], 0.0])
    faces = []
    px = max(px_per_m, 4.0)
    for side in (np.array([*across, 0.0]), along):  # two crossed slabs so the pole has width from any side
        half = 0.14 * side
        poly = np.array([base - half, base + half, top + half, top - half])
        faces.append(_flat_face(poly, colour, px))
    arm_c = top - np.array([0, 0, 0.6])
    arm = np.array([*across, 0.0]) * 1.1
    poly = np.array([arm_c - arm, arm_c + arm, arm_c + arm + [0, 0, 0.14], arm_c - arm + [0, 0, 0.14]])
    faces.append(_flat_face(poly, colour * 0.9, px))
    return faces


def _flat_face(poly: np.ndarray, colour: np.ndarray, px_per_m: float) -> Face:
    """A two-sided face with a plain colour (no normal: never back-face culled)."""
    u = poly[1] - poly[0]
    v = poly[3] - poly[0]
    lu, lv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    u, v = u / lu, v / lv
    w, h = max(2, int(np.ceil(lu * px_per_m)) + 1), max(2, int(np.ceil(lv * px_per_m)) + 1)
    tex = np.broadcast_to(np.clip(colour, 0, 255).astype(np.uint8), (h, w, 3)).copy()
    return Face(poly[0].copy(), u, v, px_per_m, poly, tex)


def roof_tree(rng: np.random.Generator, colour: np.ndarray, roof: Face, free: np.ndarray, lift_m: float = 0.35) -> Face | None:
    """A fallen tree lying on a roof face: a see-through face just above the roof plane,
    with the roof's texture frame (so it hides exactly the roof pixels under it)."""
    h, w = roof.texture.shape[:2]
    px = roof.px_per_m
    ys, xs = np.nonzero(free)
    if len(xs) == 0:
        return None
    k = int(rng.integers(len(xs)))
    centre = np.array([xs[k], ys[k]], float)
    radius = rng.uniform(2.0, 4.5) * px
    angle = rng.uniform(0, 360)
    rgb, alpha = crown_sprite(rng, colour, int(2.4 * radius), int(1.8 * radius), angle, stripped=float(rng.uniform(0, 0.5)))
    tex = np.zeros((h, w, 3), np.float32)
    a = np.zeros((h, w), np.float32)
    # the trunk runs off the roof edge, the way it fell
    d = np.array([np.cos(np.radians(angle)), -np.sin(np.radians(angle))])
    p0, p1 = centre - d * radius * 0.6, centre - d * radius * 4
    trunk = tuple(float(v) for v in TRUNK_COLOURS[rng.integers(len(TRUNK_COLOURS))])
    thick = max(1, int(rng.uniform(0.25, 0.45) * px))
    cv2.line(tex, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), trunk, thick, lineType=cv2.LINE_AA)
    cv2.line(a, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), 1.0, thick, lineType=cv2.LINE_AA)
    placed = blend(tex, rgb, alpha, centre)
    if placed is None:
        return None
    x0, y0, x1, y1 = placed
    s_h, s_w = alpha.shape
    ox, oy = int(round(centre[0] - s_w / 2)), int(round(centre[1] - s_h / 2))
    a[y0:y1, x0:x1] = np.maximum(a[y0:y1, x0:x1], alpha[y0 - oy : y1 - oy, x0 - ox : x1 - ox])
    inside = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inside, [np.round(roof.plane_coords(roof.polygon_enu) * 8).astype(np.int32).reshape(-1, 1, 2)], 1, shift=3)
    a *= inside
    if (a > 0.5).sum() < 4:
        return None
    poly = roof.polygon_enu + roof.normal * lift_m
    face = Face(roof.origin + roof.normal * lift_m, roof.axis_u, roof.axis_v, px, poly, np.clip(tex, 0, 255).astype(np.uint8), normal=roof.normal, alpha=(a * 255).astype(np.uint8))
    return face
