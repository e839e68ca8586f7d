"""Analysis > Show Run: the project's analysis runs, to look at and review another.

A project holds a run per analysis with other settings or another model (a fine-tuned
one, say). The window shows the latest when it opens a project and follows an analysis
as it runs; this menu goes back to an earlier one: its detections, sites and review,
which the map, the Sites panel and the exports then show. The menu is filled when it
opens, so it lists the runs as the project holds them then.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from core.store import ProjectStore, RunInfo
from core.types import ReviewState


def weights_name(model: Any) -> str:
    """The file a run's model came from (or what the run recorded of it), in a word."""
    if not isinstance(model, dict):
        return "unknown model"
    weights = model.get("weights")
    if weights:
        return Path(str(weights)).name
    return str(model.get("class") or "given model")


def run_label(run: RunInfo, review: dict[ReviewState, int]) -> str:
    """One line for a run: its number, when it started (UTC), the model, how far it got
    and how much of it is reviewed."""
    started = run.created_utc[:16].replace("T", " ")
    state = "complete" if run.finished else "not finished"
    total = sum(review.values())
    reviewed = total - review.get(ReviewState.PENDING, 0)
    frames = f"{run.frames_done} frame{'' if run.frames_done == 1 else 's'}"
    return (f"Run {run.id}: {started} UTC · {weights_name(run.model)} · {frames}, {state} · "
            f"{reviewed} of {total} detections reviewed")


class RunMenu(QMenu):
    """The runs of the open project, the one shown checked; choosing one calls
    ``show_run(run_id)``. ``project()`` gives the open project's store and the run shown
    (``None`` when no project is open)."""

    def __init__(self, title: str, parent: QWidget, *,
                 project: Callable[[], tuple[ProjectStore, int | None] | None],
                 show_run: Callable[[int], None]) -> None:
        super().__init__(title, parent)
        self._project = project
        self._show_run = show_run
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.fill)

    def fill(self) -> None:
        self.clear()
        opened = self._project()
        if opened is None:
            self.addAction("No project open").setEnabled(False)
            return
        store, shown = opened
        group = QActionGroup(self)
        group.setExclusive(True)
        for run in reversed(store.runs()):  # the latest first
            action = self.addAction(run_label(run, store.review_counts(run.id)))
            action.setCheckable(True)
            action.setChecked(run.id == shown)
            action.setToolTip("The window shows this run: its detections, sites, review and exports"
                              if run.id == shown else "Show this run: its detections, sites and review")
            group.addAction(action)
            action.triggered.connect(lambda _checked=False, run_id=run.id: self._choose(run_id, shown))
        if not self.actions():
            self.addAction("Not analysed yet (Analysis > Analyse…)").setEnabled(False)

    def _choose(self, run_id: int, shown: int | None) -> None:
        if run_id != shown:
            self._show_run(run_id)
