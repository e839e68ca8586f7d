"""The damage map of a project notes a flight flown above the heights its detector was
trained on, from the range in the weights' JSON; a detector without one gets no note."""

from __future__ import annotations

import json

import pytest

from core.store import ProjectStore
from services.maps import clear_cache, damage_map
from tests.truth_runs import write_run


def _project(tmp_path, flyover, truth, model: dict) -> ProjectStore:
    store = ProjectStore.create(tmp_path / "flight.dmproj", video_path=flyover.video, telemetry_path=flyover.srt)
    write_run(store, truth.detections, truth.times, model=model)
    return store


def _weights(tmp_path, footage: dict | None) -> str:
    weights = tmp_path / "detector.safetensors"
    weights.write_bytes(b"")  # only its JSON is read for the note
    metadata = {"kind": "damagemap.msnet", "version": 1} | ({"footage": footage} if footage else {})
    weights.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    return str(weights)


@pytest.fixture(autouse=True)
def fresh_maps():
    clear_cache()
    yield
    clear_cache()


def test_a_flight_above_the_trained_heights_is_noted(tmp_path, sites_flyover, sites_truth):
    heights = [frame["alt_rel_m"] for frame in json.loads((sites_flyover.video.parent / "camera.json").read_text())["frames"]]
    assert min(heights) > 10.0  # flown higher than the range below
    weights = _weights(tmp_path, {"altitude_above_ground_m": [2, 8]})
    with _project(tmp_path, sites_flyover, sites_truth, {"weights": weights}) as store:
        notes = damage_map(store).notes
    [note] = [n for n in notes if "higher than the 2-8 m" in n]
    assert "more of it is missed" in note
    assert "--tiles 2" in note  # what to do about it


def test_a_run_that_looked_in_tiles_is_not_told_to(tmp_path, sites_flyover, sites_truth):
    weights = _weights(tmp_path, {"altitude_above_ground_m": [2, 8]})
    model = {"weights": weights, "inference": {"tiles": 2}}
    with _project(tmp_path, sites_flyover, sites_truth, model) as store:
        notes = damage_map(store).notes
    [note] = [n for n in notes if "higher than the 2-8 m" in n]
    assert "more of it is missed" in note and "tiled look" not in note


@pytest.mark.parametrize("footage", [{"altitude_above_ground_m": [1, 500]}, None])
def test_no_note_within_the_range_or_without_one(tmp_path, sites_flyover, sites_truth, footage):
    weights = _weights(tmp_path, footage)
    with _project(tmp_path, sites_flyover, sites_truth, {"weights": weights}) as store:
        notes = damage_map(store).notes
    assert not [n for n in notes if "the footage the detector was trained on" in n]


def test_weights_no_longer_on_disk_give_no_note_and_no_error(tmp_path, sites_flyover, sites_truth):
    with _project(tmp_path, sites_flyover, sites_truth, {"weights": str(tmp_path / "gone.safetensors")}) as store:
        notes = damage_map(store).notes
    assert not [n for n in notes if "trained on" in n]


def _tiny_detector_trained_at(tmp_path, tiny_detector, footage: dict | None) -> str:
    """A copy of the session's tiny detector whose JSON states ``footage``."""
    import shutil

    from core.model_files import config_path_for

    weights = tmp_path / "tiny.safetensors"
    shutil.copyfile(tiny_detector / "msnet.safetensors", weights)
    metadata = json.loads(config_path_for(tiny_detector / "msnet.safetensors").read_text(encoding="utf-8"))
    metadata.pop("footage", None)
    config_path_for(weights).write_text(json.dumps(metadata | ({"footage": footage} if footage else {})))
    return str(weights)


@pytest.mark.parametrize("footage, cautioned", [({"altitude_above_ground_m": [2, 8]}, True), (None, False)])
def test_the_analysis_plan_cautions_before_the_time_is_spent(tmp_path, sites_flyover, tiny_detector,
                                                              footage, cautioned):
    from services.analysis import AnalysisRequest, plan

    weights = _tiny_detector_trained_at(tmp_path, tiny_detector, footage)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as store:
        planned = plan(store, AnalysisRequest(device="cpu", weights=weights, srn=False, stride=5))
    cautions = [n for n in planned.notes if n.startswith("caution: the drone flew about")]
    assert len(cautions) == int(cautioned)
    if cautioned:
        assert "higher than the 2-8 m of the footage the detector was trained on" in cautions[0]
        assert "tiled look" in cautions[0]


def test_analysing_a_survey_names_the_flight_the_caution_is_about(tmp_path, sites_flyover, tiny_detector, capsys):
    import shutil

    from app.cli import main

    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copyfile(sites_flyover.video, videos / "monday.mp4")
    shutil.copyfile(sites_flyover.srt, videos / "monday.SRT")
    weights = _tiny_detector_trained_at(tmp_path, tiny_detector, {"altitude_above_ground_m": [2, 8]})
    assert main(["analyze", str(videos), "--project", str(tmp_path / "town"), "--weights", weights, "--no-srn",
                 "--device", "cpu", "--every", "10", "-q"]) == 0
    err = capsys.readouterr().err
    assert "flight monday: caution: the drone flew about" in err
