"""Edit > Undo and Redo said in the status bar ("Undone: Relabel site #9 as Severe (39
sightings) — Ctrl+Shift+Z to redo"): the list mark and the Edit menu alone left a reviewer
unsure what a key press took back."""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QTimer
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QStatusBar

#: How long a step's message stays in the status bar (ms).
STEP_NOTICE_MS = 6000


def key_name(action: QAction) -> str:
    """The action's first shortcut as the platform writes it ("Ctrl+Z"), "" without one."""
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


def step_notice(text: str, *, undoing: bool, again_key: str) -> str:
    """``Undone: <step> — Ctrl+Shift+Z to redo`` (``again_key``: the key that goes the
    other way; "" leaves the hint out)."""
    said = f"{'Undone' if undoing else 'Redone'}: {text}"
    return f"{said} — {again_key} to {'redo' if undoing else 'undo'}" if again_key else said


def say_steps(stack: QUndoStack, undo_action: QAction, redo_action: QAction, status_bar: QStatusBar) -> None:
    """Show each undo and redo the actions make (menu or key) in ``status_bar``. Said once
    the event loop turns: a step the project refused to store is taken back then
    (``ProjectDocument._step_refused``, with an error box of its own) and is not said."""

    def said(undoing: bool) -> None:
        index = stack.index()
        text = stack.text(index if undoing else index - 1)
        if not text:
            return
        notice = step_notice(text, undoing=undoing, again_key=key_name(redo_action if undoing else undo_action))

        def show() -> None:
            if stack.index() == index:  # not taken back
                status_bar.showMessage(notice, STEP_NOTICE_MS)

        QTimer.singleShot(0, status_bar, show)

    undo_action.triggered.connect(lambda: said(True))
    redo_action.triggered.connect(lambda: said(False))


__all__ = ["STEP_NOTICE_MS", "key_name", "say_steps", "step_notice"]
