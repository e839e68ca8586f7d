"""The Sites menu: the Sites panel's actions (its buttons) in the menu bar, each showing
the key it takes while the Sites list has the keyboard.

The Edit menu's Accept (A) and Reject (X) act on the selected detection; the same keys
in the Sites list decide the whole site, which no menu said. The items here carry no
shortcut of their own (the panel's keys are its event filter's, and a second "A" would
make the window's ambiguous where the list does not have the keyboard): the key is shown
after a tab in the item's text, which QMenu draws where a shortcut goes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QPushButton, QWidget

from app.panels.site_review_panel import KEYS, SiteReviewPanel

if TYPE_CHECKING:  # pragma: no cover
    from app.main_window import MainWindow

#: (the panel's action name, the item's text with its mnemonic); ``None``: a separator
SITE_MENU_ITEMS: tuple[tuple[str, str] | None, ...] = (
    ("accept", "&Accept Site"),
    ("reject", "Re&ject Site"),
    ("slight", "Relabel Site as &Slight"),
    ("severe", "Relabel Site as S&evere"),
    ("debris", "Relabel Site as De&bris"),
    None,
    ("next", "&Next Site"),
    ("previous", "&Previous Site"),
    None,
    ("split", "Spli&t Off the Selected Crops"),
    ("merge", "&Merge Selected Sites"),
)

NO_SITE_REASON = "Select a site in the Sites list first (Ctrl+1 goes there)"
NO_SITES_LISTED_REASON = "No site is listed: the score threshold or View > Show Decided Sites hides them"
REJECTED_REASON = "A site rejected as a whole is not split or merged: accept it first (A)"


def site_key(name: str) -> str:
    """The key the Sites list takes for the panel's action ``name`` ("A", "N")."""
    return next(QKeySequence(key).toString() for key, named in KEYS.items() if named == name)


class SiteMenu(QMenu):
    """Sites > Accept Site (A)…: one item per button of the Sites panel, on or off as the
    button is, an item off saying why in its tooltip; choosing one brings the Sites panel
    forward (its list takes the next key) and does what the button does."""

    def __init__(self, window: MainWindow, parent: QWidget | None = None) -> None:
        super().__init__("&Sites", parent or window)
        self.setToolTipsVisible(True)  # an item off says why
        self._window = window
        self._panel = window.panel(SiteReviewPanel)
        self.site_actions: dict[str, QAction] = {}
        for item in SITE_MENU_ITEMS:
            if item is None:
                self.addSeparator()
                continue
            name, text = item
            action = QAction(f"{text}\t{site_key(name)}", self)
            action.triggered.connect(lambda _=False, n=name: self._trigger(n))
            self.addAction(action)
            self.site_actions[name] = action
            # a button is switched on and off by the panel alone: the item follows it
            self._panel.buttons[name].installEventFilter(self)
            self._follow(name)
        # why an item is off changes with no change of its button (a project opened whose
        # buttons stay off, as with none): said anew each time the menu opens
        self.aboutToShow.connect(self._follow_all)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() in (QEvent.Type.EnabledChange, QEvent.Type.ToolTipChange) and isinstance(watched, QPushButton):
            name = next((n for n, b in self._panel.buttons.items() if b is watched), None)
            if name is not None:
                self._follow(name)
        return False

    def _follow_all(self) -> None:
        for name in self.site_actions:
            self._follow(name)

    def _follow(self, name: str) -> None:
        """The item of ``name`` on or off as the panel's button is, saying why when off."""
        action, button = self.site_actions[name], self._panel.buttons[name]
        why = None if button.isEnabled() else self._reason(name)
        action.setEnabled(why is None)
        tip = why or button.toolTip()  # what it does (Accept's: at which level, and what it relabels)
        action.setToolTip(tip)
        action.setStatusTip(tip)

    def _reason(self, name: str) -> str:
        from app.window_actions import NO_PROJECT_REASON, NO_RUN_REASON

        document = self._panel.document
        if not document.is_open:
            return NO_PROJECT_REASON
        if document.session is None:
            return NO_RUN_REASON
        if name in ("next", "previous"):
            return NO_SITES_LISTED_REASON
        if self._panel.current_site() is not None and name in ("split", "merge"):
            return REJECTED_REASON
        return NO_SITE_REASON

    def _trigger(self, name: str) -> None:
        self._window.bring_panel(SiteReviewPanel)  # the reviewer sees the site decided, and the list has the keys
        self._panel.trigger(name)


__all__ = ["NO_SITE_REASON", "SITE_MENU_ITEMS", "SiteMenu", "site_key"]
