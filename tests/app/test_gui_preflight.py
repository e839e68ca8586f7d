"""``damagemap gui`` on a Linux machine where Qt's X11 platform cannot start: one line, rc 2.

Without these checks Qt aborts the process (SIGABRT, a core dump). None of these tests
starts a window: each stops at the check, before Qt's platform is loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.cli import main
from app.commands import gui

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the xcb checks are Linux-only")


@pytest.fixture
def x11(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment of a Linux desktop session: Qt's default platform, no Wayland."""
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_PLUGIN_PATH", raising=False)
    return monkeypatch


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("damagemap gui: error: "), err
    return err


def test_no_display_is_one_line(x11, capsys):
    x11.delenv("DISPLAY", raising=False)
    assert main(["gui"]) == 2
    assert "DISPLAY is not set" in _one_line_error(capsys)


def test_a_missing_xcb_library_is_named_with_the_packages_to_install(x11, tmp_path):
    # a plugin file the loader refuses stands for libqxcb.so whose libxcb-icccm.so.4 is missing
    broken = tmp_path / "platforms" / "libqxcb.so"
    broken.parent.mkdir()
    broken.write_bytes(b"not a shared library")
    x11.setenv("DISPLAY", ":0")
    x11.setattr(gui, "xcb_plugin_candidates", lambda: iter([tmp_path / "absent.so", broken]))
    with pytest.raises(gui.DisplayError) as caught:
        gui.check_display()
    message = str(caught.value)
    assert "\n" not in message
    assert str(broken) in message and "libxcb-icccm4" in message and "apt install" in message


def test_a_display_nobody_answers_on_is_named(x11):
    x11.setenv("DISPLAY", ":987")  # no X server listens there
    x11.setattr(gui, "xcb_plugin_candidates", lambda: iter([]))
    with pytest.raises(gui.DisplayError, match="cannot connect to the X display ':987'"):
        gui.check_display()


def test_another_platform_or_wayland_is_left_to_qt(x11, tmp_path):
    x11.delenv("DISPLAY", raising=False)
    x11.setenv("QT_QPA_PLATFORM", "offscreen")
    gui.check_display()
    x11.delenv("QT_QPA_PLATFORM")
    (tmp_path / "wayland-0").touch()  # the compositor's socket
    x11.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    x11.setenv("WAYLAND_DISPLAY", "wayland-0")
    gui.check_display()
    x11.setenv("QT_QPA_PLATFORM", "wayland")  # asked for, in a Wayland session
    gui.check_display()
    x11.setenv("QT_QPA_PLATFORM", "wayland;xcb")  # with X11 to fall back on


def test_a_wayland_display_with_no_compositor_is_named_as_no_display(x11, tmp_path):
    """WAYLAND_DISPLAY left set with no compositor listening: Qt fell back on X11 with no
    DISPLAY and aborted the process (SIGABRT)."""
    x11.delenv("DISPLAY", raising=False)
    x11.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    x11.setenv("WAYLAND_DISPLAY", "wayland-9")  # no socket there
    with pytest.raises(gui.DisplayError, match="DISPLAY is not set"):
        gui.check_display()


def test_wayland_asked_for_with_no_wayland_session_is_one_line(x11, capsys):
    """Qt aborted the process (SIGABRT) for want of its platform plugin's display."""
    x11.setenv("QT_QPA_PLATFORM", "wayland")
    assert main(["gui"]) == 2
    message = _one_line_error(capsys)
    assert "QT_QPA_PLATFORM=wayland asks for Wayland, but there is no Wayland session" in message
    assert "unset QT_QPA_PLATFORM" in message


def test_the_plugin_qt_would_load_is_found():
    found = [p for p in gui.xcb_plugin_candidates() if p.is_file()]
    assert found and found[0].name == "libqxcb.so"
    assert isinstance(found[0], Path)


def test_a_file_that_is_neither_a_video_nor_a_project_is_refused_before_any_window(x11, tmp_path, capsys):
    x11.setenv("DISPLAY", ":99")  # never reached: the file is checked first
    notes = tmp_path / "notes.txt"
    notes.write_text("meeting notes")
    assert main(["gui", str(notes)]) == 2
    err = _one_line_error(capsys)
    assert "notes.txt" in err and "neither a video" in err and ".dmproj" in err
    assert main(["gui", str(tmp_path)]) == 2
    assert "is a folder" in _one_line_error(capsys)
    assert main(["gui", str(tmp_path / "absent.mp4")]) == 2
    assert "no such file" in _one_line_error(capsys)


def test_a_project_saved_under_another_name_still_opens_as_a_project(tmp_path):
    from core.store import ProjectStore
    from services.project import opens_as_video

    video = tmp_path / "flight.mp4"
    video.write_bytes(b"")
    ProjectStore.create(tmp_path / "p.dmproj", video_path=video).close()
    renamed = tmp_path / "survey-backup.db"
    (tmp_path / "p.dmproj").rename(renamed)
    assert opens_as_video(renamed) is False
    assert opens_as_video(video) is True


def test_a_flight_log_opened_as_a_project_points_to_open_telemetry(tmp_path):
    """File > Open on a .gpx said only "neither a video nor a project"."""
    from core.errors import InputError
    from services.project import opens_as_video

    log = tmp_path / "flight.gpx"
    log.write_text("<gpx/>")
    with pytest.raises(InputError, match=r"open the video, then File > Open Telemetry…"):
        opens_as_video(log)
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    with pytest.raises(InputError) as refused:
        opens_as_video(other)
    assert "Open Telemetry" not in str(refused.value)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("name", ["flight", "flight.mp4", "flight.dmproj"])
def test_a_named_pipe_given_to_open_is_named_a_named_pipe(tmp_path, name):
    """A named pipe with no suffix was read for its first bytes, which waited for a writer
    for ever (damagemap gui PIPE hung before any window); with a video's or a project's
    suffix it was opened as one."""
    import os

    from core.errors import InputError
    from services.project import opens_as_video

    pipe = tmp_path / name
    os.mkfifo(pipe)
    with pytest.raises(InputError, match=rf"'{pipe}' is a named pipe, not a regular file; open a drone video or a "
                                         r"project"):
        opens_as_video(pipe)
