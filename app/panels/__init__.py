"""Dock panels that listen to the project document themselves.

A panel is built from the :class:`app.document.ProjectDocument` alone and connects to its
signals in ``__init__`` (as napari's widgets connect to their model's events, and Anki's
views redraw on an operation's changes); the window only puts it in a dock. Adding a
panel is one new module here plus one line in ``MainWindow.PANELS``.

What a panel may ask of the window goes through the document too
(:meth:`~app.document.ProjectDocument.request_detection`).
"""

from __future__ import annotations

from typing import ClassVar

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from app.document import ProjectDocument


class Panel(QWidget):
    """Base of the dock panels.

    Class attributes
    ----------------
    title
        The dock's title (and its View menu entry).
    object_name
        Saved with the window layout; never change it for an existing panel.
    area
        Where the dock goes first.
    """

    title: ClassVar[str] = "Panel"
    object_name: ClassVar[str] = "panel"
    area: ClassVar[Qt.DockWidgetArea] = Qt.DockWidgetArea.RightDockWidgetArea

    def __init__(self, document: ProjectDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document


__all__ = ["Panel"]
