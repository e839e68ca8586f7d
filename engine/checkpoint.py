"""Training checkpoints, shared by ``damagemap train`` and ``damagemap finetune``.

A checkpoint is one ``torch.save`` file holding the model's and the optimizer's state
dicts, the step, and plain values (the config, the epoch, the time spent). It is written
atomically (a kill mid-write keeps the previous one) and read back with
``weights_only=True``: a file holding Python objects is refused in one line naming it,
never loaded with torch's advice to pass ``weights_only=False`` (which would run
whatever code the file names).

``read_checkpoint`` checks the file before the training sets anything up, so a
checkpoint that cannot be resumed fails at once; ``restore`` puts it into the model and
optimizer once they are built. ``held_interrupts`` keeps a Ctrl+C out of an optimizer
step, so a checkpoint written on Ctrl+C holds the weights of a whole step.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import pickletools
import signal
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from core.errors import InputError, ModelError, disk_full, first_line

#: What every checkpoint holds; the rest is up to the caller.
REQUIRED_KEYS = ("model", "optimizer", "step")


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, **values: Any) -> None:
    """Write ``model``'s and ``optimizer``'s state and ``values`` (``step`` among them:
    tensors and plain values only) to ``path``, atomically.

    Raises
    ------
    OSError
        ``ENOSPC`` naming ``path`` when the disk filled up on the way (the partial file is
        removed, the previous checkpoint kept).
    """
    if "step" not in values:
        raise TypeError("save_checkpoint needs step=")
    partial = path.with_suffix(".partial")
    try:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), **values}, partial)
    except (OSError, RuntimeError) as exc:  # torch's zip writer says a full disk as "unexpected pos"
        full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC or disk_full(partial)
        partial.unlink(missing_ok=True)  # not left to fill the disk; the previous checkpoint stays
        if full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
        raise
    os.replace(partial, path)


#: What torch's ``weights_only`` refusal says when the file names a class or a function.
_PYTHON_OBJECTS = ("global", "allowlisted")

#: Pickle opcodes that name a class or a function, or call one.
_OBJECT_OPCODES = frozenset({"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX", "BUILD",
                             "EXT1", "EXT2", "EXT4"})

#: How to start again without the checkpoint, per command: a new ``train`` refuses a
#: folder that holds a run, a new ``finetune`` makes a new version.
_FRESH_START = {"train": "damagemap train without --resume into another --out"}


def _advice(command: str) -> str:
    return f"remove it, or run {_FRESH_START.get(command, f'damagemap {command} without --resume')}"


def _names_python_objects(path: Path) -> bool:
    """Whether ``path`` is a plain pickle (not a file ``torch.save`` wrote) that names a
    class or a function. Its opcodes are read with :mod:`pickletools`, never run: torch's
    own reader stops at the framing of pickle protocol 4 and later with a bare "Unsupported
    operand", before it would see what the file names."""
    try:
        if zipfile.is_zipfile(path):
            return False  # torch's own format: torch's reader judged it
        with path.open("rb") as stream:
            return any(opcode.name in _OBJECT_OPCODES for opcode, _, _ in pickletools.genops(stream))
    except Exception:  # noqa: BLE001 - not a pickle at all, or a truncated one
        return False


