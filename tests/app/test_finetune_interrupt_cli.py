"""``damagemap finetune``: Ctrl+C writes a checkpoint at the last whole step and says how to
go on, ``--resume`` continues from it to the weights of a run that never stopped, and
``--list`` says which unfinished versions can be resumed (and never shows weights that
are not there)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from app.cli import main
from core.store import ProjectStore
from engine.finetune import FinetuneConfig, run_to_end
from services.finetune import PLAN_NAME, FinetunePlan
from services.models import new_version
from tests.training_helpers import interrupt_at, render_tiny_flyover, save_tiny_base, saved_weights, write_reviewed


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return save_tiny_base(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> Path:
    """A tiny flyover's frames as an exported set of reviewed frames."""
    return write_reviewed(render_tiny_flyover(tmp_path_factory.mktemp("flyover")), tmp_path_factory.mktemp("reviewed"),
                          negatives=False)


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "flight.dmproj"
    (tmp_path / "flight.mp4").write_bytes(b"")  # only its presence is checked on the way
    with ProjectStore.create(project, video_path=tmp_path / "flight.mp4"):
        pass
    return project


def _planned(project: Path, base: Path, reviewed: Path, monkeypatch) -> FinetunePlan:
    """A version folder with its plan, as ``plan_finetune`` writes it; a fresh fine-tune
    of the project gets this plan, ``--resume`` reads it back as usual."""
    import services.finetune

    version = new_version(project)
    config = FinetuneConfig(base_weights=str(base), data=str(reviewed), out=str(version.folder), steps=4,
                            batch_size=1, replay_fraction=0.0, seed=7, scope="roi", device="cpu")
    (version.folder / PLAN_NAME).write_text(json.dumps({
        "run_id": 1, "train_frames": [0], "heldout_frames": [],
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "resume"}}))
    plan = FinetunePlan(version, 1, [0], [], config, False)
    real = services.finetune.plan_finetune
    monkeypatch.setattr(services.finetune, "plan_finetune",
                        lambda store, request: real(store, request) if request.resume else plan)
    return plan






def test_ctrl_c_in_a_step_checkpoints_it_and_resume_goes_on_from_there(base, reviewed, tmp_path, monkeypatch,
                                                                       capsys):
    project = _project(tmp_path)
    plan = _planned(project, base, reviewed, monkeypatch)
    checkpoint = plan.version.folder / "checkpoint.pt"
    with monkeypatch.context() as patched:
        interrupt_at(patched, 2)
        assert main(["finetune", str(project), "-q"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"interrupted at step 2: checkpoint {checkpoint} written; "
                       f"run 'damagemap finetune {project} --resume' to continue from it"), err

    assert main(["finetune", str(project), "--list"]) == 0
    listed = capsys.readouterr().out
    assert f"ft-001: unfinished at step 2 of 4 (--resume)  {checkpoint}" in listed, listed
    assert "model.safetensors" not in listed

    assert main(["finetune", str(project), "--resume", "-q"]) == 0
    assert "ft-001: 4 steps" in capsys.readouterr().out
    whole = run_to_end(dataclasses.replace(plan.config, out=str(tmp_path / "whole")))
    a, b = saved_weights(whole.weights), saved_weights(plan.version.weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_fine_tune_says_which_version_it_starts_from(base, reviewed, tmp_path, monkeypatch, capsys):
    from engine.weights import save_model
    from tests.training_helpers import tiny_msnet

    project = _project(tmp_path)
    earlier = new_version(project)
    save_model(tiny_msnet(), earlier.weights)  # ft-001, finished: the base of the next fine-tune
    plan = _planned(project, earlier.weights, reviewed, monkeypatch)
    assert main(["finetune", str(project), "-q"]) == 0
    printed = capsys.readouterr()
    first = printed.err.strip().splitlines()[0]
    assert first.startswith(f"{plan.version.name}: fine-tuning ft-001 on "), first
    # the advice names the project's video, not a VIDEO to fill in
    assert f"damagemap analyze {tmp_path / 'flight.mp4'} --project {project} --weights" in printed.out


class _InterruptingBar:
    """The progress bar, where a Ctrl+C between two steps lands."""

    def __init__(self, at: int) -> None:
        self.at, self.n = at, 0

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        pass

    def update(self, count: int) -> None:
        if self.n == self.at:
            raise KeyboardInterrupt

    def close(self) -> None:
        pass


def test_ctrl_c_between_steps_checkpoints_the_step_just_done(base, reviewed, tmp_path, monkeypatch, capsys):
    import app.commands.finetune

    from engine.checkpoint import checkpoint_step

    project = _project(tmp_path)
    plan = _planned(project, base, reviewed, monkeypatch)
    monkeypatch.setattr(app.commands.finetune, "_bar", lambda config, disable, initial: _InterruptingBar(3))
    assert main(["finetune", str(project), "-q"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("interrupted at step 3: checkpoint ")
    assert checkpoint_step(plan.version.folder / "checkpoint.pt") == 3
    assert not plan.version.weights.exists()


def test_list_and_resume_say_so_of_a_version_stopped_before_its_first_checkpoint(base, reviewed, tmp_path,
                                                                                monkeypatch, capsys):
    project = _project(tmp_path)
    plan = _planned(project, base, reviewed, monkeypatch)  # a plan, and no checkpoint (killed at once)
    assert main(["finetune", str(project), "--list"]) == 0
    listed = capsys.readouterr().out
    assert (f"ft-001: unfinished, stopped before its first checkpoint: cannot be resumed (fine-tune again)  "
            f"{plan.version.folder}") in listed, listed
    assert "(--resume)" not in listed and "model.safetensors" not in listed
    assert main(["finetune", str(project), "--list", "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert (model["finished"], model["weights"], model["checkpoint"], model["step"]) == (False, None, None, None)
    assert main(["finetune", str(project), "--resume"]) == 2
    assert ("no unfinished fine-tune to resume (ft-001 stopped before writing a checkpoint: fine-tune again)"
            in capsys.readouterr().err)


def test_the_advice_analyses_the_frames_the_run_compared_with_analysed(tmp_path):
    """A demo analysed at 2 frames/s, then all 200 frames by the advice: --compare set 854
    detections against 1580 with nothing but a frames row to say why."""
    from app.commands.finetune import _analyse_again

    project = _project(tmp_path)
    with ProjectStore.open(project) as store:
        run = store.start_run(model={"weights": None}, settings={"fps": 2.0, "stride": None})
    words = _analyse_again(project, run, tmp_path / "ft-001" / "model.safetensors")
    assert words == (f"damagemap analyze {tmp_path / 'flight.mp4'} --project {project} --fps 2 "
                     f"--weights {tmp_path / 'ft-001' / 'model.safetensors'}")
