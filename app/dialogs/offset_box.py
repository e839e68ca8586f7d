"""The telemetry time offset's box, shared by the analysis and georeferencing dialogs."""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import QWidget

from app.dialogs.bounded_spin import BoundedSpinBox

#: The largest offset the box takes, either way (seconds): two days, so that a log kept in
#: local time (up to 14 hours from UTC) whose date is also a day off can be matched, as
#: ``damagemap telemetry --video`` suggests it (``-86400`` for a clock a day ahead).
OFFSET_LIMIT_S = 2 * 86_400.0


class OffsetSpinBox(BoundedSpinBox):
    """Seconds added to video time to match the telemetry clock, to the hundredth.

    :meth:`offset_s` gives the offset the box was opened with, as it was, while the box
    still shows it untouched: an offset past :data:`OFFSET_LIMIT_S` or finer than the box
    shows (set on the command line) is kept, never refused, clamped or rounded by opening
    a dialog.
    """

    def __init__(self, offset_s: float, parent: QWidget | None = None) -> None:
        super().__init__(
            "Telemetry time offset", -OFFSET_LIMIT_S, OFFSET_LIMIT_S, decimals=2, suffix=" s",
            why="two days either way: a log kept in local time, its date a day off too",
            tip="Added to video time to match the telemetry clock.", parent=parent)
        self.setValue(offset_s)
        self._opened_with = (float(offset_s), self.value())

    def show_offset(self, offset_s: float) -> None:
        """Show ``offset_s`` as if opened with it (kept as it is while untouched)."""
        self.setValue(offset_s)
        self._opened_with = (float(offset_s), self.value())

    def offset_s(self) -> float:
        """The offset in the box: the one it was opened with while it shows it untouched."""
        given, shown = self._opened_with
        return given if abs(self.value() - shown) < 0.005 else self.value()

    def untouched(self) -> bool:
        """Whether the box still shows the offset it was opened with."""
        return abs(self.value() - self._opened_with[1]) < 0.005

    def problem(self) -> str | None:
        """As :meth:`BoundedSpinBox.problem`, none while the offset opened with is untouched."""
        problem = super().problem()
        return None if problem and self.untouched() and self.hasAcceptableInput() else problem


__all__ = ["OFFSET_LIMIT_S", "OffsetSpinBox"]
