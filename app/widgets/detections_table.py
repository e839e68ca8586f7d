"""The review table: every detection of the run, sortable and filterable.

:class:`DetectionTableModel` holds current :class:`core.types.Detection` values keyed by
id and reconciles a frame at a time after an edit (so adds and deletes need no reset);
:class:`DetectionFilterProxy` sorts and filters them with numpy arrays of each row's sort
key and filter fields: a header click is one stable argsort and a filter one array test,
each then one layout change, where a ``QSortFilterProxyModel`` called into Python for every
comparison and every row (1.1 s on opening a run of 25,620 detections, 5 s at 100,000;
``bench/bench_review_table.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QHelpEvent, QIcon, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.overlay import level_colour
from app.widgets.keyboard_reach import reach_by_tab
from app.widgets.score_box import ScoreBox
from core.sites import video_time
from core.types import DamageLevel, Detection, Origin, ReviewState, frame_number

#: A cell's sort value (``data(SORT_ROLE)``): what the proxy's numeric keys order by.
SORT_ROLE = Qt.ItemDataRole.UserRole
DETECTION_ID_ROLE = Qt.ItemDataRole.UserRole + 1

#: Site before Origin: the last column shown takes what is left of the panel.
COLUMNS = ("ID", "Frame", "Time", "Level", "Score", "State", "Site", "Origin")
SITE_COLUMN = COLUMNS.index("Site")
ORIGIN_COLUMN = COLUMNS.index("Origin")
#: Where the columns are wider than the table, the least needed to review are folded away,
#: first to last (each row's tooltip reads them): who drew a box, the detection's number,
#: the time (the Frame column orders the rows as it does).
FOLD_ORDER = (ORIGIN_COLUMN, COLUMNS.index("ID"), COLUMNS.index("Time"))
#: Then these are cut to their least width, first to last, their text elided ("#6 unconf…").
CUT_ORDER = (SITE_COLUMN, COLUMNS.index("Level"))
#: The columns the filters read (level, score, state).
_FILTER_COLUMNS = (COLUMNS.index("Level"), COLUMNS.index("Score"), COLUMNS.index("State"))
#: Detections in no site sort after every site.
NO_SITE = 1 << 62

_STATE_CODE = {state: code for code, state in enumerate(ReviewState)}
# the State and Origin columns sort by their text, as a person reads them
_STATE_RANK = {state: rank for rank, state in enumerate(sorted(ReviewState, key=lambda s: s.value))}
_ORIGIN_RANK = {origin: rank for rank, origin in enumerate(sorted(Origin, key=lambda o: o.value))}


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
        self._ids_of_frame: dict[int, list[int]] = {}
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
        self._ids_of_frame = {}
        for d in self._rows:
            self._ids_of_frame.setdefault(d.frame_index, []).append(d.id)
        self._pts_s = dict(pts_s or {})
        self.endResetModel()

    def set_frame_times(self, pts_s: dict[int, float]) -> None:
        self._pts_s.update(pts_s)
        if self._rows:  # the Time column's text and sort keys
            time_column = COLUMNS.index("Time")
            self.dataChanged.emit(self.index(0, time_column), self.index(len(self._rows) - 1, time_column))

    def set_sites(self, site_of: dict[int, int], unconfirmed: frozenset[int] = frozenset()) -> None:
        """Which site each detection is in (its id -> the site's), for the Site column."""
        self._site_of, self._unconfirmed = dict(site_of), frozenset(unconfirmed)
        if self._rows:
            self.dataChanged.emit(self.index(0, SITE_COLUMN), self.index(len(self._rows) - 1, SITE_COLUMN))

    def replace_frames(self, frame_detections: dict[int, Sequence[Detection]]) -> None:
        """Make the rows of these frames equal the given detections (edit, add, delete).
        A row keeps no mask (no column shows one; the table is read without them): a
        detection changed only by its mask, or given with one, changes no row, so that a
        decision on one site announces its own rows, not every row of the frames it is in."""
        for frame_index, detections in frame_detections.items():
            current = {d.id: d if d.mask is None else replace(d, mask=None) for d in detections if d.id is not None}
            stale = sorted((self._row_of[det_id] for det_id in self._ids_of_frame.get(frame_index, ())
                            if det_id not in current), reverse=True)
            for row in stale:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._rows[row]
                self.endRemoveRows()
            if stale:
                self._reindex()
            added = [det for det_id, det in current.items() if det_id not in self._row_of]
            for det_id, det in current.items():
                row = self._row_of.get(det_id)
                if row is not None and self._rows[row] != det:
                    self._rows[row] = det
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            if added:
                first = len(self._rows)
                self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
                self._rows.extend(added)
                self._row_of.update((det.id, first + i) for i, det in enumerate(added))
                self.endInsertRows()
            if current:
                self._ids_of_frame[frame_index] = list(current)
            else:
                self._ids_of_frame.pop(frame_index, None)

    def _reindex(self) -> None:
        self._row_of = {d.id: i for i, d in enumerate(self._rows)}

    def widest_texts(self) -> dict[int, list[str]]:
        """Each column's texts among which its widest cell's is, from what its values can
        be (the largest id, frame and time; every level, state and origin name) rather
        than from its rows: the columns are sized without reading a row through Qt."""
        if not self._rows:
            return {}
        last_frame = max(self._ids_of_frame)
        times = [self._pts_s[f] for f in self._ids_of_frame if f in self._pts_s]
        sites = [f"#{max(self._site_of.values())}" + (" unconfirmed" if self._unconfirmed else "")] \
            if self._site_of else []
        return {
            0: [str(max(d.id for d in self._rows))],
            1: [str(frame_number(last_frame))],
            2: [video_time(max(times))] if times else [],
            3: [level.label for level in DamageLevel],
            4: [f"{score:.2f}" for score in (0.0, 1.0)],
            5: [state.value for state in ReviewState],
            SITE_COLUMN: sites,
            ORIGIN_COLUMN: [origin.value for origin in Origin],
        }

    # -- reading ---------------------------------------------------------------------
    def detection(self, row: int) -> Detection:
        return self._rows[row]

    def row_of(self, detection_id: int) -> int | None:
        return self._row_of.get(detection_id)

    def detections(self) -> list[Detection]:
        return list(self._rows)

    def sort_keys(self, column: int, rows: Sequence[int] | None = None) -> np.ndarray:
        """The rows' (every row's: ``None``) sort keys in ``column`` as float64: ordered as
        ``data(SORT_ROLE)`` orders them (State and Origin by their text)."""
        dets = self._rows if rows is None else [self._rows[int(r)] for r in rows]
        if column == 0:
            values = (d.id for d in dets)
        elif column == 1:
            values = (d.frame_index for d in dets)
        elif column == 2:
            pts = self._pts_s
            values = (pts.get(d.frame_index, float(d.frame_index)) for d in dets)
        elif column == 3:
            values = (int(d.level) for d in dets)
        elif column == 4:
            values = (d.final_score for d in dets)
        elif column == 5:
            values = (_STATE_RANK[d.review] for d in dets)
        elif column == ORIGIN_COLUMN:
            values = (_ORIGIN_RANK[d.origin] for d in dets)
        else:
            site_of = self._site_of
            values = (site_of.get(d.id, NO_SITE) for d in dets)
        return np.fromiter(values, np.float64, count=len(dets))

    def filter_fields(self, rows: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the filters read of the rows (every row: ``None``): level, review state
        (its index in :class:`ReviewState`) and final score."""
        dets = self._rows if rows is None else [self._rows[int(r)] for r in rows]
        n = len(dets)
        levels = np.fromiter((int(d.level) for d in dets), np.int8, count=n)
        states = np.fromiter((_STATE_CODE[d.review] for d in dets), np.int8, count=n)
        scores = np.fromiter((d.final_score for d in dets), np.float64, count=n)
        return levels, states, scores

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole and section == SITE_COLUMN:
            # at its values' left: a narrow panel shows the column's start only ("#12 unconfirmed"
            # is wide), and a centred heading was out of view
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
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
            return "" if pts is None else video_time(pts)  # as the Sites list and its crops say it
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
        if column == ORIGIN_COLUMN:
            return det.origin.value
        return self._site_of.get(det.id, NO_SITE)  # detections in no site sort last


class DetectionFilterProxy(QAbstractTableModel):
    """The rows of a :class:`DetectionTableModel` in the order and under the filters (level,
    review state, minimum score) the reviewer chose, with ``QSortFilterProxyModel``'s
    ``mapToSource``/``mapFromSource``, ``sort``, ``sortColumn`` and ``sortOrder``.

    It keeps, by source row, numpy arrays of the filter fields and of the sort column's
    key, and every source row in display order (filtered rows too, so a row shown again
    comes back to its place): a header click is one stable argsort (rows that tie keep the
    order they had, as with Qt's proxy), a filter one array test, each followed by one
    layout change that carries the selection along. An edit's rows are moved, hidden and
    shown one at a time with the row signals Qt's proxy sends, so that the view puts its
    highlight on the next row when the current one leaves the filter.
    """

    #: A source ``dataChanged`` over more rows than this is redone as one layout change.
    BULK_ROWS = 256

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._source: DetectionTableModel | None = None
        self._level: DamageLevel | None = None
        self._state: ReviewState | None = None
        self._min_score = 0.0
        self._column = -1
        self._order = Qt.SortOrder.AscendingOrder
        self._empty()

    def _empty(self) -> None:
        # by source row: the filter fields, the sort key (negated when descending, so the
        # display order is always ascending in it), whether the row passes the filters
        self._levels = np.zeros(0, np.int8)
        self._states = np.zeros(0, np.int8)
        self._scores = np.zeros(0, np.float64)
        self._keys = np.zeros(0, np.float64)
        self._shown = np.zeros(0, bool)
        self._all = np.zeros(0, np.int64)  # every source row, in display order
        self._rows = np.zeros(0, np.int64)  # proxy row -> source row
        self._proxy_row: np.ndarray | None = None  # source row -> proxy row (-1: hidden), built when asked

    # -- the source --------------------------------------------------------------------
    def setSourceModel(self, model: DetectionTableModel) -> None:  # noqa: N802
        self.beginResetModel()
        if self._source is not None:
            for signal, slot in self._connections():
                signal.disconnect(slot)
        self._source = model
        for signal, slot in self._connections():
            signal.connect(slot)
        self._rebuild()
        self.endResetModel()

    def sourceModel(self) -> DetectionTableModel | None:  # noqa: N802
        return self._source

    def _connections(self) -> list:
        source = self._source
        return [
            (source.modelAboutToBeReset, self.beginResetModel),
            (source.modelReset, self._source_reset),
            (source.dataChanged, self._source_data_changed),
            (source.rowsAboutToBeRemoved, self._source_rows_about_to_be_removed),
            (source.rowsRemoved, self._source_rows_removed),
            (source.rowsInserted, self._source_rows_inserted),
        ]

    def _source_reset(self) -> None:
        self._rebuild()
        self.endResetModel()

    def _rebuild(self) -> None:
        if self._source is None:
            self._empty()
            return
        self._levels, self._states, self._scores = self._source.filter_fields()
        n = len(self._levels)
        self._shown = self._accepts(None)
        if self._column < 0:
            self._keys = np.zeros(n, np.float64)
            self._all = np.arange(n, dtype=np.int64)
        else:
            self._keys = self._sort_keys(None)
            self._all = np.argsort(self._keys, kind="stable").astype(np.int64)
        self._set_rows(self._all[self._shown[self._all]])

    def _sort_keys(self, rows: np.ndarray | None) -> np.ndarray:
        keys = self._source.sort_keys(self._column, rows)
        return -keys if self._order == Qt.SortOrder.DescendingOrder else keys

    def _accepts(self, rows: np.ndarray | None) -> np.ndarray:
        """Whether these source rows (every row: ``None``) pass the filters."""
        pick = slice(None) if rows is None else rows
        # a reviewer's yes outranks the score, as in the frame view and the map
        shown = (self._states[pick] == _STATE_CODE[ReviewState.ACCEPTED]) | (self._scores[pick] >= self._min_score)
        if self._level is not None:
            shown &= self._levels[pick] == int(self._level)
        if self._state is not None:
            shown &= self._states[pick] == _STATE_CODE[self._state]
        return shown

    def _set_rows(self, rows: np.ndarray) -> None:
        self._rows = rows
        self._proxy_row = None

    def _inverse(self) -> np.ndarray:
        if self._proxy_row is None:
            inverse = np.full(len(self._shown), -1, np.int64)
            inverse[self._rows] = np.arange(len(self._rows), dtype=np.int64)
            self._proxy_row = inverse
        return self._proxy_row

    # -- sorting and filtering -----------------------------------------------------------
    def sortColumn(self) -> int:  # noqa: N802
        return self._column

    def sortOrder(self) -> Qt.SortOrder:  # noqa: N802
        return self._order

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._column, self._order = int(column), Qt.SortOrder(order)
        if self._source is None:
            return
        if self._column < 0:  # the source's own order
            self._keys = np.zeros(len(self._shown), np.float64)
            order_all = np.arange(len(self._shown), dtype=np.int64)
        else:
            self._keys = self._sort_keys(None)
            # stable, from the order shown: rows that tie keep theirs (sort by score, then by level)
            order_all = self._all[np.argsort(self._keys[self._all], kind="stable")]
        self._relayout(order_all, self._shown, QAbstractItemModel.LayoutChangeHint.VerticalSortHint)

    def set_filters(
        self, *, level: DamageLevel | None = None, state: ReviewState | None = None, min_score: float = 0.0
    ) -> None:
        self._level, self._state, self._min_score = level, state, min_score
        shown = self._accepts(None)
        if not np.array_equal(shown, self._shown):
            self._relayout(self._all, shown, QAbstractItemModel.LayoutChangeHint.NoLayoutChangeHint)

    def accepts(self, source_row: int) -> bool:
        """Whether the source row passes the filters."""
        return bool(self._shown[source_row])

    def shown_source_rows(self) -> np.ndarray:
        """The source rows shown, in display order (a copy)."""
        return self._rows.copy()

    def nearest_shown(self, source_row: int, before: np.ndarray) -> int | None:
        """The source row the view highlights when ``source_row`` leaves the rows shown
        ``before``: the next of them still shown, else the previous one (``None``: none)."""
        at = np.flatnonzero(before == source_row)
        if not len(at):
            return None
        i = int(at[0])
        after = before[i + 1:]
        hits = np.flatnonzero(self._shown[after])
        if len(hits):
            return int(after[hits[0]])
        hits = np.flatnonzero(self._shown[before[:i]])
        return int(before[hits[-1]]) if len(hits) else None

    def _relayout(self, order_all: np.ndarray, shown: np.ndarray, hint) -> None:  # noqa: ANN001
        """Show ``order_all`` filtered by ``shown`` as one layout change; the persistent
        indexes (the selection, the current row) follow their rows, or become invalid when
        their rows are filtered out."""
        _emit_layout(self.layoutAboutToBeChanged, hint)
        before = self.persistentIndexList()
        sources = [int(self._rows[index.row()]) for index in before]
        self._all, self._shown = order_all, shown
        self._set_rows(order_all[shown[order_all]])
        inverse = self._inverse()
        after = [self.index(int(inverse[row]), index.column()) if inverse[row] >= 0 else QModelIndex()
                 for index, row in zip(before, sources)]
        self.changePersistentIndexList(before, after)
        _emit_layout(self.layoutChanged, hint)

    # -- following the source ------------------------------------------------------------
    def _source_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles=None) -> None:
        roles = list(roles or ())
        first, last = top_left.row(), bottom_right.row()
        left, right = top_left.column(), bottom_right.column()
        if first < 0 or last < first:
            return
        rows = np.arange(first, last + 1, dtype=np.int64)
        filtered = any(left <= column <= right for column in _FILTER_COLUMNS)
        sorted_on = 0 <= self._column and left <= self._column <= right
        if filtered:
            levels, states, scores = self._source.filter_fields(rows)
            self._levels[first:last + 1], self._states[first:last + 1], self._scores[first:last + 1] = (
                levels, states, scores)
        if sorted_on:
            self._keys[first:last + 1] = self._sort_keys(rows)
        if (filtered or sorted_on) and len(rows) > self.BULK_ROWS:
            shown = self._shown.copy()
            shown[first:last + 1] = self._accepts(rows)
            order_all = self._all[np.argsort(self._keys[self._all], kind="stable")] if sorted_on else self._all
            self._relayout(order_all, shown, QAbstractItemModel.LayoutChangeHint.NoLayoutChangeHint)
        elif filtered or sorted_on:
            for row in range(first, last + 1):
                self._follow_row(row, sorted_on)
        if not len(self._rows):
            return
        if len(rows) > self.BULK_ROWS:
            self.dataChanged.emit(self.index(0, left), self.index(len(self._rows) - 1, right), roles)
            return
        inverse = self._inverse()
        for row in range(first, last + 1):
            at = int(inverse[row])
            if at >= 0:
                self.dataChanged.emit(self.index(at, left), self.index(at, right), roles)

    def _follow_row(self, row: int, sorted_on: bool) -> None:
        """One source row changed: move it to its place, hide or show it."""
        moved = sorted_on and self._reposition(row)
        was, now = bool(self._shown[row]), bool(self._accepts(np.array([row]))[0])
        if was and not now:
            at = int(self._inverse()[row])
            self.beginRemoveRows(QModelIndex(), at, at)
            self._shown[row] = False
            self._set_rows(np.delete(self._rows, at))
            self.endRemoveRows()
        elif now and not was:
            shown = self._shown.copy()
            shown[row] = True
            rows = self._all[shown[self._all]]
            at = int(np.flatnonzero(rows == row)[0])
            self.beginInsertRows(QModelIndex(), at, at)
            self._shown = shown
            self._set_rows(rows)
            self.endInsertRows()
        elif now and moved:
            self._relayout(self._all, self._shown, QAbstractItemModel.LayoutChangeHint.VerticalSortHint)

    def _reposition(self, row: int) -> bool:
        """Put a row whose sort key changed where it now sorts, after the rows it ties
        with; one still in order with its neighbours stays. Whether it moved."""
        order_all, keys = self._all, self._keys
        i = int(np.flatnonzero(order_all == row)[0])
        key = keys[row]
        if (i == 0 or keys[order_all[i - 1]] <= key) and (i == len(order_all) - 1 or key <= keys[order_all[i + 1]]):
            return False
        rest = np.delete(order_all, i)
        at = int(np.searchsorted(keys[rest], key, side="right"))
        self._all = np.insert(rest, at, row)
        return True

    def _source_rows_about_to_be_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        # the rows leave the view while the source still has them, as with Qt's proxy (the
        # view then highlights the next row when the current one goes)
        inverse = self._inverse()
        gone = np.sort(inverse[first:last + 1][inverse[first:last + 1] >= 0])
        runs = np.split(gone, np.flatnonzero(np.diff(gone) != 1) + 1) if len(gone) else []
        for run in reversed(runs):
            start, end = int(run[0]), int(run[-1])
            self.beginRemoveRows(QModelIndex(), start, end)
            self._set_rows(np.delete(self._rows, np.s_[start:end + 1]))
            self.endRemoveRows()
        self._all = self._all[(self._all < first) | (self._all > last)]

    def _source_rows_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        count = last - first + 1
        gone = np.s_[first:last + 1]
        self._levels, self._states, self._scores, self._keys, self._shown = (
            np.delete(a, gone) for a in (self._levels, self._states, self._scores, self._keys, self._shown))
        self._all[self._all > last] -= count
        rows = self._rows.copy()
        rows[rows > last] -= count
        self._set_rows(rows)

    def _source_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        count = last - first + 1
        self._all[self._all >= first] += count
        shifted = self._rows.copy()
        shifted[shifted >= first] += count
        self._set_rows(shifted)
        new = np.arange(first, last + 1, dtype=np.int64)
        levels, states, scores = self._source.filter_fields(new)
        self._levels = np.insert(self._levels, first, levels)
        self._states = np.insert(self._states, first, states)
        self._scores = np.insert(self._scores, first, scores)
        keys = self._sort_keys(new) if self._column >= 0 else np.zeros(count, np.float64)
        self._keys = np.insert(self._keys, first, keys)
        self._shown = np.insert(self._shown, first, self._accepts(new))
        if self._column < 0:
            self._all = np.arange(len(self._shown), dtype=np.int64)
        else:  # each after the rows it ties with, the new ones in their own order
            new = new[np.argsort(keys, kind="stable")]
            at = np.searchsorted(self._keys[self._all], self._keys[new], side="right")
            self._all = np.insert(self._all, at, new)
        target = self._all[self._shown[self._all]]
        places = np.flatnonzero((target >= first) & (target <= last))
        # inserted in display order, a run of neighbours at a time: each lands at its final row
        for run in np.split(places, np.flatnonzero(np.diff(places) != 1) + 1) if len(places) else []:
            start, end = int(run[0]), int(run[-1])
            self.beginInsertRows(QModelIndex(), start, end)
            self._set_rows(np.insert(self._rows, start, target[start:end + 1]))
            self.endInsertRows()

    # -- the model -----------------------------------------------------------------------
    def mapToSource(self, proxy_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:  # noqa: N802
        if not proxy_index.isValid() or self._source is None:
            return QModelIndex()
        return self._source.index(int(self._rows[proxy_index.row()]), proxy_index.column())

    def mapFromSource(self, source_index: QModelIndex | QPersistentModelIndex) -> QModelIndex:  # noqa: N802
        if not source_index.isValid():
            return QModelIndex()
        at = int(self._inverse()[source_index.row()])
        return QModelIndex() if at < 0 else self.index(at, source_index.column())

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        return None if self._source is None else self._source.headerData(section, orientation, role)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._source is None:
            return None
        # createIndex, not index(): no calls back into Python for the bounds (it paints)
        return self._source.data(self._source.createIndex(int(self._rows[index.row()]), index.column()), role)


def _emit_layout(signal, hint: QAbstractItemModel.LayoutChangeHint) -> None:  # noqa: ANN001
    signal["QList<QPersistentModelIndex>,QAbstractItemModel::LayoutChangeHint"].emit([], hint)


class _Header(QHeaderView):
    """Column headings that keep room for the sort arrow only on the column it is drawn on:
    Qt keeps it on every heading, and at 1366x768 the table's eight columns were wider than
    the Review Table's dock (the State column cut "accepted", Origin past the right edge)."""

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        #: told the column sorted on now and the width its heading and arrow need (``None``:
        #: the section is widened): :meth:`_ColumnFit.sorted_on`
        self.arrow_room: Callable[[int, int], None] | None = None
        self.sortIndicatorChanged.connect(self._room_for_the_arrow)

    def sectionSizeFromContents(self, logical_index: int) -> QSize:  # noqa: N802 - Qt's name
        size = super().sectionSizeFromContents(logical_index)
        if self.isSortIndicatorShown() and logical_index != self.sortIndicatorSection():
            size.setWidth(self._without_arrow(size))
        return size

    def heading_width(self, logical_index: int) -> int:
        """The width the column's heading needs, without the sort arrow."""
        size = super().sectionSizeFromContents(logical_index)
        return self._without_arrow(size) if self.isSortIndicatorShown() else size.width()

    def _without_arrow(self, size: QSize) -> int:
        # what QHeaderView adds for the arrow: the heading's height and a margin
        arrow = size.height() + self.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, self)
        return max(self.minimumSectionSize(), size.width() - arrow)

    def _room_for_the_arrow(self, logical_index: int, _order: Qt.SortOrder) -> None:
        """The column sorted on now is widened, where it must be, to show its heading and arrow."""
        if not 0 <= logical_index < self.count():
            return
        if self.arrow_room is not None:
            self.arrow_room(logical_index, self.sectionSizeHint(logical_index))
        else:
            self.resizeSection(logical_index, max(self.sectionSize(logical_index), self.sectionSizeHint(logical_index)))


class _ColumnFit(QObject):
    """Keeps a table's columns within its width, so it never scrolls sideways.

    Each column is as wide as it wants (its contents' and heading's, or the width the
    reviewer dragged it to; the column sorted on, room for its arrow too, which goes with the
    sort) and the last column shown takes what is left. Where they are
    wider than the table, the columns of :data:`FOLD_ORDER` are folded away, then those of
    :data:`CUT_ORDER` cut to their least width; :meth:`DetectionsPanel.cell_tip` reads
    what is folded or cut. At 853x533 (a 1280x800 laptop at 150%) the eight columns were
    wider than the Review Table, which scrolled sideways to its Site and Origin columns.
    """

    def __init__(self, table: QTableView, least: dict[int, int]) -> None:
        super().__init__(table)
        self._table, self._header = table, table.horizontalHeader()
        self._least = least  # column -> the width it may be cut to
        self._wanted: dict[int, int] = {}
        self._arrow: tuple[int, int] | None = None  # the column sorted on, and its heading's width with the arrow
        self._folded: tuple[int, ...] = ()
        self._fitting = False
        self._header.sectionResized.connect(self._on_section_resized)
        table.viewport().installEventFilter(self)

    def folded(self) -> tuple[int, ...]:
        """The columns folded away now."""
        return self._folded

    def wanted(self, column: int) -> int:
        width = self._wanted.get(column, self._header.sectionSize(column))
        if self._arrow is not None and self._arrow[0] == column:
            width = max(width, self._arrow[1])
        return width

    def measure(self, contents: dict[int, int]) -> None:
        """Each column wants its contents' width (``contents``: column -> width) or its
        heading's, whichever is wider, from now."""
        header = self._header
        self._wanted = {column: max(contents.get(column, 0), header.heading_width(column))
                        for column in range(header.count())}
        self.fit()

    def want(self, column: int, width: int) -> None:
        """``column`` wants ``width`` at least (a text it must read whole)."""
        self._wanted[column] = max(self._wanted.get(column, 0), width)
        self.fit()

    def sorted_on(self, column: int, width: int) -> None:
        """The rows are sorted on ``column``, whose heading and arrow need ``width``: the
        column sorted on before gives its arrow's room back."""
        self._arrow = (column, width)
        self.fit()

    def fit(self) -> None:
        header = self._header
        count = header.count()
        room = self._table.viewport().width()
        if count == 0 or room <= 0:
            return
        shown = list(range(count))
        for column in FOLD_ORDER:
            if sum(self.wanted(c) for c in shown) <= room:
                break
            shown.remove(column)
        widths = {column: self.wanted(column) for column in shown}
        over = sum(widths.values()) - room
        for column in CUT_ORDER:
            if over <= 0:
                break
            cut = max(0, min(over, widths[column] - self._least.get(column, widths[column])))
            widths[column] -= cut
            over -= cut
        if over < 0:
            widths[shown[-1]] -= over  # the last column shown takes what is left
        self._folded = tuple(column for column in range(count) if column not in widths)
        self._fitting = True
        try:
            for column in range(count):
                header.setSectionHidden(column, column not in widths)
                if column in widths and header.sectionSize(column) != widths[column]:
                    header.resizeSection(column, widths[column])
        finally:
            self._fitting = False
        names = ", ".join(COLUMNS[c] for c in self._folded)
        header.setToolTip(f"{names}: folded away for room, each row's tooltip reads them; a wider panel shows them"
                          if names else "")

    def _on_section_resized(self, column: int, _old: int, new: int) -> None:
        if self._fitting:
            return
        self._wanted[column] = new  # the reviewer's drag, or a column widened for its sort arrow
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False


class _TipsForWhatIsCut(QStyledItemDelegate):
    """A cell's tooltip reads what the table's width hides: its text where it is drawn cut,
    and the row's values in the columns folded away (:meth:`DetectionsPanel.cell_tip`)."""

    def __init__(self, panel: DetectionsPanel) -> None:
        super().__init__(panel.table)
        self._panel = panel

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem,  # noqa: N802
                  index: QModelIndex) -> bool:
        if event.type() != QEvent.Type.ToolTip:
            return super().helpEvent(event, view, option, index)
        tip = self._panel.cell_tip(index)
        if tip:
            QToolTip.showText(event.globalPos(), tip, view, view.visualRect(index))
        else:
            QToolTip.hideText()
        return True


class _Table(QTableView):
    """A table whose focus arriving (Tab, a click on the header) never counts as the
    user picking a row: Qt makes the first row current on keyboard focus.

    Home and End go to its first and last rows, as in the Sites list: they were the
    window's first and last frame, the highlight staying put (and a table's own Home and
    End only go across a row, which a table of whole rows has no use for)."""

    _ROW_ENDS = (Qt.Key.Key_Home, Qt.Key.Key_End)

    def __init__(self, panel: DetectionsPanel) -> None:
        super().__init__()
        self._panel = panel

    def event(self, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and event.key() in self._ROW_ENDS
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            event.accept()  # the table's key, not the window's First or Last Frame
            return True
        return super().event(event)

    def moveCursor(self, action: QAbstractItemView.CursorAction,  # noqa: N802 - Qt's name
                   modifiers: Qt.KeyboardModifier) -> QModelIndex:
        if action in (QAbstractItemView.CursorAction.MoveHome, QAbstractItemView.CursorAction.MoveEnd):
            modifiers |= Qt.KeyboardModifier.ControlModifier  # the first or last row, not the row's first cell
        return super().moveCursor(action, modifiers)

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

    #: Rows read to size a column to its contents on a double click on its edge.
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
        # a value typed counts on Enter, not at its first key; one out of range stays as typed, marked
        self.score_filter = ScoreBox(prefix="score ≥ ")
        self.score_filter.setValue(0.0)
        self._min_score = self.score_filter.value()  # the filter's own: the box shows it to 0.01
        for widget in (self.level_filter, self.state_filter):
            widget.currentIndexChanged.connect(self._apply_filters)
        self.score_filter.score_chosen.connect(self._score_chosen)

        self._echo = False
        self.table = _Table(self)
        self.table.setHorizontalHeader(_Header())
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the next control, not the next cell
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        # Columns are sized once per fill from the widest text each can show, measured by
        # the style (:meth:`_cell_width`), no row read: sizing them live
        # (ResizeToContents) read every row again after each edit, half a second per key
        # press on the demo's 2,000 rows, and sizing them from a sample of 64 rows called
        # the model's ``data`` 4,096 times, a third of a second of each opening.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setResizeContentsPrecision(self.SIZE_SAMPLE_ROWS)
        # within the table's width: the last column shown takes the room left, and a narrow
        # panel folds the least needed columns away
        self.columns = _ColumnFit(self.table, {SITE_COLUMN: self._text_width("#88"),
                                               COLUMNS.index("Level"): self._text_width("Sev") + 16})
        header.arrow_room = self.columns.sorted_on
        self.columns.sorted_on(header.sortIndicatorSection(), header.sectionSizeHint(header.sortIndicatorSection()))
        self.table.setItemDelegate(_TipsForWhatIsCut(self))
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)

        # the Edit menu's items for the selected detection, with its keys
        self.accept_button = QPushButton("Accept (A)")
        self.accept_button.setToolTip("Accept the selected detection (Edit > Accept Detection)")
        self.reject_button = QPushButton("Reject (X)")
        self.reject_button.setToolTip("Reject the selected detection (Edit > Reject Detection)")
        self.delete_button = QPushButton("Delete (Del)")
        self.delete_button.setToolTip("Delete the selected detection (Edit > Delete Detection)")
        self.relabel_buttons = {}
        for level in DamageLevel:
            button = QPushButton(_level_icon(level), f"{level.label} ({int(level)})")
            button.setToolTip(f"Relabel the selected detection as {level.label} (Edit > Relabel Detection as "
                              f"{level.label})")
            self.relabel_buttons[level] = button
        self.next_button = QPushButton("Next unreviewed (N)")
        self.next_button.setToolTip("The next detection still to review (Edit > Next Unreviewed Detection)")
        self.pending_label = QLabel("no detections")
        # wraps: one line of "1234 left to review of 2345 (456 more under the score)" set the
        # panel's least width, and the window's with it (past a 1024-pixel screen's edge)
        self.pending_label.setWordWrap(True)

        filters = QHBoxLayout()
        filters.addWidget(self.level_filter)
        filters.addWidget(self.state_filter)
        filters.addWidget(self.score_filter)
        # two rows (the decisions, then the levels): one row of six asked for the width of a
        # 1366-pixel screen's right column alone, and left the video's transport none
        buttons = QGridLayout()
        for index, button in enumerate((self.accept_button, self.reject_button, self.delete_button,
                                        *self.relabel_buttons.values())):
            reach_by_tab(button)  # Tab reaches it; a click leaves the focus on the table
            buttons.addWidget(button, index // 3, index % 3)
        buttons.setColumnStretch(3, 1)
        reach_by_tab(self.next_button)
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
        current = self.table.currentIndex()
        row = self.proxy.mapToSource(current).row() if current.isValid() else -1
        before = self.proxy.shown_source_rows() if row >= 0 else None
        self.proxy.set_filters(
            level=self.level_filter.currentData(),
            state=self.state_filter.currentData(),
            min_score=self._min_score,
        )
        if before is not None and not self.proxy.accepts(row):
            # The filter took the highlighted row away: the view highlights the next row
            # shown (else the previous), and says so, as when a row is removed from it.
            neighbour = self.proxy.nearest_shown(row, before)
            if neighbour is not None:
                self.table.setCurrentIndex(self.proxy.mapFromSource(self.model.index(neighbour, current.column())))

    def _score_chosen(self, value: float) -> None:
        self._min_score = value
        self._apply_filters()

    def show_threshold(self, value: float) -> None:
        """Filter at ``value`` (the window's threshold, to any precision: one the command
        line saved), the score box showing it to 0.01 without saying it changed."""
        if self.score_filter.value() != value or self.score_filter.problem():
            self.score_filter.show_value(value)
        self._min_score = max(value, self.score_filter.low)
        self._apply_filters()

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._echo or not current.isValid():
            return
        det_id = current.data(DETECTION_ID_ROLE)
        if det_id is not None:
            self.detection_activated.emit(int(det_id))

    def set_sites(self, site_of: dict[int, int], unconfirmed: frozenset[int] = frozenset()) -> None:
        """The Site column's sites (:meth:`DetectionTableModel.set_sites`), widened to read
        the widest of them whole ("#12 unconfirmed"); a width the reviewer gave it that is
        wider is kept."""
        self.model.set_sites(site_of, unconfirmed)
        if not site_of:
            return
        self._widen_to_read(SITE_COLUMN, [f"#{max(site_of.values())}" + (" unconfirmed" if unconfirmed else "")])

    def cell_tip(self, index: QModelIndex) -> str:
        """The tooltip of a cell: its text where the column is too narrow to draw it whole,
        the row's values in the columns folded away, then the column's own tooltip."""
        if not index.isValid():
            return ""
        lines = []
        text = index.data(Qt.ItemDataRole.DisplayRole)
        if text and self._drawn_cut(index):
            lines.append(f"{COLUMNS[index.column()]}: {text}")
        for column in self.columns.folded():
            value = index.siblingAtColumn(column).data(Qt.ItemDataRole.DisplayRole)
            if value:
                lines.append(f"{COLUMNS[column]}: {value}")
        own = index.data(Qt.ItemDataRole.ToolTipRole)
        if own:
            lines.append(str(own))
        return "\n".join(lines)

    def _drawn_cut(self, index: QModelIndex) -> bool:
        option = QStyleOptionViewItem()
        option.initFrom(self.table.viewport())
        option.font, option.fontMetrics = self.table.font(), self.table.fontMetrics()
        option.decorationSize = self.table.iconSize() if self.table.iconSize().isValid() else QSize(16, 16)
        wanted = self.table.itemDelegate().sizeHint(option, index).width()
        return wanted > self.table.horizontalHeader().sectionSize(index.column())

    def _text_width(self, text: str) -> int:
        """The width a column needs to read ``text`` whole."""
        margin = 2 * self.table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.table) + 12
        return self.table.fontMetrics().horizontalAdvance(text) + margin

    def _cell_width(self, text: str, icon: QIcon | None = None) -> int:
        """The width a cell showing ``text`` (after ``icon``) asks for, as the table's
        delegate measures one (the style's item size, and the grid line), without a row."""
        option = QStyleOptionViewItem()
        option.initFrom(self.table.viewport())
        option.font, option.fontMetrics = self.table.font(), self.table.fontMetrics()
        option.text = text
        option.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay
        if icon is not None:
            option.icon = icon
            option.decorationSize = icon.actualSize(self.table.iconSize() if self.table.iconSize().isValid()
                                                    else QSize(16, 16))
            option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
        size = self.table.style().sizeFromContents(QStyle.ContentsType.CT_ItemViewItem, option, QSize(), self.table)
        return size.width() + (1 if self.table.showGrid() else 0)

    def _contents_widths(self) -> dict[int, int]:
        """Each column's width to show its widest text whole (:meth:`DetectionTableModel.widest_texts`;
        a number's digits as the font's widest digit)."""
        metrics = self.table.fontMetrics()
        widest_digit = max("0123456789", key=metrics.horizontalAdvance)
        as_widest = str.maketrans("0123456789", widest_digit * 10)
        level_icon = _level_icon(DamageLevel.SEVERE)
        return {column: max(self._cell_width(text.translate(as_widest), level_icon if column == 3 else None)
                            for text in texts)
                for column, texts in self.model.widest_texts().items() if texts}

    def set_detections(self, detections, pts_s: dict[int, float] | None = None) -> None:
        """Replace every row (a new project or run); the selection is not echoed."""
        self._echo = True
        try:
            self.model.set_detections(detections, pts_s)
        finally:
            self._echo = False
        self.columns.measure(self._contents_widths())
        # "accepted" read whole, as the reviewer's decision says it
        self._widen_to_read(COLUMNS.index("State"), [state.value for state in ReviewState])

    def _widen_to_read(self, column: int, words: list[str]) -> None:
        """Widen ``column``, where it must be, to show the widest of ``words`` whole
        (where the table has the room: :class:`_ColumnFit`)."""
        self.columns.want(column, max(self._text_width(word) for word in words))

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

    def set_pending_count(self, pending: int, total: int, under: int = 0) -> None:
        """``pending`` of the ``total`` detections shown at the score are left to review;
        ``under`` more under the score (hidden)."""
        if total == 0:
            text = "no detections"
        elif pending == 0:
            text = f"all {total} reviewed"
        else:
            text = f"{pending} left to review of {total}"
        if under:
            text += f" ({under} more under the score)"
        self.pending_label.setText(text)
