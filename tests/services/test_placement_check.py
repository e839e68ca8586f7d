"""Before a frame is analysed, the project's telemetry is tried on the frames the run will
analyse: a track the map could not use is said at once, not at export after the whole
video was analysed. The frames are analysed all the same (the detections can be reviewed,
and the settings mended later)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gpxpy

from core.store import ProjectStore
from services.maps import placement_problem


def _gpx_recorded_in_the_air(flight, out: Path, elevation_m: float) -> Path:
    """The flight's GPX with every point at one absolute elevation: the drone was already
    up when the log started, so its first point is not the take-off."""
    gpx = gpxpy.parse(Path(flight.gpx).read_text())
    for point in gpx.tracks[0].segments[0].points:
        point.elevation = elevation_m
    out.write_text(gpx.to_xml(version="1.1"))
    return out


def _project(tmp_path, flight, telemetry: Path) -> ProjectStore:
    return ProjectStore.create(tmp_path / "p.dmproj", video_path=flight.video, telemetry_path=telemetry)


FRAMES = [0, 5, 10, 15]


def test_telemetry_the_map_can_use_raises_nothing(tmp_path, sites_flyover):
    with _project(tmp_path, sites_flyover, Path(sites_flyover.srt)) as store:
        assert placement_problem(store, FRAMES) is None


def test_a_log_started_in_the_air_is_named_with_what_to_give(tmp_path, sites_flyover):
    gpx = _gpx_recorded_in_the_air(sites_flyover, tmp_path / "air.gpx", 147.0)
    with _project(tmp_path, sites_flyover, gpx) as store:
        problem = placement_problem(store, FRAMES)
        assert problem is not None
        assert str(gpx) in problem
        assert "absolute altitudes only and starts with the drone already flying" in problem
        assert "give the ground elevation" in problem
        store.set_project_settings(dataclasses.replace(store.project_settings(), ground_elevation_m=107.0))
        assert placement_problem(store, FRAMES) is None  # 40 m above the given ground


def test_a_log_started_in_the_air_that_climbs_is_not_mapped_a_metre_over_the_ground(tmp_path, sites_flyover):
    """The flight's own altitudes, absolute: the first fix is high in the air and the
    drone climbs a little from it. Heights above that fix would put it a metre or two
    over the ground in some frames and map those; the map must ask for the ground."""
    gpx = gpxpy.parse(Path(sites_flyover.gpx).read_text())
    points = gpx.tracks[0].segments[0].points
    assert max(p.elevation for p in points) > points[0].elevation  # it climbs: some frames were "above ground"
    with _project(tmp_path, sites_flyover, Path(sites_flyover.gpx)) as store:
        problem = placement_problem(store, FRAMES)
        assert problem is not None and "already flying" in problem and "--ground-elevation" in problem
        ground = points[0].elevation - 40.0
        store.set_project_settings(dataclasses.replace(store.project_settings(), ground_elevation_m=ground))
        assert placement_problem(store, FRAMES) is None


def test_a_track_from_another_day_is_said_not_to_overlap(tmp_path, sites_flyover, gpx_clock_shifted):
    gpx = gpx_clock_shifted(sites_flyover, tmp_path / "late.gpx", 86400.0)
    with _project(tmp_path, sites_flyover, gpx) as store:
        problem = placement_problem(store, FRAMES)
    assert problem is not None and "does not overlap the video" in problem


def test_a_file_that_is_not_telemetry_is_named(tmp_path, sites_flyover):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a flight log\n")
    with _project(tmp_path, sites_flyover, notes) as store:
        problem = placement_problem(store, FRAMES)
    assert problem is not None and "notes.txt" in problem


def test_the_analysis_plan_says_it_before_the_time_is_spent(tmp_path, sites_flyover, tiny_detector):
    from services.analysis import AnalysisRequest, plan

    gpx = _gpx_recorded_in_the_air(sites_flyover, tmp_path / "air.gpx", 147.0)
    with _project(tmp_path, sites_flyover, gpx) as store:
        planned = plan(store, AnalysisRequest(device="cpu", weights=str(tiny_detector / "msnet.safetensors"),
                                              srn=False, stride=5), check_placement=True)
        assert planned.todo and not store.analysed_frames(planned.run_id)  # nothing analysed yet
    [note] = [n for n in planned.notes if n.startswith("the map cannot be made yet")]
    assert "give the ground elevation" in note
    (tmp_path / "app").mkdir()
    with _project(tmp_path / "app", sites_flyover, gpx) as store:  # the app's analysis: no pyproj on its thread
        planned = plan(store, AnalysisRequest(device="cpu", weights=str(tiny_detector / "msnet.safetensors"),
                                              srn=False, stride=5))
    assert not [n for n in planned.notes if n.startswith("the map cannot be made yet")]


def test_the_track_preview_says_it_before_any_frame_is_analysed(tmp_path, sites_flyover):
    from services.maps import track_preview

    with _project(tmp_path, sites_flyover, Path(sites_flyover.gpx)) as store:
        track, problem, placed = track_preview(store)
        assert len(track) > 1 and problem is not None and "already flying" in problem and placed is None
        store.set_project_settings(dataclasses.replace(store.project_settings(), ground_elevation_m=10.0))
        assert track_preview(store)[1] is None
    (tmp_path / "srt").mkdir()
    with _project(tmp_path / "srt", sites_flyover, Path(sites_flyover.srt)) as store:
        _, problem, placed = track_preview(store)
        assert problem is None  # heights above take-off: nothing to say
        # the track on the video's clock, before any analysis: where the drone is, what it sees
        assert placed is not None and not placed.sites
        assert placed.position_at(1.0) is not None and len(placed.camera_footprint_at(1.0, max_range_m=150.0)) > 3


def test_frames_filmed_hovering_under_a_gpx_are_said_before_the_analysis(tmp_path, flyover_once):
    """A GPX gives no heading: the frames of a hover will not be placed, and the check
    says so; the SRT (with the gimbal's yaw) places them."""
    from services.maps import placement_check

    flight = flyover_once("hover-4s", seconds=6.0, fps=10.0, size=(320, 180), seed=3, annotate_every=30,
                          hover=(1.0, 4.0))
    frames = list(range(0, 60, 5))  # 2 frames a second
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M

    with _project(tmp_path, flight, Path(flight.gpx)) as store:  # its elevations are absolute: give the ground's
        store.set_project_settings(dataclasses.replace(store.project_settings(),
                                                       ground_elevation_m=DEFAULT_GROUND_ALT_M))
        check = placement_check(store, frames)
    assert check.problem is None and 8 <= check.hovering <= 9  # the hover's 4 s, its first and last second too
    assert check.hovering_caution.startswith(f"{check.hovering} of the frames to analyse were filmed while the "
                                             "drone hovered")
    with ProjectStore.create(tmp_path / "srt.dmproj", video_path=flight.video, telemetry_path=flight.srt) as store:
        check = placement_check(store, frames)
    assert check.problem is None and check.hovering == 0 and check.hovering_caution is None


def test_the_map_panel_cautions_that_the_hover_is_not_on_the_map(tmp_path, flyover_once):
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M
    from geo.evaluation import detections_from_coco
    from services.maps import damage_map, hovering_caution
    from tests.truth_runs import write_run

    flight = flyover_once("hover-4s", seconds=6.0, fps=10.0, size=(320, 180), seed=3, annotate_every=30,
                          hover=(1.0, 4.0))
    detections, times = detections_from_coco(flight.annotations)
    with _project(tmp_path, flight, Path(flight.gpx)) as store:
        store.set_project_settings(dataclasses.replace(store.project_settings(),
                                                       ground_elevation_m=DEFAULT_GROUND_ALT_M))
        write_run(store, detections, {i: i / 10.0 for i in range(0, 60, 5)})
        built = damage_map(store)
    unplaced = len(built.frame_poses.hovering)
    assert unplaced >= 3 and hovering_caution(unplaced) in built.cautions
    assert built.cautions[-1].startswith(
        f"{unplaced} analysed frames filmed while the drone hovered are not on the map")


def test_the_analysis_plan_says_the_camera_pitch_a_gpx_lacks_until_one_is_given(tmp_path, sites_flyover,
                                                                                  tiny_detector):
    """footage.md: before the first frame ``analyze`` says a GPX gives no camera pitch and
    that the map assumes 45 degrees down, with the flags that answer it, as ``telemetry``
    does; not once the project has one, nor for an SRT that gives the gimbal's."""
    from services.analysis import AnalysisRequest, plan

    request = AnalysisRequest(device="cpu", weights=str(tiny_detector / "msnet.safetensors"), srn=False, stride=5)
    with _project(tmp_path, sites_flyover, Path(sites_flyover.gpx)) as store:
        notes = plan(store, request, check_placement=True).notes
        [note] = [n for n in notes if "no gimbal pitch" in n]
        assert note.startswith(f"caution: {Path(sites_flyover.gpx).name}: no gimbal pitch: the map assumes the camera "
                               "looks 45 deg down")
        assert "--pitch DEG" in note and "--camera auto" in note
        store.set_project_settings(dataclasses.replace(store.project_settings(), camera_pitch_deg=-50.0))
        assert not [n for n in plan(store, request, check_placement=True).notes if "no gimbal pitch" in n]
    (tmp_path / "srt").mkdir()
    with _project(tmp_path / "srt", sites_flyover, Path(sites_flyover.srt)) as store:
        assert not [n for n in plan(store, request, check_placement=True).notes if "no gimbal pitch" in n]
