"""The review table: every detection of the run, sortable and filterable.

:class:`DetectionTableModel` holds current :class:`core.types.Detection` values keyed by
id and reconciles a frame at a time after an edit (so adds and deletes need no reset);
:class:`DetectionFilterProxy` sorts on raw values and filters by level, state and score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QPixmap, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.overlay import level_colour
from core.types import DamageLevel, Detection, ReviewState, frame_number

SORT_ROLE = Qt.ItemDataRole.UserRole
DETECTION_ID_ROLE = Qt.ItemDataRole.UserRole + 1

COLUMNS = ("ID", "Frame", "Time (s)", "Level", "Score", "State", "Origin", "Site")
SITE_COLUMN = COLUMNS.index("Site")


def _level_icon(level: DamageLevel) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(level_colour(level))
    return QIcon(pixmap)


class DetectionTableModel(QAbstractTableModel):
    """One row per detection of the current run."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Detection] = []
        self._row_of: dict[int, int] = {}
        self._pts_s: dict[int, float] = {}
        self._icons: dict[DamageLevel, QIcon] = {}
        self._site_of: dict[int, int] = {}
        self._unconfirmed: frozenset[int] = frozenset()

    # -- filling ---------------------------------------------------------------------
    def set_detections(self, detections: Iterable[Detection], pts_s: dict[int, float] | None = None) -> None:
        self.beginResetModel()
        self._rows = [d for d in detections if d.id is not None]
        self._rows.sort(key=lambda d: (d.frame_index, d.id))
        self._reindex()
        self._pts_s = dict(pts_s or {})
        self.endResetModel()

    def set_frame_times(self, pts_s: dict[int, float]) -> None:
        self._pts_s.update(pts_s)

    def set_sites(self, site_of: dict[int, int], unconfirmed: frozenset[int] = frozenset()) -> None:
        """Which site each detection is in (its id -> the site's), for the Site column."""
        self._site_of, self._unconfirmed = dict(site_of), frozenset(unconfirmed)
        if self._rows:
            self.dataChanged.emit(self.index(0, SITE_COLUMN), self.index(len(self._rows) - 1, SITE_COLUMN))

    def replace_frames(self, frame_detections: dict[int, Sequence[Detection]]) -> None:
        """Make the rows of these frames equal the given detections (edit, add, delete)."""
        for frame_index, detections in frame_detections.items():
            current = {d.id: d for d in detections if d.id is not None}
            stale = [row for row, d in enumerate(self._rows) if d.frame_index == frame_index and d.id not in current]
            for row in reversed(stale):
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
            self._reindex()
            for det_id, det in current.items():
                row = self._row_of.get(det_id)
                if row is None:
                    row = len(self._rows)
                    self.beginInsertRows(QModelIndex(), row, row)
                    self._rows.append(det)
                    self._row_of[det_id] = row
                    self.endInsertRows()
                elif self._rows[row] != det:
                    self._rows[row] = det
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _reindex(self) -> None:
        self._row_of = {d.id: i for i, d in enumerate(self._rows)}

    # -- reading ---------------------------------------------------------------------
    def detection(self, row: int) -> Detection:
        return self._rows[row]

    def row_of(self, detection_id: int) -> int | None:
        return self._row_of.get(detection_id)

    def detections(self) -> list[Detection]:
        return list(self._rows)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        det = self._rows[index.row()]
        column = index.column()
        if role == DETECTION_ID_ROLE:
            return det.id
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(det, column)
        if role == SORT_ROLE:
            return self._sort_value(det, column)
        if role == Qt.ItemDataRole.DecorationRole and column == 3:
            if det.level not in self._icons:
                self._icons[det.level] = _level_icon(det.level)
            return self._icons[det.level]
        if role == Qt.ItemDataRole.ForegroundRole:
            if det.review is ReviewState.REJECTED:
                return QColor(140, 140, 140)
            if det.review is ReviewState.ACCEPTED and column == 5:
                return QColor(30, 130, 60)
        if role == Qt.ItemDataRole.ToolTipRole and column == SITE_COLUMN:
            return ("the damage site this detection is a sighting of (the Sites panel); empty: in no site "
                    "(rejected, or under the map's score)")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 1, 2, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, det: Detection, column: int) -> str:
        if column == 0:
            return str(det.id)
        if column == 1:
            return str(frame_number(det.frame_index))
        if column == 2:
            pts = self._pts_s.get(det.frame_index)
            return "" if pts is None else f"{pts:.2f}"
        if column == 3:
            return det.level.label
        if column == 4:
            return f"{det.final_score:.2f}"
        if column == 5:
            return det.review.value
        if column == SITE_COLUMN:
            site = self._site_of.get(det.id)
            if site is None:
                return ""
            return f"#{site}" + (" unconfirmed" if site in self._unconfirmed else "")
        return det.origin.value

    def _sort_value(self, det: Detection, column: int):
        # one value, not a tuple of every column's: a sort calls this for every comparison
        if column == 0:
            return det.id
        if column == 1:
            return det.frame_index
        if column == 2:
            return self._pts_s.get(det.frame_index, float(det.frame_index))
        if column == 3:
            return int(det.level)
        if column == 4:
            return det.final_score
        if column == 5:
            return det.review.value
        if column == 6:
            return det.origin.value
        return self._site_of.get(det.id, 1 << 62)  # detections in no site sort last


