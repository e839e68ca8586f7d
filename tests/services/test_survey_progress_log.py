"""``damagemap analyze`` over a survey writing to a log (stderr not a terminal): each
flight's progress bar is closed when that flight ends, so the log shows it once, not
again after the last flight (tiny random MSNet, CPU)."""

import re

import pytest

from app.cli import main


@pytest.fixture(scope="module")
def assets(tmp_path_factory, texture_video, with_tiny_detector):
    root = tmp_path_factory.mktemp("flights")
    (root / "videos").mkdir()
    for name, shift in (("monday", 0), ("wednesday", 3)):
        texture_video(root / "videos" / f"{name}.mp4", 3, step=1, start=shift)
    return with_tiny_detector(root)


def test_a_log_shows_each_flight_s_progress_once_in_flight_order(assets, tmp_path, capsys):
    assert main(["analyze", str(assets / "videos"), "--project", str(tmp_path / "town"),
                 "--weights", str(assets / "msnet.safetensors"), "--no-srn", "--device", "cpu"]) == 0
    log = capsys.readouterr().err
    finished = [m.start() for m in re.finditer(r"monday: 100%", log)]
    assert len(finished) == 1, log
    # monday's bar is done before wednesday's flight is even announced
    assert finished[0] < log.index("flight wednesday:"), log
    assert len(re.findall(r"wednesday: 100%", log)) == 1, log
    assert "\x1b[A" not in log, log  # no bar drawn above another
