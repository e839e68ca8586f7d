"""A procedurally generated, storm-damaged neighbourhood in local ENU metres.

:func:`generate_scene` puts the parts together: a :class:`~engine.synth.style.Style`
(palette and light), a street :mod:`~engine.synth.layout`, houses with their damage
(:mod:`~engine.synth.buildings`), tree crowns, and the painted ground
(:mod:`~engine.synth.ground`). Houses and crowns are 3-D faces the renderer draws per
frame; everything flat is in the ground texture.

Every drawn surface has a *surface id*: each building one, each damaged part one. The
renderer fills an id buffer with them, so annotations are the visible pixels of a part.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from core.types import DamageLevel
from engine.synth import storm, textures
from engine.synth.buildings import ROOF_PX_PER_M, Building, DamagePart, build_building
from engine.synth.geometry import Face
from engine.synth.ground import GroundMap, paint_ground
from engine.synth.layout import TreeSite, plan_layout
from engine.synth.style import DEFAULT_LIGHT_ROOF_SHARE, Style

CANOPY_PX_PER_M = 10.0

#: Chance of none / slight / severe / debris per house (jittered per seed).
DAMAGE_WEIGHTS = np.array([0.6, 0.24, 0.10, 0.06])


@dataclass
class Tree:
    site: TreeSite
    faces: list[Face]  # stacked crown layers, see-through (alpha)

    @property
    def centre_en(self) -> np.ndarray:
        return self.site.centre_en


@dataclass
class Pole:
    centre_en: np.ndarray
    faces: list[Face]


@dataclass
class Scene:
    bounds_en: tuple[float, float, float, float]  # east0, north0, east1, north1
    style: Style
    ground: GroundMap
    buildings: list[Building]
    trees: list[Tree]
    poles: list[Pole] = field(default_factory=list)

    @property
    def parts(self) -> list[DamagePart]:
        return [p for b in self.buildings for p in b.parts]

    def surface_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Lookups from surface id to building index and to index in :attr:`parts` (-1: none)."""
        ids = [b.surface_id for b in self.buildings] + [p.surface_id for p in self.parts]
        to_building = np.full(max(ids, default=0) + 1, -1, np.int64)
        to_part = np.full_like(to_building, -1)
        for i, b in enumerate(self.buildings):
            to_building[b.surface_id] = i
        for j, p in enumerate(self.parts):
            to_part[p.surface_id] = j
            to_building[p.surface_id] = next(i for i, b in enumerate(self.buildings) if b.building_id == p.building_id)
        return to_building, to_part


def build_tree(rng: np.random.Generator, style: Style, site: TreeSite, *, stripped: float = 0.0) -> Tree:
    """A crown as two stacked horizontal discs with alpha (lower wider, upper lighter);
    ``stripped`` (0-1) of the foliage blown off."""
    sun = style.sun_direction
    sun_xy = sun[:2] / (np.linalg.norm(sun[:2]) + 1e-9)
    colour = storm.tree_colour(rng, style)
    cx, cy = site.centre_en
    faces = []
    for layer, (scale, z) in enumerate([(1.0, site.height_m * 0.75), (0.7, site.height_m)]):
        r = site.radius_m * scale
        size = max(4, int(2 * r * CANOPY_PX_PER_M))
        rgb, alpha = textures.canopy(rng, size, tuple(colour * (1 + 0.12 * layer)), sun_xy, stripped=stripped * (1.0 - 0.3 * layer))
        outline = np.array([[cx - r, cy - r, z], [cx + r, cy - r, z], [cx + r, cy + r, z], [cx - r, cy + r, z]])
        texture = (rgb * style.exposure).clip(0, 255).astype(np.uint8)
        faces.append(Face(np.array([cx - r, cy + r, z]), np.array([1.0, 0, 0]), np.array([0, -1.0, 0]), size / (2 * r), outline, texture, alpha=alpha))
    return Tree(site, faces)


