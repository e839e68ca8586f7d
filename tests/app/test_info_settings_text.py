"""``damagemap info`` says the project's stored settings in the words and flags they are
given with, not as the store's raw keys (``time_offset_s=2.5``, a Python dict of the
relief package's fields, the numbers of every hover's camera turns); ``--json`` keeps the keys."""

from __future__ import annotations

import json

from app.cli import main
from core.settings import ProjectSettings
from core.store import ProjectStore


def _project(tmp_path):
    path = tmp_path / "flight.dmproj"
    with ProjectStore.create(path, video_path=tmp_path / "flight.mp4") as store:
        store.set_project_settings(ProjectSettings(
            time_offset_s=-7203.5, time_offset_sigma_s=0.2, hfov_deg="mavic-2-pro", camera_pitch_deg=-52.0,
            camera_pitch_sigma_deg=3.0, min_score=0.3, hover_turns=((4.0, 0.5, 1.0, 2.0), (9.0, 0.5, -3.0))))
        store.set_setting("product_info", {"event": "Hurricane Michael", "glide": "", "analyst": "A. Analyst",
                                           "version": 2})
    return path


def test_info_says_the_settings_with_their_flags(tmp_path, capsys):
    assert main(["info", str(_project(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert ("settings:  clock offset -7203.5 +-0.2 s (read from the video; --offset), field of view mavic-2-pro "
            "(--hfov), camera pitch -52.0 +-3.0 deg (read from the video; --pitch), minimum score 0.30 (--min-score), camera turns read from the video for 2 "
            "hovers (--camera auto)\n") in out
    assert "           relief package: event Hurricane Michael, analyst A. Analyst, version 2\n" in out
    assert "_s=" not in out and "{" not in out and "[[" not in out


def test_info_json_keeps_the_stored_keys(tmp_path, capsys):
    assert main(["info", str(_project(tmp_path)), "--json"]) == 0
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert settings["time_offset_s"] == -7203.5 and settings["product_info"]["event"] == "Hurricane Michael"
