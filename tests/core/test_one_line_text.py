"""A name or contact typed by the user is shown by every export as typed, on one line:
control characters (C0, DEL, C1), line separators and bidirectional overrides are refused,
any script and emoji are kept."""

from __future__ import annotations

import pytest

from core.text import is_one_line_text

REFUSED = [
    "new\nline",
    "tab\there",
    "escape \x1b[31mred",
    "delete \x7f",
    "next line \x85 (C1)",
    "line separator \u2028",
    "paragraph separator \u2029",
    "ops@relief.\u202eelpmaxe",  # right-to-left override: displays as another address
    "isolate \u2066x\u2069",
]
KEPT = ["Hurricane Michael", "ünï çødé 日本 🚁", "O'Brien \"x\" <b>&amp;", "مهدی\u200cزاده", "שלום\u200f 5"]


@pytest.mark.parametrize("text", REFUSED)
def test_control_characters_line_breaks_and_overrides_are_not_one_line(text):
    assert not is_one_line_text(text)


@pytest.mark.parametrize("text", KEPT)
def test_any_script_markup_and_the_right_to_left_marks_are_one_line(text):
    assert is_one_line_text(text)