def generate_scene(
    rng: np.random.Generator,
    bounds_en: tuple[float, float, float, float],
    *,
    street_heading_deg: float,
    street_offset_m: float,
    m_per_px: float,
    roof_px_per_m: float = ROOF_PX_PER_M,
    light_roof_share: float = DEFAULT_LIGHT_ROOF_SHARE,
) -> Scene:
    """Lay out, build and paint a neighbourhood covering ``bounds_en`` (east0, north0, east1, north1).

    ``street_heading_deg`` (clockwise from north) is the direction of the main streets;
    ``street_offset_m`` puts one of them that far sideways of the ENU origin.
    ``m_per_px`` is the ground texture's resolution, ``roof_px_per_m`` the houses'.
    About ``light_roof_share`` of the houses get light, tan or tile roofs, intact roofs
    the colour of bare decking (hard negatives).
    """
    style = replace(Style.sample(rng), light_roof_share=light_roof_share)
    layout = plan_layout(rng, bounds_en, street_heading_deg=street_heading_deg, street_offset_m=street_offset_m)
    weights = DAMAGE_WEIGHTS * rng.uniform(0.7, 1.3, 4)
    weights /= weights.sum()
    surface_ids, part_ids = itertools.count(1), itertools.count(0)
    buildings = []
    for building_id, site in enumerate(layout.houses, start=1):
        k = int(rng.choice(4, p=weights))
        level = None if k == 0 else DamageLevel(k)
        buildings.append(build_building(rng, style, site, level, building_id=building_id, surface_ids=surface_ids, part_ids=part_ids, roof_px_per_m=roof_px_per_m))

    e0, n0, e1, n1 = bounds_en
    footprints = [b.footprint_en.astype(np.float32) for b in buildings]
    house_centres = np.array([f.mean(axis=0) for f in footprints]).reshape(-1, 2)
    house_spans = np.array([float(np.linalg.norm(f[0] - f[2])) / 2 for f in footprints])
    trees, fallen = [], []
    for site in layout.trees:
        x, y = (float(v) for v in site.centre_en)
        if not (e0 - 10 < x < e1 + 10 and n0 - 10 < y < n1 + 10):
            continue
        near = np.flatnonzero(np.hypot(house_centres[:, 0] - x, house_centres[:, 1] - y) < house_spans + site.radius_m + 2.0)
        gap = -max((cv2.pointPolygonTest(footprints[i], (x, y), True) for i in near), default=-1e9)
        if gap < 1.0:
            continue  # no trunks through roofs
        if gap < site.radius_m + 1.0:  # crowns reach over the eaves, not across the roof
            site = dataclasses.replace(site, radius_m=float(min(site.radius_m, max(2.0, gap + 1.2))))
        fate = rng.random()
        if fate < 0.14 * style.storm:  # blown over (roots torn out) or snapped
            angle = rng.uniform(0, 2 * np.pi)
            snapped = bool(rng.random() < 0.4)
            fallen.append(storm.FallenTree(site.centre_en, np.array([np.cos(angle), np.sin(angle)]), site.height_m * rng.uniform(0.5, 0.8), site.radius_m, snapped))
            continue
        stripped = float(rng.uniform(0.2, 0.9) * style.storm) if rng.random() < 0.45 else 0.0
        trees.append(build_tree(rng, style, site, stripped=stripped))
    for building in buildings:  # trees that fell onto roofs hide part of them
        if building.roof == "none" or rng.random() > 0.05 + 0.12 * style.storm + (0.12 if building.level is not None else 0.0):
            continue
        roofs = [f for f in building.faces if f.normal is not None and f.normal[2] > 0.2]
        roof = roofs[int(rng.integers(len(roofs)))]
        colour = storm.tree_colour(rng, style) * style.exposure * style.lighting(roof.normal)
        face = storm.roof_tree(rng, colour, roof, _roof_pixels(roof))
        if face is not None:
            face.surface_id = 0  # not the building: what it hides is not seen
            building.faces.append(face)
    poles = []
    for site in layout.poles:
        x, y = (float(v) for v in site.base_en)
        if e0 - 5 < x < e1 + 5 and n0 - 5 < y < n1 + 5:
            poles.append(Pole(site.base_en, storm.build_pole(rng, style, site.base_en, site.across, site.height_m, site.lean_en, roof_px_per_m * 0.5)))
    tree_shadows = [(t.site.centre_en, t.site.radius_m, t.site.height_m) for t in trees]
    ground = paint_ground(rng, style, bounds_en, m_per_px, layout, buildings, tree_shadows, fallen=fallen)
    return Scene(bounds_en, style, ground, buildings, trees, poles)


def _roof_pixels(face: Face) -> np.ndarray:
    h, w = face.texture.shape[:2]
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(face.plane_coords(face.polygon_enu) * 8).astype(np.int32).reshape(-1, 1, 2)], 1, shift=3)
    return m.astype(bool)
