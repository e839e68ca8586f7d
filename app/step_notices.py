"""Edit > Undo and Redo said in the status bar ("Undone: Relabel site #9 as Severe (39
sightings) — Ctrl+Shift+Z to redo"): the list mark and the Edit menu alone left a reviewer
unsure what a key press took back.

A step's notice (a decision's "— Ctrl+Z to undo", an undo's "— Ctrl+Y to redo") stays as
long as it is true: until the undo history moves (another step, an undo or a redo) or
another message takes its place. It went after a few seconds, while the map was rebuilt
for the first time after a decision, often before the reviewer looked at it."""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QStatusBar

#: How long a notice that is not a step's (a hint, a file kept) stays in the status bar (ms).
NOTICE_MS = 8000


def key_name(action: QAction) -> str:
    """The action's first shortcut as the platform writes it ("Ctrl+Z"), "" without one."""
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


def step_notice(text: str, *, undoing: bool, again_key: str) -> str:
    """``Undone: <step> — Ctrl+Shift+Z to redo`` (``again_key``: the key that goes the
    other way; "" leaves the hint out)."""
    said = f"{'Undone' if undoing else 'Redone'}: {text}"
    return f"{said} — {again_key} to {'redo' if undoing else 'undo'}" if again_key else said


class StepNotices(QObject):
    """Shows a step's notice in ``status_bar`` until ``stack``'s index moves."""

    def __init__(self, stack: QUndoStack, status_bar: QStatusBar) -> None:
        super().__init__(status_bar)
        self._status_bar = status_bar
        self._shown: str | None = None  # the step's notice shown, while it may still be
        stack.indexChanged.connect(self._history_moved)

    def show(self, text: str) -> None:
        """Show ``text`` until the next step, undo or redo (or another message)."""
        self._shown = text
        self._status_bar.showMessage(text)

    def _history_moved(self, _index: int) -> None:
        if self._shown is not None and self._status_bar.currentMessage() == self._shown:
            self._status_bar.clearMessage()  # the key it names now does something else
        self._shown = None


def say_steps(stack: QUndoStack, undo_action: QAction, redo_action: QAction, status_bar: QStatusBar,
              notices: StepNotices) -> None:
    """Show each undo and redo the actions make (menu or key) in ``status_bar``. Said once
    the event loop turns: a step the project refused to store is taken back then
    (``ProjectDocument._step_refused``, with an error box of its own) and is not said;
    said, it stays until the history moves (``notices``)."""

    def said(undoing: bool) -> None:
        index = stack.index()
        text = stack.text(index if undoing else index - 1)
        if not text:
            return
        notice = step_notice(text, undoing=undoing, again_key=key_name(redo_action if undoing else undo_action))

        def show() -> None:
            if stack.index() == index:  # not taken back
                notices.show(notice)

        QTimer.singleShot(0, status_bar, show)

    undo_action.triggered.connect(lambda: said(True))
    redo_action.triggered.connect(lambda: said(False))


__all__ = ["NOTICE_MS", "StepNotices", "key_name", "say_steps", "step_notice"]
