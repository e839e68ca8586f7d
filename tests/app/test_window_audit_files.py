"""Telemetry given to the window (the GUI audit's findings): KLV in the Open Telemetry
filter and by drag and drop, a track dropped with no project says to open its video
first, and the map's check before any analysis does not speak of analysed frames."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from app.panels.map_panel import MapPanel


def _drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))


def _klv_packet(t_s: float, lat: float, lon: float, alt: float) -> bytes:
    """One MISB ST 0601 packet: time, position, altitude (as tests/geo/test_sync_klv.py writes them)."""
    from geo.telemetry.klv import UAS_KEY, checksum

    def scaled(value: float, span: float, size: int, signed: bool, offset: float = 0.0) -> bytes:
        code = round(value * ((1 << (8 * size)) - 2) / span) if signed else round(
            (value - offset) * ((1 << (8 * size)) - 1) / span)
        return code.to_bytes(size, "big", signed=signed)

    items = [(2, int(t_s * 1e6).to_bytes(8, "big")), (13, scaled(lat, 180.0, 4, True)),
             (14, scaled(lon, 360.0, 4, True)), (15, scaled(alt, 19900.0, 2, False, -900.0))]
    body = b"".join(bytes([tag, len(value)]) + value for tag, value in items) + b"\x01\x02"
    head = UAS_KEY + bytes([len(body) + 2])
    return head + body + checksum(head + body).to_bytes(2, "big")


def test_klv_telemetry_is_offered_and_taken_by_drop(qtbot, window, flyover, errors):
    from app.main_window import TELEMETRY_FILTER

    assert "*.klv" in TELEMETRY_FILTER.split(";;")[0]  # listed with the other tracks, not under All files
    assert window.open_path(flyover / "flight.mp4")
    klv = flyover / "flight.klv"
    t0 = 1_539_356_400.0  # the flyover's own start, 2018-10-12 15:00 UTC
    klv.write_bytes(b"".join(_klv_packet(t0 + k * 0.5, 30.1588 + k * 1e-5, -85.6602, 110.0) for k in range(4)))
    _drop(window, klv)
    assert errors == []  # was: "neither a video (…) nor a damagemap project (.dmproj)"
    assert window.document.telemetry_path == klv
    assert window.document.project_path == flyover / "flight.dmproj"  # still the same project


def test_a_track_dropped_with_nothing_open_says_to_open_its_video_first(qtbot, window, flyover, errors):
    for name in ("flight.gpx", "flight.SRT"):
        _drop(window, flyover / name)
    assert not window.document.is_open and len(errors) == 2
    for error in errors:
        assert "open its video first" in str(error) and "Open Telemetry" in str(error)


def test_the_check_before_any_analysis_names_the_frames_it_checked(qtbot, window, flyover, errors):
    from core.settings import ProjectSettings
    from core.store import ProjectStore

    project = flyover / "flight.dmproj"
    # the drone under the ground plane: a GPX's absolute altitudes, with no relative one to stand in
    # (an SRT's rel_alt is taken instead of an abs_alt that puts the camera underground)
    with ProjectStore.create(project, video_path=flyover / "flight.mp4", telemetry_path=flyover / "flight.gpx") as store:
        store.set_project_settings(ProjectSettings(ground_elevation_m=5000.0))
    panel = window.panel(MapPanel)
    assert window.open_path(project)
    qtbot.waitUntil(lambda: "ground plane" in panel.caution_label.text(), timeout=10_000)
    text = panel.caution_label.text()
    assert "analysed" not in text  # nothing has been: was "none of the 2 analysed frames"
    assert "frames checked (one a second of the video)" in text


def _another_flights_track(flyover: Path) -> Path:
    """The flyover's GPX eight years earlier: a track that does not meet the video at all."""
    track = flyover / "another_flight.gpx"
    track.write_text((flyover / "flight.gpx").read_text(encoding="utf-8").replace("2018-10-12", "2010-10-12"),
                     encoding="utf-8")
    return track


