"""Number boxes that keep what is typed and say when it is out of range.

A plain ``QDoubleSpinBox`` refuses the keystroke that would take its text past its range
and, on leaving the box, puts back the previous value: 315360000 typed into a box that
stops at 172800 is left as 31536, 120 typed into a pitch box of -90 to 0 as 0. A
:class:`BoundedSpinBox` takes any number typed, keeps it as typed, and gives the problem
(its limits and why) for :class:`RangeGuard` to show under the dialog's fields while the
dialog's OK button is off.
"""

from __future__ import annotations

from collections.abc import Sequence

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QObject
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QLabel, QPushButton, QWidget

#: How the box's text is drawn while it holds a value out of its limits (the box's own
#: style sheet would redraw its arrows in another style).
MARKED_STYLE = "QLineEdit { background: #fbe3e0; color: #a02617; }"
#: How the problems under the fields are written.
_PROBLEM_STYLE = "color: #c0392b;"


class BoundedSpinBox(QDoubleSpinBox):
    """A number from ``low`` to ``high`` (inclusive), or ``unset_text`` for "no value".

    The Qt range is far wider than the limits, so that what is typed stays as typed;
    :meth:`problem` says when it lies outside them. The arrows stay within the limits,
    and step from ``low`` down to "no value". ``unset``: the value that means "no value"
    (by default one below anything that can be typed); the box also takes an empty text
    for it. The prefix and suffix are the box's own, not Qt's, so that "no value" shows
    without them.
    """

    #: class defaults: Qt asks for the text before ``__init__`` has set them
    unset_value: float | None = None
    _prefix = _suffix = _unset_text = ""

    def __init__(self, name: str, low: float, high: float, *, why: str = "", decimals: int = 1,
                 prefix: str = "", suffix: str = "", unset_text: str = "", unset: float | None = None,
                 tip: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.low, self.high, self.why = float(low), float(high), why
        self._prefix, self._suffix, self._unset_text = prefix, suffix, unset_text
        span = 10_000.0 * max(abs(self.low), abs(self.high), 1.0)  # ten times a number typed one digit too long
        self.setDecimals(decimals)
        self.setRange(-span - 1.0, span)  # one below anything typed: the "no value" by default
        if unset_text:
            self.unset_value = self.minimum() if unset is None else float(unset)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setToolTip(f"{self.limits_text()}.{' ' + why if why else ''}{' ' + tip if tip else ''}")
        self.setValue(self.low if self.unset_value is None else self.unset_value)

    # -- what the box holds

    def is_unset(self) -> bool:
        """Whether the box shows "no value"."""
        return self.unset_value is not None and abs(self.value() - self.unset_value) < 0.5 * 10 ** -self.decimals()

    def given(self) -> float | None:
        """The value, or ``None`` for "no value"."""
        return None if self.is_unset() else self.value()

    def limits_text(self) -> str:
        """The limits in words: "From -90° to 0°", with what "no value" is typed as."""
        text = f"From {self._number(self.low)} to {self._number(self.high)}"
        if self.unset_value is not None and not self.low <= self.unset_value <= self.high:
            text += f"; empty for “{self._unset_text}”"
        return text

    def problem(self) -> str | None:
        """Why the box's text cannot be used (its limits and their reason), or ``None``."""
        text = self.lineEdit().text()
        if self.validate(text, 0)[0] != QValidator.State.Acceptable:  # "-", "1e"
            return f"{self.name}: “{self._stripped(text)}” is not a number. {self.limits_text()}."
        value = self.valueFromText(text)
        if self.unset_value is not None and abs(value - self.unset_value) < 0.5 * 10 ** -self.decimals():
            return None
        if self.low <= value <= self.high:
            return None
        why = f" ({self.why})" if self.why else ""
        return f"{self.name}: {self._number(value)} is out of range. {self.limits_text()}{why}."

    # -- Qt's hooks

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's name
        if self.unset_value is not None and abs(value - self.unset_value) < 0.5 * 10 ** -self.decimals():
            return self._unset_text
        return f"{self._prefix}{super().textFromValue(value)}{self._suffix}"

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt's name
        stripped = self._stripped(text)
        if self.unset_value is not None and self._means_unset(text):
            return self.unset_value
        return super().valueFromText(stripped)

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        stripped = self._stripped(text)
        if self._means_unset(text):
            return QValidator.State.Acceptable, text, pos
        state = super().validate(stripped, pos)[0]
        if state == QValidator.State.Acceptable and super().valueFromText(stripped) <= self.minimum():
            state = QValidator.State.Invalid  # the "no value" below anything typed is not typed
        return state, text, pos

    def fixup(self, text: str) -> str:
        return text  # kept as typed: problem() says what is wrong with it

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt's name
        """Step within the limits; below ``low`` lies "no value" where there is one."""
        unset = self.unset_value
        unset_outside = unset is not None and not self.low <= unset <= self.high
        value = min(max(self.value() + steps * self.singleStep(), self.low), self.high)
        if unset is not None and unset_outside and (self.is_unset() or steps < 0 and self.value() <= self.low):
            value = self.low if steps > 0 else unset
        self.setValue(value)
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 - Qt's name
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        unset_outside = self.unset_value is not None and not self.low <= self.unset_value <= self.high
        if self.is_unset() and unset_outside or self.value() < self.high:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if not (self.is_unset() and unset_outside) and (self.value() > self.low or unset_outside):
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    def _means_unset(self, text: str) -> bool:
        """Whether ``text`` is "no value": its words, or nothing."""
        return self.unset_value is not None and (text.strip() == self._unset_text or not self._stripped(text))

    def _stripped(self, text: str) -> str:
        text = text.strip()
        prefix, suffix = self._prefix.strip(), self._suffix.strip()
        if prefix and text.startswith(prefix):
            text = text[len(prefix):]
        if suffix and text.endswith(suffix):
            text = text[: -len(suffix)]
        return text.strip()

    def _number(self, value: float) -> str:
        return f"{self.locale().toString(float(value), 'f', self.decimals())}{self._suffix}".replace("-", "−")


class RangeGuard(QObject):
    """Watches ``boxes``: one out of its limits is marked, its problem written in ``message``,
    and ``ok`` is off until every box holds a value it can take."""

    def __init__(self, boxes: Sequence[BoundedSpinBox], ok: QPushButton, message: QLabel) -> None:
        super().__init__(ok)
        self.boxes, self.ok, self.message = list(boxes), ok, message
        message.setWordWrap(True)
        message.setStyleSheet(_PROBLEM_STYLE)
        for box in self.boxes:
            box.lineEdit().textChanged.connect(self.check)  # typed
            box.valueChanged.connect(self.check)  # set (Qt fills the text with its signals blocked)
        self.check()

    def problems(self) -> list[str]:
        """What is wrong with the boxes, one line per box."""
        return [problem for box in self.boxes if (problem := box.problem())]

    def check(self) -> bool:
        """Mark the boxes out of their limits and say why; whether all can be taken."""
        lines = []
        for box in self.boxes:
            problem = box.problem()
            box.lineEdit().setStyleSheet(MARKED_STYLE if problem else "")
            box.setAccessibleDescription(problem or "")
            if problem:
                lines.append(problem)
        self.message.setText("\n".join(lines))
        self.message.setVisible(bool(lines))
        self.ok.setEnabled(not lines)
        return not lines


__all__ = ["MARKED_STYLE", "BoundedSpinBox", "RangeGuard"]
