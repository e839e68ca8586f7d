"""``damagemap synth --town SEED``: flights for a survey from the command line, the same
town (houses and damage) under each, each ``--seed`` another path over it."""

from __future__ import annotations

TINY = ["--seconds", "2", "--fps", "2", "--size", "160x90", "--no-orthophoto"]


def test_two_seeds_over_one_town_film_the_same_houses_from_other_paths(tmp_path):
    from app.cli import main

    assert main(["synth", str(tmp_path / "monday"), "--town", "7", "--seed", "1", *TINY]) == 0
    assert main(["synth", str(tmp_path / "wednesday"), "--town", "7", "--seed", "2",
                 "--start", "2018-10-14T15:00:00Z", *TINY]) == 0
    assert main(["synth", str(tmp_path / "elsewhere"), "--seed", "1", *TINY]) == 0  # a town of its own
    truth = {name: (tmp_path / name / "truth.geojson").read_text() for name in ("monday", "wednesday", "elsewhere")}
    assert truth["monday"] == truth["wednesday"] != truth["elsewhere"]
    monday, wednesday = ((tmp_path / name / "flight.gpx").read_text() for name in ("monday", "wednesday"))
    assert monday != wednesday and "2018-10-14T15:00:00" in wednesday


def test_a_town_s_path_is_its_own(tmp_path, capsys):
    from app.cli import main

    assert main(["synth", str(tmp_path / "out"), "--town", "7", "--hover", "1,1", *TINY]) == 2
    assert "--town draws its own path over the town; leave out --hover" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
