"""Where a model's description lives: the JSON beside its weights file.

A weights file (``model.safetensors``) carries only tensors; what rebuilds the model and
what the model card states (classes, input size, the footage it learnt from) is in the
JSON of the same stem beside it. Readers that must not import torch (the map, for the
flight-height caution) read that JSON through :func:`read_model_metadata`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def config_path_for(weights_path: str | Path) -> Path:
    """The JSON that belongs beside a weights file (same stem, ``.json``)."""
    return Path(weights_path).with_suffix(".json")


def read_model_metadata(weights_path: str | Path) -> dict[str, Any] | None:
    """The JSON beside ``weights_path`` as a dict; ``None`` when it is missing, unreadable
    or not a JSON object (weights moved, or a run made on another machine)."""
    try:
        metadata = json.loads(config_path_for(weights_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return metadata if isinstance(metadata, dict) else None


__all__ = ["config_path_for", "read_model_metadata"]
