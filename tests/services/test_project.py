"""services.project: the one way both clients open or create a project."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.errors import InputError, TelemetryError, VideoError
from services.project import MissingVideoError, open_or_create_project, open_project


@pytest.fixture
def video(tmp_path):
    from engine.video import write_video

    path = tmp_path / "clip.mp4"
    write_video(path, [np.full((32, 48, 3), 10 * i, np.uint8) for i in range(4)], fps=10.0)
    return path


def _gpx(path):
    path.write_text('<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
                    "<trk><trkseg></trkseg></trk></gpx>")
    return path


def test_created_beside_the_video_with_its_telemetry_then_reused(video, tmp_path):
    track = _gpx(tmp_path / "clip.gpx")
    with open_or_create_project(video) as store:
        assert store.path == tmp_path / "clip.dmproj" and store.telemetry_path == track
    other = _gpx(tmp_path / "other.gpx")
    with open_or_create_project(video, telemetry_path=other) as store:
        assert store.path == tmp_path / "clip.dmproj" and store.telemetry_path == other


def test_refusals_name_the_file_and_create_nothing(video, tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    with pytest.raises(VideoError, match="fake.mp4"):
        open_or_create_project(fake, tmp_path / "a.dmproj")
    with pytest.raises(TelemetryError, match="nowhere.gpx"):
        open_or_create_project(video, tmp_path / "b.dmproj", telemetry_path=tmp_path / "nowhere.gpx")
    assert not (tmp_path / "a.dmproj").exists() and not (tmp_path / "b.dmproj").exists()
    open_or_create_project(video, tmp_path / "c.dmproj").close()
    second = tmp_path / "second.mp4"
    second.write_bytes(video.read_bytes())
    with pytest.raises(InputError, match="belongs to video .*clip.mp4"):
        open_or_create_project(second, tmp_path / "c.dmproj")


def test_a_moved_video_is_reported_then_located(video, tmp_path):
    open_or_create_project(video).close()
    moved = tmp_path / "moved.mp4"
    video.rename(moved)
    with pytest.raises(MissingVideoError, match="locate it"):
        open_project(tmp_path / "clip.dmproj")
    with open_project(tmp_path / "clip.dmproj", video_path=moved) as store:
        assert store.video_path == moved


def test_a_flight_folder_moved_whole_keeps_its_telemetry_once_the_video_is_located(video, tmp_path):
    """The project stays, its flight's folder (video and log) moves: once the video is
    located, the log is found beside it, under its own name or the video's; a log that is
    nowhere stays named as it was (the map says it is missing)."""
    import shutil

    flight = tmp_path / "flight"
    flight.mkdir()
    clip = Path(shutil.move(video, flight / "clip.mp4"))
    log = _gpx(flight / "DJIFlightRecord.gpx")  # not the video's name: given by hand
    project = tmp_path / "site.dmproj"
    open_or_create_project(clip, project, telemetry_path=log).close()
    moved = Path(shutil.move(flight, tmp_path / "flight moved"))
    with open_project(project, video_path=moved / "clip.mp4") as store:
        assert store.telemetry_path == (moved / "DJIFlightRecord.gpx").resolve()
    # the log renamed as the video is: found under the video's name
    (moved / "DJIFlightRecord.gpx").rename(moved / "clip.gpx")
    again = Path(shutil.move(moved, tmp_path / "again"))
    with open_project(project, video_path=again / "clip.mp4") as store:
        assert store.telemetry_path == (again / "clip.gpx").resolve()
    (again / "clip.gpx").unlink()
    last = Path(shutil.move(again, tmp_path / "last"))
    with open_project(project, video_path=last / "clip.mp4") as store:
        assert store.telemetry_path == (again / "clip.gpx").resolve()  # nowhere: kept as it was


def test_a_project_created_by_another_process_a_moment_ago_is_opened_not_refused(video, tmp_path, monkeypatch):
    from core.store import ProjectStore

    project = tmp_path / "race.dmproj"
    real_create = ProjectStore.create.__func__

    def create_after_someone_else(cls, path, **kwargs):
        real_create(cls, path, **kwargs).close()  # the other process wins the race
        return real_create(cls, path, **kwargs)  # this one finds the file there

    monkeypatch.setattr(ProjectStore, "create", classmethod(create_after_someone_else))
    with open_or_create_project(video, project) as store:
        assert store.path == project.absolute()
        assert store.video_path.resolve() == video.resolve()
    assert project.is_file()
