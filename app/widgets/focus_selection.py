"""A view's selection drawn in the highlight colour only while the view has the keys.

The Sites list and its crop grid sit one above the other, and Fusion draws every
selection in the window's active blue: with the keys in the crop grid, the list's
current site and the crops selected under it looked alike, and the reviewer could not
tell which of them A, X or the arrows would act on. Without the focus a view's
selection is drawn grey, as desktop file managers draw theirs.
"""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractItemView, QApplication


def unfocused_selection(palette: QPalette) -> tuple[QColor, QColor]:
    """The background and text of a selection whose view has no focus: halfway between the
    palette's mid grey and its base, with the plain text colour (it reads in a dark theme too)."""
    mid, base = palette.color(QPalette.ColorRole.Mid), palette.color(QPalette.ColorRole.Base)
    grey = QColor((mid.red() + base.red()) // 2, (mid.green() + base.green()) // 2, (mid.blue() + base.blue()) // 2)
    return grey, palette.color(QPalette.ColorRole.Text)


class SelectionFollowsFocus(QObject):
    """Draws ``view``'s selection in the highlight colour while it has the focus, grey
    (:func:`unfocused_selection`) while it has not."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self._view = view
        view.installEventFilter(self)
        self._restyle()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self._view and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self._restyle()
        return False

    def _restyle(self) -> None:
        view = self._view
        palette = QApplication.palette(view)  # the theme's, not the last one set here
        if not view.hasFocus():
            background, text = unfocused_selection(palette)
            for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
                palette.setColor(group, QPalette.ColorRole.Highlight, background)
                palette.setColor(group, QPalette.ColorRole.HighlightedText, text)
        view.setPalette(palette)
        view.viewport().update()


__all__ = ["SelectionFollowsFocus", "unfocused_selection"]
