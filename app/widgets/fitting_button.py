"""A push button with wordings from long to short that asks for no more room than the
shortest.

The Sites panel's Accept button reads "Accept as Severe (A)" on a site whose sightings
disagree; a plain ``QPushButton`` asks for its whole text as its least width, and that
text widened the panel, and with it the window, past a 1024-pixel screen. A
:class:`FittingButton` shows the longest wording its width holds ("Accept as Severe (A)",
"Accept Severe (A)", "Accept (A)"); its tooltip says it all either way.
"""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QPushButton, QSizePolicy, QStyle, QStyleOptionButton, QWidget


class FittingButton(QPushButton):
    """A push button showing the longest of its wordings (:meth:`set_texts`, longest
    first) that its width holds; it asks for the longest's width and needs only the
    shortest's."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._texts: tuple[str, ...] = (text,)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # may shrink to the shortest

    @property
    def long_text(self) -> str:
        return self._texts[0]

    def set_texts(self, *texts: str) -> None:
        """The wordings, longest first (at least one)."""
        if not texts:
            raise ValueError("a FittingButton needs at least one wording")
        self._texts = texts
        self.updateGeometry()
        self._fit()

    def _size_for(self, text: str) -> QSize:
        """The size ``QPushButton`` asks for to show ``text``."""
        option = QStyleOptionButton()
        self.initStyleOption(option)
        option.text = text
        label = self.fontMetrics().size(Qt.TextFlag.TextShowMnemonic, text)
        return self.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, option, label, self)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self._size_for(self._texts[0]).expandedTo(self._size_for(self._texts[-1]))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self._size_for(self._texts[-1])

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        text = next((t for t in self._texts if self._size_for(t).width() <= self.width()), self._texts[-1])
        if text != self.text():
            self.setText(text)


__all__ = ["FittingButton"]
