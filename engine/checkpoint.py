"""Training checkpoints, shared by ``damagemap train`` and ``damagemap finetune``.

A checkpoint is one ``torch.save`` file holding the model's and the optimizer's state
dicts, the step, and plain values (the config, the epoch, the time spent). It is written
atomically (a kill mid-write keeps the previous one) and read back with
``weights_only=True``: a file holding Python objects is refused in one line naming it,
never loaded with torch's advice to pass ``weights_only=False`` (which would run
whatever code the file names).

``read_checkpoint`` checks the file before the training sets anything up, so a
checkpoint that cannot be resumed fails at once; ``restore`` puts it into the model and
optimizer once they are built.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from core.errors import InputError, ModelError, first_line

#: What every checkpoint holds; the rest is up to the caller.
REQUIRED_KEYS = ("model", "optimizer", "step")


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, **values: Any) -> None:
    """Write ``model``'s and ``optimizer``'s state and ``values`` (``step`` among them:
    tensors and plain values only) to ``path``, atomically."""
    if "step" not in values:
        raise TypeError("save_checkpoint needs step=")
    partial = path.with_suffix(".partial")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), **values}, partial)
    os.replace(partial, path)


#: What torch's ``weights_only`` refusal says when the file names a class or a function.
_PYTHON_OBJECTS = ("global", "allowlisted")


def _reason(exc: pickle.UnpicklingError) -> str:
    """The unpickler's own complaint, without torch's advice to load the file unsafely."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    useful = [line for line in lines if "weights_only" not in line and "WeightsUnpickler error:" != line
              and not line.startswith(("Check the documentation", "Please file an issue"))]
    return useful[0] if useful else "not a checkpoint"


def read_checkpoint(path: Path, *, command: str) -> dict[str, Any]:
    """The checkpoint at ``path``, read with ``weights_only=True``.

    ``command`` (``"train"``, ``"finetune"``) is the damagemap command that writes such
    checkpoints; the messages name it.

    Raises
    ------
    InputError
        There is no file to resume from.
    ModelError
        The file holds Python objects (refused, never unpickled), cannot be read, or
        is not a checkpoint of ``command``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: nothing to resume from")
    advice = f"remove it, or run damagemap {command} without --resume"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if any(sign in str(exc).lower() for sign in _PYTHON_OBJECTS):  # a class or function named in the file
            raise ModelError(
                f"{path}: cannot resume: the file holds Python objects, not only tensors and plain values, and is "
                f"refused (loading it could run code from the file); it was not written by damagemap {command}: "
                f"{advice}"
            ) from None
        raise ModelError(f"{path}: cannot resume: the file cannot be read ({_reason(exc)}); {advice}") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure means the same to the user: damaged
        raise ModelError(f"{path}: cannot resume: the file cannot be read ({first_line(exc)}); {advice}") from None
    if not isinstance(state, dict) or any(key not in state for key in REQUIRED_KEYS):
        raise ModelError(
            f"{path}: cannot resume: not a damagemap {command} checkpoint (it lacks the model, optimizer and step); "
            f"{advice}"
        )
    return state


def restore(state: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer, *,
            path: Path, command: str) -> int:
    """Load a checkpoint read by :func:`read_checkpoint` into ``model`` and ``optimizer``;
    the step it was written at. :class:`ModelError` naming ``path`` when it was written
    for another model or another set of trained parameters."""
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise ModelError(
            f"{path}: cannot resume: the checkpoint was written for another model or other settings "
            f"({first_line(exc)}); remove it, or run damagemap {command} without --resume"
        ) from None
    return int(state["step"])
