"""A greyed-out button says why, as a greyed-out menu item does
(:func:`app.window_actions.enable_or_say_why`).

A button keeps what it does in its tooltip; when it is off, the tooltip leads with why,
so a button greyed out is never a riddle.
"""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import QAbstractButton

#: the property keeping a button's own tooltip (what it does) while its tooltip says why it is off
_HELP_PROPERTY = "damagemap_help_tip"


def not_now_text(why_not: str) -> str:
    """The first line of a greyed-out button's tooltip."""
    return f"Not available: {why_not}."


def enable_button_or_say_why(button: QAbstractButton, why_not: str | None) -> None:
    """``button`` on when ``why_not`` is ``None``, with its own tooltip; else off, its
    tooltip saying why first, then what it does."""
    help_tip = button.property(_HELP_PROPERTY)
    if help_tip is None:  # first call: the tooltip set when the button was made is what it does
        help_tip = button.toolTip()
        button.setProperty(_HELP_PROPERTY, help_tip)
    button.setEnabled(why_not is None)
    if why_not is None:
        button.setToolTip(help_tip)
    else:
        button.setToolTip(not_now_text(why_not) + (f"\n\n{help_tip}" if help_tip else ""))
