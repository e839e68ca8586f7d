"""The command line and the desktop app export a project through one service, so the
same project gives the same files from both; the map is built once per project state."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from app.cli import main
from core.settings import ProjectSettings
from core.store import ProjectStore
from tests.truth_runs import write_run

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="module")
def flyover(sites_flyover) -> Path:
    """2 s at 10 fps, 320x180: a few annotated damaged parts seen from the SRT's poses (tests/conftest.py)."""
    return sites_flyover


@pytest.fixture
def project(flyover, tmp_path) -> Path:
    """A project holding the flyover's ground truth as one run, with non-default settings."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover.annotations)
    path = tmp_path / "flyover.dmproj"
    with ProjectStore.create(path, video_path=flyover.video, telemetry_path=flyover.srt) as store:
        write_run(store, detections, times)
        store.set_project_settings(ProjectSettings(time_offset_s=0.05, hfov_deg=84.0, min_score=0.4))
    return path


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_cli_and_app_export_identical_files(qtbot, project, tmp_path, qapp):
    from app.dialogs.export_dialog import ExportChoice
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from app.workers import wait_for_jobs
    from geo.export import FILES
    from PySide6.QtCore import QSettings

    cli_dir, app_dir = tmp_path / "cli", tmp_path / "app"
    assert main(["export", str(project), "--to", str(cli_dir)]) == 0

    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    try:
        assert window.open_path(project)
        formats = tuple(FILES)  # every map format the CLI writes by default
        with qtbot.waitSignal(window.export_finished, timeout=60_000) as done:
            window.start_export(ExportChoice(app_dir, formats=formats))
        assert sorted(Path(p).name for p in done.args[0]) == sorted(FILES.values())
    finally:
        wait_for_jobs()
        window.document.close()

    cli, app = _files(cli_dir), _files(app_dir)
    assert sorted(cli) == sorted(app) == sorted(FILES.values())
    different = [name for name in cli if cli[name] != app[name]]
    assert different == []


def test_the_map_is_built_once_per_project_state(project):
    from core.review import ReviewSession, SetReview
    from core.types import ReviewState
    from services import maps

    with ProjectStore.open(project) as store:
        builds = maps.map_builds()
        first = maps.damage_map(store)
        assert maps.damage_map(store) is first and maps.map_builds() == builds + 1
        store.set_project_settings(replace(store.project_settings(), min_score=0.9))
        second = maps.damage_map(store)
        assert second is not first and maps.map_builds() == builds + 2
        run_id = store.latest_run_id()
        detection = store.detections(run_id)[0]
        ReviewSession(store, run_id).apply(SetReview(detection.id, ReviewState.REJECTED))
        third = maps.damage_map(store)
        assert third is not second and maps.map_builds() == builds + 3
        assert maps.damage_map(store) is third


def test_export_flags_override_the_project_settings_unless_saved(project, tmp_path, capsys):
    assert main(["export", str(project), "--to", str(tmp_path / "a"), "--formats", "csv",
                 "--min-score", "1.0", "--ground-elevation", "3.5"]) == 0
    assert "made this export only" in capsys.readouterr().out  # the user is told what the project keeps
    with ProjectStore.open(project) as store:
        assert store.project_settings() == ProjectSettings(time_offset_s=0.05, hfov_deg=84.0, min_score=0.4)
    assert main(["export", str(project), "--to", str(tmp_path / "same"), "--formats", "csv", "--min-score", "0.4"]) == 0
    assert "made this export only" not in capsys.readouterr().out  # nothing differs from the project's
    assert main(["export", str(project), "--to", str(tmp_path / "b"), "--formats", "csv",
                 "--hfov", "mavic-2-pro", "--min-score", "0.7", "--save"]) == 0
    out = capsys.readouterr().out
    assert "saved the settings" in out and "made this export only" not in out
    with ProjectStore.open(project) as store:
        assert store.project_settings() == ProjectSettings(time_offset_s=0.05, hfov_deg="mavic-2-pro", min_score=0.7)
    assert main(["export", str(project), "--to", str(tmp_path / "c"), "--min-score", "2"]) == 2
    assert "--min-score must be in [0, 1]; got 2.0" in capsys.readouterr().err


def test_export_telemetry_saved_becomes_the_project_s(project, flyover, tmp_path, capsys):
    """`--telemetry F --save` said it saved the settings, and the project kept no telemetry."""
    import shutil

    other = tmp_path / "logs" / "flight.SRT"
    other.parent.mkdir()
    shutil.copy2(flyover.srt, other)
    assert main(["export", str(project), "--to", str(tmp_path / "a"), "--formats", "csv", "--telemetry", str(other)]) == 0
    assert "made this export only" in capsys.readouterr().out
    with ProjectStore.open(project) as store:
        assert store.telemetry_path == flyover.srt
    assert main(["export", str(project), "--to", str(tmp_path / "b"), "--formats", "csv", "--telemetry", str(other),
                 "--save"]) == 0
    with ProjectStore.open(project) as store:
        assert store.telemetry_path == other


def test_the_package_exported_after_the_map_files_cuts_no_picture_again(project, tmp_path, monkeypatch):
    """The relief package exported after the map files shows the same sites' pictures:
    the video is decoded for the first export only, and again once it changed."""
    import shutil

    import engine.video
    from services import export
    from services.export import ExportRequest, export_project

    decoded = []
    frame_at = engine.video.VideoReader.frame_at
    monkeypatch.setattr(engine.video.VideoReader, "frame_at",
                        lambda self, index, **kw: decoded.append(index) or frame_at(self, index, **kw))
    export.clear_cache()
    with ProjectStore.open(project) as store:
        video = tmp_path / store.video_path.name  # a copy of the flyover's, to touch
        shutil.copy(store.video_path, video)
        store.set_video(video)
        export_project(store, ExportRequest(tmp_path / "map", formats=("html", "kmz")))
        first = len(decoded)
        export_project(store, ExportRequest(tmp_path / "package", formats=(), package=True))
        assert first > 0 and len(decoded) == first
        stat = store.video_path.stat()
        os.utime(store.video_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        export_project(store, ExportRequest(tmp_path / "again", formats=("html",)))
        assert len(decoded) == 2 * first
