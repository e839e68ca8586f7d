"""String choices (architecture, backbone, gate metric) that parse forgivingly."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

_C = TypeVar("_C", bound="Choice")


class Choice(str, Enum):
    """A ``str`` enum whose :meth:`parse` accepts a value or a member name, any case,
    with ``-`` and ``_`` alike, and lists the valid values when it fails.

    Set ``SomeChoice.label = "word"`` after the class to name it in error messages
    (a name inside the class body would become a member).
    """

    @classmethod
    def parse(cls: type[_C], value: str | _C) -> _C:
        if isinstance(value, cls):
            return value
        text = str(value).strip().lower().replace("_", "-")
        for member in cls:
            if text in (member.value.replace("_", "-"), member.name.lower().replace("_", "-")):
                return member
        valid = ", ".join(m.value for m in cls)
        label = getattr(cls, "label", cls.__name__)
        raise ValueError(f"{label}: expected one of {valid}; got {value!r}")
