"""What the window shows with no project open: the ways in, and the recent files.

:class:`StartPage` has three buttons and the recent files. "Open Video or Project…" and
"Open Survey…" are the File menu's own actions (:meth:`StartPage.set_actions`), so the
page and the menu name them alike; "Try the demo" and the recent files only emit
signals, the window acts on them.
"""

from __future__ import annotations

from pathlib import Path

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets.action_button import ActionButton

PATH_ROLE = Qt.ItemDataRole.UserRole


class StartPage(QWidget):
    """The first page of the window.

    Signals
    -------
    demo_requested()
    recent_requested(object)
        A recent file was clicked (its ``Path``).
    """

    demo_requested = Signal()
    recent_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("start_page")
        title = QLabel("<h1>damagemap</h1>")
        intro = QLabel(
            "Turn a drone video of a disaster area into a map of damaged buildings: the model "
            "marks damage in the frames, you review it site by site, and the reviewed sites go "
            "to GeoJSON, GeoPackage, KML, CSV or an offline HTML map."
        )
        intro.setWordWrap(True)
        self.open_button = ActionButton(
            "A drone video (MP4, MOV, …): its project is made beside it, and its telemetry (SRT, GPX or a "
            "flight-log CSV with the same name) is found beside it. Or a damagemap project (.dmproj) with its "
            "analysis and your review."
        )
        self.open_survey_button = ActionButton(
            "A survey folder (damagemap survey create): many flights over one area, opened one by one "
            "for review, exported as one map"
        )
        self.demo_button = QPushButton("Try the demo")
        self.demo_button.setToolTip(
            "Render a 20-second synthetic flight, analyse it with the shipped demo model and open it "
            "(a minute or two on a laptop CPU; the window stays usable)"
        )
        for button in (self.open_button, self.open_survey_button, self.demo_button):
            button.setMinimumHeight(40)
            button.setMinimumWidth(160)
        self.demo_button.clicked.connect(self.demo_requested)

        self.demo_note = QLabel(
            "The demo renders a 20-second synthetic flight and analyses it with the shipped demo model "
            "(trained mostly on synthetic flights), a minute or two on a laptop CPU."
        )
        self.demo_note.setWordWrap(True)
        self.demo_note.setStyleSheet("color: #666;")
        self.demo_status = QLabel("")
        self.demo_status.setWordWrap(True)
        self.demo_progress = QProgressBar()
        self.demo_progress.setRange(0, 0)
        self.demo_progress.setVisible(False)

        self.recent_label = QLabel("<b>Recent files</b>")
        self.recent_list = QListWidget()
        self.recent_list.setFrameShape(QFrame.Shape.NoFrame)
        self.recent_list.setStyleSheet("QListWidget { background: transparent; }")
        self.recent_list.itemActivated.connect(self._on_recent)
        self.recent_list.itemClicked.connect(self._on_recent)
        self.no_recent = QLabel("None yet: what you open appears here.")
        self._emitting = False

        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.open_survey_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        column = QVBoxLayout()
        column.addWidget(title)
        column.addWidget(intro)
        column.addSpacing(12)
        column.addLayout(buttons)
        column.addWidget(self.demo_note)
        column.addWidget(self.demo_status)
        column.addWidget(self.demo_progress)
        column.addSpacing(16)
        column.addWidget(self.recent_label)
        column.addWidget(self.no_recent)
        column.addWidget(self.recent_list, 10)
        column.addStretch(1)  # with no recent files, the page keeps together at the top
        box = QWidget()
        box.setLayout(column)
        box.setMaximumWidth(760)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(box, 4)
        outer.addStretch(1)

    def set_actions(self, open_action: QAction, open_survey_action: QAction) -> None:
        """Show and trigger File > Open Video or Project… and File > Open Survey…."""
        self.open_button.set_action(open_action)
        self.open_survey_button.set_action(open_survey_action)

    def set_recent_files(self, paths: list[Path]) -> None:
        """Show the recent files that still exist (most recent first)."""
        self.recent_list.clear()
        for path in paths:
            if not Path(path).exists():
                continue
            kind = "    (survey)" if Path(path).is_dir() else ""
            item = QListWidgetItem(f"{Path(path).name}{kind}    —    {Path(path).parent}")
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(str(path))
            self.recent_list.addItem(item)
        self.no_recent.setVisible(self.recent_list.count() == 0)
        self.recent_list.setVisible(self.recent_list.count() > 0)

    def recent_paths(self) -> list[Path]:
        return [Path(self.recent_list.item(i).data(PATH_ROLE)) for i in range(self.recent_list.count())]

    def set_demo_busy(self, text: str | None, *, note: str = "") -> None:
        """Show the demo's progress (``None``: idle, saying ``note`` under the buttons)."""
        busy = text is not None
        self.demo_button.setEnabled(not busy)
        self.demo_progress.setVisible(busy)
        self.demo_status.setText(text if busy else note)

    def _on_recent(self, item: QListWidgetItem) -> None:
        # a click and an activation of the same press (single-click styles) open once
        if self._emitting:
            return
        self._emitting = True
        QTimer.singleShot(0, self._done_emitting)
        self.recent_requested.emit(Path(item.data(PATH_ROLE)))

    def _done_emitting(self) -> None:
        self._emitting = False


__all__ = ["StartPage"]
