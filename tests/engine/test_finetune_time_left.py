"""The fine-tune's time left is honest from its first step: the steps that compute each
frame's frozen trunk outputs once (``roi`` scope, tens of seconds a frame on a busy CPU)
are not taken as the pace of the later ones (a second or two), which said 20 minutes
where 5 were left; the progress says how many frames are still to compute, and a
resumed fine-tune says the step it goes on from."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

import engine.finetune
from engine.finetune import FinetuneConfig, finetune, time_left
from tests.training_helpers import render_tiny_flyover, save_tiny_base, write_reviewed

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: on the clock below, computing a frame's trunk outputs takes this long
FEATURE_S = 20.0


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return save_tiny_base(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> Path:
    return write_reviewed(render_tiny_flyover(tmp_path_factory.mktemp("flyover")), tmp_path_factory.mktemp("reviewed"))


def _config(base: Path, reviewed: Path, out: Path) -> FinetuneConfig:
    return FinetuneConfig(base_weights=str(base), data=str(reviewed), out=str(out), steps=12, batch_size=1,
                          replay_fraction=0.0, checkpoint_every=0, seed=7, scope="roi", device="cpu")


class _Trunk:
    def __init__(self, frames: int, seconds: float) -> None:
        self.frames, self.seconds = frames, seconds

    def __len__(self) -> int:
        return self.frames


def test_time_left_counts_the_frames_still_to_compute_apart_from_the_steps(tmp_path):
    config = FinetuneConfig(base_weights="b", data="d", out=str(tmp_path), steps=10)
    # 2 steps in 40 s, 36 of them computing 4 frames; 2 frames to go: 8 steps at 2 s, 2 frames at 9 s
    assert time_left(config, 2, 2, 40.0, _Trunk(4, 36.0), 2) == pytest.approx(34.0)  # not 40 / 2 * 8 = 160
    assert time_left(config, 2, 2, 40.0, None, 0) == pytest.approx(160.0)  # no cached trunk: the steps' pace
    assert time_left(config, 0, 0, 5.0, _Trunk(1, 5.0), 3) is None  # no step done yet


def test_the_time_left_at_the_first_step_is_the_time_it_then_took(base, reviewed, tmp_path, monkeypatch):
    """On a clock where a frame's trunk outputs take 20 s and the rest next to nothing,
    the time left said after the first step is the time the rest then took."""
    clock = SimpleNamespace(now=0.0, computing=False, began=False)

    def monotonic() -> float:
        """0.1 s a look, but FEATURE_S from the start of a frame's computation to its end."""
        ends = clock.computing and clock.began
        clock.began = clock.computing and not clock.began
        clock.now += FEATURE_S if ends else 0.1
        return clock.now

    computed = engine.finetune._FrozenTrunk.__call__

    def computing(trunk, key, image, target):
        clock.computing = key not in trunk
        try:
            return computed(trunk, key, image, target)
        finally:
            clock.computing = False

    monkeypatch.setattr(engine.finetune, "time", SimpleNamespace(monotonic=monotonic))
    monkeypatch.setattr(engine.finetune._FrozenTrunk, "__call__", computing)
    items = list(finetune(dataclasses.replace(_config(base, reviewed, tmp_path / "out"), steps=24)))
    starting, first, end = items[0], items[1], items[-1]
    assert (starting.state, starting.step, starting.eta_s, starting.features_done) == ("starting", 0, None, 0)
    frames = starting.features_pending
    assert 2 <= frames <= 12  # the distinct (frame, flip) items its steps draw: 6 frames, 2 ways
    assert first.step == 1 and first.features_done == 1 and first.features_pending == frames - 1
    assert end.state == "finished" and end.features_pending == 0 and end.features_done == frames
    took = end.elapsed_s - first.elapsed_s
    assert first.eta_s == pytest.approx(took, rel=0.25), (first.eta_s, took)
    assert first.elapsed_s * 23 > 2 * took  # the pace of the first step said more than twice as long


def test_a_resumed_fine_tune_says_the_step_it_goes_on_from(base, reviewed, tmp_path):
    config = dataclasses.replace(_config(base, reviewed, tmp_path / "out"), steps=4)
    cancel = threading.Event()
    for progress in finetune(config, cancel=cancel):
        if progress.step == 2:
            cancel.set()
    assert progress.state == "cancelled" and progress.step == 2
    resumed = list(finetune(dataclasses.replace(config, resume=True)))
    assert (resumed[0].state, resumed[0].step, resumed[0].start_step) == ("starting", 2, 2)
    assert [p.step for p in resumed[1:]] == [3, 4, 4] and resumed[-1].state == "finished"
    assert resumed[0].features_pending >= 1  # its trunk outputs are computed again in this sitting
