"""``damagemap analyze`` over a survey writing to a log (stderr not a terminal): each
flight's progress bar is closed when that flight ends, so the log shows it once, not
again after the last flight (tiny random MSNet, CPU)."""

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
    # monday's bar is drawn (tqdm may draw 100% twice in a row: at its last frame and as it
    # closes) and done before wednesday's flight is announced, and never again after it
    assert "monday: 100%" in log and log.rindex("monday:") < log.index("flight wednesday:"), log
    assert "wednesday: 100%" in log, log
    assert "\x1b[A" not in log, log  # no bar drawn above another
