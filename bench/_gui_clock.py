"""How long the GUI thread went without turning its event loop: the window benches'
measure of a freeze."""

from __future__ import annotations

import time


class GuiClock:
    """The longest stretch the GUI thread went without turning its event loop, from a
    timer firing every few milliseconds (start it on the GUI thread, with a QApplication)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.last = time.perf_counter()
        self.longest = 0.0
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def reset(self) -> None:
        self.last = time.perf_counter()
        self.longest = 0.0
