"""Coverage: which buildings the flight saw well, glimpsed or never saw."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from core.camera import CameraPose, PinholeCamera
from geo.coverage import CoverageSettings, camera_footprint_records, footprint_coverage, grid_coverage, unit_coverage

CAMERA = PinholeCamera(640, 360, 70.0)


def nadir(east: float, north: float, up: float) -> CameraPose:
    return CameraPose(east_m=east, north_m=north, up_m=up, yaw_deg=0.0, pitch_deg=-90.0)


def test_seen_well_glimpsed_and_not_seen():
    under = box(-5, -5, 5, 5)
    far = box(995, -5, 1005, 5)
    edge_x = 40 * 0.7002  # the image's half-width on the ground at 40 m up
    edge = box(edge_x - 2, -3, edge_x + 8, 3)  # a fifth of it inside the image
    poses = {0: nadir(0, 0, 40), 5: nadir(1, 0, 40)}
    under_c, far_c, edge_c = unit_coverage([under, far, edge], [0.0, 0.0, 0.0], CAMERA, poses)
    assert under_c.seen_well and under_c.good_views == 2 and under_c.roof_in_view
    assert under_c.steepest_deg == pytest.approx(90.0, abs=2)
    assert under_c.nearest_m == pytest.approx(40.0, abs=0.1)
    assert under_c.best_frame in (0, 5) and under_c.status == "seen well"
    assert far_c.frames == 0 and not far_c.seen_well and far_c.status == "not seen" and far_c.nearest_m is None
    assert edge_c.frames == 2 and edge_c.good_views == 0 and edge_c.status == "glimpsed"


def test_roof_height_brings_the_roof_closer():
    square = box(-5, -5, 5, 5)
    ground, roof = unit_coverage([square, square], [0.0, 10.0], CAMERA, {0: nadir(0, 0, 40)})
    assert roof.nearest_m == pytest.approx(30.0, abs=0.1) and ground.nearest_m == pytest.approx(40.0, abs=0.1)


def test_the_view_must_be_sharp_and_steep():
    square = box(-5, -5, 5, 5)
    high = {0: nadir(0, 0, 300), 1: nadir(0, 10, 300)}  # 300 m / 457 px focal = 0.66 m per pixel
    (c,) = unit_coverage([square], [0.0], CAMERA, high)
    assert c.frames == 2 and not c.seen_well
    assert unit_coverage([square], [0.0], CAMERA, high, CoverageSettings(max_gsd_m=1.0))[0].seen_well
    # Looking at it almost along the ground (from 2 m up, 60 m away): too shallow.
    low = {k: CameraPose(east_m=0, north_m=-60 - k, up_m=2.0, yaw_deg=0.0, pitch_deg=-2.0) for k in range(3)}
    (shallow,) = unit_coverage([square], [0.0], CAMERA, low)
    assert shallow.frames == 3 and shallow.steepest_deg < 3 and not shallow.seen_well


def test_one_good_view_is_not_enough_by_default():
    (c,) = unit_coverage([box(-5, -5, 5, 5)], [0.0], CAMERA, {0: nadir(0, 0, 40)})
    assert c.good_views == 1 and not c.seen_well
    assert unit_coverage([box(-5, -5, 5, 5)], [0.0], CAMERA, {0: nadir(0, 0, 40)},
                         CoverageSettings(min_good_views=1))[0].seen_well


def test_on_a_flyover(flyover, flyover_map):
    from geo.footprints import read_footprints

    damage_map, _ = flyover_map
    footprints = read_footprints(flyover.paths.truth)
    layer = footprint_coverage(damage_map, footprints)
    counts = layer.counts()
    assert counts["seen well"] > 3 and counts["not seen"] > 3
    assert sum(counts.values()) == len(footprints)
    cells = grid_coverage(damage_map, cell_m=25.0)
    assert cells.kind == "cell" and cells.counts()["seen well"] > 0
    flown = camera_footprint_records(damage_map)
    assert len(flown) == len(damage_map.poses)
    assert all(p.is_valid and p.exterior.is_ccw for _, p in flown)


def test_the_ground_each_frame_saw_is_kept_between_maps(flyover, flyover_map, monkeypatch):
    """The app grades the buildings again after every review decision: a map built again
    reads the frames' footprints kept from the last (the same rings), projecting none."""
    from dataclasses import replace

    import geo.mapping

    damage_map, _ = flyover_map
    geo.mapping.clear_cache()
    first = camera_footprint_records(damage_map)
    projected = []
    real = geo.mapping.DamageMap._footprint_ring
    monkeypatch.setattr(geo.mapping.DamageMap, "_footprint_ring",
                        lambda self, *a: projected.append(a) or real(self, *a))
    again = camera_footprint_records(replace(damage_map))  # another map of the same flight
    assert projected == []
    assert [(p, g.wkb) for p, g in again] == [(p, g.wkb) for p, g in first]
    geo.mapping.clear_cache()
    assert [(p, g.wkb) for p, g in camera_footprint_records(damage_map)] == [(p, g.wkb) for p, g in first]
    assert len(projected) == len(first)


