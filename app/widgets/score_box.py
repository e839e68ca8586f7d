"""The score threshold's number box (the toolbar's, and the Review table's filter).

A plain ``QDoubleSpinBox`` of 0 to 1 took 1.5 typed as 1.0, and 0.1 under the run's floor
of 0.25 as 0.25, without a word. A :class:`ScoreBox` keeps what is typed, as the dialogs'
:class:`~app.dialogs.bounded_spin.BoundedSpinBox` does: a number out of its limits stays as
typed, marked, its tooltip says the limits and why, and :attr:`ScoreBox.problem_found`
says it (the window shows it in the status bar); the threshold changes only to a number
within them (:attr:`ScoreBox.score_chosen`).
"""

from __future__ import annotations

import html

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from app.dialogs.bounded_spin import MARKED_STYLE, BoundedSpinBox

#: Why the threshold stops where it does.
LIMITS_WHY = "a score is from 0 to 1; the run stored nothing scoring below its analysis threshold"


class ScoreBox(BoundedSpinBox):
    """A score threshold from the run's floor (:meth:`set_floor`) to 1, to 0.01.

    ``score_chosen``: a number within the limits, on Enter, on leaving the box or from its
    arrows (not at each key: "0.80" was taken as 0 at its first one). ``problem_found``:
    what is wrong with a number typed out of them; the threshold keeps its value.
    """

    score_chosen = Signal(float)
    problem_found = Signal(str)

    def __init__(self, *, prefix: str = "", parent: QWidget | None = None) -> None:
        super().__init__("Score threshold", 0.0, 1.0, why=LIMITS_WHY, decimals=2, prefix=prefix, parent=parent)
        self._tip = ""
        self.setSingleStep(0.05)
        self.setKeyboardTracking(False)
        self.lineEdit().textChanged.connect(self._mark)  # as it is typed
        self.valueChanged.connect(self._mark)  # set (Qt fills the text with its signals blocked)
        self.valueChanged.connect(self._chosen)
        self._mark()

    def set_floor(self, floor: float) -> None:
        """The lowest threshold (the run kept nothing scoring less)."""
        self.low = float(floor)
        self._mark()

    def show_value(self, value: float) -> None:
        """Show the window's threshold (what is typed out of range is replaced by it)."""
        self.blockSignals(True)
        try:
            self.setValue(value)
        finally:
            self.blockSignals(False)
        self._mark()

    def set_tip(self, tip: str) -> None:
        """The box's tooltip (rich text) when its number is fine; the problem heads it otherwise."""
        self._tip = tip
        self._mark()

    def _mark(self, *_args: object) -> None:
        problem = self.problem()
        self.lineEdit().setStyleSheet(MARKED_STYLE if problem else "")
        self.setAccessibleDescription(problem or "")
        head = (f"<span style='color:#a02617'>{html.escape(problem)}</span>" if problem
                else html.escape(f"{self.limits_text()}."))
        self.setToolTip(f"{head}<br>{self._tip}" if self._tip else head)

    def _chosen(self, value: float) -> None:
        problem = self.problem()
        if problem:
            self.problem_found.emit(problem)
        else:
            self.score_chosen.emit(value)


__all__ = ["ScoreBox"]
