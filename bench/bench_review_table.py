"""The Review table on a long flight: how long it holds the GUI thread when a project
opens, when a header is clicked, when a filter changes, when the sites arrive and after
one review key.

    QT_QPA_PLATFORM=offscreen python bench/bench_review_table.py                    # 25,620 and 100,000 detections
    QT_QPA_PLATFORM=offscreen python bench/bench_review_table.py --detections 25620 --repeats 5 --old-repeats 3

A project of ``--detections`` detections (``--per-frame`` a frame, random levels, scores
and review states; no masks, no analysis) and a small video of as many frames is written
to a throw-away folder, then opened as the window opens it: a
:class:`app.document.ProjectDocument` with the :class:`app.panels.review_panel.ReviewPanel`
listening (``doc.all_detections(masks=False)`` fills the table). The table's figures
include what the shown view then does before the window is drawn again (its layout and
paint: the events processed). Each figure is the median of ``--repeats`` runs (seconds),
next to two references measured in the same run on the same rows:

* **QSortFilterProxyModel**: the table as it was before (kept below as ``_OldProxy``: Qt's
  proxy sorting through ``data(SORT_ROLE)`` and filtering through ``filterAcceptsRow``,
  both in Python per row or per comparison), over the same source model; median of
  ``--old-repeats`` runs (``--old-repeats 0`` leaves it out: it takes minutes at 100,000);
* **plain Python**: ``sorted()`` of the same rows by the same key, or a list comprehension
  for a filter: what the work costs without any Qt.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs

from app import _refcount_guard  # noqa: E402, F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QSortFilterProxyModel, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.widgets.detections_table import COLUMNS, SITE_COLUMN, SORT_ROLE, DetectionsPanel  # noqa: E402
from core.store import ProjectStore  # noqa: E402
from core.types import DamageLevel, Detection, Frame, Origin, ReviewState  # noqa: E402

#: The columns a reviewer sorts by (header text -> column of app.widgets.detections_table.COLUMNS).
SORTED = ("Frame", "Score", "Level", "Site", "State", "ID", "Time (s)")


class _OldProxy(QSortFilterProxyModel):
    """The Review table's proxy before: Qt sorts through data(SORT_ROLE) and filters
    through this filterAcceptsRow, both calls into Python."""

    def __init__(self, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self._level = self._state = None
        self._min_score = 0.0
        self.setSortRole(SORT_ROLE)

    def set_filters(self, *, level=None, state=None, min_score: float = 0.0) -> None:  # noqa: ANN001
        self.beginFilterChange()
        self._level, self._state, self._min_score = level, state, min_score
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:  # noqa: ANN001, N802
        det = self.sourceModel().detection(source_row)
        if self._level is not None and det.level is not self._level:
            return False
        if self._state is not None and det.review is not self._state:
            return False
        return det.review is ReviewState.ACCEPTED or det.final_score >= self._min_score


def _old_panel():  # noqa: ANN202
    """The Review table's widget with the proxy it had before."""
    panel = DetectionsPanel()
    panel.proxy = _OldProxy(panel)
    panel.proxy.setSourceModel(panel.model)
    panel.table.setModel(panel.proxy)
    panel.table.selectionModel().currentRowChanged.connect(panel._current_changed)
    panel.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)

    def apply_filters(*_args: object) -> None:
        panel.proxy.set_filters(level=panel.level_filter.currentData(), state=panel.state_filter.currentData(),
                                min_score=panel._min_score)

    panel._apply_filters = apply_filters
    for box in (panel.level_filter, panel.state_filter):
        box.currentIndexChanged.disconnect()
        box.currentIndexChanged.connect(apply_filters)
    return panel


