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


def test_info_names_the_footprints_the_exports_use_beside_a_moved_project_and_marks_one_gone(tmp_path, capsys):
    """A project handed over with its files (the old folder gone) finds its footprints
    beside it, and ``info`` names that file, not the absolute path stored; a file gone
    from both is marked missing, as the video is."""
    import shutil

    from services.package import set_product_sources

    old = tmp_path / "field laptop"
    old.mkdir()
    footprints = old / "buildings é.geojson"
    footprints.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0.0001, 0], [0.0001, 0.0001], [0, 0]]]}}]}))
    with ProjectStore.create(old / "flight.dmproj", video_path=old / "flight.mp4") as store:
        set_product_sources(store, footprints=footprints)
    moved = tmp_path / "office"
    shutil.move(old, moved)

    assert main(["info", str(moved / "flight.dmproj")]) == 0
    out = capsys.readouterr().out
    assert f"footprints: {moved / 'buildings é.geojson'} (--footprints)\n" in out

    (moved / "buildings é.geojson").unlink()
    assert main(["info", str(moved / "flight.dmproj")]) == 0
    assert f"footprints: {moved / 'buildings é.geojson'} (--footprints)  (missing!)\n" in capsys.readouterr().out


def test_info_shows_a_stored_field_that_is_not_one_line_escaped_and_a_hand_edited_setting_without_a_traceback(
        tmp_path, capsys):
    """An event kept by an older damagemap with a terminal escape and a line break is
    shown escaped (the terminal neither clears nor prints a line it did not get), with
    the flag that gives it again; a setting edited by hand into what no damagemap writes
    is said as it is stored, where it ended ``info`` in a TypeError."""
    path = tmp_path / "flight.dmproj"
    with ProjectStore.create(path, video_path=tmp_path / "flight.mp4") as store:
        store.set_setting("product_info", {"event": "Storm\x1b[2J\nFAKE", "contact": "ops@relief.\u202eelpmaxe",
                                           "version": 1})
        store.set_setting("hover_turns", 5)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\nFAKE" not in out
    assert ("relief package: event 'Storm\\x1b[2J\\nFAKE' (not one line of text: give it again, export --event), "
            "contact 'ops@relief.\\u202eelpmaxe' (not one line of text: give it again, export --contact), "
            "version 1\n") in out
    assert "settings:  hover_turns=5 (not valid)\n" in out