def test_frames_that_did_not_count_as_a_look_see_no_building(flyover, flyover_map):
    """Blurred or blank frames (core.frame_quality) are no view of a building: a building
    seen well only in them is "Not assessed", not "No visible damage"."""
    from dataclasses import replace

    from geo.footprints import read_footprints

    damage_map, _ = flyover_map
    footprints = read_footprints(flyover.paths.truth)
    every = footprint_coverage(damage_map, footprints)
    half = sorted(damage_map.poses)[::2]
    blurred = footprint_coverage(replace(damage_map, unusable_frames={i: "blurred" for i in half}), footprints)
    assert all(b.good_views <= e.good_views and b.frames <= e.frames
               for b, e in zip(blurred.coverage, every.coverage))
    assert sum(b.frames for b in blurred.coverage) < sum(e.frames for e in every.coverage)
    none = replace(damage_map, unusable_frames={i: "black" for i in damage_map.poses})
    assert footprint_coverage(none, footprints).counts()["seen well"] == 0
    assert grid_coverage(none, cell_m=25.0).counts()["seen well"] == 0
    assert len(camera_footprint_records(none)) == len(damage_map.poses)  # where the camera was is still drawn


def test_the_footprints_kept_with_a_map_are_those_worked_out_anew(flyover_map, monkeypatch):
    """An export asks for the camera footprints several times (the area filmed, the
    buildings read around it, the footprints layer, each again for a titled copy of the
    map and for the relief package): each frame's is worked out once per map and its
    copies, and they are the footprints worked out anew."""
    import dataclasses

    import geo.coverage
    from geo.coverage import camera_footprint_records, flown_bounds_lonlat

    damage_map, _ = flyover_map
    geo.coverage.clear_cache()
    worked_out = []
    real = geo.coverage._footprint_parts
    monkeypatch.setattr(geo.coverage, "_footprint_parts", lambda *a: worked_out.append(a[1]) or real(*a))
    first = camera_footprint_records(damage_map)
    once = len(worked_out)
    bounds = flown_bounds_lonlat(damage_map)
    again = camera_footprint_records(dataclasses.replace(damage_map, title="Titled"))
    assert first and once == len(damage_map.poses) and len(worked_out) == once
    other_sites = camera_footprint_records(dataclasses.replace(damage_map, fused=list(damage_map.fused)))
    assert len(worked_out) == 2 * once  # other sites (a review decision's): their reach anew
    geo.coverage.clear_cache()
    anew = camera_footprint_records(damage_map)
    assert len(worked_out) == 3 * once
    assert [(p, g.wkb) for p, g in again] == [(p, g.wkb) for p, g in anew] == [(p, g.wkb) for p, g in first]
    assert [(p, g.wkb) for p, g in other_sites] == [(p, g.wkb) for p, g in first]
    assert bounds == flown_bounds_lonlat(damage_map)


def test_the_area_flown_is_bounded_without_joining_a_footprint(flyover_map, monkeypatch):
    """The area flown bounds the footprints' union (the buildings read around a long
    flight, as the app's map first grades them) with nothing joined: it is the union's
    bounds all the same, and the footprints layer made after it joins the same parts,
    worked out once."""
    import shapely

    import geo.coverage
    from geo.coverage import camera_footprint_records, flown_bounds_lonlat

    damage_map, _ = flyover_map
    geo.coverage.clear_cache()
    joined, worked_out = [], []
    union_all, parts = shapely.union_all, geo.coverage._footprint_parts
    monkeypatch.setattr(shapely, "union_all", lambda *a, **k: joined.append(a) or union_all(*a, **k))
    monkeypatch.setattr(geo.coverage, "_footprint_parts", lambda *a: worked_out.append(a[1]) or parts(*a))
    bounds = flown_bounds_lonlat(damage_map)
    assert bounds is not None and joined == []
    footprints = [g for _, g in camera_footprint_records(damage_map, limit=100)]
    assert len(worked_out) == len(footprints) == len(damage_map.poses)
    assert bounds == tuple(union_all(footprints).bounds)


def test_a_footprint_made_valid_is_bounded_as_made_valid():
    """A footprint ring that crosses itself loses a lobe when made valid: its bounds are
    those of the polygon drawn, not of the ring."""
    from shapely.geometry import Polygon

    from geo.coverage import _bounds_of_joined, _joined

    bowtie = Polygon([(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0)])
    wedge = Polygon([(1.0, 1.0), (5.0, 1.0), (5.0, 1.5)])
    for parts in [(bowtie, None), (bowtie, [wedge]), (wedge, [bowtie])]:
        polygon = _joined(parts)
        assert _bounds_of_joined(parts) == (None if polygon is None else tuple(polygon.bounds))
    assert _bounds_of_joined((wedge, None)) == (1.0, 1.0, 5.0, 1.5)
