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

