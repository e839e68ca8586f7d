"""A name or contact typed by the user is shown by every export as typed, on one line:
control characters (C0, DEL, C1), line separators and bidirectional overrides are refused,
any script and emoji are kept."""

from __future__ import annotations

import pytest

from core.survey import SURVEY_FILE, Survey, SurveyError
from core.text import is_one_line_text, one_line

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
    "ops\udce9quipe",  # a command line's byte that is not UTF-8 (Latin-1 "é"), as Python decodes argv
]
KEPT = ["Hurricane Michael", "ünï çødé 日本 🚁", "O'Brien \"x\" <b>&amp;", "مهدی\u200cزاده", "שלום\u200f 5"]


@pytest.mark.parametrize("text", REFUSED)
def test_control_characters_line_breaks_and_overrides_are_not_one_line(text):
    assert not is_one_line_text(text)


@pytest.mark.parametrize("text", KEPT)
def test_any_script_markup_and_the_right_to_left_marks_are_one_line(text):
    assert is_one_line_text(text)


@pytest.mark.parametrize("text", REFUSED + KEPT)
def test_any_text_made_one_line_is_one_line_and_one_line_text_stays_as_it_is(text):
    assert is_one_line_text(one_line(text))
    if is_one_line_text(text):
        assert one_line(text) == text.strip()


def test_a_name_made_one_line_keeps_its_words_apart():
    assert one_line("Ana\nReviewer") == "Ana Reviewer"
    assert one_line(" Ana\r\n\tReviewer \x1b[31m") == "Ana Reviewer [31m"
    assert one_line("ops@relief.\u202eelpmaxe") == "ops@relief.elpmaxe"
    assert one_line("\n\x07") == ""


@pytest.mark.parametrize("name", ["Beira\nnorth", "Beira \x1b[2J", "Beira\u202eevil"])
def test_a_survey_name_that_is_not_one_line_is_refused_before_any_folder_is_made(tmp_path, name):
    folder = tmp_path / "survey"
    with pytest.raises(SurveyError, match="survey name .*one line of text"):
        Survey.create(folder, name)
    assert not folder.exists()


def test_a_survey_name_longer_than_an_event_name_is_refused_before_any_folder_is_made(tmp_path):
    """Every survey export draws the name in its print map's headings (a long unbroken
    name was fitted there a character at a time: a 3,000-character one held the export
    for over six minutes); a flight's event name stops at the same length."""
    from core.survey import MAX_NAME_CHARS

    folder = tmp_path / "survey"
    with pytest.raises(SurveyError, match=f"survey name .*at most {MAX_NAME_CHARS} characters; got 3,001"):
        Survey.create(folder, "مسح " + "x" * 2997)
    assert not folder.exists()
    assert Survey.create(folder, "x" * MAX_NAME_CHARS).name == "x" * MAX_NAME_CHARS


def test_a_survey_folder_whose_name_is_not_one_line_needs_a_name(tmp_path):
    with pytest.raises(SurveyError, match="--name"):
        Survey.create(tmp_path / "two\nlines")
    assert (Survey.create(tmp_path / "two\nlines", "Two lines").folder / SURVEY_FILE).is_file()


def test_a_survey_name_in_any_script_is_kept(tmp_path):
    assert Survey.open(Survey.create(tmp_path / "s", "ünï 日本 🚁").folder).name == "ünï 日本 🚁"


def test_a_command_line_byte_that_is_not_utf8_is_refused_naming_the_field_not_failing_the_export(
        sites_truth_store, tmp_path, capsys):
    """A Latin-1 terminal's "é" reaches Python as a lone surrogate: the relief package
    failed drawing its PDF (a matplotlib signature), a survey export wrote its files and
    ended in a UnicodeEncodeError."""
    import os

    from app.cli import main

    contact = os.fsdecode(b"ops \xe9quipe B")
    out = tmp_path / "out"
    assert main(["export", str(sites_truth_store.path), "--to", str(out), "--package", "--contact", contact]) == 2
    assert "contact must be one line of text (at most 200 characters); got 'ops \\udce9quipe B'" \
        in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
