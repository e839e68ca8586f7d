"""Training checkpoints (``engine.checkpoint``), shared by train and finetune: written and
restored whole; a file that cannot be resumed is refused in one line naming it, and a
file holding Python objects is never unpickled."""

from __future__ import annotations

import os
import pickle

import pytest
import torch

from core.errors import InputError, ModelError
from engine.checkpoint import read_checkpoint, restore, save_checkpoint


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def _model_and_optimizer(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()  # momentum buffers to save
    return model, optimizer


def _one_line(error: BaseException, name: str) -> str:
    message = str(error)
    assert name in message and "\n" not in message and "weights_only" not in message, message
    return message


def test_a_checkpoint_restores_model_optimizer_step_and_values(tmp_path):
    model, optimizer = _model_and_optimizer(0)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, optimizer, step=7, epoch=2, config={"lr": 0.1})
    assert not path.with_suffix(".partial").exists()
    other, other_optimizer = _model_and_optimizer(1)
    state = read_checkpoint(path, command="train")
    assert restore(state, other, other_optimizer, path=path, command="train") == 7
    assert state["epoch"] == 2 and state["config"] == {"lr": 0.1}
    assert torch.equal(other.weight, model.weight)
    ours = optimizer.state_dict()["state"][0]["momentum_buffer"]
    assert torch.equal(other_optimizer.state_dict()["state"][0]["momentum_buffer"], ours)


@pytest.mark.parametrize(("config", "writer", "reader"), [
    ({"base_weights": "ft-001/model.safetensors", "steps": 5}, "finetune", "train"),
    ({"arch": "msnet", "backbone": "mobilenet_v2"}, "train", "finetune"),
])
def test_a_checkpoint_of_the_other_command_names_the_command_that_resumes_it(tmp_path, config, writer, reader):
    model, optimizer = _model_and_optimizer(0)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, optimizer, step=3, config=config)
    with pytest.raises(ModelError) as raised:
        read_checkpoint(path, command=reader)
    message = _one_line(raised.value, "checkpoint.pt")
    assert f"a damagemap {writer} checkpoint, not a {reader} one" in message
    assert f"damagemap {writer} --resume" in message and "None" not in message
    assert read_checkpoint(path, command=writer)["step"] == 3


def test_nothing_to_resume_from_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="nothing to resume from"):
        read_checkpoint(tmp_path / "checkpoint.pt", command="finetune")


def test_a_checkpoint_holding_python_objects_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "checkpoint.pt"
    with path.open("wb") as f:
        pickle.dump({"model": _Evil(), "optimizer": {}, "step": 1}, f, protocol=2)
    with pytest.raises(ModelError) as raised:
        read_checkpoint(path, command="finetune")
    message = _one_line(raised.value, "checkpoint.pt")
    assert "holds Python objects" in message and "damagemap finetune without --resume" in message
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a checkpoint at all", "cannot be read"),
        (None, "not a damagemap train checkpoint"),
    ],
)
def test_a_damaged_or_foreign_file_is_one_line(tmp_path, content, words):
    path = tmp_path / "checkpoint.pt"
    if content is None:
        torch.save({"weights": torch.zeros(2)}, path)  # tensors, but not a checkpoint
    else:
        path.write_bytes(content)
    with pytest.raises(ModelError) as raised:
        read_checkpoint(path, command="train")
    assert words in _one_line(raised.value, "checkpoint.pt")


@pytest.mark.parametrize("kept", [0.5, 0.8, 0.95])
def test_a_checkpoint_cut_short_says_so(tmp_path, kept):
    """A checkpoint cut short (a full disk, a copy stopped): the reader's own words are a
    zip offset or "[Errno 22] Invalid argument"; the message says what that means."""
    model, optimizer = _model_and_optimizer(0)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, optimizer, step=1)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * kept)])
    with pytest.raises(ModelError) as raised:
        read_checkpoint(path, command="train")
    assert "cannot be read (damaged or cut short" in _one_line(raised.value, "checkpoint.pt")


def test_a_checkpoint_of_another_model_is_one_line(tmp_path):
    model, optimizer = _model_and_optimizer(0)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, optimizer, step=1)
    bigger = torch.nn.Linear(3, 5)
    state = read_checkpoint(path, command="train")
    with pytest.raises(ModelError) as raised:
        restore(state, bigger, torch.optim.SGD(bigger.parameters(), lr=0.1), path=path, command="train")
    assert "another model" in _one_line(raised.value, "checkpoint.pt")


@pytest.mark.parametrize("full", [True, False])
def test_a_disk_filling_up_mid_checkpoint_is_said_and_leaves_the_last_checkpoint(tmp_path, monkeypatch, full):
    """torch's writer says a full disk as ``RuntimeError: [enforce fail at
    inline_container.cc] unexpected pos``: the run stopped in that traceback and left a
    ``checkpoint.partial`` filling the disk. Now an ``ENOSPC`` naming the checkpoint (the
    command line's one line), the partial file removed, the last checkpoint kept."""
    import errno

    import engine.checkpoint as checkpoint_module

    model, optimizer = _model_and_optimizer(0)
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, model, optimizer, step=3)
    kept = path.read_bytes()
    real_save = torch.save

    def save_until_full(state, target):
        real_save(state, target)
        with open(target, "r+b") as written:  # what the disk held when it filled up
            written.truncate(40)
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 298432 vs 298328")

    monkeypatch.setattr(checkpoint_module.torch, "save", save_until_full)
    monkeypatch.setattr(checkpoint_module, "disk_full", lambda where: full, raising=False)
    with pytest.raises(OSError if full else RuntimeError) as raised:
        save_checkpoint(path, model, optimizer, step=4)
    if full:
        assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
    assert path.read_bytes() == kept
