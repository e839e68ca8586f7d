"""A flag the command does not take is that command's error, under its own usage
(``damagemap info: error: unrecognized arguments: --run 2``), not the top-level
``damagemap: error`` under ``damagemap COMMAND ...``, which leaves the user to guess which
command's flags to look up. Refused before any work: the files named need not exist."""

from __future__ import annotations

import pytest

from app.cli import main


@pytest.mark.parametrize(("argv", "command", "usage"), [
    (["info", "flight.dmproj", "--run", "2"], "damagemap info", "usage: damagemap info [-h] [--json] [--sites]"),
    (["export", "flight.dmproj", "--sites"], "damagemap export", "usage: damagemap export [-h] [--to DIR]"),
    (["survey", "add", "survey", "flight.mp4", "--bogus"], "damagemap survey add", "usage: damagemap survey add [-h]"),
])
def test_an_unknown_flag_is_named_by_the_command_that_does_not_take_it(argv, command, usage, tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert usage in err
    unknown = " ".join(argv[argv.index(next(a for a in argv if a.startswith("--"))):])
    assert f"{command}: error: unrecognized arguments: {unknown}" in err
    assert "COMMAND ..." not in err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_flag_before_any_command_is_still_the_top_level_error(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--bogus"])
    assert stopped.value.code == 2
    assert "damagemap: error: unrecognized arguments: --bogus" in capsys.readouterr().err