def _load(path: Path, **options: Any) -> Any:
    """``torch.load`` with ``weights_only=True``, without torch's warning that the file
    was pickled with another protocol (a file it is about to refuse, or one it reads)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
        return torch.load(path, map_location="cpu", weights_only=True, **options)


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
    advice = _advice(command)
    objects = ModelError(
        f"{path}: cannot resume: the file holds Python objects, not only tensors and plain values, and is "
        f"refused (loading it could run code from the file); it was not written by damagemap {command}: {advice}"
    )
    try:
        state = _load(path)
    except pickle.UnpicklingError as exc:
        if any(sign in str(exc).lower() for sign in _PYTHON_OBJECTS) or _names_python_objects(path):
            raise objects from None
        raise ModelError(f"{path}: cannot resume: the file cannot be read ({_reason(exc)}); {advice}") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure means the same to the user: damaged
        if _names_python_objects(path):
            raise objects from None
        reason = first_line(exc)  # the reader's words, where it has some (a bare offset says nothing)
        said = "damaged or cut short" + (f": {reason}" if any(ch.isalpha() for ch in reason) else "")
        raise ModelError(f"{path}: cannot resume: the file cannot be read ({said}); {advice}") from None
    if not isinstance(state, dict) or any(key not in state for key in REQUIRED_KEYS):
        raise ModelError(
            f"{path}: cannot resume: not a damagemap {command} checkpoint (it lacks the model, optimizer and step); "
            f"{advice}"
        )
    written_by = _command_of(state.get("config"))
    if written_by is not None and written_by != command:
        raise ModelError(f"{path}: cannot resume: a damagemap {written_by} checkpoint, not a {command} one; resume "
                         f"it with damagemap {written_by} --resume, or {advice}")
    return state


#: A key only the config of each command's checkpoints holds.
_CONFIG_SIGNS = {"finetune": "base_weights", "train": "arch"}


def _command_of(config: Any) -> str | None:
    """The command whose config ``config`` is (``None`` when it cannot tell)."""
    if not isinstance(config, dict):
        return None
    return next((command for command, key in _CONFIG_SIGNS.items() if key in config), None)


def checkpoint_step(path: Path) -> int | None:
    """The step the checkpoint at ``path`` was written at; ``None`` when there is no
    readable checkpoint there. Its tensors are mapped, not read, so a large one is cheap."""
    try:
        state = _load(Path(path), mmap=True)
    except Exception:  # noqa: BLE001 - whatever the reason, there is no step to tell
        return None
    step = state.get("step") if isinstance(state, dict) else None
    return step if isinstance(step, int) else None


def checkpoint_elapsed_s(path: Path) -> float:
    """The training time (seconds) the checkpoint at ``path`` holds, 0 where it says none
    or cannot be read; mapped, not read, as :func:`checkpoint_step`."""
    try:
        state = _load(Path(path), mmap=True)
    except Exception:  # noqa: BLE001 - no time to tell
        return 0.0
    elapsed = state.get("elapsed_s") if isinstance(state, dict) else None
    return float(elapsed) if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) else 0.0


def restore(state: dict[str, Any], model: torch.nn.Module, optimizer: torch.optim.Optimizer, *,
            path: Path, command: str, config: dict[str, Any] | None = None,
            describe: Callable[[dict[str, Any]], str] | None = None) -> int:
    """Load a checkpoint read by :func:`read_checkpoint` into ``model`` and ``optimizer``;
    the step it was written at. :class:`ModelError` naming ``path`` when it was written
    for another model or another set of trained parameters.

    ``describe`` turns a config (this run's ``config``, and the one the checkpoint
    stores) into a few words on the model ("msnet/mobilenet_v2 with light heads"); where
    the two differ, the message says what the checkpoint was written for and what this
    run is, instead of the first line of torch's complaint about a state dict.
    """
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        saved = state.get("config")
        if describe is not None and config is not None and isinstance(saved, dict):
            written, wanted = describe(saved), describe(config)
            if written != wanted:
                raise ModelError(
                    f"{path}: cannot resume: the checkpoint was written for {written}; this run is {wanted}: "
                    f"give the settings of the run that wrote it, or {_advice(command)}"
                ) from None
        raise ModelError(
            f"{path}: cannot resume: the checkpoint was written for another model or other settings "
            f"({first_line(exc)}); {_advice(command)}"
        ) from None
    return int(state["step"])


@contextlib.contextmanager
def held_interrupts() -> Iterator[None]:
    """Hold a Ctrl+C (SIGINT), or a SIGTERM the command line handles as one, that arrives
    inside the block until its end, then hand it to its handler there (which raises
    :class:`KeyboardInterrupt`).

    Around an optimizer step: a Ctrl+C in the middle of it would leave some weights
    updated and others not, and the checkpoint written on Ctrl+C would hold neither
    step. Only in the main thread, and only for a signal a Python handler takes (Python's
    own for SIGINT, the command line's for SIGTERM); a signal left to the system's default
    is not held.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: handler for number in (signal.SIGINT, signal.SIGTERM)
                if callable(handler := signal.getsignal(number))}
    received: list[int] = []
    for number in previous:
        signal.signal(number, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    for number in dict.fromkeys(received):
        handler = previous[number]
        handler(number, None)  # type: ignore[operator]
