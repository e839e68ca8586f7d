"""While the drone holds one view (it hovers), the analysis looks at one frame every few
seconds of it, not every frame the rate selects: the map counts the hover as one look, so
the time the other frames would cost buys nothing on the map. A pass is analysed whole; a
hover the telemetry cannot place (no heading) is thinned where its images repeat; analysing
again with a shorter interval adds what was left out to the same run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.errors import InputError
from core.store import ProjectStore
from services.analysis import AnalysisRequest, analyse, plan

HOVER = (1.0, 4.0)  # from 1 s, for 4 s


@pytest.fixture(scope="module")
def hover_flight(flyover_once):
    """6 s at 10 frames a second, the drone hovering 4 s of it (the SRT gives the gimbal's yaw)."""
    return flyover_once("hover-4s", seconds=6.0, fps=10.0, size=(320, 180), seed=3, annotate_every=30, hover=HOVER)


def _request(tiny_detector: Path, **changes) -> AnalysisRequest:
    return AnalysisRequest(device="cpu", weights=tiny_detector / "msnet.safetensors", srn=False, **changes)


def test_a_hover_is_analysed_one_frame_every_two_seconds_and_the_rest_whole(tmp_path, hover_flight, tiny_detector):
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=hover_flight.video,
                             telemetry_path=Path(hover_flight.srt)) as store:
        planned = plan(store, _request(tiny_detector), check_placement=True)
        times = {i: i / 10.0 for i in range(60)}
        assert len(planned.selected) + len(planned.skipped) == 60
        # only frames of the hover are left out, and of it a frame every 2 s is kept
        assert planned.skipped and all(HOVER[0] - 0.2 <= times[i] <= sum(HOVER) + 0.2 for i in planned.skipped)
        in_hover = [i for i in planned.selected if HOVER[0] + 0.2 <= times[i] <= sum(HOVER) - 0.2]
        assert 1 <= len(in_hover) <= 3
        assert all(b - a >= 20 for a, b in zip(in_hover, in_hover[1:]))
        moving = [i for i in range(60) if times[i] < HOVER[0] - 0.2 or times[i] > sum(HOVER) + 0.2]
        assert set(moving) <= set(planned.selected)
        [note] = [n for n in planned.notes if "repeat a view" in n]
        assert note.startswith(f"{len(planned.skipped)} of the 60 frames the rate selects only repeat a view the "
                               "drone held (it hovered): one frame every 2 s of a hover is analysed")
        assert not [n for n in planned.notes if n.startswith("the map cannot be made yet")]

        stored = sum(1 for _ in analyse(store, _request(tiny_detector), analysis_plan=planned))
        assert stored == len(planned.selected)
        assert set(store.analysed_frames(planned.run_id)) == set(planned.selected)

        # every frame after all: the same run, and only what was left out is analysed
        again = plan(store, _request(tiny_detector, hover_every_s=0.0))
        assert again.run_id == planned.run_id and again.resumed
        assert sorted(again.todo) == sorted(planned.skipped) and not again.skipped
        assert not [n for n in again.notes if "repeat a view" in n]
        # and the first request again: nothing left to do
        assert not plan(store, _request(tiny_detector)).todo


def _gpx_plan(tmp_path: Path, flight, tiny_detector: Path, *, ground: bool = True, **changes):
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M

    tmp_path.mkdir(exist_ok=True)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=flight.video, telemetry_path=Path(flight.gpx)) as store:
        if ground:
            store.set_project_settings(dataclasses.replace(store.project_settings(),
                                                           ground_elevation_m=DEFAULT_GROUND_ALT_M))
        return plan(store, _request(tiny_detector, fps=2.0, **changes), check_placement=True)


def _hovering_caution(planned) -> int:
    [caution] = [n for n in planned.notes if n.startswith("caution: ") and "hovered" in n]
    return int(caution.removeprefix("caution: ").split()[0])


def test_a_hover_the_telemetry_cannot_place_is_thinned_by_its_images(tmp_path, hover_flight, tiny_detector):
    """A GPX gives no heading: where the camera looked while the drone hovered is unknown,
    but frames whose image holds an earlier one's repeat its view all the same."""
    planned = _gpx_plan(tmp_path, hover_flight, tiny_detector)
    times = {i: i / 10.0 for i in range(60)}
    assert len(planned.selected) + len(planned.skipped) == 12
    assert planned.skipped and all(HOVER[0] < times[i] < sum(HOVER) for i in planned.skipped)
    # a frame every 2 s of the held view: the frames kept from the one before the first left out
    before = max(i for i in planned.selected if i < min(planned.skipped))
    kept = [times[i] for i in planned.selected if before <= i <= max(planned.skipped) + 5]
    assert len(kept) >= 2 and all(b - a == pytest.approx(2.0) for a, b in zip(kept, kept[1:]))
    assert any("only repeat a view the drone held" in n for n in planned.notes)
    # the caution counts the hovering frames still to analyse, not those left out
    whole = _gpx_plan(tmp_path / "whole", hover_flight, tiny_detector, hover_every_s=0.0)
    assert not whole.skipped and len(whole.selected) == 12
    assert _hovering_caution(planned) == _hovering_caution(whole) - len(planned.skipped)


def test_a_hover_is_thinned_before_the_map_can_be_made(tmp_path, hover_flight, tiny_detector):
    """The GPX starts in the air and no ground elevation is given: the map cannot place a
    frame yet (the analysis says why and goes on), but the track's positions still show
    where the drone stood still, and the hover's images repeat its view."""
    planned = _gpx_plan(tmp_path, hover_flight, tiny_detector, ground=False)
    assert any(n.startswith("the map cannot be made yet") for n in planned.notes)
    placed = _gpx_plan(tmp_path / "placed", hover_flight, tiny_detector)
    assert planned.skipped and planned.skipped == placed.skipped


