"""The status bar's lasting note that some sites are left for review because earlier
decisions there disagree.

A notice in the status bar goes after a few seconds; this one stays while such a site is
still to decide (an analyst who looked away when the new run was listed would otherwise
never know), and its Show button selects the first of them in the Sites list.
"""

from __future__ import annotations

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QWidget

from app.widgets.status_bar import ElidedLabel

TIP = ("A new run took over the decisions made on the same damage in earlier runs; at these sites they "
       "disagree (one part accepted, another rejected), so each is left for you to decide, first in the "
       "Sites list. Show selects the first of them.")


def disputed_text(count: int) -> str:
    """"2 disputed sites to decide": what the note says for ``count`` sites."""
    return f"{count} disputed site{'' if count == 1 else 's'} to decide: earlier decisions disagree"


class DisputedSitesNote(QWidget):
    """A label and a Show button, shown while :meth:`set_count` was given more than 0.

    Signals
    -------
    show_requested()
        Show was pressed: select the first disputed site.
    """

    show_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("disputed_note")
        self.label = ElidedLabel(min_chars=12)
        self.label.setObjectName("disputed_label")
        self.label.setStyleSheet(
            "QLabel#disputed_label { background: #f9c784; color: #222; border-radius: 3px; padding: 1px 6px; }")
        self.show_button = QPushButton("Show")
        self.show_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.show_button.setToolTip("Select the first disputed site in the Sites list")
        self.show_button.clicked.connect(self.show_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.show_button)
        self.setToolTip(TIP)
        self.setVisible(False)

    def set_count(self, count: int) -> None:
        self.label.setText(disputed_text(count) if count > 0 else "")
        self.setVisible(count > 0)


__all__ = ["DisputedSitesNote", "disputed_text"]
