"""The Review table sorts and filters with arrays of keys (no Python call per row or per
comparison): what it shows must be what a plain Python sort and filter of the same
detections give, through header clicks, filter changes and edits."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyleOptionViewItem

from app.widgets.detections_table import (
    COLUMNS,
    DETECTION_ID_ROLE,
    FOLD_ORDER,
    ORIGIN_COLUMN,
    SITE_COLUMN,
    SORT_ROLE,
    DetectionsPanel,
)
from core.types import DamageLevel, Detection, Origin, ReviewState

ASC, DESC = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder


def _detections(n: int, seed: int = 3) -> list[Detection]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        frame = i // 7
        score = round(rng.uniform(0.2, 1.0), 2)  # two decimals: many ties
        refined = round(rng.uniform(0.2, 1.0), 2) if rng.random() < 0.3 else None
        out.append(Detection(frame, DamageLevel(rng.randint(1, 3)), score, (1.0, 1.0, 5.0, 5.0),
                             refined_score=refined, review=rng.choice(list(ReviewState)),
                             origin=rng.choice(list(Origin)), id=1000 - 3 * i))  # ids fall as frames rise
    rng.shuffle(out)
    return out


def _sites(detections: list[Detection]) -> tuple[dict[int, int], frozenset[int]]:
    rng = random.Random(5)
    return {d.id: rng.randint(1, 12) for d in detections if rng.random() < 0.8}, frozenset({2, 7})


@pytest.fixture
def panel(qtbot):
    panel = DetectionsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 400)
    panel.show()
    return panel


def _shown_ids(panel) -> list[int]:
    proxy = panel.proxy
    return [proxy.index(r, 0).data(DETECTION_ID_ROLE) for r in range(proxy.rowCount())]


def _key(panel, column: int):
    """A detection id -> its cell's sort value, read through the source model's own role."""
    model = panel.model
    return lambda det_id: model.index(model.row_of(det_id), column).data(SORT_ROLE)


def _passes(det: Detection, level, state, min_score: float) -> bool:  # noqa: ANN001
    return ((level is None or det.level is level) and (state is None or det.review is state)
            and (det.review is ReviewState.ACCEPTED or det.final_score >= min_score))


def _set_filters(panel, level, state, min_score: float) -> None:  # noqa: ANN001
    panel.level_filter.setCurrentIndex(panel.level_filter.findData(level) if level is not None else 0)
    panel.state_filter.setCurrentIndex(panel.state_filter.findData(state) if state is not None else 0)
    panel.show_threshold(min_score)


def test_header_clicks_and_filters_show_what_a_plain_sort_and_filter_give(panel):
    """Every column, both ways, one after the other: the rows shown are exactly Python's
    stable sort of the previous order (rows that tie keep the order they had: sorted by
    score, then by level, each level's rows stay by score), filtered."""
    detections = _detections(400)
    by_id = {d.id: d for d in detections}
    panel.set_detections(detections, {f: 0.25 * f for f in range(0, 60, 2)})  # odd frames have no time
    panel.model.set_sites(*_sites(detections))
    panel.show_threshold(0.0)
    # the table opens sorted by frame; a frame's rows by id
    order = sorted(by_id, key=lambda i: (by_id[i].frame_index, i))
    assert _shown_ids(panel) == order

    rng = random.Random(11)
    steps = [(c, o) for c in range(len(COLUMNS)) for o in (ASC, DESC)]
    rng.shuffle(steps)
    filters = [(None, None, 0.0), (None, None, 0.55), (DamageLevel.SEVERE, None, 0.3),
               (None, ReviewState.PENDING, 0.7), (DamageLevel.DEBRIS, ReviewState.ACCEPTED, 0.9)]
    for step, (column, sort_order) in enumerate(steps):
        level, state, min_score = filters[step % len(filters)]
        _set_filters(panel, level, state, min_score)
        panel.table.sortByColumn(column, sort_order)
        order = sorted(order, key=_key(panel, column), reverse=sort_order == DESC)
        expected = [i for i in order if _passes(by_id[i], level, state, min_score)]
        assert _shown_ids(panel) == expected, (COLUMNS[column], sort_order, level, state, min_score)
        # each shown row maps to its source row and back
        proxy, model = panel.proxy, panel.model
        for r in range(proxy.rowCount()):
            source = proxy.mapToSource(proxy.index(r, column))
            assert model.detection(source.row()).id == expected[r]
            assert proxy.mapFromSource(source).row() == r


def test_the_site_column_reads_unconfirmed_sites_whole(panel):
    """"#12 unconfirmed" fits its column, which is not the last one (the last is cut to
    what is left of a narrow panel)."""
    detections = _detections(120, seed=5)
    panel.set_detections(detections, {})
    panel.resize(420, 300)
    site_of = {d.id: 12 for d in detections[:3]}
    panel.set_sites(site_of, frozenset({12}))
    header = panel.table.horizontalHeader()
    assert SITE_COLUMN != len(COLUMNS) - 1
    assert header.sectionSize(SITE_COLUMN) > panel.table.fontMetrics().horizontalAdvance("#12 unconfirmed")
    texts = [panel.model.index(row, SITE_COLUMN).data() for row in range(panel.model.rowCount())]
    assert texts.count("#12 unconfirmed") == 3


#: the Review Table's width on a 1366x768 screen (the right side's two fifths of the window)
LAPTOP_DOCK_PX = 1366 * 2 // 5


def test_every_column_fits_a_laptop_s_dock_and_the_state_reads_whole(panel, qtbot):
    """At 1366x768 a fresh run (every row pending, every row the model's) cut "accepted" to
    "accept…" (the State column sized from the rows it sampled) and pushed Origin past the
    table's right edge: every heading kept room for a sort arrow, and the last column the
    header's 100 px."""
    detections = sorted((replace(d, review=ReviewState.PENDING, origin=Origin.MODEL) for d in _detections(300, seed=5)),
                        key=lambda d: d.frame_index)
    detections[-1] = replace(detections[-1], review=ReviewState.ACCEPTED)  # past the rows the columns are sized from
    panel.set_detections(detections, {})
    panel.set_sites({d.id: 6 for d in detections[:3]}, frozenset({6}))
    panel.resize(LAPTOP_DOCK_PX, 400)
    table, header = panel.table, panel.table.horizontalHeader()
    qtbot.waitUntil(lambda: table.viewport().width() < LAPTOP_DOCK_PX, timeout=2_000)
    state = COLUMNS.index("State")
    accepted = panel.proxy.index(panel.proxy.rowCount() - 1, state)
    assert accepted.data() == "accepted"
    option = QStyleOptionViewItem()
    option.font, option.fontMetrics = table.font(), table.fontMetrics()
    assert header.sectionSize(state) >= table.itemDelegate().sizeHint(option, accepted).width()
    assert header.length() <= table.viewport().width() and not table.horizontalScrollBar().isVisible()
    origin = COLUMNS.index("Origin")
    assert header.sectionSize(origin) > table.fontMetrics().horizontalAdvance("edited")
    score = COLUMNS.index("Score")
    table.sortByColumn(score, DESC)  # the column sorted on makes room for its arrow
    assert header.sectionSize(score) >= header.sectionSizeHint(score)


def test_filling_the_table_reads_no_row_to_size_its_columns_and_cuts_no_cell(panel, qtbot, monkeypatch):
    """Opening a project sized the columns from 64 rows read through Qt, the model's
    ``data`` called 4,096 times (a third of a second on the GUI thread); the widths come
    from the widest text each column can show, and still no cell of a wide table is cut:
    not the largest id, frame or time (a row no sample reached), nor any level, state or
    origin."""
    detections = [replace(d, id=d.id + 99_000) for d in _detections(2_000, seed=9)]
    times = {d.frame_index: 61.0 * d.frame_index for d in detections}  # minutes of three digits
    panel.resize(1400, 400)
    qtbot.waitUntil(lambda: panel.table.viewport().width() > 1000, timeout=2_000)
    model_type = type(panel.model)
    rows_read: set[int] = set()
    read = model_type.data

    def counted(self, index, role=Qt.ItemDataRole.DisplayRole):  # noqa: ANN001, ANN202
        rows_read.add(index.row())
        return read(self, index, role)

    monkeypatch.setattr(model_type, "data", counted)
    panel.set_detections(detections, times)
    assert rows_read == set()
    monkeypatch.undo()
    panel.set_sites(*_sites(detections))

    table, header = panel.table, panel.table.horizontalHeader()
    option = QStyleOptionViewItem()
    option.initFrom(table.viewport())
    option.font, option.fontMetrics = table.font(), table.fontMetrics()
    for column in range(len(COLUMNS)):
        widest = max(table.itemDelegate().sizeHint(option, panel.proxy.index(row, column)).width()
                     for row in range(panel.proxy.rowCount()))
        assert header.sectionSize(column) >= widest, COLUMNS[column]


#: the Review Table's widths at 853x533 (a 1280x800 laptop at 150%): its least (its buttons'),
#: the Sites panel's least (the two share the dock), and the default layout's
NARROW_DOCK_PX = (340, 412, 500)


@pytest.mark.parametrize("width", NARROW_DOCK_PX)
def test_a_narrow_table_folds_its_least_needed_columns_and_never_scrolls_sideways(panel, qtbot, width):
    """At 853x533 the eight columns were wider than the Review Table, which scrolled
    sideways to its Site column. The least needed fold away (Origin, then ID, then Time),
    each row's tooltip reads them, and what is left fits, the review's own columns shown."""
    detections = sorted(_detections(300, seed=5), key=lambda d: d.frame_index)
    panel.set_detections(detections, {d.frame_index: d.frame_index / 10 for d in detections})
    panel.set_sites({d.id: 12 for d in detections}, frozenset({12}))
    panel.resize(width, 400)
    table, header = panel.table, panel.table.horizontalHeader()
    table.sortByColumn(COLUMNS.index("Score"), DESC)  # the sort arrow asks for room too
    qtbot.waitUntil(lambda: table.viewport().width() < width, timeout=2_000)
    assert header.length() <= table.viewport().width() and not table.horizontalScrollBar().isVisible()
    for name in ("Frame", "Level", "Score", "State", "Site"):
        assert not header.isSectionHidden(COLUMNS.index(name)), name
    folded = [name for name in COLUMNS if header.isSectionHidden(COLUMNS.index(name))]
    assert folded and set(folded) == {COLUMNS[c] for c in FOLD_ORDER[:len(folded)]}  # Origin first
    first = panel.proxy.index(0, COLUMNS.index("Score"))
    det = panel.model.detection(panel.proxy.mapToSource(first).row())
    tip = panel.cell_tip(first)
    assert "Origin: " + det.origin.value in tip
    assert ("ID: " + str(det.id) in tip.split("\n")) == ("ID" in folded)
    site = panel.proxy.index(0, SITE_COLUMN)
    if header.sectionSize(SITE_COLUMN) < table.fontMetrics().horizontalAdvance("#12 unconfirmed"):
        assert "Site: #12 unconfirmed" in panel.cell_tip(site)  # cut: the tooltip reads it whole
    assert "folded away" in header.toolTip()


def test_the_room_for_the_sort_arrow_goes_with_the_sort(panel, qtbot):
    """Each heading clicked kept the room for the sort arrow once the rows were sorted on
    another column: a few clicks, and a narrow table folded columns it had the room for."""
    detections = _detections(120, seed=5)
    panel.set_detections(detections, {d.frame_index: d.frame_index / 10 for d in detections})
    panel.set_sites({d.id: 6 for d in detections}, frozenset({6}))
    panel.resize(NARROW_DOCK_PX[-1], 400)
    table, header = panel.table, panel.table.horizontalHeader()
    qtbot.waitUntil(lambda: table.viewport().width() < NARROW_DOCK_PX[-1], timeout=2_000)
    folded = panel.columns.folded()
    score = COLUMNS.index("Score")
    table.sortByColumn(score, DESC)
    with_arrow = header.sectionSize(score)
    assert with_arrow >= header.sectionSizeHint(score)
    for column in ("Level", "State", "Frame"):
        table.sortByColumn(COLUMNS.index(column), ASC)
    assert header.sectionSize(score) < with_arrow
    assert panel.columns.folded() == folded
    assert header.length() <= table.viewport().width()


@pytest.mark.parametrize("width", [LAPTOP_DOCK_PX, 1920 * 2 // 5])
def test_a_table_with_room_shows_every_column_and_no_tooltip_of_what_it_does_not_cut(panel, qtbot, width):
    detections = _detections(120, seed=5)
    panel.set_detections(detections, {})
    panel.set_sites({d.id: 6 for d in detections}, frozenset({6}))
    panel.resize(width, 400)
    table, header = panel.table, panel.table.horizontalHeader()
    qtbot.waitUntil(lambda: table.viewport().width() < width, timeout=2_000)
    assert not any(header.isSectionHidden(c) for c in range(len(COLUMNS))) and header.toolTip() == ""
    assert header.length() <= table.viewport().width() and not table.horizontalScrollBar().isVisible()
    assert panel.cell_tip(panel.proxy.index(0, COLUMNS.index("Score"))) == ""
    panel.resize(NARROW_DOCK_PX[0], 400)  # narrowed and widened again: every column back
    qtbot.waitUntil(lambda: header.isSectionHidden(ORIGIN_COLUMN), timeout=2_000)
    panel.resize(width, 400)
    qtbot.waitUntil(lambda: not header.isSectionHidden(ORIGIN_COLUMN), timeout=2_000)
    assert header.length() <= table.viewport().width()
    assert header.sectionSize(SITE_COLUMN) >= table.fontMetrics().horizontalAdvance("#6 unconfirmed")


@pytest.mark.parametrize("column", [COLUMNS.index("Frame"), COLUMNS.index("Score"), SITE_COLUMN])
def test_edits_keep_the_rows_sorted_and_filtered(panel, column):
    """Relabels, decisions, deletions and a frame stored by an analysis: the rows shown stay
    the filtered detections in sort order, and the ones the filter takes away are gone."""
    detections = _detections(300, seed=8)
    panel.set_detections(detections, {})
    site_of, unconfirmed = _sites(detections)
    panel.model.set_sites(site_of, unconfirmed)
    panel.table.sortByColumn(column, DESC)
    panel.state_filter.setCurrentIndex(panel.state_filter.findData(ReviewState.PENDING))
    panel.show_threshold(0.4)
    rng = random.Random(2)
    for round_ in range(12):
        current = {d.id: d for d in panel.model.detections()}
        frame = rng.choice(sorted({d.frame_index for d in current.values()}))
        rows = [d for d in current.values() if d.frame_index == frame]
        edited = []
        for d in rows:
            roll = rng.random()
            if roll < 0.25:
                continue  # deleted
            if roll < 0.5:
                d = replace(d, review=rng.choice(list(ReviewState)), level=DamageLevel(rng.randint(1, 3)))
            elif roll < 0.75:
                d = replace(d, refined_score=round(rng.uniform(0.2, 1.0), 2))
            edited.append(d)
        if round_ % 3 == 0:  # an analysis stores a new frame
            new_frame = 500 + round_
            edited_new = [Detection(new_frame, DamageLevel.SEVERE, round(rng.uniform(0.2, 1.0), 2),
                                    (1.0, 1.0, 5.0, 5.0), id=5000 + 10 * round_ + k) for k in range(4)]
            panel.replace_frames({frame: edited, new_frame: edited_new})
        else:
            panel.replace_frames({frame: edited})
        if round_ == 6:  # the map was rebuilt: other sites
            site_of = {i: s % 5 + 1 for i, s in site_of.items()}
            panel.model.set_sites(site_of, unconfirmed)
        now = panel.model.detections()
        key = _key(panel, column)
        expected = {d.id for d in now if _passes(d, None, ReviewState.PENDING, 0.4)}
        shown = _shown_ids(panel)
        assert sorted(shown) == sorted(expected) and len(shown) == len(set(shown))
        keys = [key(i) for i in shown]
        assert keys == sorted(keys, reverse=True)


def test_an_edit_announces_only_the_rows_it_changed(panel):
    """The window gives a frame's detections with their masks, the table read them without:
    every row of an edited frame compared unequal and was announced (and followed by the
    sorted, filtered view row by row), a third of a second at each decision on a long flight."""
    from core.masks import RleMask

    detections = _detections(70)
    panel.set_detections(detections, {})
    mask = RleMask.from_array(np.ones((4, 4), bool))
    frame = [replace(d, mask=mask) for d in detections if d.frame_index == 3]
    decided = replace(frame[0], review=ReviewState.REJECTED if frame[0].review is ReviewState.ACCEPTED
                      else ReviewState.ACCEPTED)
    announced = []
    panel.model.dataChanged.connect(lambda top, bottom, *_: announced.extend(range(top.row(), bottom.row() + 1)))
    panel.replace_frames({3: [decided, *frame[1:]]})
    assert announced == [panel.model.row_of(decided.id)]
    assert panel.model.detection(announced[0]).review is decided.review


def test_a_filter_that_hides_the_highlighted_row_highlights_the_next_one(panel, qtbot):
    """As with a row removed from the view: the next row shown takes the highlight (the
    previous at the end) and is announced, so the player follows it; the selection follows
    its detection through a header click."""
    detections = [Detection(i, DamageLevel.SEVERE, s, (1.0, 1.0, 5.0, 5.0), id=i + 1)
                  for i, s in enumerate((0.9, 0.3, 0.35, 0.8, 0.6, 0.2))]
    panel.set_detections(detections, {})
    panel.show_threshold(0.0)
    panel.select_detection(2)  # score 0.3; 3 (0.35) is hidden too, 4 (0.8) is next
    with qtbot.waitSignal(panel.detection_activated) as activated:
        panel.show_threshold(0.5)
    assert activated.args == [4] and panel.current_detection_id() == 4
    assert [i.data(DETECTION_ID_ROLE) for i in panel.table.selectionModel().selectedRows()] == [4]
    panel.show_threshold(0.0)
    panel.select_detection(6)  # the last row: the previous one shown takes the highlight
    with qtbot.waitSignal(panel.detection_activated) as activated:
        panel.show_threshold(0.5)
    assert activated.args == [5]
    panel.table.sortByColumn(COLUMNS.index("Score"), ASC)  # 5 (0.6) first, then 4 and 1
    assert _shown_ids(panel) == [5, 4, 1] and panel.current_detection_id() == 5
    panel.select_detection(4)
    panel.table.sortByColumn(COLUMNS.index("Score"), DESC)
    assert panel.current_detection_id() == 4 and panel.table.currentIndex().row() == 1
    # a row still shown keeps the highlight, and nothing is announced
    with qtbot.assertNotEmitted(panel.detection_activated):
        panel.show_threshold(0.7)
    assert panel.current_detection_id() == 4 and _shown_ids(panel) == [1, 4]


def test_an_edit_that_hides_the_selected_row_moves_the_highlight_to_the_next(panel):
    """A key that takes the row out of the filter: the view highlights the next row (the
    Review panel then selects it), not announcing it itself."""
    detections = [Detection(0, DamageLevel.SEVERE, s, (1.0, 1.0, 5.0, 5.0), id=i + 1)
                  for i, s in enumerate((0.9, 0.8, 0.7, 0.6))]
    panel.set_detections(detections, {})
    panel.show_threshold(0.0)
    panel.state_filter.setCurrentIndex(panel.state_filter.findData(ReviewState.PENDING))
    panel.table.sortByColumn(COLUMNS.index("Score"), DESC)
    panel.select_detection(2)
    announced = []
    panel.detection_activated.connect(announced.append)
    panel.replace_frames({0: [replace(d, review=ReviewState.ACCEPTED) if d.id == 2 else d for d in detections]})
    assert _shown_ids(panel) == [1, 3, 4] and panel.current_detection_id() == 3 and announced == []
    # a score changed by an edit moves its row
    panel.replace_frames({0: [replace(d, review=ReviewState.ACCEPTED) if d.id == 2
                              else replace(d, refined_score=0.95) if d.id == 4 else d for d in detections]})
    assert _shown_ids(panel) == [4, 1, 3] and panel.current_detection_id() == 3


def test_a_long_review_count_does_not_widen_the_panel(panel, qtbot):
    """The count under the table ("1234 left to review of 2345 (456 more under the score)")
    wraps instead of setting the panel's least width: on a 1024x768 screen it made the
    window about 1130 px wide at its narrowest, the Sites panel's Debris and Merge buttons
    off the screen's right edge."""
    panel.set_pending_count(0, 0)
    narrow = panel.minimumSizeHint().width()
    panel.set_pending_count(1234, 2345, under=456)
    panel.layout().activate()  # the hints as the next layout pass reads them
    assert panel.minimumSizeHint().width() <= narrow
    panel.resize(narrow, 400)
    label = panel.pending_label
    qtbot.waitUntil(lambda: label.width() < label.fontMetrics().horizontalAdvance(label.text()), timeout=2_000)
    assert label.heightForWidth(label.width()) <= label.height()  # every word in view, on two lines