def test_a_hover_whose_camera_turns_keeps_the_frames_that_turned(tmp_path, flyover_once, tiny_detector):
    """The same under a GPX, the drone turning 60 degrees away and back while it hovers:
    the images that turned are new views, analysed; only where the turn holds still long
    enough (at its far end) could frames be left out."""
    turning = flyover_once("hover-turn", seconds=8.0, fps=10.0, size=(320, 180), seed=3, annotate_every=40,
                           hover=(2.0, 4.0), hover_turn_deg=60.0)
    still = flyover_once("hover-still", seconds=8.0, fps=10.0, size=(320, 180), seed=3, annotate_every=40,
                         hover=(2.0, 4.0))
    left_out = {name: _gpx_plan(tmp_path / name, flight, tiny_detector).skipped
                for name, flight in (("turning", turning), ("still", still))}
    assert len(left_out["still"]) >= 3
    assert len(left_out["turning"]) < len(left_out["still"])
    assert all(3.0 < i / 10.0 < 5.0 for i in left_out["turning"])  # around the far end of the turn


def test_the_run_records_what_it_left_out_and_a_later_plan_takes_it(tmp_path, hover_flight, tiny_detector,
                                                                       monkeypatch, capsys):
    """Planning a run again (to resume it, or one already finished) takes the frames it
    left out from the run's record: the hover is not placed nor its images read again,
    unless what decided them changed (here the time offset)."""
    import threading

    import engine.motion
    import services.maps
    from engine.synth.flyover import DEFAULT_GROUND_ALT_M
    from services.analysis import LEFT_OUT_KEY

    request = _request(tiny_detector, fps=2.0)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=hover_flight.video,
                             telemetry_path=Path(hover_flight.gpx)) as store:
        store.set_project_settings(dataclasses.replace(store.project_settings(),
                                                       ground_elevation_m=DEFAULT_GROUND_ALT_M))
        first = plan(store, request)
        assert first.skipped
        record = store.run(first.run_id).settings[LEFT_OUT_KEY]
        assert record["frames"] == first.skipped and record["every_s"] == 2.0
        cancel = threading.Event()
        for progress in analyse(store, request, analysis_plan=first, cancel=cancel):
            cancel.set()  # stopped after its first frame
        assert not store.run(first.run_id).finished

        reads: list[str] = []
        real_views, real_check = engine.motion.video_held_views, services.maps.placement_check
        monkeypatch.setattr(engine.motion, "video_held_views",
                            lambda *a, **k: reads.append("images") or real_views(*a, **k))
        monkeypatch.setattr(services.maps, "placement_check",
                            lambda *a, **k: reads.append("placing") or real_check(*a, **k))
        resumed = plan(store, request)
        assert resumed.run_id == first.run_id and resumed.skipped == first.skipped
        assert resumed.todo == first.todo[1:] and not reads
        stored = sum(1 for _ in analyse(store, request, analysis_plan=resumed))
        assert stored == len(first.todo) - 1 and store.run(first.run_id).finished

        finished = plan(store, request)
        assert not finished.todo and finished.skipped == first.skipped and not reads
        from app.cli import main

        assert main(["info", str(tmp_path / "p.dmproj")]) == 0  # says what was left out, and why
        assert f"{len(first.skipped)} left out (" in capsys.readouterr().out

        # the time offset places the frames otherwise: the hover is read again
        store.set_project_settings(dataclasses.replace(store.project_settings(), time_offset_s=0.5))
        plan(store, request)
        assert reads.count("placing") == 1 and reads.count("images") == 1
        # the map's score slider places nothing
        reads.clear()
        store.set_project_settings(dataclasses.replace(store.project_settings(), min_score=0.3))
        plan(store, request)
        assert not reads


def test_a_project_without_telemetry_is_analysed_whole(tmp_path, hover_flight, tiny_detector):
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=hover_flight.video) as store:
        planned = plan(store, _request(tiny_detector, fps=2.0))
    assert not planned.skipped and len(planned.selected) == 12


def test_the_geometry_runs_where_the_caller_says(tmp_path, hover_flight, tiny_detector):
    """The app's analysis runs on a pooled thread, where pyproj crashed: it hands the
    placing to its job thread."""
    ran: list[str] = []

    def elsewhere(function):
        ran.append("placing")
        return function()

    with ProjectStore.create(tmp_path / "p.dmproj", video_path=hover_flight.video,
                             telemetry_path=Path(hover_flight.srt)) as store:
        planned = plan(store, _request(tiny_detector), geometry=elsewhere)
    assert ran == ["placing"] and planned.skipped


@pytest.mark.parametrize("every", [-1.0, float("nan"), float("inf")])
def test_a_bad_interval_is_refused(every):
    with pytest.raises(InputError, match="one every S seconds, S >= 0"):
        AnalysisRequest(hover_every_s=every)


def test_the_images_are_read_where_they_cost_less_than_the_frames_they_save(hover_flight):
    """Decoding a hover once more costs less than the CPU detector's time on its frames up
    to 1080 lines; a GPU's detector, or a 4K frame's decoding, turns that around."""
    import torch

    from engine.video import probe_video
    from services.analysis import _images_pay_off

    video = probe_video(hover_flight.video)
    assert _images_pay_off(video, "cpu") and _images_pay_off(video, torch.device("cpu"))
    assert not _images_pay_off(video, torch.device("cuda"))
    assert not _images_pay_off(dataclasses.replace(video, width_px=3840, height_px=2160), "cpu")
    assert _images_pay_off(dataclasses.replace(video, width_px=1080, height_px=1920), "cpu")  # upright 1080p
