"""A detector's output with new scores: re-sorted, the ones under the floor dropped."""

from __future__ import annotations

import torch
from torch import Tensor


def rescored(original: dict[str, object], new_scores: Tensor, *, score_floor: float) -> dict[str, object]:
    """``original`` with ``new_scores``, sorted by them, those below ``score_floor`` dropped
    (the box head's own floor). Per-detection tensors and lists (``mask_crops``) follow;
    other keys (the building boxes) are left as they are."""
    scores = original["scores"]
    assert isinstance(scores, Tensor)
    count = len(scores)
    order = torch.argsort(new_scores, descending=True)
    order = order[new_scores[order] >= score_floor]
    result: dict[str, object] = {}
    for key, value in original.items():
        if key == "scores":
            result[key] = new_scores[order]
        elif isinstance(value, Tensor) and len(value) == count and not key.startswith("building_"):
            result[key] = value[order]
        elif isinstance(value, list) and len(value) == count:
            result[key] = [value[int(i)] for i in order]
        else:
            result[key] = value
    return result
