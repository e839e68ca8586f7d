"""What the fine-tune's bar (command line) and dialog say of the time left: while the
first steps compute each frame's features once, that they do and why they are slow; a
resumed fine-tune's bar starts at the step it goes on from."""

from __future__ import annotations

from types import SimpleNamespace

from engine.finetune import FinetuneConfig
from services.finetune import format_time_left, time_left_text


def _progress(eta_s, pending=0, done=0, loss=None):
    return SimpleNamespace(eta_s=eta_s, features_pending=pending, features_done=done,
                           losses={} if loss is None else {"loss": loss})


def test_the_first_pass_says_why_it_is_slow_and_the_rest_says_the_time_left():
    assert time_left_text(_progress(None, pending=24)) == (
        "computing each frame's features once (0 of 24 frames): the first steps are slow")
    assert time_left_text(_progress(190.0, pending=18, done=6)) == (
        "about 3 min 10 s left; computing each frame's features once (6 of 24 frames): the first steps are slow")
    assert time_left_text(_progress(75.0, done=24)) == "about 1 min 15 s left"
    assert time_left_text(_progress(None)) == "estimating the time left..." == format_time_left(None)


def test_the_command_bar_starts_at_the_resumed_step_and_shows_the_fine_tunes_own_time_left(tmp_path, capsys):
    from app.commands.finetune import _bar, _bar_text

    config = FinetuneConfig(base_weights="b", data="d", out=str(tmp_path), steps=4)
    bar = _bar(config, disable=False, initial=2)
    assert bar.n == 2
    bar.set_postfix_str(_bar_text(_progress(75.0, done=3, loss=0.5)), refresh=True)
    bar.close()
    shown = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
    assert "2/4" in shown and "about 1 min 15 s left; loss 0.500" in shown, shown
    assert "<" not in shown  # not tqdm's own estimate from the pace of the steps so far
