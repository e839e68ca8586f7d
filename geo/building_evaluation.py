"""Damage sites against the truly damaged buildings a synthetic flight filmed.

What a relief team needs from the map is "this house is damaged, here". So a flight is
scored per building: a site is right when it lies within ``match_m`` of a damaged
building's footprint that the flight filmed, wrong when it is nowhere near one. A damaged
building counts as filmed when one of its damaged parts covered at least
``min_area_px`` pixels in an analysed frame; damaged buildings glimpsed less than that
are neither required nor held against the model (sites on them are not counted).
Distances are to the nearest damaged part of the matched building.

Reads the flyover's files as plain JSON (``geo`` never imports ``engine``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from geo.local import LocalFrame


@dataclass(frozen=True)
class BuildingEvaluation:
    sites: int  # sites counted (not on a barely-seen damaged building)
    correct_sites: int
    filmed_buildings: int
    found_buildings: int
    distances_m: tuple[float, ...]  # per correct site, to its building's nearest damaged part

    @property
    def precision(self) -> float:
        return self.correct_sites / self.sites if self.sites else 0.0

    @property
    def recall(self) -> float:
        return self.found_buildings / self.filmed_buildings if self.filmed_buildings else 0.0

    @property
    def median_distance_m(self) -> float:
        return float(np.median(self.distances_m)) if self.distances_m else float("inf")

    def __add__(self, other: BuildingEvaluation) -> BuildingEvaluation:
        """Two flights' (or site sets') evaluations pooled."""
        return BuildingEvaluation(self.sites + other.sites, self.correct_sites + other.correct_sites,
                                  self.filmed_buildings + other.filmed_buildings,
                                  self.found_buildings + other.found_buildings, self.distances_m + other.distances_m)


def filmed_buildings(annotations_path: str | Path, frame_indices: set[int] | None = None, *,
                     min_area_px: float = 64.0) -> tuple[set[int], set[int]]:
    """(well seen, glimpsed) ids of damaged buildings in the flyover's annotations.

    ``frame_indices`` limits the count to the analysed frames (None: every annotated frame).
    """
    return filmed_in(largest_views(annotations_path, frame_indices), min_area_px=min_area_px)


def filmed_in(largest: dict[int, float], *, min_area_px: float = 64.0) -> tuple[set[int], set[int]]:
    """:func:`filmed_buildings` from :func:`largest_views` already read."""
    seen = {building for building, area in largest.items() if area >= min_area_px}
    return seen, set(largest) - seen


def largest_views(annotations_path: str | Path, frame_indices: set[int] | None = None) -> dict[int, float]:
    """Per damaged building, the most pixels one of its damaged parts covered in one frame
    (``frame_indices`` as in :func:`filmed_buildings`): how large the flight showed its
    damage, for recall by apparent size."""
    doc = json.loads(Path(annotations_path).read_text(encoding="utf-8"))
    frame_of = {img["id"]: int(img["frame_index"]) for img in doc["images"]}
    largest: dict[int, float] = {}
    for ann in doc["annotations"]:
        if frame_indices is not None and frame_of[ann["image_id"]] not in frame_indices:
            continue
        building = int(ann["building_id"])
        largest[building] = max(largest.get(building, 0.0), float(ann["area"]))
    return largest


@dataclass(frozen=True)
class DamagedBuildings:
    """``truth.geojson``'s damaged buildings in local metres: read once, score many site sets.

    ``buildings`` holds (building id, footprint, damaged parts' positions) per building."""

    local: LocalFrame | None
    buildings: tuple[tuple[int, BaseGeometry, tuple[tuple[float, float], ...]], ...]

    def to_local(self, lon: float, lat: float) -> tuple[float, float]:
        assert self.local is not None
        east, north = self.local.to_local([lon], [lat])
        return float(east[0]), float(north[0])


def read_damaged_buildings(truth_path: str | Path) -> DamagedBuildings:
    """The damaged buildings of a flyover's ``truth.geojson``."""
    doc = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    damaged = [f for f in doc["features"] if f["properties"].get("damaged")]
    if not damaged:
        return DamagedBuildings(None, ())
    first = damaged[0]["properties"]["parts"][0]
    truth = DamagedBuildings(LocalFrame.around(first["lon"], first["lat"]), ())
    buildings = []
    for feature in damaged:
        ring = shape(feature["geometry"]).exterior.coords
        footprint = shape({"type": "Polygon", "coordinates": [[truth.to_local(lon, lat) for lon, lat in ring]]})
        parts = tuple(truth.to_local(p["lon"], p["lat"]) for p in feature["properties"]["parts"])
        buildings.append((int(feature["properties"]["id"]), footprint, parts))
    return DamagedBuildings(truth.local, tuple(buildings))


def evaluate_buildings(
    site_points_lonlat: list[tuple[float, float]],
    truth: str | Path | DamagedBuildings,
    filmed: set[int],
    glimpsed: set[int] = frozenset(),  # type: ignore[assignment]
    *,
    match_m: float = 5.0,
) -> BuildingEvaluation:
    """Score sites (lon, lat) against ``truth.geojson``'s damaged buildings (its path, or
    :func:`read_damaged_buildings` of it when many site sets are scored on one flight)."""
    if not isinstance(truth, DamagedBuildings):
        truth = read_damaged_buildings(truth)
    if not truth.buildings:
        return BuildingEvaluation(len(site_points_lonlat), 0, 0, 0, ())

    counted, correct, distances, found = 0, 0, [], set()
    for lon, lat in site_points_lonlat:
        point = Point(truth.to_local(lon, lat))
        near = sorted((footprint.distance(point), building_id, parts)
                      for building_id, footprint, parts in truth.buildings if footprint.distance(point) <= match_m)
        hit = next(((bid, parts) for _, bid, parts in near if bid in filmed), None)
        if hit is None and any(bid in glimpsed for _, bid, _ in near):
            continue  # a barely-seen damaged building: neither right nor wrong
        counted += 1
        if hit is not None:
            correct += 1
            found.add(hit[0])
            distances.append(min(float(np.hypot(point.x - e, point.y - n)) for e, n in hit[1]))
    return BuildingEvaluation(counted, correct, len(filmed), len(found & filmed), tuple(distances))
