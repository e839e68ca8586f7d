"""Another clip copied over the analysed video under the same name (DJI names start again
at DJI_0001 on every card): a resumed analysis is refused, and the map says its pictures
are another file's, instead of cutting close-ups from it without a word."""

from __future__ import annotations

import pytest

from app.cli import main
from core.store import ProjectStore
from services.maps import video_replaced_note


@pytest.fixture
def analysed(tmp_path, texture_video, with_tiny_detector):
    assets = with_tiny_detector(tmp_path)
    video = texture_video(tmp_path / "DJI_0001.mp4", 6, step=1)
    project = tmp_path / "DJI_0001.dmproj"
    args = ["analyze", str(video), "--project", str(project), "--weights", str(assets / "msnet.safetensors"),
            "--no-srn", "--device", "cpu", "-q"]
    assert main(args) == 0
    return video, project, args


def test_a_replaced_video_is_refused_on_resume_and_said_on_the_map(analysed, texture_video, capsys):
    video, project, args = analysed
    with ProjectStore.open(project) as store:
        run = store.latest_run_id()
        assert store.run(run).settings["video"]["frames"] == 6
        assert video_replaced_note(store, run) is None
    texture_video(video, 4, step=2)  # another clip, same name
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{video}: not the video run {run} analysed (4 frames, it had 6" in err
    with ProjectStore.open(project) as store:
        note = video_replaced_note(store, run)
    assert note is not None and "not the video run" in note and "another file's" in note
    assert main([*args, "--new-run"]) == 0  # a new run of the new clip is the user's to ask for
    with ProjectStore.open(project) as store:
        assert video_replaced_note(store, store.latest_run_id()) is None


def test_a_project_given_for_its_video_names_the_command_that_resumes_it(analysed, capsys):
    video, project, args = analysed
    capsys.readouterr()
    assert main(["analyze", str(project)]) == 2
    err = capsys.readouterr().err
    assert f"{str(project)!r} is a project, not a video: analyse (or resume) its video with damagemap analyze " \
           f"{video} --project {project}" in err



def test_a_map_of_a_replaced_video_is_placed_by_the_analysed_video_s_frames_not_the_other_file_s(
        sites_truth, tmp_path):
    """Another clip (another size, another length) copied over the analysed one: the map
    took its frame size and frame times, and placed every detection of the run wrongly
    (the demo's 15 sites became 55); it is placed as with the video gone, and says why."""
    import shutil

    from engine.video import VIDEO_KEY, probe_video, video_record
    from services import maps
    from tests.truth_runs import write_run
    from tests.video_helpers import noise_video

    video = tmp_path / "DJI_0001.mp4"
    shutil.copy2(sites_truth.video, video)
    with ProjectStore.create(tmp_path / "flight.dmproj", video_path=video, telemetry_path=sites_truth.srt) as store:
        run = write_run(store, sites_truth.detections, sites_truth.times,
                        settings={VIDEO_KEY: video_record(video, probe_video(video))})
        analysed = [c for s in maps.damage_map(store, run).all_fused for c in (s.site.lon_deg, s.site.lat_deg)]
        noise_video(tmp_path / "other.mp4", 8).replace(video)  # the next card's DJI_0001.mp4
        maps.clear_cache()
        built = maps.damage_map(store, run)
    assert [c for s in built.all_fused for c in (s.site.lon_deg, s.site.lat_deg)] == pytest.approx(analysed, abs=1e-6)
    assert any("DJI_0001.mp4 is not the video the run analysed; using the stored frame size" in n for n in built.notes)
    assert any("is not the video run 1 analysed" in n for n in built.notes)
