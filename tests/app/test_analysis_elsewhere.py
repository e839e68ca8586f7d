"""`damagemap analyze` in a terminal on the project the window has open: the window says
so at once, shows the frames as the other process stores them, refuses a second analysis
meanwhile and reads the run again when the other process ends. The other process is a
real one (``other_analysis.py``) writing into the real project file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.panels.review_panel import ReviewPanel
from app.workers import AnalysisOptions
from core.store import analysed_elsewhere_message

HELPER = Path(__file__).with_name("other_analysis.py")
ROOT = Path(__file__).resolve().parents[2]


class OtherAnalysis:
    """The helper process, stepped one command at a time."""

    def __init__(self, project: Path, fps: float) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen([sys.executable, str(HELPER), str(project), str(fps)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)
        self.run_id = self._answer()

    def _answer(self) -> int:
        line = self.process.stdout.readline()
        assert line.startswith("ok "), line
        return int(line.split()[1])

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        self._answer()

    def end(self) -> None:
        self.send("quit")
        self.process.wait(timeout=30)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


@pytest.fixture
def opened(window, flyover):
    assert window.open_path(flyover / "flight.mp4")
    return window


@pytest.fixture
def other(opened):
    process = OtherAnalysis(opened.document.project_path, fps=5.0)  # 8 of the flyover's 15 frames
    yield process
    if process.process.poll() is None:
        process.kill()


def test_an_analysis_run_by_another_process_is_followed_as_it_stores_frames(qtbot, opened, other, errors):
    window, doc = opened, opened.document
    pid = other.process.pid
    other.send("frame 0")
    qtbot.waitUntil(lambda: window.elsewhere.current is not None, timeout=10_000)
    assert window.eta_label.text() == f"run {other.run_id} analysed by process {pid} on {os.uname().nodename}: " \
                                      "1 of 8 frames stored"
    assert window.progress_bar.isVisible() and window.progress_bar.maximum() == 8 and window.progress_bar.value() == 1
    assert not window.cancel_button.isVisible()  # not the window's to stop
    assert doc.run_id == other.run_id and doc.is_analysed(0) and doc.analysis_running

    # a second analysis is refused, worded as the command line words it
    assert not window.analyse_action.isEnabled()
    # why, where the reviewer sees Analyse… greyed out: in the menu's tooltip
    from PySide6.QtWidgets import QMenu

    (menu,) = [m for m in window.analyse_action.associatedObjects() if isinstance(m, QMenu)]
    assert menu.toolTipsVisible() and "is being analysed" in window.analyse_action.toolTip()
    assert window.start_analysis(AnalysisOptions(device="cpu", fps=5.0, srn=False), model=object()) is None
    writer = doc.store.active_writer(other.run_id)
    assert errors and analysed_elsewhere_message(other.run_id, writer) in str(errors[-1])
    assert str(errors[-1]).startswith(f"This project's run {other.run_id} is being analysed by another damagemap "
                                      f"(process {pid}")

    # its frames appear as they are stored
    table = window.panel(ReviewPanel).view.model
    other.send("frame 2")
    qtbot.waitUntil(lambda: doc.is_analysed(2) and table.rowCount() == 2, timeout=10_000)
    assert window.eta_label.text().endswith("2 of 8 frames stored") and window.progress_bar.value() == 2

    other.send("finish")
    other.end()
    qtbot.waitUntil(lambda: window.elsewhere.current is None, timeout=10_000)
    assert window.eta_label.text() == f"run {other.run_id}'s analysis by process {pid} ended: 2 of 8 frames"
    assert not window.progress_bar.isVisible() and not doc.analysis_running
    assert window.analyse_action.isEnabled() and "being analysed" not in window.analyse_action.toolTip()


def test_an_analysis_whose_process_was_killed_is_no_longer_followed(qtbot, opened, other):
    window = opened
    other.send("frame 4")
    qtbot.waitUntil(lambda: window.elsewhere.current is not None, timeout=10_000)
    other.kill()
    qtbot.waitUntil(lambda: window.elsewhere.current is None, timeout=10_000)
    assert window.analyse_action.isEnabled() and window.document.is_analysed(4)
    assert window.eta_label.text().endswith("ended: 1 of 8 frames")


def test_a_project_opened_while_another_process_analyses_it_says_so_at_once(qtbot, window, flyover):
    assert window.open_path(flyover / "flight.mp4")
    window.close_project()
    other = OtherAnalysis(flyover / "flight.dmproj", fps=5.0)
    try:
        other.send("frame 0")
        assert window.open_path(flyover / "flight.mp4")
        assert window.elsewhere.current is not None  # not a poll later
        assert "1 of 8 frames stored" in window.eta_label.text() and not window.analyse_action.isEnabled()
    finally:
        other.kill()


def test_a_run_of_unknown_length_shows_a_busy_bar(window):
    """A run whose settings do not say its frame rate (an older version's): the bar is
    busy, not a 0..1 bar that cannot show 3 frames stored."""
    from app.analysis_elsewhere import AnalysisElsewhere

    writer = {"pid": 123, "host": "here", "user": "someone", "last_utc": "2024-01-01T00:00:00Z"}
    window._on_analysed_elsewhere(AnalysisElsewhere(2, writer, 3, None))
    assert window.progress_bar.isVisible()
    assert (window.progress_bar.minimum(), window.progress_bar.maximum()) == (0, 0)
    assert window.eta_label.text().endswith(": 3 frames stored")


def test_a_new_run_analysed_elsewhere_is_neither_mapped_nor_counted_half_done(qtbot, window, reviewed_project):
    """The window switches to the other process's new run already waiting for its end: the
    map is not built from its first frames (it said "run 2 is not finished ... analyse
    again", of a run being analysed), and the Sites panel counts no sites of the run
    before (its list went) nor says "Reading the sites…" until the end."""
    from app.panels.map_panel import MapPanel
    from app.panels.site_review_panel import SiteReviewPanel

    assert window.open_path(reviewed_project)
    sites, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    qtbot.waitUntil(lambda: sites.review is not None and not sites.busy and not map_panel.busy, timeout=30_000)
    assert sites.threshold_label.text()  # run 1's sites counted
    other = OtherAnalysis(reviewed_project, fps=5.0)
    try:
        other.send("frame 0")
        qtbot.waitUntil(lambda: window.elsewhere.current is not None, timeout=10_000)
        assert window.document.run_id == other.run_id
        assert not map_panel.busy  # no map of a run being analysed
        assert sites.summary.text() == "The sites are listed when the analysis ends"
        assert sites.threshold_label.text().endswith(": sites counted when the analysis ends")  # no count
        assert sites.site_list.count() == 0
    finally:
        other.kill()


def test_while_a_new_run_is_analysed_the_map_leaves_the_run_befores_sites_off_and_says_so(
        qtbot, window, reviewed_project):
    """The Sites panel lists no site of the run before while another is analysed: nor does
    the map (one clicked would ask for a detection of no run open); it keeps the track and
    says whose sites come and when."""
    from app.panels.map_panel import MapPanel
    from app.widgets.map_view import PLAIN_BUILDING_COLOUR
    from core.store import ProjectStore
    from services.package import set_product_sources

    assert window.open_path(reviewed_project)
    map_panel = window.panel(MapPanel)
    widget = map_panel.map_widget
    qtbot.waitUntil(lambda: not map_panel.busy and bool(widget.site_items), timeout=30_000)
    footprints = _footprints_around(widget.layers.sites, reviewed_project.with_name("footprints.geojson"))
    with ProjectStore.open(reviewed_project) as store:
        set_product_sources(store, footprints=footprints)
    map_panel.rebuild()

    def outline_colours() -> set[str]:
        return {item.pen().color().name() for item in widget.building_items}

    qtbot.waitUntil(lambda: bool(widget.building_items) and not map_panel.basemap_loading, timeout=30_000)
    graded = outline_colours()
    assert widget.buildings_graded and PLAIN_BUILDING_COLOUR not in graded, graded
    track_segments = widget.layers.track_segments
    other = OtherAnalysis(reviewed_project, fps=5.0)
    try:
        other.send("frame 0")
        qtbot.waitUntil(lambda: window.elsewhere.current is not None, timeout=10_000)
        assert map_panel.map_widget.site_items == []
        assert map_panel.map_widget.layers.track_segments == track_segments  # the flight stays
        caution = map_panel.caution_label.text()
        assert map_panel.caution_label.isVisibleTo(map_panel)
        assert f"run {other.run_id}" in caution and "when the analysis ends" in caution, caution
        # the buildings stay, but not in the run before's grade colours
        assert not widget.buildings_graded and outline_colours() == {PLAIN_BUILDING_COLOUR}
        assert "building: not graded yet" in widget.legend_rows()
        assert "building: not assessed" not in widget.legend_rows()
        other.end()
        qtbot.waitUntil(lambda: widget.buildings_graded and outline_colours() != {PLAIN_BUILDING_COLOUR},
                        timeout=30_000)  # graded from the new run once its map is built
        assert window.document.run_id == other.run_id
    finally:
        if other.process.poll() is None:
            other.kill()


def _footprints_around(sites, path: Path) -> Path:
    """A GeoJSON square of about 20 m around each site, and one far from any (not assessed)."""
    import json

    half = 0.0001
    centres = [(site.lon_deg, site.lat_deg) for site in sites] + [(sites[0].lon_deg + 0.003, sites[0].lat_deg)]
    features = [{"type": "Feature", "properties": {"id": i}, "geometry": {"type": "Polygon", "coordinates": [[
        [lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half],
        [lon - half, lat - half]]]}} for i, (lon, lat) in enumerate(centres)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def test_a_project_opened_off_the_gui_thread_while_another_process_analyses_it_counts_the_whole_video(
        qtbot, window, flyover, monkeypatch):
    """While the video is opened off the GUI thread only the analysed frames' times are
    known: the frames planned are counted once the video is there, not from those."""
    from app.document import ProjectDocument

    assert window.open_path(flyover / "flight.mp4")
    window.close_project()
    other = OtherAnalysis(flyover / "flight.dmproj", fps=5.0)
    try:
        other.send("frame 0")
        monkeypatch.setattr(ProjectDocument, "VIDEO_OFF_GUI_THREAD", True)  # as the app opens it
        with qtbot.waitSignal(window.document.video_ready, timeout=20_000):
            assert window.open_path(flyover / "flight.mp4")
        assert window.elsewhere.current is not None and window.elsewhere.current.frames_planned == 8
        assert "1 of 8 frames stored" in window.eta_label.text()
    finally:
        other.kill()
