"""The window's actions (with their shortcuts) and menus, built like Qt Designer's
``setupUi``: each becomes an attribute of the window (``window.accept_action``...).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from app.overlay import OverlayStyle
from app.run_menu import RunMenu
from core.types import DamageLevel, ReviewState

if TYPE_CHECKING:  # pragma: no cover
    from app.main_window import MainWindow


def _action(
    window: MainWindow, text: str, slot, shortcut: str | QKeySequence | None = None, *, checkable: bool = False
) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts work even with the menu bar hidden
    return action


def keys_with(platform: list[QKeySequence], *promised: str) -> list[QKeySequence]:
    """The platform's keys for a standard action plus the ones the window promises in Help >
    Keyboard Shortcuts, each once.

    A sequence registered twice on one action makes it ambiguous, and Qt then fires
    nothing (on X11 the platform's redo already is Ctrl+Shift+Z); and some platforms bind
    none (Windows and the generic desktop have no Quit key, Close is Ctrl+F4 there)."""
    out: list[QKeySequence] = []
    for key in (*platform, *(QKeySequence(text) for text in promised)):
        if not key.isEmpty() and all(key != k for k in out):
            out.append(key)
    return out


def redo_shortcuts(platform: list[QKeySequence]) -> list[QKeySequence]:
    """The platform's redo keys plus Ctrl+Shift+Z and Ctrl+Y, each once."""
    return keys_with(platform, "Ctrl+Shift+Z", "Ctrl+Y")


def _standard_keys(standard: QKeySequence.StandardKey, promised: str) -> list[QKeySequence]:
    """``promised`` first (the menu shows it, as Help > Keyboard Shortcuts lists it), then
    the platform's own keys for ``standard``."""
    return keys_with([QKeySequence(promised)], *(k.toString() for k in QKeySequence.keyBindings(standard)))


#: Why an action is off, said in its tooltip (:func:`enable_or_say_why`).
NO_PROJECT_REASON = "Open a video or project first (File > Open Video or Project…)"
NO_RUN_REASON = "Analyse the video first (Analysis > Analyse…): there are no detections yet"
NO_SELECTION_REASON = "Select a detection first: click it in the frame, or N for the next one to review"
ANALYSING_REASON = "Not while the video is analysed (Analysis > Cancel Analysis stops it)"
VIDEO_LOADING_REASON = "Not yet: the video is being opened (the frame view says when it is here)"


def enable_or_say_why(action: QAction, why_not: str | None) -> None:
    """``action`` on when ``why_not`` is ``None``; else off, and its tooltip (which the
    menus show) and status tip say why, so an item greyed out is never a riddle."""
    action.setEnabled(why_not is None)
    action.setToolTip(why_not or "")  # "": Qt's own tooltip again (the text), which a menu does not show
    action.setStatusTip(why_not or "")


def first_reason(*reasons: tuple[bool, str]) -> str | None:
    """The text of the first ``(applies, text)`` that applies, or ``None``."""
    return next((text for applies, text in reasons if applies), None)


def finetune_dialog_class() -> type | None:
    """``app.dialogs.finetune_dialog.FinetuneDialog`` when that module is installed."""
    try:
        from app.dialogs.finetune_dialog import FinetuneDialog  # type: ignore[import-not-found]
    except ImportError:
        return None
    except Exception:  # noqa: BLE001 - a broken optional dialog must not stop the window
        logging.getLogger(__name__).exception("app.dialogs.finetune_dialog could not be imported")
        return None
    return FinetuneDialog  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class OverlayLayer:
    """One layer of the frame view's overlay, as View > Overlay Layers and the overlay
    toolbar switch it."""

    #: the :class:`~app.overlay.OverlayStyle` field it sets (and its key in the settings)
    key: str
    #: the menu's text, with its mnemonic; the toolbar's box shows it without the "&"
    text: str
    shortcut: str
    tip: str


OVERLAY_LAYERS: tuple[OverlayLayer, ...] = (
    OverlayLayer("show_masks", "&Masks", "Ctrl+Shift+M", "Damage masks, coloured by level"),
    OverlayLayer("show_boxes", "&Boxes", "Ctrl+Shift+B", "Damage boxes"),
    OverlayLayer("show_building_boxes", "B&uildings", "Ctrl+Shift+U", "The dashed boxes of the buildings"),
    OverlayLayer("show_labels", "&Labels", "Ctrl+Shift+L", "Each detection's level and score"),
    OverlayLayer("show_rejected", "&Rejected", "Ctrl+Shift+X", "Detections a reviewer rejected, struck through"),
    OverlayLayer("one_per_site", "&One per site", "Ctrl+Shift+O",
                 "Draw only the best box of each damage site in a frame: the detector often boxes one damage "
                 "twice (a roof and a patch in it). The others stay in the table and are drawn when selected."),
)


def build_layer_actions(window: MainWindow) -> dict[str, QAction]:
    """One checkable action per overlay layer (:data:`OVERLAY_LAYERS`): the switch that
    View > Overlay Layers and the overlay toolbar's boxes (:class:`ActionCheckBox`) both
    show. Each starts as it was left (``overlay/<key>`` in the settings)."""
    actions: dict[str, QAction] = {}
    for layer in OVERLAY_LAYERS:
        action = QAction(layer.text, window)
        action.setCheckable(True)
        action.setChecked(window.settings.bool_value(f"overlay/{layer.key}", getattr(OverlayStyle(), layer.key)))
        action.setShortcut(QKeySequence(layer.shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(layer.tip)
        action.setStatusTip(layer.tip)
        window.addAction(action)  # its key works with the menu bar hidden
        actions[layer.key] = action
    return actions


def build_actions(window: MainWindow) -> None:
    t = window.transport
    window.open_action = _action(window, "&Open Video or Project…", window.open_dialog, QKeySequence.StandardKey.Open)
    window.open_telemetry_action = _action(window, "Open &Telemetry…", window.open_telemetry_dialog)
    window.new_survey_action = _action(window, "&New Survey…", window.surveys.new_dialog)
    window.open_survey_action = _action(window, "Open &Survey…", window.surveys.open_dialog)
    window.survey_flights_action = _action(window, "Survey &Flights…", window.surveys.flights_dialog)
    window.next_flight_action = _action(window, "Ne&xt Survey Flight", lambda: window.surveys.step_flight(1),
                                        "Ctrl+PgDown")
    window.previous_flight_action = _action(window, "&Previous Survey Flight", lambda: window.surveys.step_flight(-1),
                                            "Ctrl+PgUp")
    window.save_as_action = _action(window, "Save Project &As…", window.save_as_dialog, "Ctrl+Shift+S")
    window.close_action = _action(window, "&Close Project", window.close_project)
    window.close_action.setShortcuts(_standard_keys(QKeySequence.StandardKey.Close, "Ctrl+W"))
    window.export_action = _action(window, "&Export…", window.export_dialog, "Ctrl+E")
    window.quit_action = _action(window, "&Quit", window.close)
    window.quit_action.setShortcuts(_standard_keys(QKeySequence.StandardKey.Quit, "Ctrl+Q"))

    window.undo_action = window.document.undo_stack.createUndoAction(window, "&Undo")
    window.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
    window.redo_action = window.document.undo_stack.createRedoAction(window, "&Redo")
    window.redo_action.setShortcuts(redo_shortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)))
    window.addAction(window.undo_action)
    window.addAction(window.redo_action)
    window.accept_action = _action(window, "&Accept Detection", lambda: window.set_review(ReviewState.ACCEPTED), "A")
    window.reject_action = _action(window, "Re&ject Detection", lambda: window.set_review(ReviewState.REJECTED), "X")
    window.relabel_actions = [
        _action(window, f"Relabel Detection as {RELABEL_MNEMONICS[level]}", lambda _=False, lv=level: window.relabel(lv),
                str(int(level)))
        for level in DamageLevel
    ]
    window.delete_action = _action(window, "&Delete Detection", window.delete_selected, QKeySequence.StandardKey.Delete)
    window.draw_action = _action(window, "Dra&w New Outline", window.toggle_draw_mode, "D", checkable=True)
    window.next_action = _action(window, "&Next Unreviewed Detection", window.next_unreviewed, "N")
    window.reviewer_action = _action(window, "Reviewer Na&me…", window.reviewer_dialog)

    window.play_action = _action(window, "&Play/Pause", t.toggle_play, "Space")
    window.prev_frame_action = _action(window, "Pre&vious Frame", lambda: t.step(-1), "Left")
    window.next_frame_action = _action(window, "&Next Frame", lambda: t.step(1), "Right")
    window.prev_analysed_action = _action(window, "Previous &Analysed Frame", lambda: window.step_analysed(-1),
                                          "Shift+Left")
    window.next_analysed_action = _action(window, "Next Analy&sed Frame", lambda: window.step_analysed(1),
                                          "Shift+Right")
    window.first_frame_action = _action(window, "&First Frame", lambda: t.request(0), "Home")
    window.last_frame_action = _action(window, "&Last Frame", lambda: t.request(t.frame_count - 1), "End")
    window.reverse_action = _action(window, "Play &Backwards", lambda: t.shuttle(-1), "J")
    window.pause_action = _action(window, "Pa&use", t.pause, "K")
    window.forward_action = _action(window, "Play For&wards", lambda: t.shuttle(1), "L")

    window.zoom_in_action = _action(window, "Zoom &In", lambda: window.frame_view.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
    window.zoom_out_action = _action(window, "Zoom &Out", lambda: window.frame_view.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
    window.fit_action = _action(window, "&Fit Frame", window.frame_view.fit_to_window, "0")
    window.reset_layout_action = _action(window, "&Reset Layout", window.reset_layout)
    window.raise_threshold_action = _action(window, "R&aise Score Threshold", lambda: window.step_threshold(1), "]")
    window.lower_threshold_action = _action(window, "&Lower Score Threshold", lambda: window.step_threshold(-1), "[")

    window.analyse_action = _action(window, "&Analyse…", window.analysis_dialog, "Ctrl+R")
    window.cancel_action = _action(window, "&Cancel Analysis", window.cancel_analysis)
    window.geo_action = _action(window, "&Georeferencing…", window.geo_settings_dialog)
    window.finetune_action = _action(window, "&Improve the Model from My Reviews…", window.finetune_dialog)
    window.finetune_available = finetune_dialog_class() is not None
    window.finetune_action.setEnabled(window.finetune_available)  # until a run is open (MainWindow._update_actions)
    if not window.finetune_available:
        window.finetune_action.setToolTip("not available yet")
        window.finetune_action.setStatusTip("Improve the model from my reviews: not available yet")

    window.shortcuts_action = _action(window, "&Keyboard Shortcuts", window.show_shortcuts, QKeySequence.StandardKey.HelpContents)
    window.model_card_action = _action(window, "&Model Card", window.show_model_card)
    window.about_action = _action(window, "&About damagemap", window.show_about)


def show_decided_action(window: MainWindow) -> QAction:
    """View > Show Decided Sites: the Sites panel's check box (which takes no focus), for
    the keyboard."""
    from app.panels.site_review_panel import SiteReviewPanel

    box = window.panel(SiteReviewPanel).show_decided
    action = _action(window, "Show &Decided Sites", lambda checked: box.setChecked(checked), checkable=True)
    action.setChecked(box.isChecked())
    box.toggled.connect(action.setChecked)
    return action


#: Edit > Relabel Detection as …: each level's mnemonic (its key, 1-3, is the shortcut)
RELABEL_MNEMONICS: dict[DamageLevel, str] = {
    DamageLevel.SLIGHT: "&Slight", DamageLevel.SEVERE: "S&evere", DamageLevel.DEBRIS: "De&bris",
}
#: View > the panels' show/hide items, by dock object name, with mnemonics free in the View menu
DOCK_MENU_TEXT: dict[str, str] = {"map_dock": "&Map", "review_dock": "Revie&w Table", "site_review_dock": "Sit&es"}


def build_menus(window: MainWindow) -> None:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.setToolTipsVisible(True)  # a greyed-out item says why (MainWindow._update_actions)
    file_menu.addAction(window.open_action)
    window.recent_menu = file_menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(lambda: fill_recent_menu(window))
    file_menu.addAction(window.open_telemetry_action)
    file_menu.addSeparator()
    file_menu.addAction(window.new_survey_action)
    file_menu.addAction(window.open_survey_action)
    file_menu.addAction(window.survey_flights_action)
    file_menu.addAction(window.next_flight_action)
    file_menu.addAction(window.previous_flight_action)
    file_menu.addSeparator()
    file_menu.addAction(window.save_as_action)
    file_menu.addSeparator()
    file_menu.addAction(window.export_action)
    file_menu.addSeparator()
    file_menu.addAction(window.close_action)
    file_menu.addAction(window.quit_action)

    edit_menu = bar.addMenu("&Edit")
    edit_menu.setToolTipsVisible(True)
    edit_menu.addAction(window.undo_action)
    edit_menu.addAction(window.redo_action)
    edit_menu.addSeparator()
    edit_menu.addAction(window.accept_action)
    edit_menu.addAction(window.reject_action)
    for action in window.relabel_actions:
        edit_menu.addAction(action)
    edit_menu.addAction(window.delete_action)
    edit_menu.addAction(window.draw_action)
    edit_menu.addSeparator()
    edit_menu.addAction(window.next_action)
    edit_menu.addSeparator()
    edit_menu.addAction(window.reviewer_action)

    view_menu = window.view_menu = bar.addMenu("&View")
    view_menu.setToolTipsVisible(True)
    for action in (window.zoom_in_action, window.zoom_out_action, window.fit_action):
        view_menu.addAction(action)
    view_menu.addSeparator()
    for dock in window.docks:
        dock.toggleViewAction().setText(DOCK_MENU_TEXT.get(dock.objectName(), dock.windowTitle()))
        view_menu.addAction(dock.toggleViewAction())
    # "Overlay Toolbar", not the toolbar's title "Overlays": beside Overlay Layers, which switches what it draws
    window.overlay_toolbar.toggleViewAction().setText("Overlay Tool&bar")
    view_menu.addAction(window.overlay_toolbar.toggleViewAction())
    layers_menu = window.layers_menu = view_menu.addMenu("Overlay La&yers")
    layers_menu.setToolTipsVisible(True)
    for action in window.layer_actions.values():
        layers_menu.addAction(action)
    from app.panels.review_panel import ReviewPanel
    from app.panels.site_review_panel import SiteReviewPanel

    window.goto_sites_action = _action(window, "Go to &Sites", lambda: window.bring_panel(SiteReviewPanel), "Ctrl+1")
    window.goto_review_action = _action(window, "Go to Review &Table", lambda: window.bring_panel(ReviewPanel),
                                        "Ctrl+2")
    view_menu.addAction(window.goto_sites_action)
    view_menu.addAction(window.goto_review_action)
    view_menu.addSeparator()
    view_menu.addAction(window.raise_threshold_action)
    view_menu.addAction(window.lower_threshold_action)
    window.show_decided_action = show_decided_action(window)
    view_menu.addAction(window.show_decided_action)
    view_menu.addSeparator()
    view_menu.addAction(window.reset_layout_action)

    from app.site_menu import SiteMenu

    window.site_menu = SiteMenu(window)  # the Sites panel's actions, with the keys its list takes
    bar.addMenu(window.site_menu)

    play_menu = bar.addMenu("&Playback")
    play_menu.setToolTipsVisible(True)
    for action in (
        window.play_action, window.prev_frame_action, window.next_frame_action,
        window.prev_analysed_action, window.next_analysed_action, window.first_frame_action,
        window.last_frame_action, window.reverse_action, window.pause_action, window.forward_action,
    ):
        play_menu.addAction(action)

    analysis_menu = window.analysis_menu = bar.addMenu("&Analysis")
    analysis_menu.setToolTipsVisible(True)
    analysis_menu.addAction(window.analyse_action)
    analysis_menu.addAction(window.cancel_action)
    analysis_menu.addSeparator()
    analysis_menu.addAction(window.geo_action)
    analysis_menu.addSeparator()
    window.runs_menu = RunMenu("Show &Run", window, project=window.shown_run, show_run=window.show_run)
    analysis_menu.addMenu(window.runs_menu)

    model_menu = window.model_menu = bar.addMenu("&Model")
    model_menu.setToolTipsVisible(True)
    model_menu.addAction(window.finetune_action)
    model_menu.addAction(window.model_card_action)

    help_menu = bar.addMenu("&Help")
    help_menu.setToolTipsVisible(True)
    help_menu.addAction(window.shortcuts_action)
    help_menu.addAction(window.model_card_action)
    help_menu.addAction(window.about_action)


def fill_recent_menu(window: MainWindow) -> None:
    window.recent_menu.clear()
    recent = [p for p in window.settings.recent_files() if p.exists()]
    for path in recent:
        window.recent_menu.addAction(path.name, lambda p=path: window.open_path(p)).setToolTip(str(path))
    if not recent:
        window.recent_menu.addAction("(none)").setEnabled(False)
    else:
        window.recent_menu.addSeparator()
        window.recent_menu.addAction("Clear", window.settings.clear_recent_files)
