"""Controls reached with Tab that keep their own keys from the window's shortcuts.

The window's single-key shortcuts (Space plays, Left/Right step a frame, Home/End go to
the ends) are window-wide, so a focused check box or slider would never see those keys:
Space on the Masks box would play the video. :func:`reach_by_tab` lets Tab, not a click,
focus a control (a click leaves the focus on the list being reviewed, whose keys A/X/N
must keep working) and gives the focused control the keys it works with, and a
:class:`FocusRing` around it: the style's own focus mark (Fusion's pale tint behind a check
box's text, a one-pixel line on a slider's groove) was hard to find on the toolbar.
"""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QFocusEvent, QKeyEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QWidget

#: The keys a focused button or check box works with.
BUTTON_KEYS = frozenset({Qt.Key.Key_Space})
#: The keys a focused slider works with.
SLIDER_KEYS = frozenset({Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home,
                         Qt.Key.Key_End, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown})


class FocusRing(QWidget):
    """A frame in the highlight colour drawn around the focused control, over its
    neighbours (one per container, moved to whichever of its controls has the focus)."""

    #: the frame's width, drawn just outside the control
    WIDTH_PX = 2

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("focus ring")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()

    def surround(self, control: QWidget) -> None:
        """Stand around ``control`` (a child of this ring's parent)."""
        margin = self.WIDTH_PX
        self.setGeometry(control.geometry().adjusted(-margin, -margin, margin, margin)
                         .intersected(QRect(0, 0, self.parentWidget().width(), self.parentWidget().height())))
        self.raise_()
        self.show()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), self.WIDTH_PX)
        painter.setPen(pen)
        half = self.WIDTH_PX / 2
        painter.drawRoundedRect(self.rect().toRectF().adjusted(half, half, -half, -half), 3, 3)


def focus_ring(control: QWidget) -> FocusRing | None:
    """The ring of ``control``'s container (``None`` before it has one, or without a container)."""
    parent = control.parentWidget()
    if parent is None:
        return None
    return parent.findChild(FocusRing, "focus ring", Qt.FindChildOption.FindDirectChildrenOnly)


class _OwnKeys(QObject):
    """Takes a focused control's own keys before the window's shortcuts do, and rings it
    while it has the focus."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier) \
                and Qt.Key(event.key()) in own_keys(watched):
            event.accept()  # the key goes to the control, not to the shortcut
            return True
        if isinstance(watched, QWidget):
            if kind == QEvent.Type.FocusIn and isinstance(event, QFocusEvent) \
                    and event.reason() != Qt.FocusReason.MouseFocusReason:
                _ring_around(watched)
            elif kind == QEvent.Type.FocusOut or kind == QEvent.Type.Hide:
                ring = focus_ring(watched)
                if ring is not None:
                    ring.hide()
            elif kind in (QEvent.Type.Move, QEvent.Type.Resize) and watched.hasFocus():
                _ring_around(watched)
        return False


def _ring_around(control: QWidget) -> None:
    parent = control.parentWidget()
    if parent is not None:
        (focus_ring(control) or FocusRing(parent)).surround(control)


def own_keys(widget: QObject) -> frozenset[Qt.Key]:
    """The keys ``widget`` works with when focused."""
    if isinstance(widget, QAbstractSlider):
        return SLIDER_KEYS
    if isinstance(widget, QAbstractButton):
        return BUTTON_KEYS
    return frozenset()


def reach_by_tab(*widgets: QWidget) -> None:
    """Let Tab (not a click) focus ``widgets``, which then take their own keys."""
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        widget.installEventFilter(_OWN_KEYS)  # once per widget: Qt installs a filter object once


#: The one filter every control reached by Tab shares (it holds no state).
_OWN_KEYS = _OwnKeys()


__all__ = ["FocusRing", "focus_ring", "own_keys", "reach_by_tab"]
