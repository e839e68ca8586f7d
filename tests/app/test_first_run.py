"""The window with no project: the start page (open a video, a project, the demo, the
recent files), the demo run off the GUI thread, the demo-model badge, the default
layout and the Model menu's entry point."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.store import ProjectStore
from core.types import DamageLevel, Detection, Frame
from engine.video import VideoReader


@pytest.fixture
def project(flyover):
    video = flyover / "flight.mp4"
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=video) as store, VideoReader(video) as reader:
        run = store.start_run(model={"weights": None}, settings={})
        store.write_frame(run, Frame(0, reader.pts_s[0], 160, 96),
                          [Detection(0, DamageLevel.SEVERE, 0.9, (10.0, 30.0, 40.0, 60.0))])
        store.finish_run(run)
    return path


def test_with_no_project_the_window_offers_the_ways_in_and_the_recent_files(qtbot, window, project, app_settings):
    page = window.start_page
    assert window.pages.currentWidget() is page
    assert [b.text() for b in (page.open_button, page.open_survey_button, page.demo_button)] == [
        "Open Video or Project…", "Open Survey…", "Try the demo"]
    assert not any(dock.isVisible() for dock in window.docks)  # nothing to show in them yet
    assert not window.overlay_toolbar.isVisible()
    assert page.recent_paths() == []

    app_settings.add_recent_file(project.with_name("flight.mp4"))
    app_settings.add_recent_file(project)  # the video's own project: one flight, listed once
    app_settings.add_recent_file(project.with_name("gone.dmproj"))  # moved away since: not listed
    window._show_start_page()
    assert page.recent_paths() == [project.resolve()]
    qtbot.mouseClick(page.recent_list.viewport(), Qt.MouseButton.LeftButton,
                     pos=page.recent_list.visualItemRect(page.recent_list.item(0)).center())
    assert window.document.is_open and window.document.project_path == project
    assert window.pages.currentWidget() is window.player_page
    assert all(dock.isVisible() for dock in window.docks) and window.overlay_toolbar.isVisible()

    window.close_project()  # back to the start page, nothing stale behind it
    assert window.pages.currentWidget() is page and window.windowTitle() == "damagemap"


def test_the_start_page_buttons_are_the_file_menus_own_items(qtbot, window):
    """The start page said "Open a video…" and "Open a survey…" where File says "Open
    Video or Project…" and "Open Survey…": its buttons are those actions now, so they
    read alike (without the menu's "&") and a click is the menu item's."""
    from app.widgets.action_button import without_mnemonic

    page = window.start_page
    file_menu = window.menuBar().actions()[0].menu()
    for button, action in ((page.open_button, window.open_action), (page.open_survey_button, window.open_survey_action)):
        assert action in file_menu.actions()
        assert button.text() == without_mnemonic(action.text())
        assert action.shortcut().toString() in button.toolTip()
        action.triggered.disconnect()  # no real file dialog: only that the click is the item's
        with qtbot.waitSignal(action.triggered, timeout=1_000):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    window.open_action.setEnabled(False)  # the button follows the item
    assert not page.open_button.isEnabled()


def test_the_start_page_keeps_together_at_the_top_of_a_tall_window(qtbot):
    """With no recent files its rows were spread over the whole height, the recent files'
    heading hundreds of pixels under the buttons."""
    from app.widgets.start_page import StartPage

    page = StartPage()
    qtbot.addWidget(page)
    page.set_recent_files([])
    page.resize(1200, 1000)
    page.show()
    qtbot.waitExposed(page)
    buttons_bottom = page.demo_button.mapTo(page, page.demo_button.rect().bottomLeft()).y()
    heading_top = page.recent_label.mapTo(page, page.recent_label.rect().topLeft()).y()
    assert 0 < heading_top - buttons_bottom < 150
    assert "synthetic flights only" not in page.demo_note.text()  # it has seen five real photos too
def test_the_default_layout_gives_the_sites_queue_room(qtbot, window, project, app_settings):
    from app.main_window import MainWindow
    from app.panels.map_panel import MapPanel
    from app.panels.site_review_panel import SiteReviewPanel

    window.resize(1480, 900)
    assert window.open_path(project)
    qtbot.waitUntil(lambda: window.panel(SiteReviewPanel).isVisible(), timeout=5_000)
    sites, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)
    qtbot.waitUntil(lambda: sites.width() >= 420 and sites.height() >= 600, timeout=5_000)  # the whole right side
    assert window.frame_view.width() >= 700  # the video keeps the larger part
    assert map_panel.isVisible() and map_panel.mapTo(window, map_panel.rect().topLeft()).x() < sites.mapTo(
        window, sites.rect().topLeft()).x()  # under the video

    window.close()  # saves the layout; a new window restores it
    again = MainWindow(settings=app_settings)
    qtbot.addWidget(again)
    again.restore_layout()
    again.show()
    assert not any(dock.isVisible() for dock in again.docks)  # the start page first
    assert again.open_path(project)
    assert all(dock.isVisible() for dock in again.docks)
    again.document.close()


def test_a_narrow_window_keeps_the_seek_slider_and_the_go_to_box_usable(qtbot, window, project):
    """On a narrow window (a small laptop's, the window at its least width) the transport's
    seek slider keeps a usable width and the go-to box shows what it is for; the Review
    table's buttons go on two rows, so the right column asks no more room than the Sites
    panel does."""
    from app.panels.review_panel import ReviewPanel
    from app.panels.site_review_panel import SiteReviewPanel
    from app.widgets.player import TransportBar

    assert window.open_path(project)
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.width() < 1100, timeout=5_000)  # as narrow as it goes: about 1020 px
    transport = window.transport
    qtbot.waitUntil(lambda: transport.slider.width() >= TransportBar.SLIDER_MIN_PX, timeout=5_000)
    goto = transport.goto_edit
    assert goto.width() >= goto.fontMetrics().horizontalAdvance(goto.placeholderText())
    review = window.panel(ReviewPanel).view
    assert review.minimumSizeHint().width() <= window.panel(SiteReviewPanel).minimumSizeHint().width()


def test_the_window_fits_a_1024x768_screen_with_every_site_button_in_view(qtbot, window, project):
    """At its least width the window fits a 1024-pixel screen (it was about 1,075 px: the
    Sites panel's Debris (3) and Merge (M) buttons past the screen's right edge, maximised);
    the transport's seek slider gives way first (the timeline above it seeks too)."""
    from PySide6.QtWidgets import QPushButton

    from app.panels.site_review_panel import SiteReviewPanel

    assert window.open_path(project)
    assert window.minimumSizeHint().width() <= 1024
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024, timeout=5_000)
    for button in window.panel(SiteReviewPanel).findChildren(QPushButton):
        if button.isVisibleTo(window):
            right = button.mapTo(window, button.rect().topRight()).x()
            assert right < window.width() and button.width() >= button.minimumSizeHint().width(), button.text()


def test_the_window_still_fits_a_1024_pixel_screen_deep_into_a_long_video(qtbot, window, project):
    """The transport's labels set the window's least width by the numbers they show: it
    grew as the video played, past a 1024-pixel screen's edge once the frame number had
    three digits (1,025 px on the demo at frame 151 / 200, 1,052 at "frame 4500 / 9000").
    At their least, the frame label keeps "frame 1234 / 5678" whole, its note giving way,
    and the time label the time shown and the video's length, to the second."""
    from PySide6.QtWidgets import QLabel

    assert window.open_path(project)
    transport = window.transport
    transport.set_video(9000, 30.0, 300.0)  # a five-minute flight's numbers
    transport.set_position(4499, 149.97, "not analysed")
    assert window.minimumSizeHint().width() <= 1024
    time_label, frame_label = transport.time_label, transport.frame_label
    metrics = frame_label.fontMetrics()
    assert frame_label.minimumSizeHint().width() <= metrics.horizontalAdvance("frame 0000 / 0000 …") + 8
    assert time_label.minimumSizeHint().width() < metrics.horizontalAdvance("02:29.97 / 05:00.00")
    for label in (time_label, frame_label):
        label.resize(label.minimumSizeHint())
    shown = QLabel.text  # what the labels show, elided (their text() is the whole)
    assert shown(time_label) == "2:29 / 5:00"
    assert shown(frame_label).startswith("frame 4500 / 9000")


#: a 1280x800 laptop screen at 150%, in logical pixels (what the window is laid out in)
SCALED_LAPTOP_SCREEN = (853, 533)


def test_the_window_fits_a_1280x800_screen_at_150_percent_with_every_control_in_view(qtbot, window, project):
    """It asked for 977x583 logical pixels, 853x533 there: the Sites panel's Debris and
    Merge buttons and the status bar fell off the screen. The transport's readouts go
    on a second row, the crop grid keeps one row and the map gives way where room is short."""
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QSlider

    from app.panels.site_review_panel import SiteReviewPanel

    width, height = SCALED_LAPTOP_SCREEN
    assert window.open_path(project)
    least = window.minimumSizeHint()
    assert least.width() <= width and least.height() <= height, least
    window.resize(width, height)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (width, height), timeout=5_000)
    qtbot.waitUntil(lambda: window.transport.wrapped, timeout=5_000)
    controls = [w for kind in (QAbstractButton, QSlider, QLineEdit, QComboBox)
                for parent in (window.panel(SiteReviewPanel), window.transport) for w in parent.findChildren(kind)]
    for control in (c for c in controls if c.isVisibleTo(window)):
        corner = control.mapTo(window, control.rect().bottomRight())
        assert corner.x() < width and corner.y() < height, control.toolTip() or control.text()
    status = window.statusBar()
    assert status.mapTo(window, status.rect().bottomRight()).y() < height
    assert window.transport.slider.width() >= window.transport.SLIDER_MIN_PX


