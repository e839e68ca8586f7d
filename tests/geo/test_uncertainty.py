"""The error budget behind each site's uncertainty_m: GPS accuracy, interpolation gaps,
the clock offset and the camera's pointing, carried into every export."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from core.types import DamageLevel
from geo.export import export_map
from geo.export.records import observation_records, site_records
from geo.mapping import build_damage_map_from
from geo.telemetry import read_telemetry
from geo.telemetry.accuracy import UERE_M, gps_accuracy_m
from geo.uncertainty import ASSUMED_GPS_SIGMA_M, PARTS, ErrorBudget, error_budget
from tests.geo.test_geo_fusion import fly

START_UTC = 1_700_000_000.0  # the video's creation time in the GPX tests


def test_the_budget_adds_its_components_in_quadrature():
    budget = error_budget(geometry_m=0.5, gps_accuracy_m=3.0, gap_s=3.0, speed_mps=6.0, clock_sigma_s=0.25,
                          camera_sigma_deg=2.0, reach_m=30.0, height_m=40.0)
    assert budget.gap == pytest.approx(18.0)  # a 3 s gap at 6 m/s
    assert budget.clock == pytest.approx(1.5)
    assert budget.camera == pytest.approx(math.radians(2.0) * 50.0)  # slant range 50 m
    assert budget.total_m == pytest.approx(math.sqrt(0.25 + 9.0 + 324.0 + 2.25 + budget.camera ** 2))
    assert budget.describe() == "gap 18.0 m, gps 3.0 m, camera 1.7 m, clock 1.5 m, geometry 0.5 m"
    assert list(budget.parts()) == list(PARTS)
    # a camera 2 m too high, seeing a point 30 m away from 40 m up, puts it 1.5 m too far
    assert error_budget(vertical_accuracy_m=2.0, reach_m=30.0, height_m=40.0).altitude == pytest.approx(1.5)
    assert ErrorBudget().total_m == 0.0 and ErrorBudget().describe() == ""


def test_gps_accuracy_from_metres_or_dilution_of_precision():
    assert gps_accuracy_m(hdop=5.0) == (5.0 * UERE_M, None)
    assert gps_accuracy_m(hdop=1.0)[0] < gps_accuracy_m(hdop=5.0)[0]
    assert gps_accuracy_m(h_acc_m=2.0, hdop=5.0, vdop=2.0) == (2.0, 2.0 * UERE_M)  # metres win
    h, v = gps_accuracy_m(hdop=3.0, pdop=5.0)  # VDOP from PDOP and HDOP
    assert h == 3.0 * UERE_M and v == pytest.approx(4.0 * UERE_M)
    assert gps_accuracy_m(pdop=2.0) == (2.0 * UERE_M, None)
    assert gps_accuracy_m(hdop=0.0, vdop=float("nan")) == (None, None)


def test_the_sample_gpx_with_dilution_of_precision_reads_it_per_fix(samples):
    track = read_telemetry(samples / "gpx" / "georust_with_accuracy.gpx")
    assert [s.h_accuracy_m for s in track.samples] == pytest.approx([15.0, 10.8, None])
    assert [s.v_accuracy_m for s in track.samples] == pytest.approx([18.6, 15.0, None])
    assert len(track.samples) == 3 and track.samples[0].lat_deg == pytest.approx(51.120586)  # read as before
    from geo.telemetry.summary import summarise

    assert {"GPS accuracy", "vertical GPS accuracy"} <= set(summarise(track)["fields"])
    assert "GPS accuracy" not in summarise(read_telemetry(samples / "gpx" / "cerknicko-jezero.gpx"))["fields"]


def test_a_csv_log_with_accuracy_columns_carries_them(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("datetime(utc),latitude,longitude,altitude(m),accuracy(feet),vdop\n"
                    "2024-05-01 10:00:00,47.1,8.1,500,10,2\n"
                    "2024-05-01 10:00:01,47.1001,8.1,500,,\n")
    track = read_telemetry(path)
    first, second = track.samples
    assert first.h_accuracy_m == pytest.approx(3.048) and first.v_accuracy_m == pytest.approx(2 * UERE_M)
    assert second.h_accuracy_m is None and second.v_accuracy_m is None


def test_an_srt_with_accuracy_fields_carries_them(tmp_path):
    path = tmp_path / "clip.SRT"
    path.write_text("1\n00:00:00,000 --> 00:00:00,033\n<font>FrameCnt: 1, DiffTime: 33ms\n2024-05-01 10:00:00.000\n"
                    "[latitude: 47.100000] [longitude: 8.100000] [rel_alt: 30.0 abs_alt: 530.0] [hdop: 0.8]"
                    "</font>\n")
    (sample,) = read_telemetry(path).samples
    assert sample.h_accuracy_m == pytest.approx(0.8 * UERE_M) and sample.v_accuracy_m is None


def _gpx(path, track, hdop: float, *, ground_m: float = 100.0) -> None:
    """``track`` (``fly``'s, on the video clock) as a GPX of absolute elevations, UTC
    times from :data:`START_UTC`, every fix at ``hdop``."""
    points = "".join(
        f'<trkpt lat="{s.lat_deg:.9f}" lon="{s.lon_deg:.9f}"><ele>{ground_m + s.alt_rel_m:.2f}</ele>'
        f"<time>{dt.datetime.fromtimestamp(START_UTC + s.t_s, dt.timezone.utc).isoformat().replace('+00:00', 'Z')}"
        f"</time><hdop>{hdop}</hdop></trkpt>"
        for s in track.samples)
    path.write_text('<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
                    f"<trk><trkseg>{points}</trkseg></trk></gpx>")


def _gpx_map(tmp_path, hdop: float, **kwargs):
    detections, times, track, video, _ = fly([(0.0, 0.0, 0.0)], [DamageLevel.DEBRIS])
    path = tmp_path / f"hdop{hdop}.gpx"
    _gpx(path, track, hdop)
    video = dict(video, creation_time_utc=START_UTC)
    return build_damage_map_from(detections, times, read_telemetry(path), video=video, hfov_deg=80.0,
                                 ground_elevation_m=100.0, default_pitch_deg=-40.0, **kwargs)


def test_a_gpx_at_hdop_5_gives_sites_a_larger_uncertainty_than_at_hdop_1(tmp_path):
    good, poor = _gpx_map(tmp_path, 1.0), _gpx_map(tmp_path, 5.0)
    (good_site,), (poor_site,) = good.fused, poor.fused
    assert good_site.budget.gps == pytest.approx(1.0 * UERE_M)
    assert poor_site.budget.gps == pytest.approx(5.0 * UERE_M)
    assert poor_site.uncertainty_m > good_site.uncertainty_m + 8.0
    assert poor_site.uncertainty_m == pytest.approx(poor_site.budget.total_m)
    assert any("site uncertainty: median" in note and "gps 15.0 m" in note for note in poor.notes)


def test_the_map_notes_a_field_of_view_as_estimated_only_when_the_video_gave_it(tmp_path):
    given = _gpx_map(tmp_path, 1.0, hfov_sigma_deg=1.5)  # a number with a spread, from the user or a preset
    estimated = _gpx_map(tmp_path, 1.0, hfov_sigma_deg=4.0, hfov_estimated=True)
    assert given.fov.source == "given"
    assert estimated.fov.source == "estimated from the video, +-4.0 deg"
    assert any("horizontal FOV 80.0 deg (estimated from the video, +-4.0 deg)" in note for note in estimated.notes)
    assert estimated.fused[0].budget.camera > given.fused[0].budget.camera  # the spread enters the budget either way


def test_a_3_s_hole_in_a_1_hz_log_at_6_m_s_adds_about_12_m(tmp_path):
    detections, times, track, video, _ = fly([(0.0, 0.0, 0.0)], [DamageLevel.DEBRIS], frames=30)
    # a 1 Hz log (the drone flies north at 6 m/s) that misses the fixes at 6 s and 7 s
    kept = tuple(s for s in track.samples if float(s.t_s).is_integer() and s.t_s not in (6.0, 7.0))
    holed = replace(track, samples=kept)
    damage_map = build_damage_map_from(detections, times, holed, video=video, hfov_deg=80.0)
    rows = {props["frame"]: props for props, _ in observation_records(damage_map)}
    in_hole = [frame for frame in rows if 5.0 < times[frame] < 8.0]
    on_fix = [frame for frame in rows if float(times[frame]).is_integer() and frame not in in_hole]
    assert in_hole and on_fix
    for frame in in_hole:
        assert rows[frame]["telemetry_gap_s"] == pytest.approx(3.0)
        # 2 s beyond the log's usual 1 s spacing, at 6 m/s
        assert rows[frame]["uncertainty_gap_m"] == pytest.approx(12.0, abs=0.5)
        assert rows[frame]["uncertainty_m"] >= 12.0
    between_fixes = [frame for frame in rows if not float(times[frame]).is_integer() and frame not in in_hole]
    assert between_fixes
    for frame in on_fix + between_fixes:  # at the log's usual rate nothing is added
        assert rows[frame]["uncertainty_gap_m"] == 0.0
    # the same log without the hole: the site is surer
    whole = build_damage_map_from(detections, times, replace(track, samples=tuple(
        s for s in track.samples if float(s.t_s).is_integer())), video=video, hfov_deg=80.0)
    assert damage_map.fused[0].budget.gap > whole.fused[0].budget.gap + 3.0
    assert damage_map.fused[0].uncertainty_m > whole.fused[0].uncertainty_m


def test_the_clock_offsets_uncertainty_and_the_pitch_estimates_spread_enter_the_budget(tmp_path):
    plain = _gpx_map(tmp_path, 1.0)
    clocked = _gpx_map(tmp_path, 1.0, offset_sigma_s=0.1)
    # lined up by the video's creation time, to the whole second: 0.5 s at 6 m/s (was 0 m)
    assert plain.fused[0].budget.clock == pytest.approx(3.0, rel=0.05)
    assert any("clock part of the site uncertainties from a guess" in note for note in plain.notes)
    # an offset estimated from the video's motion brings its own: 0.1 s at 6 m/s
    assert clocked.fused[0].budget.clock == pytest.approx(0.6, rel=0.05)
    assert not any("clock part of the site uncertainties from a guess" in note for note in clocked.notes)
    sure = _gpx_map(tmp_path, 1.0, pitch_sigma_deg=3.0, heading_sigma_deg=5.0, hfov_sigma_deg=0.0)
    unsure = _gpx_map(tmp_path, 1.0, pitch_sigma_deg=9.0, heading_sigma_deg=5.0, hfov_sigma_deg=0.0)
    assert unsure.fused[0].budget.camera > 1.5 * sure.fused[0].budget.camera
    assert unsure.fused[0].uncertainty_m > sure.fused[0].uncertainty_m


def test_the_clock_part_counts_the_camera_turning_as_well_as_the_drone_flying():
    """On a turning flight a clock error of 0.5 s moved sites 11 m where the budget's
    clock part said 2.6 m (the speed alone): the point seen slides with the turn too."""
    # 20 deg/s of turn, a point 40 m away: 14 m/s on the ground, beside 5 m/s of flight
    turning = error_budget(speed_mps=5.0, clock_sigma_s=0.5, turn_rate_deg_s=20.0, reach_m=40.0, height_m=30.0)
    assert turning.clock == pytest.approx(0.5 * math.hypot(5.0, math.radians(20.0) * 40.0))
    # tilting 5 deg/s: the point 40 m out, 30 m under the camera, slides 50**2 / 30 m per radian
    tilting = error_budget(clock_sigma_s=0.5, tilt_rate_deg_s=5.0, reach_m=40.0, height_m=30.0)
    assert tilting.clock == pytest.approx(0.5 * math.radians(5.0) * 2500.0 / 30.0)
    assert error_budget(speed_mps=5.0, clock_sigma_s=0.0, turn_rate_deg_s=20.0, reach_m=40.0).clock == 0.0


def test_a_flight_turning_on_the_spot_gets_a_clock_part_from_its_turn():
    from core.camera import CameraPose

    # the drone hovers 40 m south of the damage, 40 m up, and turns 5 deg a frame (10 deg/s)
    still = [CameraPose(0.0, -40.0, 40.0, 0.0, -45.0) for _ in range(7)]
    turning = [CameraPose(0.0, -40.0, 40.0, 5.0 * (k - 3), -45.0) for k in range(7)]
    clock = {}
    for name, poses in (("still", still), ("turning", turning)):
        detections, times, track, video, _ = fly([(0.0, 0.0, 0.0)], [DamageLevel.DEBRIS], poses=poses)
        # the offset's own uncertainty, as an estimate from the video's motion gives it
        damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0, offset_sigma_s=0.5)
        clock[name] = damage_map.fused[0].budget.clock
    assert clock["still"] == pytest.approx(0.0, abs=0.05)  # not flying, not turning: the clock moves nothing
    # 10 deg/s at 40 m: 7 m/s on the ground, for 0.5 s (the speed alone counted 0)
    assert clock["turning"] == pytest.approx(0.5 * math.radians(10.0) * 40.0, rel=0.2)


def test_with_full_telemetry_the_geometry_and_a_consumer_drone_s_gps_count():
    """An SRT gives no fix accuracy: a consumer drone's satellite positioning is counted
    (1.5 m), not 0, which let a site seen from three views claim +-0.1 m."""
    detections, times, track, video, _ = fly([(0.0, 0.0, 0.0)], [DamageLevel.DEBRIS])
    (site,) = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0).fused
    assert site.budget.camera == site.budget.clock == site.budget.gap == 0.0
    assert site.budget.gps == ASSUMED_GPS_SIGMA_M
    assert site.uncertainty_m == pytest.approx(math.hypot(site.budget.geometry, ASSUMED_GPS_SIGMA_M))
    assert 0.1 < site.budget.geometry < 1.5  # the debris field's own size counts


def test_the_geometry_counts_how_far_the_rays_miss_and_the_damage_s_size():
    """Rays of one damage meet worse than independent noise: the masks' centres fall on
    other parts of it from view to view. Their misses scale the fit's sigma, and the
    damage's size on the ground is a floor."""
    from geo.fusion import EXTENT_SIGMA_FRACTION, RayFit, triangulate

    origins = np.array([[-30.0, 0.0, 40.0], [0.0, -30.0, 40.0], [30.0, 0.0, 40.0], [0.0, 30.0, 40.0]])
    target = np.array([0.0, 0.0, 5.0])
    directions = target - origins
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    weights = np.full(4, 1.0 / 0.1**2)  # rays promised to 0.1 m
    meeting = triangulate(origins, directions, weights)
    assert meeting.scatter_scale() == 1.0  # they meet as promised
    bent = directions + np.array([[0.0, 0.03, 0.0], [0.03, 0.0, 0.0], [0.0, -0.03, 0.0], [-0.03, 0.0, 0.0]])
    bent /= np.linalg.norm(bent, axis=1, keepdims=True)
    missing = triangulate(origins, bent, weights)
    assert missing.scatter_scale() > 5.0  # they miss by metres, not by 0.1 m
    assert RayFit(missing.point, missing.residuals, missing.normal).scatter_scale() == 1.0  # weights unknown
    assert EXTENT_SIGMA_FRACTION == pytest.approx(1 / math.sqrt(12), abs=0.01)


def test_every_export_carries_the_uncertainty_and_its_parts(tmp_path):
    damage_map = _gpx_map(tmp_path, 5.0)
    (props, _), = site_records(damage_map)
    assert props["uncertainty_gps_m"] == 15.0 and "gps 15.0 m" in props["uncertainty_parts"]
    out = tmp_path / "out"
    export_map(damage_map, out)

    site = json.loads((out / "damage_sites.geojson").read_text())["features"][0]["properties"]
    assert site["uncertainty_m"] == props["uncertainty_m"] and site["uncertainty_gps_m"] == 15.0
    assert {f"uncertainty_{name}_m" for name in PARTS} <= set(site)
    observation = json.loads((out / "observations.geojson").read_text())["features"][0]["properties"]
    assert observation["uncertainty_gps_m"] == 15.0 and observation["uncertainty_m"] >= 15.0
    assert "gps 15.0 m" in observation["uncertainty_parts"]

    with (out / "damage_sites.csv").open(encoding="utf-8-sig") as f:
        row = next(csv.DictReader(f))
    assert float(row["uncertainty_gps_m"]) == 15.0 and "gps 15.0 m" in row["uncertainty_parts"]

    kml = (out / "damage_sites.kml").read_text()
    assert '<SimpleData name="uncertainty_parts">' in kml and '<SimpleData name="uncertainty_gps_m">15.0<' in kml
    assert '<SimpleField type="double" name="uncertainty_gps_m" />' in kml

    with sqlite3.connect(out / "damage_map.gpkg") as db:
        sites = db.execute("SELECT uncertainty_m, uncertainty_gps_m, uncertainty_parts FROM damage_sites").fetchall()
        observations = db.execute("SELECT uncertainty_gps_m FROM observations").fetchall()
    assert sites[0][1] == 15.0 and "gps 15.0 m" in sites[0][2] and sites[0][0] == props["uncertainty_m"]
    assert observations and all(value == 15.0 for (value,) in observations)

    page = (out / "damage_map.html").read_text()
    assert "Position uncertainty" in page and "gps 15.0 m" in page
    assert np.isfinite(props["uncertainty_m"])


def test_a_typed_offset_forgets_the_uncertainty_of_an_estimated_one(tmp_path):
    import argparse

    from app.commands._georeferencing import settings_with_flags as _settings
    from core.settings import ProjectSettings
    from core.store import ProjectStore

    with pytest.raises(ValueError, match=r"ProjectSettings\.time_offset_sigma_s"):
        ProjectSettings(time_offset_sigma_s=-0.1)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "v.mp4") as store:
        store.set_project_settings(ProjectSettings(time_offset_s=2.4, time_offset_sigma_s=0.05))
        assert store.project_settings().time_offset_sigma_s == 0.05
        flags = argparse.Namespace(offset=None, hfov=None, ground_elevation=None, flight_height=None, min_score=None,
                                   pitch=None)
        assert _settings(store, flags).time_offset_sigma_s == 0.05  # kept while the offset is
        typed = _settings(store, argparse.Namespace(**{**vars(flags), "offset": 3.0}))
        assert typed.time_offset_s == 3.0 and typed.time_offset_sigma_s is None
        # the heights read from the video alike
        store.set_project_settings(ProjectSettings(ground_elevation_m=12.0, ground_elevation_sigma_m=6.0,
                                                   flight_height_m=50.0, flight_height_sigma_m=7.0))
        kept = _settings(store, flags)
        assert (kept.ground_elevation_sigma_m, kept.flight_height_sigma_m) == (6.0, 7.0)
        typed = _settings(store, argparse.Namespace(**{**vars(flags), "ground_elevation": 10.0, "flight_height": 45.0}))
        assert (typed.ground_elevation_m, typed.flight_height_m) == (10.0, 45.0)
        assert typed.ground_elevation_sigma_m is None and typed.flight_height_sigma_m is None
        # and the camera pitch read from the video
        store.set_project_settings(ProjectSettings(camera_pitch_deg=-38.0, camera_pitch_sigma_deg=4.0))
        assert _settings(store, flags).camera_pitch_sigma_deg == 4.0
        typed = _settings(store, argparse.Namespace(**{**vars(flags), "pitch": -30.0}))
        assert typed.camera_pitch_deg == -30.0 and typed.camera_pitch_sigma_deg is None


def test_sites_rebuilt_by_a_reviewers_split_get_their_error_budget_too(tmp_path):
    damage_map = _gpx_map(tmp_path, 5.0, offset_sigma_s=0.5)
    (site,) = damage_map.fused
    ids = sorted(o.detection_id for o in site.observations)
    damage_map.regroup_sites([ids[: len(ids) // 2], ids[len(ids) // 2:]])
    rebuilt = damage_map.all_fused
    assert len(rebuilt) == 2
    for fused in rebuilt:
        assert fused.budget is not None and len(fused.member_budgets) == len(fused.members)
        assert fused.budget.gps == pytest.approx(15.0) and fused.budget.clock > 0 and fused.budget.camera > 0
        assert fused.uncertainty_m == pytest.approx(fused.budget.total_m)
