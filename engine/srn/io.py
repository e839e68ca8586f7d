"""Reading and writing SRN weights: safetensors plus a JSON config beside them.

``srn.safetensors`` holds the encoder's tensors (and a copy of the config in its
metadata, so a lone weights file still loads); ``srn.json`` is the readable config:
layer sizes, the refinement settings the weights were meant for, and how they were
trained. Nothing here unpickles.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.errors import ModelError
from core.model_files import config_path_for
from engine.compact import compact_state, expand_state, read_stored
from engine.srn.encoder import FPN_LEVELS, SRNEncoder

#: value of the ``format`` key that marks an SRN config
SRN_FORMAT = "damagemap-srn"
#: bumped when the tensor layout changes; older versions are refused with a message
SRN_VERSION = 1
_METADATA_KEY = "damagemap_srn_config"


@dataclass(frozen=True)
class SRNConfig:
    """What an SRN weights file is: encoder shape, refinement defaults, provenance.

    ``score_range`` is ``[C0, C1]``: only scores inside it are refined. ``training``
    is free-form provenance (videos, steps, detector weights and their SHA-256).
    """

    in_channels: int = 256
    hidden_channels: int = 1024
    num_layers: int = 3
    levels: tuple[str, ...] = FPN_LEVELS
    margin: float = 1.0
    score_range: tuple[float, float] = (0.2, 0.7)
    roi_size: int = 7
    training: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, encoder: SRNEncoder, **kwargs: Any) -> SRNConfig:
        """The config describing ``encoder``, with other fields from ``kwargs``."""
        return cls(
            in_channels=encoder.in_channels,
            hidden_channels=encoder.out_channels,
            num_layers=encoder.num_layers,
            levels=encoder.levels,
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["levels"] = list(self.levels)
        data["score_range"] = list(self.score_range)
        return {"format": SRN_FORMAT, "version": SRN_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: Path) -> SRNConfig:
        if not isinstance(data, dict) or data.get("format") != SRN_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ModelError(
                f"{source}: not an SRN config (expected format {SRN_FORMAT!r}, got {found!r}); "
                "pass the srn.safetensors written by 'damagemap train-srn'"
            )
        if data.get("version") != SRN_VERSION:
            raise ModelError(
                f"{source}: SRN config version {data.get('version')!r} is not supported "
                f"(this damagemap reads version {SRN_VERSION}); retrain with 'damagemap train-srn'"
            )
        try:
            low, high = (float(v) for v in data.get("score_range", (0.2, 0.7)))
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{source}: malformed SRN config ({exc!r})") from exc
        if not 0.0 <= low <= high <= 1.0:
            raise ModelError(f"{source}: its score_range [{low:g}, {high:g}] must satisfy 0 <= C0 <= C1 <= 1; "
                             "train the SRN again with such a --score-range")
        try:
            return cls(
                in_channels=int(data["in_channels"]),
                hidden_channels=int(data["hidden_channels"]),
                num_layers=int(data["num_layers"]),
                levels=tuple(str(v) for v in data.get("levels", FPN_LEVELS)),
                margin=float(data.get("margin", 1.0)),
                score_range=(low, high),
                roi_size=int(data.get("roi_size", 7)),
                training=dict(data.get("training", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: malformed SRN config ({exc!r})") from exc

    def build(self) -> SRNEncoder:
        return SRNEncoder(self.in_channels, self.hidden_channels, self.num_layers, self.levels)


def save_srn(encoder: SRNEncoder, path: str | Path, config: SRNConfig | None = None, *,
             compact: bool = False) -> Path:
    """Write ``encoder`` to ``path`` (.safetensors) and its config to ``path.with_suffix('.json')``.

    ``compact`` stores float16, the largest layers int8 (:mod:`engine.compact`; the
    shipped SRN's storage). Returns the weights path.
    """
    from safetensors.torch import save_file

    path = Path(path)
    config = config or SRNConfig.of(encoder)
    config_json = json.dumps(config.to_dict(), indent=2, sort_keys=True)
    if compact:
        tensors = compact_state(encoder.state_dict())
    else:
        tensors = {name: t.detach().to("cpu").contiguous() for name, t in encoder.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={_METADATA_KEY: config_json})
    path.chmod(0o644)  # safetensors creates owner-only files; weights are meant to be shared
    config_path_for(path).write_text(config_json + "\n", encoding="utf-8")
    return path


def load_srn(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[SRNEncoder, SRNConfig]:
    """Load SRN weights written by :func:`save_srn`, in eval mode.

    The JSON beside the weights is the config; where it is missing, the copy in the
    safetensors metadata is used.

    Raises
    ------
    core.errors.ModelError
        Naming the file, when it is missing, not safetensors, not SRN weights, or its
        tensors do not fit its config.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: SRN weights not found; train them with 'damagemap train-srn'")
    tensors, metadata = read_stored(path)
    tensors = expand_state(tensors, source=path)

    config_path = config_path_for(path)
    if config_path.is_file():
        try:
            raw = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{config_path}: unreadable SRN config ({exc})") from exc
        config = SRNConfig.from_dict(raw, source=config_path)
    elif _METADATA_KEY in metadata:
        try:
            raw = json.loads(metadata[_METADATA_KEY])
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}: corrupt SRN config in metadata ({exc})") from exc
        config = SRNConfig.from_dict(raw, source=path)
    else:
        raise ModelError(
            f"{path}: not SRN weights (no {config_path.name} beside it and no SRN config in "
            "its metadata); pass the srn.safetensors written by 'damagemap train-srn'"
        )

    encoder = config.build()
    expected = encoder.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ModelError(
            f"{path}: tensors do not match an SRN encoder (missing {missing[:4]}, "
            f"unexpected {unexpected[:4]}); is this a detector file rather than SRN weights?"
        )
    for name, tensor in tensors.items():
        if tensor.shape != expected[name].shape:
            raise ModelError(
                f"{path}: tensor {name!r} has shape {tuple(tensor.shape)}, config expects "
                f"{tuple(expected[name].shape)}; weights and {config_path.name} do not belong together"
            )
        if not torch.isfinite(tensor).all():
            raise ModelError(f"{path}: tensor {name!r} holds NaN or infinite values")
    encoder.load_state_dict(tensors)
    return encoder.to(device).eval(), config
