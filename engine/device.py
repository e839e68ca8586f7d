"""Which torch device a command runs on: ``--device auto|cpu|cuda[:N]``, one rule for
analysis, prediction, evaluation and training."""

from __future__ import annotations

import logging

import torch

from core.errors import ModelError

_log = logging.getLogger("engine.device")
_cpu_notice_given = False

#: What a user can do about a slow analysis on the CPU (the hint ``analyze`` gives).
ANALYSIS_CPU_HINT = "analyse fewer frames with --fps or --every"


def resolve_device(device: str | torch.device = "auto", *, cpu_hint: str | None = None) -> torch.device:
    """``"auto"`` is CUDA when present, else the CPU (said once per process, with
    ``cpu_hint``, what the calling command offers to make it faster, when it has one); a
    CUDA device asked for where there is none, or a name torch does not know, is a
    :class:`ModelError` that says what to pass instead."""
    global _cpu_notice_given
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if not _cpu_notice_given:
            _cpu_notice_given = True
            hint = f"; {cpu_hint}" if cpu_hint else ""
            _log.warning("no CUDA GPU found: running on the CPU (slow%s)", hint)
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu or auto")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ModelError(f"device: expected 'auto', 'cpu' or 'cuda[:N]'; got {device!r}") from None


__all__ = ["ANALYSIS_CPU_HINT", "resolve_device"]