def make_project(folder: Path, n: int, per_frame: int, seed: int) -> Path:
    """A project of ``n`` detections over ``ceil(n / per_frame)`` frames of a small video."""
    from engine.video import write_video

    rng = random.Random(seed)
    frames = -(-n // per_frame)
    video = write_video(folder / "flight.mp4", (np.zeros((64, 64, 3), np.uint8) for _ in range(frames)), fps=10.0,
                        gop=250)
    path = folder / "flight.dmproj"
    states = (ReviewState.PENDING,) * 8 + (ReviewState.ACCEPTED,) * 3 + (ReviewState.REJECTED,)
    with ProjectStore.create(path, video_path=video) as store:
        run = store.start_run(model={}, settings={"score_threshold": 0.2})
        left = n
        for index in range(frames):
            count = min(per_frame, left)
            left -= count
            detections = [
                Detection(index, DamageLevel(rng.randint(1, 3)), round(rng.uniform(0.2, 1.0), 3),
                          (10.0 + i, 5.0, 60.0 + i, 40.0), review=rng.choice(states),
                          origin=Origin.EDITED if rng.random() < 0.05 else Origin.MODEL)
                for i in range(count)
            ]
            store.write_frame(run, Frame(index, index / 10.0, 64, 64), detections)
        store.finish_run(run)
    return path


def _seconds(fn) -> float:  # noqa: ANN001
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _shown_seconds(fn) -> float:  # noqa: ANN001
    """``fn`` and what the view then does before the window shows it (layout, paint)."""
    QApplication.processEvents()
    started = time.perf_counter()
    fn()
    QApplication.processEvents()
    return time.perf_counter() - started


def _column(name: str) -> int:
    return COLUMNS.index(name)



def _plain_key(name: str, pts: dict[int, float], site_of: dict[int, int]):  # noqa: ANN202
    return {
        "Frame": lambda d: d.frame_index, "Score": lambda d: d.final_score, "Level": lambda d: int(d.level),
        "Site": lambda d: site_of.get(d.id, 1 << 62), "State": lambda d: d.review.value, "ID": lambda d: d.id,
        "Time (s)": lambda d: pts.get(d.frame_index, float(d.frame_index)),
    }[name]


def measure_table(panel, doc, repeats: int) -> dict[str, list[float]]:  # noqa: ANN001
    """Seconds per measure for one table widget (this table or the old one)."""
    out: dict[str, list[float]] = {}
    dets, pts = doc.all_detections(masks=False), doc.frame_times()
    site_of, unconfirmed = doc.site_assignments()
    threshold = doc.score_threshold
    for _ in range(repeats):
        panel.show_threshold(threshold)
        panel.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        out.setdefault("fill the table (sorted by frame)", []).append(
            _shown_seconds(lambda: panel.set_detections(dets, pts)))
        out.setdefault("sites arrive (Site column)", []).append(
            _shown_seconds(lambda: panel.model.set_sites(site_of, unconfirmed)))
        for name in SORTED:
            column = _column(name)
            for order in (Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder):
                out.setdefault(f"sort by {name}", []).append(
                    _shown_seconds(lambda: panel.table.sortByColumn(column, order)))  # noqa: B023
        # the map rebuilt after an edit (other site numbers) while the table is sorted by site
        panel.table.sortByColumn(SITE_COLUMN, Qt.SortOrder.AscendingOrder)
        renumbered = {det_id: site % 97 + 1 for det_id, site in site_of.items()}
        out.setdefault("sites change, sorted by Site", []).append(
            _shown_seconds(lambda: panel.model.set_sites(renumbered, unconfirmed)))
        out["sites change, sorted by Site"].append(_shown_seconds(lambda: panel.model.set_sites(site_of, unconfirmed)))
        panel.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)
        out.setdefault("score filter 0.50 -> 0.60", []).append(_shown_seconds(lambda: panel.show_threshold(0.6)))
        out.setdefault("score filter 0.60 -> 0.50", []).append(_shown_seconds(lambda: panel.show_threshold(threshold)))
        severe = panel.level_filter.findData(DamageLevel.SEVERE)
        out.setdefault("level filter on/off", []).append(
            _shown_seconds(lambda: panel.level_filter.setCurrentIndex(severe)))
        out["level filter on/off"].append(_shown_seconds(lambda: panel.level_filter.setCurrentIndex(0)))
        pending = panel.state_filter.findData(ReviewState.PENDING)
        out.setdefault("state filter on/off", []).append(
            _shown_seconds(lambda: panel.state_filter.setCurrentIndex(pending)))
        out["state filter on/off"].append(_shown_seconds(lambda: panel.state_filter.setCurrentIndex(0)))
        # one review key: a detection in the middle relabelled (its frame's rows reconciled), sorted by score
        panel.table.sortByColumn(_column("Score"), Qt.SortOrder.DescendingOrder)
        middle = dets[len(dets) // 2]
        panel.select_detection(middle.id)
        frame = [replace(d, level=DamageLevel.DEBRIS, review=ReviewState.ACCEPTED) if d.id == middle.id else d
                 for d in dets if d.frame_index == middle.frame_index]
        out.setdefault("one review key (a row's frame reconciled)", []).append(
            _shown_seconds(lambda: panel.replace_frames({middle.frame_index: frame})))
    return out


def measure_plain(doc, repeats: int) -> dict[str, list[float]]:  # noqa: ANN001
    out: dict[str, list[float]] = {}
    dets, pts = doc.all_detections(masks=False), doc.frame_times()
    site_of, _ = doc.site_assignments()
    threshold = doc.score_threshold

    def shown(min_score: float, level=None, state=None) -> list[Detection]:  # noqa: ANN001
        return [d for d in dets if (level is None or d.level is level) and (state is None or d.review is state)
                and (d.review is ReviewState.ACCEPTED or d.final_score >= min_score)]

    for _ in range(repeats):
        out.setdefault("fill the table (sorted by frame)", []).append(
            _seconds(lambda: sorted(shown(threshold), key=lambda d: (d.frame_index, d.id))))
        out.setdefault("sites arrive (Site column)", []).append(
            _seconds(lambda: [site_of.get(d.id) for d in dets]))
        out.setdefault("sites change, sorted by Site", []).append(
            _seconds(lambda: sorted(dets, key=lambda d: site_of.get(d.id, 1 << 62))))
        for name in SORTED:
            key = _plain_key(name, pts, site_of)
            for reverse in (True, False):
                out.setdefault(f"sort by {name}", []).append(
                    _seconds(lambda: sorted(dets, key=key, reverse=reverse)))  # noqa: B023
        out.setdefault("score filter 0.50 -> 0.60", []).append(_seconds(lambda: shown(0.6)))
        out.setdefault("score filter 0.60 -> 0.50", []).append(_seconds(lambda: shown(threshold)))
        out.setdefault("level filter on/off", []).append(_seconds(lambda: shown(threshold, level=DamageLevel.SEVERE)))
        out.setdefault("state filter on/off", []).append(_seconds(lambda: shown(threshold, state=ReviewState.PENDING)))
    return out


def measure_open(path: Path, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """Opening the project as the window does, with the Review panel and without it; and
    the panel's own reload (what it does on ``opened``)."""
    from app.document import ProjectDocument
    from app.panels.review_panel import ReviewPanel

    with_panel, without, reload = [], [], []
    for _ in range(repeats):
        doc = ProjectDocument()
        without.append(_seconds(lambda: doc.open_path(path)))  # noqa: B023
        doc.close()
        panel = ReviewPanel(doc)
        with_panel.append(_seconds(lambda: doc.open_path(path)))  # noqa: B023
        reload.append(_seconds(panel.reload))
        doc.close()
        panel.deleteLater()
        QApplication.processEvents()
    return with_panel, without, reload


def sites_for(doc, per_site: int) -> None:  # noqa: ANN001
    """Sites as fusion would give them: ``per_site`` sightings each, one in ten unconfirmed."""
    dets = doc.all_detections(masks=False)
    site_of = {d.id: 1 + i // per_site for i, d in enumerate(dets) if d.review is not ReviewState.REJECTED}
    doc.set_sites(site_of, frozenset(range(1, len(dets) // per_site + 2, 10)))


def _fmt(values: list[float] | None) -> str:
    return "—" if not values else f"{statistics.median(values):.3f}"


def _ratio(a: list[float] | None, b: list[float] | None) -> str:
    if not a or not b or statistics.median(b) <= 0:
        return "—"
    return f"{statistics.median(a) / statistics.median(b):.1f}"


def run(n: int, per_frame: int, repeats: int, old_repeats: int, seed: int) -> None:
    from app.document import ProjectDocument

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        path = make_project(Path(tmp), n, per_frame, seed)
        written = time.perf_counter() - started
        with_panel, without, reload = measure_open(path, repeats)
        doc = ProjectDocument()
        doc.open_path(path)
        sites_for(doc, per_site=20)
        new_panel = DetectionsPanel()
        new_panel.resize(900, 600)
        new_panel.show()
        new = measure_table(new_panel, doc, repeats)
        plain = measure_plain(doc, repeats)
        old: dict[str, list[float]] = {}
        if old_repeats:
            old_panel = _old_panel()
            old_panel.resize(900, 600)
            old_panel.show()
            old = measure_table(old_panel, doc, old_repeats)
        shown = new_panel.proxy.rowCount()
        doc.close()
    print(f"\n{n:,} detections ({per_frame} a frame; project written in {written:.1f} s), "
          f"{shown:,} shown at score >= {0.5:.2f} with every filter off")
    print(f"| {'measure':<44} | {'this table':>10} | {'QSortFilterProxyModel':>21} | {'plain Python':>12} "
          f"| {'old / this':>10} | {'this / plain':>12} |")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 23}|{'-' * 14}|{'-' * 12}|{'-' * 14}|")
    print(f"| {'open the project, Review panel listening':<44} | {_fmt(with_panel):>10} | {'—':>21} "
          f"| {'—':>12} | {'—':>10} | {'—':>12} |")
    print(f"| {'open the project, no Review panel':<44} | {_fmt(without):>10} | {'—':>21} "
          f"| {'—':>12} | {'—':>10} | {'—':>12} |")
    print(f"| {'ReviewPanel.reload (what it does on opened)':<44} | {_fmt(reload):>10} | {'—':>21} "
          f"| {'—':>12} | {'—':>10} | {'—':>12} |")
    for name, values in new.items():
        print(f"| {name:<44} | {_fmt(values):>10} | {_fmt(old.get(name)):>21} | {_fmt(plain.get(name)):>12} "
              f"| {_ratio(old.get(name), values):>10} | {_ratio(values, plain.get(name)):>12} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detections", type=int, nargs="+", default=[25_620, 100_000])
    parser.add_argument("--per-frame", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--old-repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    QApplication.instance() or QApplication([])
    print(f"CPU: {cpu_name()}; seconds, median of {args.repeats} runs ({args.old_repeats} for the old proxy)")
    for n in args.detections:
        run(n, args.per_frame, args.repeats, args.old_repeats, args.seed)


if __name__ == "__main__":
    main()