def test_the_transport_keeps_one_row_where_the_window_has_the_room(qtbot, window, project):
    assert window.open_path(project)
    window.resize(1480, 900)
    qtbot.waitUntil(lambda: window.width() == 1480, timeout=5_000)
    transport = window.transport
    assert not transport.wrapped
    assert transport.height() < 2 * transport.play_button.height()


def test_the_review_table_and_the_sites_are_a_key_away(qtbot, window, project):
    """The Review table shares its dock's tabs with Sites, whose arrow keys step the video:
    it took a mouse to reach."""
    from PySide6.QtWidgets import QApplication

    from app.panels.review_panel import ReviewPanel
    from app.panels.site_review_panel import SiteReviewPanel

    assert window.open_path(project)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    table = window.panel(ReviewPanel).view.table
    assert table.visibleRegion().isEmpty()  # behind the Sites tab
    qtbot.keyClick(window.frame_view, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not table.visibleRegion().isEmpty(), timeout=5_000)
    assert QApplication.focusWidget() is table
    qtbot.keyClick(table, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    sites = window.panel(SiteReviewPanel).site_list
    qtbot.waitUntil(lambda: not sites.visibleRegion().isEmpty(), timeout=5_000)
    assert QApplication.focusWidget() is sites and table.visibleRegion().isEmpty()
    window.document.close()


def test_show_decided_is_kept_between_sessions(qtbot, window, app_settings):
    """Left unticked, it came back ticked at the next start."""
    from app.main_window import MainWindow
    from app.panels.site_review_panel import SiteReviewPanel

    window.panel(SiteReviewPanel).show_decided.setChecked(False)
    again = MainWindow(settings=app_settings)
    qtbot.addWidget(again)
    assert not again.panel(SiteReviewPanel).show_decided.isChecked()


@pytest.mark.parametrize("opened", [False, True])
def test_reset_layout_keeps_the_window_s_size(qtbot, window, project, opened):
    """The panels docked again one by one (the Review table under Sites, before they are
    tabbed) asked the window for their heights added up: a 640 px tall window grew
    to about 765 px, past a laptop's screen."""
    from PySide6.QtWidgets import QApplication

    if opened:
        assert window.open_path(project)
    window.resize(1100, 640)
    qtbot.waitUntil(lambda: window.height() == 640, timeout=5_000)
    window.reset_layout()
    for _ in range(3):  # the docks' layout requests (where it grew), then the window's own answer to them
        QApplication.processEvents()
    assert (window.width(), window.height()) == (1100, 640)
    if opened:
        window.document.close()


class _Screen:
    """A screen of the given available size (the window asks its own for it)."""

    def __init__(self, width: int, height: int) -> None:
        from PySide6.QtCore import QRect

        self.room = QRect(0, 0, width, height)

    def availableGeometry(self):  # noqa: N802 - Qt's name
        return self.room


@pytest.mark.parametrize(("screen", "maximised"), [((1366, 768), True), ((1280, 1024), True),
                                                   ((1920, 1080), False), ((2560, 1440), False)])
def test_the_window_opens_within_the_screen_the_first_time(qtbot, window, monkeypatch, screen, maximised):
    """Its preferred 1480x900 where the screen holds it and its title bar; else
    maximised (on a 1366x768 laptop the Sites panel's scores and the map's lower half
    were off the screen). Once closed, it opens as it was, whatever the screen."""
    window.hide()
    window.showNormal()
    window.hide()
    monkeypatch.setattr(window, "screen", lambda: _Screen(*screen))
    window.show_first(restored=False)
    assert window.isMaximized() is maximised
    if not maximised:
        assert (window.width(), window.height()) == (1480, 900)
    window.hide()
    window.showNormal()
    window.hide()
    window.resize(1000, 700)
    window.show_first(restored=True)
    assert not window.isMaximized() and (window.width(), window.height()) == (1000, 700)


def test_the_demo_renders_off_the_gui_thread_then_opens_and_analyses(qtbot, window, tmp_path, tiny_model, errors):
    out = tmp_path / "demo"
    job = window.try_demo(out, seconds=1.0, size=(160, 96), model=tiny_model)
    assert job is not None and not window.start_page.demo_button.isEnabled()
    assert window.start_page.demo_progress.isVisible()
    with qtbot.waitSignal(window.analysis_finished, timeout=120_000):
        pass
    doc = window.document
    assert errors == [] and doc.is_open and doc.project_path == out / "demo.dmproj"
    assert doc.store.run(doc.run_id).finished and doc.store.analysed_frames(doc.run_id)
    assert window.start_page.demo_button.isEnabled()
    assert doc.settings.hfov_deg is not None  # the demo camera's field of view, for the map
    assert not window.model_badge.isVisible()  # a model given by hand is not the demo model
    from services.package import product_sources  # its orthophoto and footprints, as `damagemap demo` keeps them

    scene = Path(doc.store.video_path).parent
    assert (scene / "nadir.tif").is_file()
    assert product_sources(doc.store) == ((scene / "footprints.geojson").resolve(), (scene / "nadir.tif").resolve())

    window.close_project()
    window.try_demo(out, seconds=1.0, size=(160, 96), model=tiny_model)  # again: reused, nothing analysed
    qtbot.waitUntil(lambda: doc.is_open, timeout=30_000)
    assert window.analysis_job is None or not window.analysis_job.is_running


def test_a_run_of_the_shipped_model_says_so_in_the_window(qtbot, window, flyover):
    from services.demo_flight import shipped_model_path

    video = flyover / "flight.mp4"
    path = flyover / "flight.dmproj"
    with ProjectStore.create(path, video_path=video) as store:
        store.start_run(model={"weights": str(shipped_model_path())}, settings={})
    assert window.open_path(path)
    assert window.model_badge.isVisible()
    assert "synthetic" in window.model_badge.text() and "demo model" in window.model_badge.text().lower()
    window.close_project()
    assert not window.model_badge.isVisible()


def test_improve_the_model_is_disabled_until_its_dialog_exists(qtbot, app_settings, monkeypatch, errors, tmp_path,
                                                               project):
    from app.main_window import MainWindow

    monkeypatch.setitem(sys.modules, "app.dialogs.finetune_dialog", None)  # not installed: import fails
    plain = MainWindow(settings=app_settings)
    qtbot.addWidget(plain)
    assert not plain.finetune_action.isEnabled() and plain.finetune_action.toolTip() == "not available yet"
    assert plain.finetune_action in plain.model_menu.actions()

    opened = []
    from PySide6.QtCore import QObject, Signal

    class FinetuneDialog(QObject):
        model_ready = Signal(object)

        def __init__(self, document, parent):
            super().__init__()
            opened.append((document, parent))

        def exec(self):
            self.model_ready.emit(tmp_path / "flight.models" / "ft-001" / "model.safetensors")
            return 0

    module = types.ModuleType("app.dialogs.finetune_dialog")
    module.FinetuneDialog = FinetuneDialog
    monkeypatch.setitem(sys.modules, "app.dialogs.finetune_dialog", module)
    window = MainWindow(settings=app_settings)
    qtbot.addWidget(window)
    assert not window.finetune_action.isEnabled()  # nothing open: nothing to train on
    assert window.open_path(project)  # a run to train on
    assert window.finetune_action.isEnabled()
    assert window._analysis_options.weights is None  # the shipped model
    window.finetune_action.trigger()
    assert opened == [(window.document, window)]
    # the improved model is what the next analysis uses
    assert window._analysis_options.weights == str(tmp_path / "flight.models" / "ft-001" / "model.safetensors")
    window.document.close()


def test_a_layout_of_another_type_in_the_settings_is_no_layout(qtbot, app_settings):
    """`window/state=notbytes` (a settings file edited by hand) stopped the app before its
    window showed: "QMainWindow.restoreState called with wrong argument types"."""
    from app.main_window import MainWindow

    app_settings.set_value("window/state", "notbytes")
    app_settings.set_value("window/geometry", 7)
    window = MainWindow(settings=app_settings)
    qtbot.addWidget(window)
    assert window.restore_layout() is False  # as on a first run
    window.show_first(False)
    assert window.isVisible()


def test_the_window_still_fits_a_1024_pixel_screen_on_a_site_whose_levels_disagree(qtbot, window, project):
    """Accept's wording on a site whose sightings disagree ("Accept as Severe (A)") set
    the Sites panel's least width by its whole text: the window needed 1,042 px on the
    demo. The button asks for no more than "Accept (A)" needs, and says the long wording
    where it has the room."""
    from PySide6.QtWidgets import QApplication

    from app.panels.site_review_panel import ACCEPT_TEXT, SiteReviewPanel

    assert window.open_path(project)
    panel = window.panel(SiteReviewPanel)
    accept = panel.buttons["accept"]
    least = panel.minimumSizeHint().width()
    accept.set_texts("Accept as Severe (A)", "Accept Severe (A)", ACCEPT_TEXT)
    QApplication.sendPostedEvents()  # the layouts told of the new size hints
    assert panel.minimumSizeHint().width() == least  # it was 59 px more on the demo
    assert window.minimumSizeHint().width() <= 1024
    accept.resize(accept.minimumSizeHint())
    assert accept.text() == ACCEPT_TEXT  # no room: the short wording, whole
    accept.resize(accept.sizeHint())
    assert accept.text() == "Accept as Severe (A)"
    accept.resize(accept.sizeHint().width() - 1, accept.height())
    assert accept.text() == "Accept Severe (A)"  # a little less room: the middle wording


def test_at_150_percent_on_a_laptop_a_decision_s_notice_reads_to_its_undo_key(qtbot, window, flyover):
    """At 853x533 the demo-model badge cut each decision's notice before "Ctrl+Z to undo":
    the badge gives way while a notice shows, and is whole again once it goes."""
    from services.demo_flight import shipped_model_path

    video = flyover / "flight.mp4"
    path = flyover / "demo.dmproj"
    with ProjectStore.create(path, video_path=video) as store, VideoReader(video) as reader:
        run = store.start_run(model={"weights": str(shipped_model_path())}, settings={})
        store.write_frame(run, Frame(0, reader.pts_s[0], 160, 96),
                          [Detection(0, DamageLevel.SEVERE, 0.9, (10.0, 30.0, 40.0, 60.0))])
        store.finish_run(run)
    assert window.open_path(path)
    width, height = SCALED_LAPTOP_SCREEN
    window.resize(width, height)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == (width, height), timeout=5_000)
    badge, status = window.model_badge, window.statusBar()
    assert badge.isVisible()
    whole = badge.width()
    notice = "Site #3 accepted as Severe (24 sightings; 11 Slight relabelled Severe) — Ctrl+Z to undo"
    status.showMessage(notice)
    qtbot.waitUntil(lambda: badge.x() > status.fontMetrics().horizontalAdvance(notice), timeout=2_000)
    assert "synthetic" in badge.text() and "synthetic" in badge.toolTip()
    status.clearMessage()
    qtbot.waitUntil(lambda: badge.width() >= whole, timeout=2_000)
