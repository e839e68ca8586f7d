"""Compact weight storage: float16, and int8 for the largest tensors.

The shipped models must stay small (the detector and its SRN together at most 25 MB).
Float16 halves every tensor; the few largest ones (the detector's first box-head layer,
the SRN's 1024x1024 layers: over half the parameters) are stored as int8 with one
float16 scale per output channel (symmetric, ``scale = max|w| / 127`` per row), which
halves them again at a rounding error of at most half a step per weight. Loading turns
everything back into float32, so the models run as if never compacted; the effect on
the metrics is measured and written in the model card.

The files stay plain safetensors: an int8 tensor ``name`` comes with ``name`` +
:data:`SCALE_SUFFIX`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

from core.errors import ModelError

#: tensors with at least this many elements (and two or more dimensions) go to int8
INT8_MIN_ELEMENTS = 1_000_000
#: and every tensor of two or more dimensions under these prefixes: the close look's
#: classifier is a whole backbone of small tensors (:mod:`engine.msnet.close_look`), 4.5 MB
#: in float16 and 2.4 MB so
INT8_PREFIXES = ("close_look_head.",)
SCALE_SUFFIX = ".int8_scale"


def compact_state(state: Mapping[str, Tensor], *, int8_min_elements: int = INT8_MIN_ELEMENTS,
                  int8_prefixes: tuple[str, ...] = INT8_PREFIXES) -> dict[str, Tensor]:
    """``state`` for storage: floats as float16, the largest (and those under
    ``int8_prefixes``) as int8 plus per-row scales."""
    stored: dict[str, Tensor] = {}
    for name, tensor in state.items():
        tensor = tensor.detach().cpu()
        if not tensor.is_floating_point():
            stored[name] = tensor.contiguous()
        elif tensor.dim() >= 2 and (tensor.numel() >= int8_min_elements or name.startswith(int8_prefixes)):
            rows = tensor.float().reshape(tensor.shape[0], -1)
            # the scale as stored (float16) is the one used to round
            scale = (rows.abs().amax(dim=1) / 127).clamp(min=1e-8).half()
            steps = torch.round(rows / scale.float()[:, None]).clamp(-127, 127)
            stored[name] = steps.to(torch.int8).reshape(tensor.shape).contiguous()
            stored[name + SCALE_SUFFIX] = scale.contiguous()
        else:
            stored[name] = tensor.half().contiguous()
    return stored


def expand_state(stored: Mapping[str, Tensor], *, source: object) -> dict[str, Tensor]:
    """The inverse of :func:`compact_state` (plain states pass through unchanged).

    int8 tensors come back as float32; other dtypes are left for the caller to cast.
    :class:`ModelError` naming ``source`` when a scale has no tensor or does not fit it.
    """
    scales = {name[: -len(SCALE_SUFFIX)]: t for name, t in stored.items() if name.endswith(SCALE_SUFFIX)}
    orphans = sorted(set(scales) - set(stored))
    if orphans:
        raise ModelError(f"{source}: int8 scale without its tensor ({orphans[0]!r})")
    state: dict[str, Tensor] = {}
    for name, tensor in stored.items():
        if name.endswith(SCALE_SUFFIX):
            continue
        scale = scales.get(name)
        if scale is not None:
            if tensor.dtype != torch.int8 or scale.dim() != 1 or scale.numel() != tensor.shape[0]:
                raise ModelError(
                    f"{source}: tensor {name!r} ({tensor.dtype}, {tuple(tensor.shape)}) does not fit its int8 "
                    f"scale ({tuple(scale.shape)})"
                )
            tensor = (tensor.float().reshape(tensor.shape[0], -1) * scale.float()[:, None]).reshape(tensor.shape)
        state[name] = tensor
    return state


def read_stored(path: str | Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """A safetensors file's tensors as stored (pass them to :func:`expand_state`) and its
    metadata; :class:`ModelError` naming the file when it cannot be read."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            return {name: handle.get_tensor(name) for name in handle.keys()}, dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({exc})") from exc


def stored_dtype(stored: Mapping[str, Tensor]) -> str:
    """How a stored state keeps its floats, for the JSON beside it."""
    kinds = {
        str(tensor.dtype).removeprefix("torch.")
        for tensor in stored.values()
        if tensor.is_floating_point() or tensor.dtype == torch.int8
    }
    return "+".join(sorted(kinds))


__all__ = ["INT8_MIN_ELEMENTS", "INT8_PREFIXES", "SCALE_SUFFIX", "compact_state", "expand_state", "read_stored",
           "stored_dtype"]
