"""The review panel: the detections of the current run as a table, with the review
buttons and how many are left to review.

It follows the document: the whole table on a new project, run or the end of an
analysis, only the changed frames' rows after an edit or a stored frame, the selection
made anywhere. Its buttons edit the selection through the document; activating a row
asks the document to show that detection.
"""

from __future__ import annotations

from collections.abc import Callable

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.document import ProjectDocument
from app.errors import show_error
from app.panels import Panel
from app.widgets.detections_table import DetectionsPanel
from core.types import DamageLevel, ReviewState


class ReviewPanel(Panel):
    """:class:`app.widgets.detections_table.DetectionsPanel` kept up to date with the document."""

    title = "Review Table"
    object_name = "review_dock"

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(document, parent)
        self.view = DetectionsPanel()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        # bound methods, not lambdas, for the document: Qt disconnects them with the panel
        document.opened.connect(self.reload)
        document.run_changed.connect(self._on_run_changed)
        document.closed.connect(self.reload)
        document.analysis_running_changed.connect(self._on_analysis_running_changed)
        document.detections_changed.connect(self._on_detections_changed)
        document.selection_changed.connect(self._on_selection_changed)
        document.score_threshold_changed.connect(self._on_threshold_changed)
        document.sites_changed.connect(self._on_sites_changed)
        view = self.view
        view.score_filter.set_tip("The window's score threshold (the toolbar's): rows scoring below it are hidden")
        view.score_filter.score_chosen.connect(document.set_score_threshold)
        self._on_threshold_changed(document.score_threshold)
        view.detection_activated.connect(self._on_activated)
        view.accept_button.clicked.connect(lambda: self._edit(document.review_selected, ReviewState.ACCEPTED))
        view.reject_button.clicked.connect(lambda: self._edit(document.review_selected, ReviewState.REJECTED))
        view.delete_button.clicked.connect(lambda: self._edit(document.delete_selected))
        for level, button in view.relabel_buttons.items():
            button.clicked.connect(lambda _=False, lv=level: self._edit(document.relabel_selected, lv))
        view.next_button.clicked.connect(document.request_next_pending)
        self._update_buttons()

    def reload(self, *_args: object) -> None:
        """Every row of the current run (a new project or run, the end of an analysis)."""
        doc = self.document
        self._show_threshold(doc.score_threshold)  # counted once, below: a count reads every row of the run
        self.view.set_detections(doc.all_detections(masks=False) if doc.is_open else [],
                                 doc.frame_times() if doc.is_open else {})
        self.view.select_detection(doc.selected_id)
        self._update_pending()
        self._update_buttons()

    def _on_run_changed(self, *_args: object) -> None:
        if not self.document.opening:  # opening: read once, when it is opened
            self.reload()

    def _on_analysis_running_changed(self, running: bool) -> None:
        if not running:
            self.reload()  # the SRN may have refined earlier frames' scores

    def _on_detections_changed(self, frame_indices: frozenset[int]) -> None:
        doc = self.document
        selected = doc.selected_id
        was_shown = selected is not None and self.view.is_shown(selected)
        on_row = self.view.current_detection_id()
        self.view.replace_frames({index: doc.detections(index) for index in frame_indices})
        if selected is None and on_row is not None and self.view.model.row_of(on_row) is None:
            # The highlighted row was deleted (Delete clears the selection first): the row
            # the table highlights now is the one the next key acts on.
            neighbour = self.view.current_detection_id()
            detection = None if neighbour is None else doc.detection(neighbour)
            if detection is not None:
                doc.request_detection(detection.frame_index, neighbour)
        elif selected is not None and was_shown and not self.view.is_shown(selected):
            # The edit took the selected row out of the table's filter. The table now
            # highlights a neighbour; that row is what the next key must act on, never the
            # one no longer shown.
            neighbour = self.view.current_detection_id()
            detection = None if neighbour is None else doc.detection(neighbour)
            if detection is not None and neighbour != selected:
                doc.request_detection(detection.frame_index, neighbour)
            else:
                doc.set_selection(None)
        elif doc.selected_id is not None:
            self.view.select_detection(doc.selected_id)
        self._update_pending()

    def _on_sites_changed(self) -> None:
        self.view.set_sites(*self.document.site_assignments())

    def _on_threshold_changed(self, value: float) -> None:
        self._show_threshold(value)
        self._update_pending()  # counted as the table lists them

    def _show_threshold(self, value: float) -> None:
        """The filter follows the window's threshold. Its echo is not sent back: the box
        rounds to 0.01 and stops at the run's floor, so a threshold the command line saved
        (0.555, or 0.1 under a 0.2 floor) would come back changed and be saved over it."""
        box = self.view.score_filter
        box.set_floor(self.document.score_floor)  # the run kept nothing scoring less
        self.view.show_threshold(value)

    def _on_selection_changed(self, detection_id: object) -> None:
        self.view.select_detection(detection_id if isinstance(detection_id, int) else None)
        self._update_buttons()

    def _on_activated(self, detection_id: int) -> None:
        detection = self.document.detection(detection_id)
        if detection is not None:
            self.document.request_detection(detection.frame_index, detection_id)

    def _edit(self, action: Callable[..., object], *args: DamageLevel | ReviewState) -> None:
        try:
            action(*args)
        except Exception as exc:  # noqa: BLE001 - every refusal is shown, none crashes the window
            show_error(self, exc, title="Edit refused")

    def _update_pending(self) -> None:
        pending, total, under = self.document.pending_count() if self.document.is_open else (0, 0, 0)
        self.view.set_pending_count(pending, total, under)

    def _update_buttons(self) -> None:
        has_run = self.document.session is not None
        selected = has_run and self.document.selected_id is not None
        view = self.view
        for button in (view.accept_button, view.reject_button, view.delete_button, *view.relabel_buttons.values()):
            button.setEnabled(selected)
        view.next_button.setEnabled(has_run)


__all__ = ["ReviewPanel"]
