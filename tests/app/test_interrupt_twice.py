"""A second Ctrl+C while the first is being handled is said and let pass, not raised in
the middle of the cleanup."""

from __future__ import annotations

import os
import signal

import pytest

from app.cli import main


@pytest.fixture
def terminal_ctrl_c():
    """Python's own Ctrl+C handler, as a terminal gives the command (a test runner's
    worker may have put its own there), and SIGTERM taken by someone else (as a runner's
    worker may): the Ctrl+C handling does not hang on SIGTERM's. The runner's put back."""
    runner_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    runner_term = signal.signal(signal.SIGTERM, lambda number, frame: None)
    yield
    signal.signal(signal.SIGINT, runner_int)
    signal.signal(signal.SIGTERM, runner_term)


def test_a_second_ctrl_c_during_the_first_one_s_cleanup_is_said_and_let_pass(terminal_ctrl_c, tmp_path,
                                                                              texture_video, with_tiny_detector,
                                                                              monkeypatch, capsys):
    """Two quick Ctrl+C: the second landed in the cleanup of the first (the last frames
    stored, the reader's threads joined) and aborted the process."""
    import services.analysis

    assets = with_tiny_detector(tmp_path)
    video = texture_video(tmp_path / "flight.mp4", 6, step=1)
    cleaned: list[bool] = []

    def analyse(store, *args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl+C
            yield from ()
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # the second, while the first is handled
            cleaned.append(True)  # the cleanup ran to its end

    monkeypatch.setattr(services.analysis, "analyse", analyse)
    assert main(["analyze", str(video), "--project", str(tmp_path / "flight.dmproj"), "--weights",
                 str(assets / "msnet.safetensors"), "--no-srn", "--device", "cpu", "-q"]) == 130
    assert cleaned == [True]
    assert "stopping; what is done is being kept" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back when the command ends
