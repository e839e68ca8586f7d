"""The status bar's widgets: labels that elide and a progress bar that narrows, so a long
project path or run note never pushes Cancel off a small screen; labels that give way to a
message while it shows; the time left in whole seconds."""

from __future__ import annotations

import math
from collections.abc import Sequence

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetricsF, QResizeEvent
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QWidget


def format_eta(seconds: float) -> str:
    """A time left in whole seconds: ``0:34``, ``12:05``, ``1:02:03`` (the player's clock
    shows hundredths; a time left is never that exact)."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ElidedLabel(QLabel):
    """A one-line label that gives way when room is short: it shows its text elided
    ("…") and whole again once the room comes back; :meth:`text` is always the whole text.

    The status bar's labels are these, so that a long project path, run note or badge
    never pushes the Cancel button off a 1280-pixel screen. The hints are QLabel's own
    (margins, padding, a style sheet's frame) with the width of the text shown swapped for
    the whole text's (:meth:`sizeHint`, at most ``hint_width``: a label that stretches
    into the room left then asks for no more than that) or its first ``min_chars``
    characters' (:meth:`minimumSizeHint`).
    """

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight, min_chars: int = 12,
                 hint_width: int | None = None, min_text: str | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._mode = mode
        self._min_chars = min_chars
        #: the least width is at most this text's, whatever is shown: a label whose text grows
        #: as it changes (a frame number's digits) never widens the window's least width past it
        self._min_text = min_text
        self._hint_width = hint_width
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._text = text
        self.updateGeometry()
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = self._fitted(super().sizeHint(), self._text)
        if self._hint_width is not None:
            hint.setWidth(min(hint.width(), max(self._hint_width, self.minimumSizeHint().width())))
        return hint

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        if self._min_text is not None:
            metrics = self.fontMetrics()
            shorter = min(self._text, self._min_text, key=metrics.horizontalAdvance)
            return self._fitted(super().minimumSizeHint(), shorter)
        short = self._text if len(self._text) <= self._min_chars else self._text[: self._min_chars] + "…"
        return self._fitted(super().minimumSizeHint(), short)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()

    def _overhead(self) -> int:
        """What the label adds around its text (margins, padding, frame)."""
        return super().sizeHint().width() - self.fontMetrics().horizontalAdvance(super().text())

    def _fitted(self, hint: QSize, text: str) -> QSize:
        # the text's exact width rounded up: elidedText measures to the fraction of a pixel, and a
        # label given its rounded width cut the last character ("frame 76 / 2…")
        exact = QFontMetricsF(self.font()).horizontalAdvance(text)
        return QSize(self._overhead() + math.ceil(exact) + 1, hint.height())

    def _elide(self) -> None:
        room = self.width() - self._overhead()
        metrics = self.fontMetrics()
        shown = self._text if metrics.horizontalAdvance(self._text) <= room else metrics.elidedText(
            self._text, self._mode, max(0, room))
        if shown != super().text():
            super().setText(shown)


#: Qt's QWIDGETSIZE_MAX (a widget's maximum width when none is set), which PySide6 does not export
NO_MAXIMUM_WIDTH = 16_777_215


def give_way(widgets: Sequence[QWidget], short_px: int) -> None:
    """Make ``short_px`` pixels of room in a status bar for a message, taken from the
    ``widgets`` shown, first to last: each narrows to its least width (an
    :class:`ElidedLabel` elides), and where that is not room enough, each folds away (no
    width) in turn, until the message has its room. Their text and tooltip stay whole, and
    they stay shown to the code that shows or hides them; :func:`take_room_back` makes
    them whole again once the message goes.

    A label as the survey's ("survey town: flight north (1 of 3)") elided to its least
    width next to the demo model's badge still left no room on a 1024-pixel screen for
    the notice that the review was changed outside the window: it read to the middle."""
    shown = [widget for widget in widgets if not widget.isHidden()]
    for widget in shown:  # narrower first
        if short_px <= 0:
            return
        give = min(short_px, max(0, widget.width() - widget.minimumSizeHint().width()))
        if give:
            widget.setMaximumWidth(widget.width() - give)
            short_px -= give
    for widget in shown:  # then out of the way
        if short_px <= 0:
            return
        short_px -= min(widget.width(), widget.maximumWidth())
        widget.setMaximumWidth(0)


def take_room_back(widgets: Sequence[QWidget]) -> None:
    """The ``widgets`` :func:`give_way` narrowed, as wide as they ask again."""
    for widget in widgets:
        widget.setMaximumWidth(NO_MAXIMUM_WIDTH)


class StatusProgressBar(QProgressBar):
    """The status bar's progress bar: 220 px where there is room, down to 60 where not."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumWidth(60)
        self.setMaximumWidth(220)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(220, super().sizeHint().height())