@pytest.fixture
def answer_when_asked(qtbot):
    """``answer_when_asked(answer)`` clicks the button named ``answer`` (``"default"``: the
    box's default) of the question the window asks next, noting what it said; it stops
    looking when the test ends, so a test where nothing is asked leaves no click waiting
    for the next test's boxes."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    test_over: list[bool] = []

    def start(answer: str) -> list[dict]:
        asked: list[dict] = []
        tries = iter(range(200))  # none asked within 2 s: the test says so

        def click() -> None:
            if test_over:
                return
            box = QApplication.activeModalWidget()
            if not isinstance(box, QMessageBox):
                if next(tries, None) is not None:
                    QTimer.singleShot(10, click)
                return
            buttons = {b.text(): b for b in box.buttons()}
            asked.append({"text": box.text(), "informative": box.informativeText(), "buttons": sorted(buttons),
                          "default": box.defaultButton().text(), "escape": box.escapeButton().text()})
            (box.defaultButton() if answer == "default" else buttons[answer]).click()

        QTimer.singleShot(0, click)
        return asked

    yield start
    test_over.append(True)


def test_a_track_that_does_not_meet_the_video_asks_before_it_replaces_the_project_s(answer_when_asked,
        qtbot, window, flyover, errors, monkeypatch):
    """A track eight years from the video replaced the working one at once (File > Open
    Telemetry… and a drop alike): the map and the sites showed only the error, and the
    analyst had to find the old track and open it again."""
    from PySide6.QtWidgets import QFileDialog

    assert window.open_path(flyover / "flight.mp4")
    working = window.document.telemetry_path
    assert working is not None and window.document.telemetry_mismatch(working) is None
    wrong = _another_flights_track(flyover)
    changed = []
    window.document.telemetry_changed.connect(lambda: changed.append(True))
    notices = []
    window.document.notice.connect(notices.append)

    asked = answer_when_asked("default")  # Enter: keep the track the project has
    _drop(window, wrong)
    assert window.document.telemetry_path == working and changed == [] and errors == []
    said = asked[0]
    assert said["text"].startswith("another_flight.gpx does not overlap the video flight.mp4: The track covers 2010-")
    assert "8.0 years apart" in said["text"]
    assert working.name in said["informative"] and "another_flight.gpx" in said["informative"]
    assert said["default"] == said["escape"] == f"Keep {working.name}"
    assert said["buttons"] == sorted([f"Keep {working.name}", "Use another_flight.gpx anyway"])
    assert notices[-1] == f"Kept {working.name}: another_flight.gpx is not the video's"

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(wrong), ""))
    asked = answer_when_asked("Use another_flight.gpx anyway")  # the analyst knows better
    window.open_telemetry_dialog()
    assert asked and window.document.telemetry_path == wrong and changed == [True]
    assert str(working) in notices[-1] and working.is_file()  # where to find the track before

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(working), ""))
    asked = answer_when_asked("default")
    window.open_telemetry_dialog()  # a track that meets the video is taken without a question
    assert asked == [] and window.document.telemetry_path == working and errors == []


def _another_videos_srt(flyover: Path, seconds: float = 40.0) -> Path:
    """A DJI SRT written with another video: 40 s of the flyover's entries, dated four years later."""
    import re

    first = (flyover / "flight.SRT").read_text(encoding="utf-8").split("\n\n")[0].split("\n", 2)[2]
    cues = []
    for n in range(int(seconds / 0.2)):
        start, end = n * 0.2, (n + 1) * 0.2
        stamp = lambda t: f"00:{int(t // 60):02d}:{int(t % 60):02d},{round(t % 1 * 1000):03d}"  # noqa: E731
        text = re.sub(r"FrameCnt: \d+", f"FrameCnt: {n + 1}", first.replace("2018-10-12", "2022-12-29"))
        cues.append(f"{n + 1}\n{stamp(start)} --> {stamp(end)}\n{text}\n")
    srt = flyover / "DJI_0023.SRT"
    srt.write_text("\n".join(cues), encoding="utf-8")
    return srt


def test_another_video_s_srt_is_asked_about_in_its_own_words(answer_when_asked, qtbot, window, flyover, errors):
    """A DJI SRT of another video (its dates and length another's) was taken silently as
    the video's: the window asks first, saying it looks like another video's telemetry."""
    assert window.open_path(flyover / "flight.mp4")
    working = window.document.telemetry_path
    srt = _another_videos_srt(flyover)
    notices = []
    window.document.notice.connect(notices.append)

    asked = answer_when_asked("default")
    _drop(window, srt)
    assert window.document.telemetry_path == working and errors == []
    text = asked[0]["text"]
    assert text.startswith("DJI_0023.SRT looks like another video's telemetry, not flight.mp4's: ")
    assert "/" not in text.split(": ", 1)[1].split(";")[0]  # the evidence, not the file's path again
    assert notices[-1] == f"Kept {working.name}: DJI_0023.SRT is not the video's"


def test_a_track_whose_dates_alone_disagree_is_taken_with_a_caution(answer_when_asked, qtbot, window, flyover, errors):
    """An SRT whose dates alone are another day's (a video an editor saved again gets a new
    date) is the video's, taken without a question, and the window says what disagrees."""
    assert window.open_path(flyover / "flight.mp4")
    srt = flyover / "redated.SRT"
    srt.write_text((flyover / "flight.SRT").read_text(encoding="utf-8").replace("2018-10-12", "2021-03-01"),
                   encoding="utf-8")
    notices = []
    window.document.notice.connect(notices.append)
    asked = answer_when_asked("default")
    assert window.use_telemetry(srt)
    assert asked == [] and window.document.telemetry_path == srt and errors == []
    assert notices and "redated.SRT" in notices[-1] and "flight.mp4" in notices[-1]
