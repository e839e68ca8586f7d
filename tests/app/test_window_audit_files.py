"""Telemetry given to the window (the GUI audit's findings): KLV in the Open Telemetry
filter and by drag and drop, a track dropped with no project says to open its video
first, and the map's check before any analysis does not speak of analysed frames."""

from __future__ import annotations

from pathlib import Path

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
