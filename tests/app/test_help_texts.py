"""The help texts a new user reads first: every export format named whole (argparse
breaks a long comma-separated word across lines, "geoj son"), and ``telemetry --video``
naming every reading it adds to the summary, with the flag that applies it."""

from __future__ import annotations

import re

import pytest

from app.cli import main
from geo.export import ALIASES, FILES


def _help(capsys, monkeypatch, *argv: str) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return capsys.readouterr().out


def test_export_help_names_every_format_as_a_whole_word(capsys, monkeypatch):
    text = _help(capsys, monkeypatch, "export")
    formats = text.split("\n  --formats LIST")[1].split("\n  --")[0]
    words = set(re.findall(r"[a-z]+", formats))
    assert set(FILES) | set(ALIASES) <= words
    assert "--package" in formats  # where the PDF is, for the user who looks for it here


def test_telemetry_video_help_names_what_it_reads_and_the_flags_that_apply_it(capsys, monkeypatch):
    video = " ".join(_help(capsys, monkeypatch, "telemetry").split("\n  --video VIDEO")[1].split("\n  --")[0].split())
    for flag in ("--offset", "--camera auto", "--ground-elevation auto", "--flight-height auto"):
        assert flag in video


def test_survey_decide_help_says_what_each_decision_does(capsys, monkeypatch):
    text = " ".join(_help(capsys, monkeypatch, "survey", "decide").split("positional arguments:")[1].split())
    assert "{accept,reject,slight,severe,debris} accept or reject every sighting of the sites, or relabel" in text
