"""The one place the GUI reports errors (DESIGN.md: "errors go to one show_error").

A :class:`core.errors.DamagemapError` already reads as one sentence for the user, so it is
shown as is; anything else is a bug and shows its type plus the traceback under
"Show Details". A cancelled analysis is not an error and never reaches here.
"""

from __future__ import annotations

import logging
import traceback

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import QMessageBox, QWidget

from core.errors import DamagemapError

_log = logging.getLogger(__name__)

#: Set by tests: collect errors instead of opening a modal box that would block.
error_sink: list[BaseException | str] | None = None


def error_text(error: BaseException | str) -> str:
    """The one-line message shown to the user."""
    if isinstance(error, str):
        return error
    if isinstance(error, DamagemapError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def show_error(parent: QWidget | None, error: BaseException | str, *, title: str = "damagemap") -> None:
    """Tell the user that something went wrong.

    Parameters
    ----------
    parent
        The window the message box belongs to.
    error
        An exception (its message is shown; unexpected ones also get their traceback
        as details) or a ready message.
    title
        The window title of the message box.
    """
    if isinstance(error, BaseException) and not isinstance(error, DamagemapError):
        _log.error("unexpected error", exc_info=error)
    if error_sink is not None:
        error_sink.append(error)
        return
    box = QMessageBox(QMessageBox.Icon.Critical, title, error_text(error), QMessageBox.StandardButton.Ok, parent)
    if isinstance(error, BaseException) and not isinstance(error, DamagemapError):
        box.setDetailedText("".join(traceback.format_exception(error)))
    box.exec()
