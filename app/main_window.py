"""The damagemap window: video with overlays, timeline, map, review table.

:class:`MainWindow` takes a :class:`app.document.ProjectDocument` (MNELAB's
``MainWindow(model)``) and lays out the player and the dock panels of :attr:`MainWindow.PANELS`,
which listen to the document themselves (``app/panels``); it still wires the widgets not
moved there yet. Analysis, map building and export run in :mod:`app.workers`. :func:`launch` is the entry point of
``damagemap gui`` and ``damagemap demo``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.analysis_elsewhere import AnalysisElsewhere, ElsewhereWatch
from app.dialogs.analysis_dialog import AnalysisDialog
from app.dialogs.export_dialog import UNCONFIRMED_OPTION, ExportChoice, ExportDialog
from app.dialogs.about_dialog import AboutDialog, about_facts
from app.dialogs.help_dialogs import TextDialog, model_card_dialog, shortcuts_html
from app.document import MissingVideoError, ProjectDocument, VideoChangedError, is_video_path
from app.errors import show_error
from app.overlay import OverlayStyle
from app.settings import AppSettings
from app.step_notices import NOTICE_MS, StepNotices, say_steps
from app.survey_controller import SurveyController
from app.widgets.action_check_box import ActionCheckBox
from app.widgets.disputed_note import DisputedSitesNote
from app.widgets.frame_view import EditMode, FrameView, image_to_qimage
from app.widgets.player import TransportBar
from app.widgets.score_box import ScoreBox
from app.widgets.start_page import StartPage
from app.widgets.status_bar import ElidedLabel, StatusProgressBar, format_eta, give_way, take_room_back
from app.widgets.timeline import TimelineWidget
from app.window_actions import (
    ANALYSING_REASON,
    NO_PROJECT_REASON,
    NO_RUN_REASON,
    NO_SELECTION_REASON,
    VIDEO_LOADING_REASON,
    build_actions,
    build_layer_actions,
    build_menus,
    enable_or_say_why,
    first_reason,
)
from app.panels import Panel
from app.panels.map_panel import MapPanel
from app.panels.review_panel import ReviewPanel
from app.panels.site_review_panel import SiteReviewPanel, undo_hint
from app.workers import AnalysisJob, AnalysisOptions, DeviceProbe, FunctionJob, known_devices, window_export_job
from app.widgets.keyboard_reach import reach_by_tab
from core.settings import ProjectSettings
from core.store import ProjectStore
from core.types import DamageLevel, Detection, ReviewState
from services.export import reviewed_elsewhere_text, reviewed_frames_text
from services.project import default_export_dir

_log = logging.getLogger(__name__)

P = TypeVar("P", bound=Panel)

VIDEO_FILTER = ("Videos and projects (*.mp4 *.MP4 *.mov *.MOV *.m4v *.avi *.mkv *.mts *.ts *.webm *.dmproj);;"
                "All files (*)")
TELEMETRY_FILTER = ("Telemetry (*.gpx *.srt *.SRT *.csv *.txt *.klv *.KLV);;Video with GPS inside (GoPro, Insta360) "
                    "(*.mp4 *.MP4 *.mov *.MOV *.360 *.insv);;All files (*)")
#: Suffixes of the flight tracks a drop attaches to the open project (File > Open Telemetry… reads them).
TRACK_SUFFIXES = (".gpx", ".srt", ".csv", ".klv")

#: Said when the demo is ready after the user opened their own video (the start page says where then).
DEMO_READY_NOTE = "The demo flight is ready: close this project (File > Close Project) and click Try the demo to open it"

#: What the one score threshold of the window means (its tooltip).
THRESHOLD_TIP = (
    "<b>Score threshold</b>: how sure the model must be before a detection counts.<br>"
    "Below it a detection is hidden in the frame, the timeline, the Review Table, the "
    "map and the site counts, and left out of the map and every export (it is saved in "
    "the project as the map's minimum score, Analysis &gt; Georeferencing…).<br>"
    "Detections a reviewer accepted, relabelled or drew always count.<br>"
    "The analysis itself keeps every detection scoring 0.2 or more (its --score-threshold), "
    "so the threshold goes down to that without analysing again, and no lower."
)


def export_note_in_window_words(note: str, unconfirmed_shown: int = 0) -> str:
    """An export's note (what ``damagemap export`` prints as "note: ...") as the window
    says it: the unconfirmed sites written too (``unconfirmed_shown`` of them, the
    export's count) are said as the export dialog's option names them, not as the files'
    property ``confirmed``."""
    from geo.mapping import unconfirmed_shown_note

    if not unconfirmed_shown or note != unconfirmed_shown_note(unconfirmed_shown):
        return note
    one = unconfirmed_shown == 1
    return (f"{unconfirmed_shown} unconfirmed site{'' if one else 's'} exported too "
            f"(“{UNCONFIRMED_OPTION}” was ticked), marked unconfirmed in each file")


class MainWindow(QMainWindow):
    """The application window.

    Signals
    -------
    frame_shown(int)
        A frame was painted (index).
    analysis_finished(bool)
        An analysis ended (``True`` when cancelled).
    export_finished(object)
        ``list[Path]`` written by an export.
    """

    #: The dock panels, in order; each listens to the document itself.
    PANELS: tuple[type[Panel], ...] = (
        MapPanel,
        ReviewPanel,
        SiteReviewPanel,
    )

    frame_shown = Signal(int)
    analysis_finished = Signal(bool)
    export_finished = Signal(object)

    #: what a message box gives its icon and margins beside its text (pixels, with room to spare)
    NOTES_BOX_ICON_AND_MARGINS_PX = 110

    def __init__(self, document: ProjectDocument | None = None, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.document = document or ProjectDocument(self)
        self.settings = settings or AppSettings()
        self.setWindowTitle("damagemap")
        self.setAcceptDrops(True)
        self.resize(1480, 900)

        self._current_frame = 0
        self._frames: dict[int, list[Detection]] = {}
        #: frames analysed since the timeline last judged which are no look at the ground
        self._unjudged_frames = 0
        self._analysis: AnalysisJob | None = None
        self._export_job: FunctionJob | None = None
        #: the last export's notes, while shown (:meth:`_show_export_notes`)
        self.export_notes_box: QMessageBox | None = None
        self.training_offer_box: QMessageBox | None = None
        #: after Save As: "saved", then "listing" while the Sites panel lists the copy's sites;
        #: the panel's first pick then leaves the player where the user was (None: no hold)
        self._hold_place: str | None = None
        #: Model > Improve the Model…'s dialog, kept while its fine-tune runs
        self._finetune: Any = None
        self._analysis_options = AnalysisOptions()
        #: torch imported and asked for a GPU off the GUI thread, once a session (seconds on a laptop)
        self._device_probe = DeviceProbe(self)
        #: project -> its georeferencing from before the dialog's last OK, and when it was replaced
        #: (the dialog's "Revert to the previous settings": still offered where Edit > Undo no longer
        #: holds that step, after Analysis > Show Run or with the project opened again)
        self._settings_before: dict[str, tuple[ProjectSettings, str]] = {}
        if known_devices() is None:
            self._device_probe.start()
        #: the run's notes while the status bar shows them (cleared when the run ends)
        self._plan_message = ""
        #: File > Close Project asked for during a run: the project closes when the run stops
        self._close_when_stopped = False
        self.last_model_override: Any = None
        #: the survey the open project is a flight of, its list of flights, Analyse Flights…
        self.surveys = SurveyController(self)

        self.frame_view = FrameView()
        self.transport = TransportBar()
        self.timeline = TimelineWidget()

        player = QWidget()
        column = QVBoxLayout(player)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.frame_view, 1)
        column.addWidget(self.timeline)
        column.addWidget(self.transport)
        self.player_page = player
        self.start_page = StartPage()
        self.start_page.demo_requested.connect(self.try_demo)
        self.start_page.recent_requested.connect(self.open_path)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.start_page)
        self.pages.addWidget(player)
        self.setCentralWidget(self.pages)
        self._demo_job: FunctionJob | None = None

        self.docks: list[QDockWidget] = []
        self._docks_parked: list[QDockWidget] | None = None
        self._docks_in_front: list[QDockWidget] = []
        self._toolbar_parked = True
        self._layout_pending = True
        self._restore_size: QSize | None = None  # Reset Layout's: the window's size before it
        self._panels: dict[type[Panel], Panel] = {}
        for kind in self.PANELS:
            panel = kind(self.document, self)
            self._panels[kind] = panel
            self._add_dock(panel.title, panel.object_name, panel, panel.area)
        self._default_layout()

        self._build_overlay_toolbar()
        # the sites decide which boxes "One per site" leaves out
        self.panel(SiteReviewPanel).sites_updated.connect(self._style_changed)
        self.panel(ReviewPanel).view.score_filter.problem_found.connect(  # a number typed out of range
            lambda problem: self.statusBar().showMessage(problem, 15_000))
        show_decided = self.panel(SiteReviewPanel).show_decided  # the reviewer's choice, kept between sessions
        show_decided.setChecked(self.settings.bool_value("sites/show_decided", True))
        show_decided.toggled.connect(lambda on: self.settings.set_value("sites/show_decided", on))
        self.panel(SiteReviewPanel).sites_updated.connect(self._on_sites_listed)
        #: the map's sites still to decide when the Sites list was last read (None: not read yet)
        self._map_sites_left: int | None = None
        self.panel(SiteReviewPanel).sites_updated.connect(self._say_when_the_map_is_decided)
        self.panel(MapPanel).georeferencing_requested.connect(self.geo_settings_dialog)
        self.panel(MapPanel).map_widget.site_clicked.connect(self._keys_to_the_site_clicked)
        self._build_status_bar()
        build_actions(self)
        #: a step's notice stays while its key does what it says (until the history moves)
        self.step_notices = StepNotices(self.document.undo_stack, self.statusBar())
        say_steps(self.document.undo_stack, self.undo_action, self.redo_action, self.statusBar(), self.step_notices)
        build_menus(self)
        self.start_page.set_actions(self.open_action, self.open_survey_action)  # File's own items, words and all
        self.document.set_author(self.settings.reviewer_name() or None)

        # Seeks from the slider, the timeline and the playback clock are coalesced: only
        # the latest request of a burst is decoded, so scrubbing a long-GOP video keeps up.
        self._pending_frame: int | None = None
        self._seek_timer = QTimer(self)
        self._seek_timer.setSingleShot(True)
        self._seek_timer.setInterval(0)
        self._seek_timer.timeout.connect(self._show_pending_frame)

        doc = self.document
        doc.opened.connect(self._on_opened)
        doc.closed.connect(self._on_closed)
        doc.detections_changed.connect(self._on_detections_changed)
        doc.run_changed.connect(self._on_run_changed)
        doc.telemetry_changed.connect(self._update_project_label)
        # bound methods, not lambdas: Qt disconnects them when the window goes away
        doc.undo_stack.indexChanged.connect(self._on_undo_index_changed)
        doc.run_changed.connect(self._update_model_badge)
        self.transport.seek_requested.connect(self.request_frame)
        doc.frame_arrived.connect(self.show_frame)
        doc.video_ready.connect(self._on_video_ready)
        doc.video_lost.connect(self._on_video_lost)
        self.transport.time_requested.connect(self._go_to_time)
        self.transport.time_refused.connect(lambda said: self.statusBar().showMessage(said, 6000))
        self.timeline.seek_requested.connect(self.transport.request)  # the playback clock goes on from there
        self.frame_view.detection_clicked.connect(lambda det_id: self.select_detection(None if det_id < 0 else det_id))
        self.frame_view.mask_edited.connect(self._on_mask_edited)
        self.frame_view.polygon_drawn.connect(self._on_polygon_drawn)
        doc.selection_changed.connect(self._on_selection_changed)
        doc.notice.connect(self._show_notice)
        doc.detection_requested.connect(self._on_detection_requested)
        doc.sites_changed.connect(self._on_sites_changed)
        # after the window's own handlers: it follows another process's run once the window has opened the project
        self.elsewhere = ElsewhereWatch(doc, self)
        self.elsewhere.changed.connect(self._on_analysed_elsewhere)
        self.elsewhere.ended.connect(self._on_analysis_elsewhere_ended)
        self._update_actions()
        self._show_start_page()

    # ------------------------------------------------------------------ building
    def _add_dock(
        self, title: str, name: str, widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea,
    ) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks.append(dock)
        return dock

    #: Bump when the default layout changes: a layout saved by an older version is not restored.
    LAYOUT_VERSION = 2

    def _default_layout(self) -> None:
        """The review queue down the whole right side (Sites, tabbed with the detection
        table), the map under the video, which keeps the larger part of the window."""
        docks = {dock.objectName(): dock for dock in self.docks}
        sites, review, map_dock = docks.get("site_review_dock"), docks.get("review_dock"), docks.get("map_dock")
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        for dock in self.docks:
            dock.setFloating(False)
            dock.setVisible(True)
            area = Qt.DockWidgetArea.BottomDockWidgetArea if dock is map_dock else Qt.DockWidgetArea.RightDockWidgetArea
            self.addDockWidget(area, dock)
        if sites is not None and review is not None:
            self.tabifyDockWidget(sites, review)
            sites.raise_()
        self._layout_pending = True  # sizes take once the window is shown with its docks
        self._size_docks()

    def _size_docks(self) -> None:
        if not self._layout_pending or not self.isVisible() or self._docks_parked is not None:
            return
        self._layout_pending = False
        docks = {dock.objectName(): dock for dock in self.docks}
        sites, map_dock = docks.get("site_review_dock"), docks.get("map_dock")
        if sites is not None:
            self.resizeDocks([sites], [max(480, self.width() * 2 // 5)], Qt.Orientation.Horizontal)
        if map_dock is not None:
            self.resizeDocks([map_dock], [max(200, self.height() * 3 // 10)], Qt.Orientation.Vertical)

    def _park_docks(self, parked: bool) -> None:
        """Hide the panels while the start page shows (they have nothing to show), and
        bring back the ones that were open."""
        if parked and self._docks_parked is None:
            self._docks_parked = [dock for dock in self.docks if not dock.isHidden()]
            self._docks_in_front = [dock for dock in self._docks_parked if not dock.visibleRegion().isEmpty()]
            self._toolbar_parked = not self.overlay_toolbar.isHidden()
            for dock in self.docks:
                dock.setVisible(False)
            self.overlay_toolbar.setVisible(False)
        elif not parked and self._docks_parked is not None:
            for dock in self._docks_parked:
                dock.setVisible(True)
            self.overlay_toolbar.setVisible(self._toolbar_parked)
            front = self._docks_in_front or [d for d in self.docks if d.objectName() == "site_review_dock"]
            for dock in front:
                dock.raise_()  # the tab that was in front stays in front (the Sites queue at first)
            self._docks_parked = None
            self._size_docks()

    def showEvent(self, event) -> None:  # noqa: N802, ANN001
        super().showEvent(event)
        if self._docks_parked is None:
            QTimer.singleShot(0, self._size_docks)

    def reset_layout(self) -> None:
        """View > Reset Layout: back to :meth:`_default_layout`, in the window's size (the
        panels docked one by one, the Review table under Sites before they are tabbed,
        asked the window for their heights added up, and it grew)."""
        size = self.size()
        parked = self._docks_parked is not None
        self._park_docks(False)
        self._default_layout()
        self.overlay_toolbar.setVisible(True)
        self._park_docks(parked)
        if not self.isMaximized() and not self.isFullScreen():
            self._restore_size = size  # once the docks' layout requests are handled (where it grows)
            QTimer.singleShot(0, self._back_to_size)

    def _back_to_size(self) -> None:
        size, self._restore_size = self._restore_size, None
        if size is not None:
            self.resize(size.expandedTo(self.minimumSizeHint()))

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: N802, A002 (Qt API)
        """Tab and Shift+Tab skip the controls of a panel a tab of its dock hides (the
        Review table behind Sites): Qt counts them as shown, with no area on screen, so
        the keyboard went where the reviewer could not see."""
        from PySide6.QtWidgets import QApplication

        for _ in range(64):  # each panel's controls once, at most
            if not super().focusNextPrevChild(next):
                return False
            focus = QApplication.focusWidget()
            if focus is None or not focus.visibleRegion().isEmpty():
                return True
        return True

    def bring_panel(self, kind: type[Panel]) -> None:
        """View > Go to Sites / Go to Review Table: the panel's dock shown and in front of
        the tab it shares, and the keyboard in its list (the tab bar's arrow keys step the
        video, so the Review table took a mouse to reach)."""
        panel = self.panel(kind)
        dock = next((d for d in self.docks if d.widget() is panel or d.isAncestorOf(panel)), None)
        if dock is None or self.document is None or not self.document.is_open:
            return
        dock.show()
        dock.raise_()
        target = getattr(panel, "site_list", None) or getattr(getattr(panel, "view", None), "table", None) or panel
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _update_disputed_note(self) -> None:
        self.disputed_note.set_count(len(self.panel(SiteReviewPanel).disputed_sites()))

    def show_first_disputed(self) -> None:
        """The status bar's Show: the Sites panel in front, on the first disputed site."""
        self.bring_panel(SiteReviewPanel)
        if not self.panel(SiteReviewPanel).select_first_disputed():
            self.statusBar().showMessage("The disputed sites are under the score threshold: lower it to list them",
                                         6000)

    def _go_to_time(self, t_s: float) -> None:
        """The go-to box's time: its frame, and a word when it lies past the video's end (the
        last frame was shown without one)."""
        index = self.document.index_at_time(t_s)
        info = self.document.video_info if self.document.is_open else None
        duration = float(info.duration_s) if info is not None else 0.0
        if duration and t_s > duration:
            self.statusBar().showMessage(f"Go to: {t_s:.1f} s is past the end of the video ({duration:.1f} s); "
                                         "its last frame is shown", 6000)
        self.transport.request(index)

    def _keys_to_the_site_clicked(self, *_: object) -> None:
        """A site clicked on the map is selected in the Sites list (the document's request
        for its best sighting, connected first); the list takes the keyboard too, so A, X
        and 1-3 decide that site, not the one detection of it the map kept the keys for.
        The list must be in view: behind the Review table's tab, the keys stay where they are."""
        site_list = self.panel(SiteReviewPanel).site_list
        if site_list.isVisible() and not site_list.visibleRegion().isEmpty():
            site_list.setFocus(Qt.FocusReason.MouseFocusReason)

    def panel(self, kind: type[P]) -> P:
        """The window's panel of type ``kind`` (one of :attr:`PANELS`)."""
        return self._panels[kind]  # type: ignore[return-value]

    def _build_overlay_toolbar(self) -> None:
        bar = QToolBar("Overlays", self)
        bar.setObjectName("overlay_toolbar")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        #: one switch per layer, shown in View > Overlay Layers and as the toolbar's box
        self.layer_actions = build_layer_actions(self)
        self.layer_checks: dict[str, QCheckBox] = {}
        for key, action in self.layer_actions.items():
            check = ActionCheckBox(action)
            reach_by_tab(check)  # Tab reaches it; a click leaves the focus on the list being reviewed
            action.toggled.connect(self._style_changed)
            self.layer_checks[key] = check
            bar.addWidget(check)
        bar.addSeparator()
        score_label = QLabel(" Score ≥ ")
        bar.addWidget(score_label)
        self.threshold_slider = QSlider(Qt.Orientation.Horizontal)
        self.threshold_slider.setRange(0, 100)
        self.threshold_slider.setFixedWidth(140)
        reach_by_tab(self.threshold_slider)
        # a number typed counts on Enter (or when the box loses the focus), not at each key;
        # one out of range stays as typed, marked, and the status bar says the limits
        self.threshold_spin = ScoreBox()
        self.threshold_spin.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for widget in (score_label, self.threshold_slider):
            widget.setToolTip(THRESHOLD_TIP)
        self.threshold_spin.set_tip(THRESHOLD_TIP)
        self._show_threshold(self.document.score_threshold)
        self.threshold_slider.valueChanged.connect(lambda v: self.document.set_score_threshold(v / 100))
        self.threshold_spin.score_chosen.connect(self.document.set_score_threshold)
        self.threshold_spin.problem_found.connect(lambda problem: self.statusBar().showMessage(problem, 15_000))
        self.document.score_threshold_changed.connect(self._on_threshold_changed)
        bar.addWidget(self.threshold_slider)
        bar.addWidget(self.threshold_spin)
        self.overlay_toolbar = bar
        self.frame_view.set_style(self.overlay_style())

    def _build_status_bar(self) -> None:
        """The project, then (permanent, right) the export folder link, the demo-model
        badge, the run's progress and Cancel. Everything but Cancel gives way on a small
        screen (labels elide, the bar shrinks), so Cancel stays in the window."""
        status = self.statusBar()
        # it stretches into the room the others leave, and asks for no more than 300 px of it
        self.project_label = ElidedLabel("no project", mode=Qt.TextElideMode.ElideMiddle, min_chars=16, hint_width=300)
        #: the survey the open project is a flight of, and which flight: permanent, so that a
        #: message ("Analysed 3 of 3 flights") never hides which survey the window shows
        self.survey_label = ElidedLabel(min_chars=16, hint_width=300)
        self.survey_label.setVisible(False)
        self.progress_bar = StatusProgressBar()
        self.progress_bar.setVisible(False)
        self.eta_label = ElidedLabel(min_chars=10)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_analysis)
        self.model_badge = ElidedLabel(min_chars=10)
        self.model_badge.setObjectName("model_badge")
        self.model_badge.setStyleSheet(
            "QLabel#model_badge { background: #f6d365; color: #222; border-radius: 3px; padding: 1px 6px; }"
        )
        self.model_badge.setVisible(False)
        #: after an export, until the project closes: the folder it wrote into, one click away
        self.open_export_button = QPushButton("Open export folder")
        self.open_export_button.setFlat(True)
        self.open_export_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.open_export_button.setStyleSheet("QPushButton { color: #1a5fb4; text-decoration: underline; border: none; }")
        self.open_export_button.setVisible(False)
        self.open_export_button.clicked.connect(self.open_export_folder)
        self._export_folder: Path | None = None
        #: while an export runs: what it writes now, and how far it is (a busy bar until its first step)
        self.export_label = ElidedLabel(min_chars=16, hint_width=340)
        self.export_progress = StatusProgressBar()
        self.export_progress.setFormat("%v of %m done")  # steps done (the step named beside it runs)
        for widget in (self.export_label, self.export_progress):
            widget.setVisible(False)
        #: while sites that earlier decisions disagree on are still to decide (a notice would go)
        self.disputed_note = DisputedSitesNote()
        self.disputed_note.show_requested.connect(self.show_first_disputed)
        self.panel(SiteReviewPanel).disputed_changed.connect(self._update_disputed_note)
        status.addWidget(self.project_label, 1)
        status.addPermanentWidget(self.survey_label)
        status.addPermanentWidget(self.disputed_note)
        status.addPermanentWidget(self.export_label)
        status.addPermanentWidget(self.export_progress)
        status.addPermanentWidget(self.open_export_button)
        status.addPermanentWidget(self.model_badge)
        status.addPermanentWidget(self.eta_label)
        status.addPermanentWidget(self.progress_bar)
        status.addPermanentWidget(self.cancel_button)
        status.messageChanged.connect(self._room_for_the_message)

    def _room_for_the_message(self, message: str) -> None:
        """The labels on the message's right give way while it is wider than the room they
        leave it (:func:`app.widgets.status_bar.give_way`: the demo-model badge first, then
        the survey's label, then the export's; elided, then folded away, their tooltips and
        text whole), and are whole again once it goes. At 853x533 (a 1280x800 laptop at 150%)
        the badge cut each decision's notice before its "Ctrl+Z to undo"; at 1024x768 the
        survey's label cut "The review of this project was changed outside this window…"
        halfway (the window's title still names the flight)."""
        status = self.statusBar()
        giving_way = (self.model_badge, self.survey_label, self.export_label)
        take_room_back(giving_way)
        if not message:
            return
        status.layout().activate()  # the permanent widgets where they are, each whole
        permanent = [w for w in status.findChildren(QWidget) if w.parent() is status and w.isVisible()
                     and w is not self.project_label and w.x() > 0]
        room = min((w.x() for w in permanent), default=status.width())
        needed = status.fontMetrics().horizontalAdvance(message) + self.MESSAGE_MARGIN_PX
        give_way(giving_way, needed - room)

    def _on_run_changed(self, _run_id: object) -> None:
        self._map_sites_left = None  # another run's sites: no decision of the reviewer's finished them
        if self.document.opening:
            return  # _on_opened reads the run, once
        self._show_threshold(self.document.score_threshold)
        self._reload_run()
        self._update_project_label()
        self.open_export_button.setVisible(False)  # the last export was of another run

    def shown_run(self) -> tuple[ProjectStore, int | None] | None:
        """The open project and the run the window shows (Analysis > Show Run)."""
        doc = self.document
        return (doc.store, doc.run_id) if doc.is_open else None

    def show_run(self, run_id: int) -> None:
        """Show another of the project's runs: its detections, sites, review and exports."""
        if self._analysis is not None and self._analysis.is_running:
            return  # the window follows the running analysis (the menu is off meanwhile)
        doc = self.document
        doc.follow_run(run_id)
        latest = doc.store.latest_run_id()
        self.settings.set_shown_run(doc.project_path, None if run_id == latest else run_id, latest)

    def _show_chosen_run(self) -> bool:
        """On opening a project, the run chosen there last time (Analysis > Show Run),
        unless an analysis made a newer run since: that one is news."""
        doc = self.document
        chosen = self.settings.shown_run(doc.project_path)
        if chosen is None or doc.run_id is None or self.surveys.flight_of_open_project() is not None:
            return False  # a survey's flight opens on the run the survey maps: its latest
        run_id, latest_then = chosen
        if doc.store.latest_run_id() != latest_then or run_id == doc.run_id or run_id not in {
                run.id for run in doc.store.runs()}:
            return False
        doc.follow_run(run_id)  # the window reloads on the run's change
        return True

    def _update_model_badge(self, *_args: object) -> None:
        """Say in the window when the run's model is the shipped demo model."""
        from services.demo_flight import is_shipped_model

        doc = self.document
        model = None
        if doc.is_open and doc.run_id is not None:
            try:
                model = doc.store.run(doc.run_id).model
            except Exception:  # noqa: BLE001 - a badge never stops the window
                model = None
        demo = is_shipped_model(model)
        self.model_badge.setVisible(demo)
        if demo:
            self.model_badge.setText("Demo model: trained mostly on synthetic data")
            self.model_badge.setToolTip(
                "The analysis used the shipped demo model. It was trained on synthetic flyovers and five "
                "labelled real photos, and has never been measured on real labelled video: treat what it "
                "finds as candidates to review, never as an assessment. Help > Model Card tells more."
            )

    def _on_undo_index_changed(self, _index: int) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        """Each action on or off, an action off saying why in its tooltip (the menus show it)."""
        doc = self.document
        is_open = doc.is_open
        has_run = doc.session is not None
        selected = doc.selected_id is not None and has_run
        own_run = self._analysis is not None and self._analysis.is_running
        elsewhere = self.elsewhere.current
        running = own_run or elsewhere is not None  # the window follows another process's run
        exporting = self._export_job is not None and self._export_job.is_running
        closed = (not is_open, NO_PROJECT_REASON)
        no_run = (not has_run, NO_RUN_REASON)
        analysing = (running, elsewhere.refusal if elsewhere is not None else ANALYSING_REASON)
        no_video = (is_open and doc.video_loading, VIDEO_LOADING_REASON)
        for action in (self.close_action, self.open_telemetry_action, self.fit_action, self.geo_action):
            enable_or_say_why(action, first_reason(closed))
        enable_or_say_why(self.play_action, first_reason(closed, no_video))
        enable_or_say_why(self.save_as_action, first_reason(closed, analysing))
        enable_or_say_why(self.analyse_action, first_reason(closed, no_video, analysing))
        enable_or_say_why(self.cancel_action, None if own_run else first_reason(
            (elsewhere is not None, "The analysis runs in another damagemap: stop it there"),
            (True, "No analysis is running")))
        enable_or_say_why(self.runs_menu.menuAction(), first_reason(closed, analysing))
        enable_or_say_why(self.export_action, first_reason(  # one export at a time
            closed, no_run, analysing, (exporting, "An export is running: its progress is in the status bar")))
        survey = self.surveys.survey
        no_survey = (survey is None, "Open a survey first (File > New Survey… or Open Survey…)")
        enable_or_say_why(self.survey_flights_action, first_reason(no_survey))
        # looked up once: it resolves the path of each of the survey's flights, and this runs
        # at each change of the selection, the undo stack, the video and the run
        flight = self.surveys.flight_of_open_project()
        for action, step, end_text in ((self.next_flight_action, 1, "the last"),
                                       (self.previous_flight_action, -1, "the first")):
            last = survey is not None and flight is not None and not 0 <= flight[0] - 1 + step < len(survey.flights)
            enable_or_say_why(action, first_reason(
                no_survey, (flight is None, "Open one of the survey's flights first"),
                analysing, (last, f"This is {end_text} flight of the survey")))
        for action in (self.accept_action, self.reject_action, self.delete_action, *self.relabel_actions):
            enable_or_say_why(action, first_reason(closed, no_run, (not selected, NO_SELECTION_REASON)))
        for action in (self.draw_action, self.next_action):
            enable_or_say_why(action, first_reason(closed, no_run))
        # it trains on a run's reviews: not on a run being written, nor beside an analysis on the same cores
        enable_or_say_why(self.finetune_action, first_reason(
            (not self.finetune_available, "not available yet"), closed, no_run, analysing))

    # ------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video or project", self.settings.last_directory(), VIDEO_FILTER)
        if path:
            self.open_path(Path(path))

    # ------------------------------------------------------------------ first run
    def _show_start_page(self) -> None:
        self.start_page.set_recent_files(self.settings.recent_files())
        self._show_page(self.start_page)
        self._park_docks(True)

    def _show_page(self, page: QWidget) -> None:
        """Show ``page`` of the central stack; only its minimum size counts (a stack asks
        for the largest of its pages', and the start page's row of buttons held a
        project's window 200 px wider than its player needs)."""
        for index in range(self.pages.count()):
            policy = QSizePolicy.Policy.Preferred if self.pages.widget(index) is page else QSizePolicy.Policy.Ignored
            self.pages.widget(index).setSizePolicy(policy, policy)
        self.pages.setCurrentWidget(page)

    def demo_folder(self) -> Path:
        """Where "Try the demo" renders and keeps its flight (shared with ``damagemap demo``)."""
        return Path(self.settings.value("demo/folder", str(Path.home() / "damagemap-demo")))

    def try_demo(self, out: Path | None = None, *, seconds: float = 20.0, size: tuple[int, int] = (1280, 720),
                 model: Any = None) -> FunctionJob | None:
        """Render the demo flight off the GUI thread (or reuse it), open it and analyse it
        with the shipped demo model unless that is done; ``model`` injects one (tests)."""
        from services.demo_flight import demo_flight_ready, prepare_demo_flight

        if self._demo_job is not None and self._demo_job.is_running:
            return self._demo_job
        if self._analysis is not None and self._analysis.is_running:
            show_error(self, "An analysis is running; cancel it before starting the demo.")
            return None
        out = Path(out) if out is not None else self.demo_folder()
        ready = demo_flight_ready(out, seconds=seconds, size=size)
        text = "Opening the demo flight…" if ready else (
            f"Rendering the {seconds:g}-second demo flight in {out} (about a minute on a laptop CPU)…")
        self.start_page.set_demo_busy(text)
        self.statusBar().showMessage(text)
        job = FunctionJob(prepare_demo_flight, out, seconds=seconds, size=size, parent=self)
        job.done.connect(lambda flight: self._on_demo_ready(flight, model))
        job.failed.connect(self._on_demo_failed)
        self._demo_job = job
        job.start()
        return job

    def _on_demo_failed(self, exc: Exception) -> None:
        self.start_page.set_demo_busy(None)
        self.statusBar().clearMessage()
        show_error(self, exc, title="The demo could not start")

    def _on_demo_ready(self, flight: Any, model: Any = None) -> None:
        """Open the rendered demo and analyse it, unless the user opened something while it
        rendered: what they opened stays, and the demo is offered instead (rendered once, it
        opens at once from Try the demo)."""
        from services.demo_flight import DEMO_ANALYSIS_FPS

        if self.document.is_open:
            self.start_page.set_demo_busy(None, note="The demo flight is ready: click Try the demo to open it.")
            self.statusBar().showMessage(DEMO_READY_NOTE, 60_000)
            return
        self.start_page.set_demo_busy(None)
        self.statusBar().clearMessage()
        try:
            self.document.open_video(flight.video, flight.project)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, title="The demo could not start")
            return
        self.settings.add_recent_file(flight.project)
        doc = self.document
        from services.demo_flight import keep_scene_layers

        keep_scene_layers(doc.store)  # its maps draw the orthophoto and the graded buildings, as `damagemap demo`'s
        if flight.hfov_deg is not None and doc.settings.hfov_deg is None:
            doc.update_settings(hfov_deg=flight.hfov_deg)
        run = doc.store.run(doc.run_id) if doc.run_id is not None else None
        if run is None or not run.finished:
            self.start_analysis(AnalysisOptions(fps=DEMO_ANALYSIS_FPS, hfov_deg=flight.hfov_deg), model=model)

    def open_path(self, path: Path | str) -> bool:
        """Open a video, a project or a survey folder (its flights listed to choose from);
        errors go to :func:`show_error`. Returns success."""
        from core.survey import survey_folder_of

        path = Path(path)
        survey_folder = survey_folder_of(path)
        if survey_folder is not None:
            return self.surveys.open(survey_folder) is not None
        if self._analysis is not None and self._analysis.is_running:
            show_error(self, "An analysis is running; cancel it before opening another project.")
            return False
        try:
            try:
                self.document.open_path(path)
            except MissingVideoError as missing:
                found = self.locate_video(missing.video_path)
                if found is None or not self._is_the_analysed_video(missing.project_path, found):
                    raise
                self.document.open_project(missing.project_path, video_path=found)
        except Exception as exc:  # noqa: BLE001 - every failure is shown, none crashes the window
            show_error(self, exc, title="Cannot open")
            return False
        self.settings.add_recent_file(path)
        self.settings.set_last_directory(path.parent)
        return True

    def _is_the_analysed_video(self, project: Path, video: Path) -> bool:
        """Whether to point ``project`` at ``video``, located by hand: another clip than the
        one its latest run analysed (4 s where it analysed 20) was taken, kept, and its
        frames shown for the run's sites; the user is asked first."""
        from core.store import ProjectStore
        from services.maps import video_replaced_note

        try:
            with ProjectStore.open(project, read_only=True) as store:
                run_id = store.latest_run_id()
                note = None if run_id is None else video_replaced_note(store, run_id, video)
        except Exception:  # noqa: BLE001 - opening says what is wrong with the project itself
            return True
        if note is None:
            return True
        answer = QMessageBox.question(
            self, "Not the video analysed", f"{note}.\n\nUse it all the same?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def locate_video(self, missing: Path) -> Path | None:
        """Ask where a project's moved video is now (``None``: the user gave up)."""
        QMessageBox.information(
            self, "Video not found", f"The project's video {missing} is not there any more.\nPlease locate it."
        )
        start = str(missing.parent) if missing.parent.is_dir() else self.settings.last_directory()
        path, _ = QFileDialog.getOpenFileName(self, f"Where is {missing.name}?", start, VIDEO_FILTER)
        return Path(path) if path else None

    def open_telemetry_dialog(self) -> None:
        start = str(self.document.video_path.parent) if self.document.video_path else self.settings.last_directory()
        path, _ = QFileDialog.getOpenFileName(self, "Open telemetry", start, TELEMETRY_FILTER)
        if path:
            self.use_telemetry(Path(path))

    def use_telemetry(self, path: Path) -> bool:
        """Make ``path`` the project's telemetry (File > Open Telemetry…, a track dropped on
        the window). A track that does not overlap the video (another flight's) is checked
        before anything changes: the analyst keeps the track they have (the default) or
        uses the new one anyway. Returns whether ``path`` is the project's telemetry now."""
        document = self.document
        try:
            mismatch = document.telemetry_mismatch(path)
        except Exception as exc:  # noqa: BLE001 - an unreadable track is named, none crashes the window
            show_error(self, exc, title="Cannot use this telemetry")
            return False
        current = document.telemetry_path
        if mismatch is not None and not self._use_track_anyway(path, current, mismatch):
            document.notice.emit(f"Kept {current.name}: {path.name} is not the video's" if current is not None
                                 else f"{path.name} not used: it is not the video's")
            return False
        try:
            document.set_telemetry(path)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, title="Cannot use this telemetry")
            return False
        if mismatch is not None and current is not None and current != path:
            document.notice.emit(f"Telemetry: {path.name}; {current} is where it was (File > Open Telemetry… "
                                 "to go back to it)")
        elif mismatch is None:
            caution = document.telemetry_caution(path)
            if caution is not None:
                document.notice.emit(caution)
        return True

    def _use_track_anyway(self, path: Path, current: Path | None, mismatch: str) -> bool:
        """Ask whether to use a track that does not overlap the video, or another video's
        SRT; keeping the track the project has (or none) is the default."""
        video = self.document.video_path
        video_name = video.name if video else "the video"
        another = f": telemetry of another video, not {video_name}'s: "
        if another in mismatch:  # an SRT whose dates and length are another video's (geo.sync_video)
            said = mismatch.split(another, 1)[-1]
            headline = f"{path.name} looks like another video's telemetry, not {video_name}'s"
        else:
            said = mismatch.split(": telemetry does not overlap the video: ", 1)[-1]  # the file is named above
            headline = f"{path.name} does not overlap the video {video_name}"
        box = QMessageBox(QMessageBox.Icon.Warning, "This track is not the video's", "", parent=self)
        box.setText(f"{headline}: {said[:1].upper()}{said[1:]}")
        use = box.addButton(f"Use {path.name} anyway", QMessageBox.ButtonRole.AcceptRole)
        if current is not None:
            keep = box.addButton(f"Keep {current.name}", QMessageBox.ButtonRole.RejectRole)
            box.setInformativeText(
                f"Keep {current.name}, the project's track now, or use {path.name} anyway? Used, it places nothing "
                "on the map until it meets the video (the time offset: Analysis > Georeferencing…). No file is "
                "changed either way: File > Open Telemetry… opens the other track again.")
        else:
            keep = box.addButton("Do not use it", QMessageBox.ButtonRole.RejectRole)
            box.setInformativeText("Used, it places nothing on the map until it meets the video (the time "
                                   "offset: Analysis > Georeferencing…).")
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is use

    def save_as_dialog(self) -> None:
        if not self.document.is_open:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project as", str(self.document.project_path), "damagemap projects (*.dmproj)"
        )
        if path:
            self.save_project_as(Path(path))

    def save_project_as(self, path: Path) -> bool:
        """Continue working in a copy of the project; returns success."""
        from app.workers import wait_for_jobs

        if self._analysis is not None and self._analysis.is_running:
            show_error(self, "An analysis is running; wait for it or cancel it before saving a copy.")
            return False
        wait_for_jobs()
        frame, selected = self._current_frame, self.document.selected_id
        try:
            target = self.document.save_as(path)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, title="Cannot save the project")
            return False
        self.settings.add_recent_file(target)
        self.show_frame(frame)
        if selected is not None and self.document.detection(selected) is not None:
            self._set_selection(selected)  # the copy keeps the detections' ids
        if self.document.run_id is not None:
            self._hold_place = "saved"
        return True

    def _on_sites_changed(self) -> None:
        if self._hold_place == "saved":
            self._hold_place = "listing"  # the Sites panel lists the copy's sites now

    def _on_sites_listed(self) -> None:
        self._hold_place = None

    def _say_when_the_map_is_decided(self) -> None:
        """The decision that leaves no site of the map to decide says so: the Sites list
        goes straight on to the unconfirmed sites, and nothing told the reviewer that the
        map (what the exports keep) was done."""
        review = self.panel(SiteReviewPanel).review
        if review is None:
            self._map_sites_left = None
            return
        threshold = self.document.score_threshold
        on_map = review.kept_at(threshold) - review.unconfirmed
        left = sum(1 for site in review.sites if site.site_id in on_map and not site.decided)
        before, self._map_sites_left = self._map_sites_left, left
        if not before or left or not on_map:
            return
        unconfirmed = sum(1 for site in review.sites if site.site_id in review.unconfirmed and not site.decided
                          and site.site_id in review.kept_at(threshold))
        said = f"All {len(on_map)} sites of the map decided (Ctrl+E exports)"
        if unconfirmed:
            said += f"; {unconfirmed} unconfirmed left, off the map unless accepted"
        shown = self.statusBar().currentMessage()  # the decision's own notice, with its undo key, after it
        if shown.endswith(undo_hint()):
            self.step_notices.show(f"{said} — {shown}")  # as long as the decision's notice would have stayed
        else:
            self.statusBar().showMessage(f"{said} — {shown}" if shown else said, 12_000)

    def close_project(self) -> None:
        """File > Close Project; during an analysis, the run stops after its frame (every
        frame done stays stored) and the project closes then."""
        if self._analysis is not None and self._analysis.is_running:
            self._close_when_stopped = True
            self.cancel_analysis()
            self.eta_label.setText("closing the project after this frame…")
            return
        self.document.close()

    def _on_opened(self) -> None:
        self.surveys.project_opened()
        self._show_page(self.player_page)
        self._park_docks(False)
        self._update_model_badge()
        doc = self.document
        project = doc.project_path
        named = project is not None and project.stem != doc.video_path.stem  # a survey's flight: "north"
        self.setWindowTitle(f"damagemap — {project.stem} ({doc.video_path.name})" if named
                            else f"damagemap — {doc.video_path.name}")
        self._update_project_label()
        if doc.video_loading:  # opened off the GUI thread: video_ready says when it is here
            self.transport.set_loading()
            self.timeline.set_frame_count(0)
        else:
            self._on_video_ready()
        self.frame_view.invalidate_frames()
        self._current_frame = 0
        self.frame_view.fit_to_window()
        if not self._show_chosen_run():
            self._reload_run()
        self.show_frame(0)
        self._update_actions()

    def _on_video_ready(self) -> None:
        """The project's video is open: the transport and the timeline take its length (the
        frame waited for comes next, with ``frame_arrived``)."""
        doc = self.document
        self.transport.set_video(doc.frame_count, doc.fps, float(doc.video_info.duration_s))
        self.timeline.set_frame_count(doc.frame_count)
        self._update_actions()

    def _on_video_lost(self, said: str) -> None:
        """The video changed since it was opened: said once, the frame on screen kept and the
        transport off; the review, the Sites list and the map go on."""
        self.frame_view.set_loading(None)
        self.transport.set_lost(said)
        show_error(self, said, title="The video changed")

    def _update_project_label(self) -> None:
        doc = self.document
        if doc.is_open:
            path = doc.telemetry_path
            telemetry = ("none (File > Open Telemetry…)" if path is None else path.name if path.is_file()
                         else f"missing: {path.name} (File > Open Telemetry…)")
            self.project_label.setText(f"{doc.project_path}   ·   telemetry: {telemetry}" + self._run_text())
            self.project_label.setToolTip(self.project_label.text())  # whole, where the bar elides it
        survey = self.surveys.status_text() if doc.is_open else ""
        self.survey_label.setText(survey)
        self.survey_label.setToolTip(survey)
        self.survey_label.setVisible(bool(survey))

    def _run_text(self) -> str:
        """Which run the window shows, where the project holds more than one."""
        doc = self.document
        if doc.run_id is None:
            return ""
        runs = [run.id for run in doc.store.runs()]
        if len(runs) < 2:
            return ""
        if doc.run_id == runs[-1]:
            latest = " (the latest)"
        elif self.surveys.flight_of_open_project() is not None:
            latest = f" (the survey maps run {runs[-1]}, the latest)"
        else:
            latest = " (Analysis > Show Run)"
        return f"   ·   run {doc.run_id} of {len(runs)}{latest}"

    def survey_changed(self) -> None:
        """The survey opened or its flights changed: the status bar and the menu follow."""
        self._update_project_label()
        self._update_actions()

    def _on_closed(self) -> None:
        self.setWindowTitle("damagemap")
        self._map_sites_left = None
        self._hold_place = None
        self._export_folder = None
        self.open_export_button.setVisible(False)
        self.project_label.setText("no project")
        self.project_label.setToolTip("")
        self.survey_label.setText("")
        self.survey_label.setVisible(False)
        self.eta_label.setText("")  # the last run's "analysis finished" is no one's on the start page
        self.eta_label.setToolTip("")
        if self.statusBar().currentMessage() == DEMO_READY_NOTE:
            self.statusBar().clearMessage()  # done: the start page says it now
        self.transport.set_video(0, 25.0, 0.0)
        self.timeline.set_frame_count(0)
        self.timeline.set_summaries({})
        self.timeline.set_unusable({})
        self._frames.clear()
        self.frame_view.show_frame(-1, image_to_qimage(np.zeros((2, 2, 3), np.uint8)), [])
        self._update_model_badge()
        self._update_actions()
        self._show_start_page()

    # ------------------------------------------------------------------ frames
    def overlay_style(self) -> OverlayStyle:
        kwargs = {key: action.isChecked() for key, action in self.layer_actions.items()}
        hidden: frozenset[int] = frozenset()
        review = self.panel(SiteReviewPanel).review
        if kwargs["one_per_site"] and review is not None:
            hidden = review.second_sightings() - {self.document.selected_id}
        return OverlayStyle(score_threshold=self.document.score_threshold, hidden_ids=hidden, **kwargs)

    def _show_threshold(self, value: float) -> None:
        for widget in (self.threshold_slider, self.threshold_spin):
            widget.blockSignals(True)
        floor = self.document.score_floor  # the run kept nothing scoring less
        self.threshold_slider.setMinimum(round(floor * 100))
        self.threshold_spin.set_floor(floor)
        self.threshold_slider.setValue(round(value * 100))
        self.threshold_spin.show_value(value)
        for widget in (self.threshold_slider, self.threshold_spin):
            widget.blockSignals(False)

    def _on_threshold_changed(self, value: float) -> None:
        self._show_threshold(value)
        self._style_changed()

    def _style_changed(self) -> None:
        style = self.overlay_style()
        for key, action in self.layer_actions.items():
            self.settings.set_value(f"overlay/{key}", action.isChecked())
        self.frame_view.set_style(style)
        self.timeline.summarise_frames(self._frames, style)

    @property
    def current_frame(self) -> int:
        return self._current_frame

    @property
    def selected_id(self) -> int | None:
        return self.document.selected_id

    def request_frame(self, index: int) -> None:
        """Show ``index`` soon; a later request before then replaces it."""
        self._pending_frame = int(index)
        self._seek_timer.start()

    def _show_pending_frame(self) -> None:
        if self._pending_frame is not None:
            index, self._pending_frame = self._pending_frame, None
            self.show_frame(index)

    def show_frame(self, index: int) -> None:
        """Decode, paint and announce frame ``index`` (now; a pending request is dropped)."""
        self._pending_frame = None
        doc = self.document
        if not doc.is_open:
            return
        if not doc.video_loading:  # else shown once the video is open (doc.frame_arrived)
            if doc.frame_count <= 0:
                return
            index = min(max(0, int(index)), doc.frame_count - 1)
        try:
            frame = doc.frame_at_hand(index, playing=self.transport.is_playing)
        except Exception as exc:  # noqa: BLE001
            self.frame_view.set_loading(None)
            self.transport.pause()
            if not isinstance(exc, VideoChangedError):  # said once, when it changed (_on_video_lost)
                show_error(self, exc, title="Cannot decode this frame")
            return
        if frame is None:  # decoded off the GUI thread: shown when it arrives (doc.frame_arrived)
            self.frame_view.set_loading(index, opening_video=doc.video_loading)
            return
        self._current_frame = index
        self.frame_view.show_frame(index, image_to_qimage(frame.image), doc.detections(index))
        note = "not analysed" if doc.run_id is not None and not doc.is_analysed(index) else ""
        unusable = self.timeline.unusable_reason(index)
        if unusable is not None:
            note = f"{unusable} frame"  # the timeline's tooltip says what follows
        self.transport.set_position(index, frame.pts_s, note)
        self.timeline.set_current_frame(index)
        doc.set_current_frame(index, frame.pts_s)
        selected = self.document.selected_id
        if selected is not None and self.frame_view.selected_id != selected:
            self._set_selection(None)
        self.frame_shown.emit(index)

    # ------------------------------------------------------------------ run data
    def _reload_run(self) -> None:
        """Everything of the current run from the store (after open, new run, finish)."""
        doc = self.document
        detections = doc.all_detections(masks=False) if doc.is_open else []  # the timeline counts them
        analysed = doc.analysed_frames() if doc.is_open else {}
        frames: dict[int, list[Detection]] = defaultdict(list)
        for index in analysed:
            frames[index] = []
        for det in detections:
            frames[det.frame_index].append(det)
        self._frames = dict(frames)
        self.timeline.set_summaries({})  # every bar anew: the run was read again
        self.timeline.summarise_frames(self._frames, self.overlay_style())
        self.timeline.set_unusable(doc.unusable_frames() if doc.is_open else {})
        self._unjudged_frames = 0
        self.frame_view.invalidate_frames()
        if doc.is_open and not doc.video_loading and 0 <= self._current_frame < doc.frame_count:
            self.frame_view.set_detections(doc.detections(self._current_frame))
        self._update_actions()

    def _on_detections_changed(self, frame_indices: frozenset[int]) -> None:
        doc = self.document
        per_frame = {index: doc.detections(index) for index in frame_indices}
        new = sum(1 for index in per_frame if index not in self._frames)
        self._frames.update(per_frame)
        self._unjudged_frames += new
        # newly analysed frames: judged again, every tenth (judging reads every frame's measures)
        if new and self._unjudged_frames >= 10:
            self._unjudged_frames = 0
            self.timeline.set_unusable(doc.unusable_frames())
        style = self.overlay_style()
        self.timeline.summarise_some(per_frame, style)
        self.frame_view.invalidate_frames(list(frame_indices))
        if self._current_frame in frame_indices:
            self.frame_view.set_detections(per_frame[self._current_frame])
        if doc.selected_id is not None and doc.detection(doc.selected_id) is None:
            self._set_selection(None)

    # ------------------------------------------------------------------ selection & review
    def select_detection(self, detection_id: int | None) -> None:
        """Select a detection, seeking to its frame; ``None`` clears the selection."""
        if detection_id is not None:
            det = self.document.detection(detection_id)
            if det is None:
                detection_id = None
            elif det.frame_index != self._current_frame:
                self.transport.pause()
                self.show_frame(det.frame_index)
        self._set_selection(detection_id)

    def _set_selection(self, detection_id: int | None) -> None:
        self.document.set_selection(detection_id)  # the panels and _on_selection_changed follow

    def _on_selection_changed(self, detection_id: object) -> None:
        if self.overlay_style().hidden_ids != self.frame_view.style.hidden_ids:
            self._style_changed()  # a site's second box is drawn while it is selected
        self.frame_view.select_detection(detection_id if isinstance(detection_id, int) else None)
        self._update_actions()

    def _show_notice(self, text: str) -> None:
        """A step's notice ("Site #9 accepted (39 sightings) — Ctrl+Z to undo") stays until
        the next step, undo or redo; it went after 4 s, often while the map was rebuilt after
        the decision and before the reviewer looked. Others stay :data:`NOTICE_MS`."""
        if text.endswith(undo_hint()):
            self.step_notices.show(text)
        else:
            self.statusBar().showMessage(text, NOTICE_MS)

    def _apply(self, edit: object, text: str):
        try:
            return self.document.apply_edit(edit, text)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, title="Edit refused")
            return None

    def _edit_selection(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, title="Edit refused")

    def set_review(self, state: ReviewState) -> None:
        self._edit_selection(self.document.review_selected, state)

    #: How far View > Raise/Lower Score Threshold move it (the toolbar spin box's step).
    THRESHOLD_STEP = 0.05

    def step_threshold(self, steps: int) -> None:
        """Move the score threshold by ``steps`` of :data:`THRESHOLD_STEP` (the keys ] and
        [: the toolbar's slider takes no focus, so that the arrow keys step frames)."""
        doc = self.document
        if not doc.is_open:
            return
        doc.set_score_threshold(round(doc.score_threshold + steps * self.THRESHOLD_STEP, 2))
        self.statusBar().showMessage(f"score threshold {doc.score_threshold:.2f}", 3000)

    def relabel(self, level: DamageLevel) -> None:
        self._edit_selection(self.document.relabel_selected, level)

    def delete_selected(self) -> None:
        self._edit_selection(self.document.delete_selected)

    def step_analysed(self, step: int) -> None:
        """Show the next (``step`` 1) or previous (-1) analysed frame."""
        target = self.document.analysed_neighbour(self._current_frame, step) if self.document.is_open else None
        if target is None:
            self.statusBar().showMessage("No analysed frame " + ("after" if step > 0 else "before") + " this one", 3000)
            return
        self.transport.pause()
        self.show_frame(target)

    def next_unreviewed(self) -> None:
        """Select the next pending detection: later on this frame, then later frames, wrapping."""
        self.document.request_next_pending()

    def toggle_draw_mode(self, checked: bool | None = None) -> None:
        drawing = self.draw_action.isChecked() if checked is None else bool(checked)
        self.draw_action.setChecked(drawing)
        if drawing:
            self.transport.pause()
        self.frame_view.set_mode(EditMode.DRAW if drawing else EditMode.SELECT)
        if not drawing:
            self._clear_draw_hint()
        if drawing:
            self.statusBar().showMessage(
                f"Draw: click the outline's corners, Enter or double-click to close ({self.frame_view.draw_level.label}; 1/2/3 to relabel after)",
                8000,
            )

    def _clear_draw_hint(self) -> None:
        """The draw-mode hint goes with draw mode."""
        if self.statusBar().currentMessage().startswith("Draw:"):
            self.statusBar().clearMessage()

    def _mask_from_points(self, points: np.ndarray):
        from core.masks import RleMask

        frame = self.frame_view
        mask = RleMask.from_polygon(points, frame._image.height(), frame._image.width())
        box = mask.bbox_xyxy()
        return (mask, box) if box is not None else (None, None)

    def _on_mask_edited(self, detection_id: int, points: np.ndarray) -> None:
        from core.review import SetMask

        mask, box = self._mask_from_points(points)
        if mask is None:
            self.frame_view.set_detections(self.document.detections(self._current_frame))
            return
        self._apply(SetMask(detection_id, mask, box), f"Reshape detection #{detection_id}")

    def _on_polygon_drawn(self, points: np.ndarray) -> None:
        from core.review import AddDetection

        mask, box = self._mask_from_points(points)
        self.draw_action.setChecked(False)
        self.frame_view.set_mode(EditMode.SELECT)
        self._clear_draw_hint()
        if mask is None or self.document.run_id is None:
            return
        det = Detection(
            frame_index=self._current_frame,
            level=self.frame_view.draw_level,
            score=1.0,
            box_xyxy_px=box,
            mask=mask,
        )
        changes = self._apply(AddDetection(self.document.run_id, det), "Add outline")
        if changes is not None and changes.detection_ids:
            self._set_selection(next(iter(changes.detection_ids)))

    def _on_detection_requested(self, frame_index: int, detection_id: object) -> None:
        if self._hold_place == "listing":
            return  # the Sites panel picks the copy's first site: the player stays where the user was
        self.transport.pause()
        if isinstance(detection_id, int) and self.document.detection(detection_id) is not None:
            self.select_detection(detection_id)
        else:
            self.show_frame(frame_index)

    # ------------------------------------------------------------------ analysis
    def analysis_dialog(self) -> None:
        if not self.document.is_open:
            return
        from app.dialogs.geo_dialog import hfov_degrees

        settings = self.document.settings
        initial = AnalysisOptions(
            **{
                **self._analysis_options.to_dict(),
                "time_offset_s": settings.time_offset_s,
                "hfov_deg": hfov_degrees(settings.hfov_deg) or None,
            }
        )
        devices = known_devices()  # never torch's import on the GUI thread
        run = self.document.store.run(self.document.run_id) if self.document.run_id is not None else None
        dialog = AnalysisDialog(initial, self.document.fps, self, suggest_cpu_rate=self._analysis is None,
                                frame_times_s=list(self.document.frame_times().values()),
                                devices=devices or ["auto", "cpu"],
                                stored=self.document.analysed_frames() if run is not None and not run.finished else ())
        if devices is None:
            self._device_probe.ready.connect(dialog.set_devices)
        if dialog.exec():
            self.start_analysis(dialog.options())

    def geo_settings_dialog(self) -> None:
        from app.dialogs.geo_dialog import GEO_FIELDS, GeoSettingsDialog

        doc = self.document
        if not doc.is_open:
            return
        doc.save_score_threshold()  # a threshold just moved is the dialog's too, not undone by its OK
        project = str(doc.project_path)
        previous, when = self._settings_before.get(project, (None, ""))
        dialog = GeoSettingsDialog(doc.settings, self, video_path=doc.video_path, telemetry_path=doc.telemetry_path,
                                   min_score_floor=doc.score_floor, previous=previous, previous_when=when)
        if dialog.exec():
            before, chosen = doc.settings, dialog.settings()
            if any(getattr(chosen, f) != getattr(before, f) for f in GEO_FIELDS):  # the dialog's Revert brings these back
                self._settings_before[project] = (before, f"replaced at {datetime.now():%H:%M}")
            self.set_georeferencing(chosen)

    def set_georeferencing(self, settings: ProjectSettings) -> None:
        """Store the project settings as one step of Edit > Undo named for what changed
        ("Change clock offset"); the map is rebuilt (no re-analysis), and again when the
        step is undone or redone. A project that refuses them (read-only) says why."""
        from app.dialogs.geo_dialog import settings_change_text

        doc = self.document
        try:
            doc.change_settings(settings, settings_change_text(doc.settings, settings))
        except Exception as exc:  # noqa: BLE001 - every refusal is shown, none crashes the window
            show_error(self, exc, title="Georeferencing not changed")

    def _analysed_elsewhere(self) -> list[str]:
        """Another damagemap analysing this project now (`damagemap analyze` beside the
        window): said before the model loads, as the command line says it (the window
        loaded the model, then failed at the first frame the other had stored)."""
        elsewhere = self.elsewhere.check(force=True)  # looked at now, not at the last poll
        return [] if elsewhere is None else [elsewhere.refusal]

    def _on_analysed_elsewhere(self, elsewhere: AnalysisElsewhere | None) -> None:
        """Another process's analysis of the open project, as far as it has stored it: the
        status bar's progress (no Cancel: it is not the window's to stop)."""
        if self._analysis is not None and self._analysis.is_running:
            return
        if elsewhere is None:
            self.progress_bar.setVisible(False)
        else:
            self.progress_bar.setRange(0, elsewhere.frames_planned or 0)  # 0, 0: busy, of an unknown total
            self.progress_bar.setValue(elsewhere.frames_stored)
            self.progress_bar.setVisible(True)
            self.cancel_button.setVisible(False)
            self.eta_label.setText(elsewhere.progress_text)
            self.eta_label.setToolTip(elsewhere.refusal)
        self._update_actions()

    def _on_analysis_elsewhere_ended(self, last: AnalysisElsewhere) -> None:
        of = "" if last.frames_planned is None else f" of {last.frames_planned}"
        said = f"run {last.run_id}'s analysis by process {last.writer.get('pid')} ended: {last.frames_stored}{of} frames"
        self.eta_label.setText(said)
        self.eta_label.setToolTip("")
        self.statusBar().showMessage(f"The other damagemap's analysis ended: the window shows run {last.run_id} as it "
                                     "stored it", 10_000)
        self._reload_run()  # the SRN may have refined earlier frames' scores
        self._update_project_label()

    def start_analysis(self, options: AnalysisOptions, *, model: Any = None) -> AnalysisJob | None:
        """Run the analysis in a worker; ``model`` injects a ready torch model (tests)."""
        doc = self.document
        if not doc.is_open or (self._analysis is not None and self._analysis.is_running):
            return None
        from app.dialogs.geo_dialog import hfov_degrees
        from app.workers import analysis_preflight

        self._analysis_options = options
        problems, warnings = analysis_preflight(
            options, model_given=model is not None, has_telemetry=doc.telemetry_path is not None
        )
        problems += self._analysed_elsewhere()
        if problems:
            show_error(self, "\n".join(problems), title="Cannot analyse")
            return None
        for warning in warnings:
            self.statusBar().showMessage(warning, 10_000)
        if options.hfov_deg != (hfov_degrees(doc.settings.hfov_deg) or None):  # a preset stays a preset
            doc.update_settings(hfov_deg=options.hfov_deg, hfov_sigma_deg=None)  # typed: not an estimate
        if options.time_offset_s is not None and options.time_offset_s != doc.settings.time_offset_s:
            doc.update_settings(time_offset_s=options.time_offset_s, time_offset_sigma_s=None)  # typed: unsure
        self.last_model_override = model
        job = AnalysisJob(doc.project_path, options, model=model, parent=self)
        job.planned.connect(self._on_analysis_planned)
        job.progress.connect(self._on_analysis_progress)
        job.failed.connect(lambda exc: show_error(self, exc, title="Analysis failed"))
        job.finished.connect(self._on_analysis_finished)
        self._analysis = job
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.eta_label.setText("starting…")
        self.eta_label.setToolTip("")
        doc.set_analysis_running(True)
        job.start()
        self._update_actions()
        return job

    def cancel_analysis(self) -> None:
        if self._analysis is not None and self._analysis.is_running:
            self._analysis.cancel()
            self.cancel_button.setEnabled(False)
            self.eta_label.setText("cancelling after this frame…")

    @property
    def analysis_job(self) -> AnalysisJob | None:
        return self._analysis

    def _on_analysis_planned(self, notes: list[str]) -> None:
        """The run's notes before its first frame (frames a hover only repeats left out, a
        run resumed, the SRN skipped, ...): in the status bar, and on the progress label's
        tooltip for as long as the run's label stays."""
        self.eta_label.setToolTip("\n".join(notes))
        self._plan_message = " · ".join(notes)
        if notes:
            self.statusBar().showMessage(self._plan_message, 30_000)

    def _on_analysis_progress(self, progress: Any) -> None:
        doc = self.document
        if not doc.is_open:  # queued before the project closed (the window closing mid-run)
            return
        run_id = getattr(progress, "run_id", None)
        if run_id is not None and run_id != doc.run_id:
            doc.follow_run(run_id)
        total = int(getattr(progress, "frames_total", 0) or 0)
        done = int(getattr(progress, "frames_done", 0) or 0)
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)
        eta = getattr(progress, "eta_s", None)
        fps = getattr(progress, "frames_per_s", None)
        parts = [f"{done}/{total} frames"]
        if fps:
            parts.append(f"{fps:.1f} fps")
        if eta is not None and done < total:
            parts.append(f"ETA {format_eta(eta)}")
        self.eta_label.setText(" · ".join(parts))
        frame_index = getattr(progress, "frame_index", None)
        doc.refresh_frames([] if frame_index is None else [frame_index])

    def _on_analysis_finished(self, cancelled: bool) -> None:
        self.progress_bar.setVisible(False)
        self.cancel_button.setVisible(False)
        failed = self._analysis is not None and self._analysis.error is not None
        self.eta_label.setText("analysis failed" if failed else "analysis cancelled" if cancelled else "analysis finished")
        if self._plan_message and self.statusBar().currentMessage() == self._plan_message:
            self.statusBar().clearMessage()  # "resuming run 1: …" said of a run that has ended (the tooltip keeps it)
        self._plan_message = ""
        if self.document.is_open:
            latest = self.document.store.latest_run_id()
            if latest is not None and latest != self.document.run_id:
                self.document.follow_run(latest)
            else:
                self._reload_run()  # SRN may have refined earlier frames' scores
            self._say_unreadable_frames()
        self.document.set_analysis_running(False)
        self._update_actions()
        self.analysis_finished.emit(cancelled)
        if self._close_when_stopped:
            self._close_when_stopped = False
            self.document.close()

    def _say_unreadable_frames(self) -> None:
        """Frames the run left out because they could not be decoded (a video cut short):
        said in the window, not only on the console (the map says it too, with a track)."""
        from services.maps import unreadable_frames, unreadable_frames_note

        doc = self.document
        if doc.run_id is None:
            return
        settings = doc.store.run(doc.run_id).settings
        note = unreadable_frames_note(settings)
        if note is None:
            return
        count = len(unreadable_frames(settings))
        if count:
            said = f"{count} frame{'' if count == 1 else 's'} could not be decoded (video cut short?)"
        else:
            said = "the video file is cut short (its last frames are missing)"
        self.eta_label.setText(f"{self.eta_label.text()}: {said}")
        tip = self.eta_label.toolTip()
        self.eta_label.setToolTip(f"{tip}\n{note}" if tip else note)  # which frames, and why

    # ------------------------------------------------------------------ export
    def export_dialog(self) -> None:
        doc = self.document
        if doc.run_id is None:
            return
        # the folder this project was last exported to (it reopened on the default each time)
        key = f"export/folder/{Path(doc.project_path).resolve()}"
        folder = self.settings.value(key)
        folder = Path(folder) if isinstance(folder, str) and folder else default_export_dir(doc.project_path)
        dialog = ExportDialog(folder, has_telemetry=doc.telemetry_path is not None,
                              parent=self, sites_note=self.export_sites_note())
        if dialog.exec():
            choice = dialog.choice()
            self.settings.set_value(key, str(choice.out_dir))
            self.start_export(choice)

    def export_sites_note(self) -> str:
        """Which sites a map export holds: those the window's score threshold keeps."""
        review = self.panel(SiteReviewPanel).review
        if review is None:
            return ""
        threshold = self.document.score_threshold
        where = f"scoring ≥ {threshold:.2f}, the window's score threshold (move it to export more or fewer)"
        if abs(threshold - review.min_score) > 1e-9:  # fused again at the new threshold: not counted yet
            return f"The damage map keeps the sites {where}."
        kept = review.kept_at(threshold)
        unconfirmed = len(kept & review.unconfirmed)
        confirmed = len(kept) - unconfirmed
        note = f"The damage map keeps the {confirmed} site{'' if confirmed == 1 else 's'} {where}"
        if unconfirmed:
            # the dialog offers them too: said as its option says it, not "out of the exports" beside it
            note += (f"; {unconfirmed} unconfirmed {'stays' if unconfirmed == 1 else 'stay'} out unless "
                     f"“{UNCONFIRMED_OPTION}” is ticked below")
        runs = [run.id for run in self.document.store.runs()]
        if len(runs) > 1:  # which of them the files will hold
            note += f". They are run {review.run_id}'s, of the project's {len(runs)} runs (Analysis > Show Run)"
        return note + "."

    def start_export(self, choice: ExportChoice, run_id: int | None = None) -> FunctionJob | None:
        """Export what ``choice`` asks for from the run shown, or from ``run_id`` (the
        reviewed frames of an earlier run, offered when the run shown has none)."""
        doc = self.document
        if doc.run_id is None or (self._export_job is not None and self._export_job.is_running):
            return None
        doc.save_score_threshold()  # the threshold just moved is the one the export keeps
        run_id = doc.run_id if run_id is None else run_id
        job = FunctionJob(window_export_job, doc.project_path, run_id, choice, doc.unsaved_score_threshold,
                          parent=self, progress_argument="progress")
        job.progress.connect(self._on_export_progress)
        job.done.connect(lambda done: self._on_export_done(choice, done.result.written, done.result.notes,
                                                              done.result.unconfirmed_shown, run_id=run_id,
                                                              reviewed_elsewhere=done.reviewed_elsewhere))
        job.failed.connect(lambda exc: self._on_export_failed(choice, exc))
        job.finished.connect(self._on_export_finished)
        self._export_job = job
        self.statusBar().clearMessage()
        self.export_label.setText(f"Exporting to {choice.out_dir}…")
        self.export_label.setToolTip(str(choice.out_dir))
        self.export_progress.setRange(0, 0)  # busy, until the export counts its steps
        for widget in (self.export_label, self.export_progress):
            widget.setVisible(True)
        # the link to the last export's folder: back when this one succeeds, with its folder (after
        # a failure it opened the earlier export's folder beside "Export to ... failed")
        self.open_export_button.setVisible(False)
        job.start()
        self._update_actions()
        return job

    def _on_export_progress(self, step: Any) -> None:
        """``services.export.ExportStep``: what the export writes now, step n of m."""
        self.export_progress.setRange(0, step.steps)
        self.export_progress.setValue(step.done)
        self.export_label.setText(f"Exporting: {step.doing}")

    def _on_export_finished(self) -> None:
        self._hide_export_progress()
        self._update_actions()  # File > Export… back

    def _hide_export_progress(self) -> None:
        for widget in (self.export_label, self.export_progress):
            widget.setVisible(False)

    def _on_export_failed(self, choice: ExportChoice, exc: BaseException) -> None:
        self._hide_export_progress()  # not behind the error's box
        self.statusBar().showMessage(f"Export to {choice.out_dir} failed", 30_000)
        show_error(self, exc, title="Export failed")
        self.export_finished.emit([])

    def _on_export_done(self, choice: ExportChoice, paths: list[Path], notes: Sequence[str] = (),
                        unconfirmed_shown: int = 0, *, run_id: int | None = None,
                        reviewed_elsewhere: Mapping[int, int] | None = None) -> None:
        """The export's outcome in the status bar and, when it has notes (what ``damagemap
        export`` prints as "note: ..."), in a box that lists them (``unconfirmed_shown``:
        the unconfirmed sites the export wrote too, :attr:`ExportResult.unconfirmed_shown`).
        ``run_id``: the run exported (the one shown if ``None``); ``reviewed_elsewhere``:
        the other runs' reviewed frames when this one's training data came out empty,
        offered to export instead."""
        self._hide_export_progress()
        run_id = self.document.run_id if run_id is None else run_id
        reviewed_elsewhere = dict(reviewed_elsewhere or {})
        asked_training = choice.coco and not any("training" in Path(p).parts for p in paths)
        none_reviewed = self._no_training_data(run_id, reviewed_elsewhere)
        if not paths:  # the reviewed frames alone, none reviewed: no folder was made
            self.statusBar().showMessage(f"Nothing exported: {none_reviewed}", 30_000)
            self._offer_reviewed_run(choice, none_reviewed, reviewed_elsewhere)
            self.export_finished.emit(paths)
            return
        said = f"Exported {len(paths)} files to {Path(choice.out_dir).resolve()}"
        if run_id != self.document.run_id:
            said += f" (run {run_id}'s)"
        if asked_training:
            # asked for, and nothing came: said, as `damagemap export --training` says it
            said += f"; no training data: {none_reviewed}"
        if notes:
            said += f" ({len(notes)} note{'' if len(notes) == 1 else 's'})"
        self.statusBar().showMessage(said, 30_000)
        self.offer_export_folder(Path(choice.out_dir))
        notes_box = self._show_export_notes(said, notes, unconfirmed_shown) if notes else None
        if choice.open_html:
            html = next((p for p in paths if Path(p).suffix == ".html"), None)
            if html is not None:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(html)))
        if asked_training and notes_box is not None:  # once the notes are read, not over them
            notes_box.finished.connect(
                lambda _=None: None if notes_box.property("replaced") else
                self._offer_reviewed_run(choice, none_reviewed, reviewed_elsewhere))
        elif asked_training:
            self._offer_reviewed_run(choice, none_reviewed, reviewed_elsewhere)
        self.export_finished.emit(paths)

    def _no_training_data(self, run_id: int | None, reviewed_elsewhere: Mapping[int, int]) -> str:
        """Why the training data came out empty, in the words of ``damagemap export
        --training``: the runs whose frames are reviewed, else where to review."""
        if reviewed_elsewhere:
            which = f"run {run_id}" + (" (the one shown)" if run_id == self.document.run_id else "")
            return reviewed_elsewhere_text(which, reviewed_elsewhere)
        return "no frame of this run is reviewed yet (review its sites, then export the training data)"

    def _offer_reviewed_run(self, choice: ExportChoice, said: str, reviewed_elsewhere: Mapping[int, int]) -> None:
        """Offer to export the reviewed frames of the runs that have them (a re-analysis is
        a new run; the reviews stay on the run they were made on), into the same folder."""
        if not reviewed_elsewhere:
            return
        if self.training_offer_box is not None:
            self.training_offer_box.close()
        box = QMessageBox(QMessageBox.Icon.Question, "No reviewed frames in this run", said[0].upper() + said[1:] + ".",
                          QMessageBox.StandardButton.NoButton, self)
        runs = list(reviewed_elsewhere.items())
        if len(runs) == 1:
            (other, count), = runs
            box.setInformativeText(f"Export run {other}'s {reviewed_frames_text(count)} instead, into "
                                   f"{Path(choice.out_dir).resolve()}?")
        else:
            box.setInformativeText(f"Export the reviewed frames of one of them instead, into "
                                   f"{Path(choice.out_dir).resolve()}?")
        training_only = replace(choice, formats=(), options={}, open_html=False)
        for other, count in runs:
            button = box.addButton(f"Export run {other}'s {reviewed_frames_text(count)}", QMessageBox.ButtonRole.AcceptRole)
            button.clicked.connect(lambda _=False, run=other: self.start_export(training_only, run_id=run))
        box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda *_: setattr(self, "training_offer_box", None))
        self.training_offer_box = box
        box.open()

    def _show_export_notes(self, said: str, notes: Sequence[str], unconfirmed_shown: int = 0) -> QMessageBox:
        """The export's notes in a box that does not hold up the window (one at a time:
        a new export's replaces the last one's, and what was to follow it)."""
        if self.export_notes_box is not None:
            self.export_notes_box.setProperty("replaced", True)
            self.export_notes_box.close()
        box = QMessageBox(QMessageBox.Icon.Information, "Export notes", said + ".", QMessageBox.StandardButton.Ok, self)
        lines = [f"• {export_note_in_window_words(note, unconfirmed_shown)}" for note in notes]
        box.setInformativeText("\n".join(lines))
        # as wide as its longest line (up to most of the window): a note wrapped at the box's
        # narrow default broke "84.0 deg" across lines
        label = box.findChild(QLabel, "qt_msgbox_informativelabel")
        if label is not None:
            widest = max(label.fontMetrics().horizontalAdvance(line) for line in [said, *lines]) + 8
            # and no wider than the box can be: a message box is at most the screen's width less
            # 480 pixels (886 on a 1366-pixel screen; a whole screen up to 1024), and a label set
            # wider than that was cut at the box's edge ("left off the map" ended "le")
            screen = (self.screen() or QApplication.primaryScreen()).availableGeometry().width()
            box_most = screen if screen <= 1024 else min(screen - 480, 1000)
            room = box_most - self.NOTES_BOX_ICON_AND_MARGINS_PX
            label.setMinimumWidth(min(widest, max(400, int(self.width() * 0.6)), room))
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _=None: setattr(self, "export_notes_box", None))
        self.export_notes_box = box
        box.open()
        return box

    def offer_export_folder(self, folder: Path | None) -> None:
        """The status bar's "Open export folder" link, to ``folder``, until the project closes."""
        if folder is None:
            return
        self._export_folder = Path(folder)
        self.open_export_button.setToolTip(str(self._export_folder))
        self.open_export_button.setVisible(True)

    def open_export_folder(self) -> None:
        """Show the folder the last export wrote into (the system's file manager)."""
        if self._export_folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._export_folder)))

    def reviewer_dialog(self) -> None:
        """Edit > Reviewer Name…: who the edits are recorded under."""
        from PySide6.QtWidgets import QInputDialog, QLineEdit

        name, ok = QInputDialog.getText(
            self, "Reviewer name",
            "Your name, recorded in the project with every decision and edit, with its time;\n"
            "leave it empty for the login name.",
            QLineEdit.EchoMode.Normal, self.settings.reviewer_name(),
        )
        if ok:
            self.set_reviewer_name(name)

    def set_reviewer_name(self, name: str) -> None:
        self.settings.set_reviewer_name(name)
        self.document.set_author(name or None)
        self.statusBar().showMessage(f"Edits are recorded as {self.document.author}", 4000)

    # ------------------------------------------------------------------ model
    def finetune_dialog(self) -> None:
        """Open the fine-tuning dialog when it is installed (else the action is disabled).

        While a fine-tune is still running (closing its dialog cancels it, and it stops
        after its step) the same dialog shows again, with its progress, so that no
        second run starts on top of it."""
        from app.window_actions import finetune_dialog_class

        dialog_class = finetune_dialog_class()
        if dialog_class is None:
            self.statusBar().showMessage("Improving the model from reviews is not available yet", 4000)
            return
        dialog = self._finetune
        if dialog is None or not self.finetune_running:
            if dialog is not None:
                dialog.deleteLater()
            dialog = dialog_class(self.document, self)
            dialog.model_ready.connect(self.use_improved_model)
            self._finetune = dialog
        else:
            dialog.refresh()
        dialog.exec()

    @property
    def finetune_running(self) -> bool:
        """A fine-tune of the dialog runs (or is stopping)."""
        job = getattr(self._finetune, "job", None)
        return job is not None and job.is_running

    def use_improved_model(self, weights: Any) -> None:
        """Make a fine-tuned model the one the next analysis uses (Analysis > Analyse…
        shows it, and can switch back to the shipped model by clearing the field)."""
        import dataclasses

        self._analysis_options = dataclasses.replace(self._analysis_options, weights=str(weights))
        self.statusBar().showMessage(
            f"The next analysis uses the improved model {Path(weights).parent.name} (Analysis > Analyse…)", 8000)

    # ------------------------------------------------------------------ help
    def show_shortcuts(self) -> None:
        TextDialog("Keyboard shortcuts", html=shortcuts_html(), parent=self).exec()

    def show_model_card(self) -> None:
        weights = self._analysis_options.weights
        if weights is None and self.document.is_open and self.document.run_id is not None:
            model = self.document.store.run(self.document.run_id).model
            weights = model.get("weights") or model.get("path") if isinstance(model, dict) else None
        model_card_dialog(weights, parent=self).exec()

    def show_about(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("damagemap")
        except PackageNotFoundError:  # pragma: no cover - running from a checkout
            v = "dev"
        model = None
        if self.document.is_open and self.document.run_id is not None:
            record = self.document.store.run(self.document.run_id).model
            model = record if isinstance(record, dict) else None
        facts = about_facts(v, model=model, weights=self._analysis_options.weights, devices=known_devices())
        AboutDialog(facts, parent=self).exec()

    # ------------------------------------------------------------------ window
    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1480, 900)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        """A key whose action is off says why in the status bar: Qt gives a greyed-out
        action's key to no one, and A pressed with no detection selected (after a click on
        the frame's background) did nothing, without a word."""
        said = self.why_key_does_nothing(QKeySequence(event.keyCombination()))
        if said is None:
            super().keyPressEvent(event)
            return
        self.statusBar().showMessage(said, 8000)
        event.accept()

    def why_key_does_nothing(self, pressed: QKeySequence) -> str | None:
        """What the status bar says of ``pressed``, the key of an action that is off
        (``None``: it is no such key)."""
        action = next((a for a in self.actions() if not a.isEnabled() and a.menu() is None
                       and any(k.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch for k in a.shortcuts())),
                      None)
        if action is None:
            return None
        name = action.text().replace("&", "").split("\t")[0]
        why = action.toolTip()
        if why in ("", name):  # Qt's own tooltip, the name: Undo and Redo say nothing of why they are off
            why = {self.undo_action: "nothing to undo", self.redo_action: "nothing to redo"}.get(action,
                                                                                              "not available now")
        said = f"{pressed.toString()} ({name}): {why}"
        site = self.panel(SiteReviewPanel).current_site()
        if site is not None and action in (self.accept_action, self.reject_action, *self.relabel_actions):
            said += f"; in the Sites list (Ctrl+1) {pressed.toString()} decides site #{site.site_id}"
        return said

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if not urls:
            return
        path = Path(urls[0].toLocalFile())
        event.acceptProposedAction()
        if not is_video_path(path) and path.suffix.lower() in TRACK_SUFFIXES:
            self._drop_track(path)
            return
        self.open_path(path)

    def _drop_track(self, path: Path) -> None:
        """A flight track dropped on the window: it becomes the open project's telemetry;
        with no project open, say to open its video first."""
        if not self.document.is_open:
            show_error(self, f"{path.name} is a flight track (telemetry): open its video first, then drop the track "
                             "on the window (or File > Open Telemetry…).", title="Open the video first")
            return
        self.use_telemetry(path)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.transport.pause()
        self._close_when_stopped = False
        finetune = getattr(self._finetune, "job", None)
        if finetune is not None and finetune.is_running:
            finetune.cancel()
        if (self._analysis is not None and self._analysis.is_running) or self.finetune_running:
            if self._analysis is not None:
                self._analysis.cancel()
            # The workers stop after their current frame or step; wait for them so the store closes cleanly.
            from PySide6.QtCore import QThreadPool

            QThreadPool.globalInstance().waitForDone(30_000)
        from app.workers import wait_for_jobs

        wait_for_jobs()
        self._park_docks(False)  # the layout saved is the one a project shows
        self.settings.set_value("window/geometry", self.saveGeometry())
        self.settings.set_value("window/state", self.saveState(self.LAYOUT_VERSION))
        self.document.close()
        super().closeEvent(event)

    def restore_layout(self) -> bool:
        """The window's place, size and docks as it was last closed; ``False`` when it
        has never been closed here (see :meth:`show_first`)."""
        from PySide6.QtCore import QByteArray

        # a value of another type (a settings file edited by hand, or mangled by a sync tool)
        # is no layout: the window starts as on a first run (it did not start at all)
        geometry, state = (value if isinstance(value := self.settings.value(key), (QByteArray, bytes)) else None
                           for key in ("window/geometry", "window/state"))
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            parked = self._docks_parked is not None
            self._park_docks(False)
            if self.restoreState(state, self.LAYOUT_VERSION):  # refuses a state saved by an older layout
                self._layout_pending = False
            self._park_docks(parked)
        return geometry is not None

    #: A status bar message's margins, each side, and the room between it and the widgets on its right.
    MESSAGE_MARGIN_PX = 16

    #: Pixels a window manager's title bar and frame take beyond the window's own size.
    FRAME_ALLOWANCE_PX = 48

    def show_first(self, restored: bool) -> None:
        """Show the window: as it was last closed (``restored``); else at its preferred
        size where the screen holds it with its frame, else maximised. On a 1366x768
        laptop the preferred 1480x900 reached past the screen's right and bottom edges:
        the Sites panel's scores and the map's lower half off the screen."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if restored or screen is None:
            self.show()
            return
        room = screen.availableGeometry()
        preferred = self.sizeHint()
        if preferred.width() <= room.width() and preferred.height() + self.FRAME_ALLOWANCE_PX <= room.height():
            self.resize(preferred)
            self.show()
        else:
            self.resize(min(preferred.width(), room.width()),
                        min(preferred.height(), room.height() - self.FRAME_ALLOWANCE_PX))
            self.move(room.topLeft())
            self.showMaximized()


def _prepare_environment() -> None:
    """Qt WebEngine refuses to run as root without these (the offline HTML preview)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")


def launch(path: str | os.PathLike | None = None) -> int:
    """Create the application, open ``path`` (a video or a project) and run the event loop.

    Returns the application's exit status.
    """
    _prepare_environment()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("damagemap")
    app.setOrganizationName("damagemap")
    window = MainWindow()
    window.show_first(window.restore_layout())
    if path is not None:
        window.open_path(Path(path))
    return int(app.exec())