class DetectionFilterProxy(QSortFilterProxyModel):
    """Filters rows by level, review state and minimum score."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._level: DamageLevel | None = None
        self._state: ReviewState | None = None
        self._min_score = 0.0
        self.setSortRole(SORT_ROLE)

    def set_filters(
        self, *, level: DamageLevel | None = None, state: ReviewState | None = None, min_score: float = 0.0
    ) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10 replaces invalidateFilter()
            self.beginFilterChange()
            self._level, self._state, self._min_score = level, state, min_score
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover
            self._level, self._state, self._min_score = level, state, min_score
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: N802
        det = self.sourceModel().detection(source_row)
        if self._level is not None and det.level is not self._level:
            return False
        if self._state is not None and det.review is not self._state:
            return False
        # a reviewer's yes outranks the score, as in the frame view and the map
        return det.review is ReviewState.ACCEPTED or det.final_score >= self._min_score


class _Table(QTableView):
    """A table whose focus arriving (Tab, a click on the header) never counts as the
    user picking a row: Qt makes the first row current on keyboard focus."""

    def __init__(self, panel: DetectionsPanel) -> None:
        super().__init__()
        self._panel = panel

    def focusInEvent(self, event) -> None:  # noqa: N802
        echo, self._panel._echo = self._panel._echo, True
        try:
            super().focusInEvent(event)
        finally:
            self._panel._echo = echo


class DetectionsPanel(QWidget):
    """Filters, the table and the review buttons.

    Signals
    -------
    detection_activated(int)
        A row became current: the detection id (the window seeks to its frame).
    """

    detection_activated = Signal(int)

    #: Rows read to size the columns.
    SIZE_SAMPLE_ROWS = 64

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = DetectionTableModel(self)
        self.proxy = DetectionFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.level_filter = QComboBox()
        self.level_filter.addItem("All levels", None)
        for level in DamageLevel:
            self.level_filter.addItem(_level_icon(level), level.label, level)
        self.state_filter = QComboBox()
        self.state_filter.addItem("All states", None)
        for state in ReviewState:
            self.state_filter.addItem(state.value.capitalize(), state)
        self.score_filter = QDoubleSpinBox()
        self.score_filter.setRange(0.0, 1.0)
        self.score_filter.setSingleStep(0.05)
        self.score_filter.setDecimals(2)
        self.score_filter.setPrefix("score ≥ ")
        self.score_filter.setKeyboardTracking(False)  # a value typed counts on Enter, not at its first key
        self._min_score = self.score_filter.value()  # the filter's own: the box shows it to 0.01
        for widget in (self.level_filter, self.state_filter):
            widget.currentIndexChanged.connect(self._apply_filters)
        self.score_filter.valueChanged.connect(self._score_chosen)

        self._echo = False
        self.table = _Table(self)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the next control, not the next cell
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        # Columns are sized to their contents once per fill, from a sample of rows: sizing
        # them live (ResizeToContents) read every row again after each edit, half a
        # second per key press on the demo's 2,000 rows.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(self.SIZE_SAMPLE_ROWS)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        self.accept_button = QPushButton("Accept (A)")
        self.reject_button = QPushButton("Reject (X)")
        self.delete_button = QPushButton("Delete")
        self.relabel_buttons = {}
        for level in DamageLevel:
            button = QPushButton(_level_icon(level), f"{level.label} ({int(level)})")
            button.setToolTip(f"Relabel as {level.label}")
            self.relabel_buttons[level] = button
        self.next_button = QPushButton("Next unreviewed (N)")
        self.pending_label = QLabel("no detections")

        filters = QHBoxLayout()
        filters.addWidget(self.level_filter)
        filters.addWidget(self.state_filter)
        filters.addWidget(self.score_filter)
        buttons = QHBoxLayout()
        for button in (self.accept_button, self.reject_button, *self.relabel_buttons.values(), self.delete_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.next_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        status = QHBoxLayout()
        status.addWidget(self.pending_label, 1)
        status.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addLayout(status)
        self._echo = False

    def _apply_filters(self, *_args: object) -> None:
        self.proxy.set_filters(
            level=self.level_filter.currentData(),
            state=self.state_filter.currentData(),
            min_score=self._min_score,
        )

    def _score_chosen(self, value: float) -> None:
        self._min_score = value
        self._apply_filters()

    def show_threshold(self, value: float) -> None:
        """Filter at ``value`` (the window's threshold, to any precision: one the command
        line saved), the score box showing it to 0.01 without saying it changed."""
        self.score_filter.blockSignals(True)
        if self.score_filter.value() != value:
            self.score_filter.setValue(value)
        self.score_filter.blockSignals(False)
        self._min_score = max(value, self.score_filter.minimum())
        self._apply_filters()

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._echo or not current.isValid():
            return
        det_id = current.data(DETECTION_ID_ROLE)
        if det_id is not None:
            self.detection_activated.emit(int(det_id))

    def set_detections(self, detections, pts_s: dict[int, float] | None = None) -> None:
        """Replace every row (a new project or run); the selection is not echoed."""
        self._echo = True
        try:
            self.model.set_detections(detections, pts_s)
        finally:
            self._echo = False
        self.table.resizeColumnsToContents()

    def replace_frames(self, frame_detections) -> None:
        """Reconcile the rows of some frames after an edit.

        Removing the current row makes the view pick a neighbour; that is the view's
        bookkeeping, not the user's choice, so it is not announced.
        """
        self._echo = True
        try:
            self.model.replace_frames(frame_detections)
        finally:
            self._echo = False

    def select_detection(self, detection_id: int | None) -> None:
        """Follow a selection made elsewhere without echoing it back."""
        self._echo = True
        try:
            row = None if detection_id is None else self.model.row_of(detection_id)
            if row is None:
                self.table.selectionModel().clearSelection()
                return
            proxy_index = self.proxy.mapFromSource(self.model.index(row, 0))
            if proxy_index.isValid():
                self.table.selectionModel().setCurrentIndex(
                    proxy_index,
                    self.table.selectionModel().SelectionFlag.ClearAndSelect
                    | self.table.selectionModel().SelectionFlag.Rows,
                )
                self.table.scrollTo(proxy_index)
        finally:
            self._echo = False

    def is_shown(self, detection_id: int) -> bool:
        """Whether the detection has a row that passes the filters."""
        row = self.model.row_of(detection_id)
        return row is not None and self.proxy.mapFromSource(self.model.index(row, 0)).isValid()

    def current_detection_id(self) -> int | None:
        """The detection of the highlighted row (``None``: none)."""
        index = self.table.currentIndex()
        value = index.data(DETECTION_ID_ROLE) if index.isValid() else None
        return None if value is None else int(value)

    def set_pending_count(self, pending: int, total: int) -> None:
        if total == 0:
            self.pending_label.setText("no detections")
        elif pending == 0:
            self.pending_label.setText(f"all {total} reviewed")
        else:
            self.pending_label.setText(f"{pending} left to review of {total}")
