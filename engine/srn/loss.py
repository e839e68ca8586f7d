"""The multi-scale consistency loss (MSNet paper, equations 3-5).

Pure functions on encoded FPN maps, in the style of torchvision's ``fastrcnn_loss``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def feature_distance(a: Tensor, b: Tensor) -> Tensor:
    """``D = 1 - Sim``: one minus the mean cosine similarity of two maps, location by location.

    The paper sums over locations; like the reference implementation we divide by
    ``H * W`` so that ``D`` lies in ``[0, 2]`` (``[0, 1]`` for non-negative encodings)
    and the margin means the same at every level.

    Parameters
    ----------
    a, b
        ``Tensor[B, C, H, W]`` of the same shape.

    Returns
    -------
    Tensor[B]
    """
    if a.shape != b.shape:
        raise ValueError(f"feature_distance: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    similarity = F.cosine_similarity(a, b, dim=1, eps=1e-8)  # [B, H, W]
    return 1.0 - similarity.flatten(1).mean(dim=1)


def multiscale_consistency_loss(
    anchor: Mapping[str, Tensor],
    positive: Mapping[str, Tensor],
    negatives: Sequence[Mapping[str, Tensor]],
    *,
    margin: float = 1.0,
    top_k: int = 1,
) -> Tensor:
    """Triplet loss over FPN levels with hard-negative mining.

    For each triplet ``(X, X+, X-_j)`` the loss is
    ``sum_k max(0, D(X_k, X+_k) - D(X_k, X-_k_j) + margin)`` over the levels ``k`` of
    ``anchor``; of the negatives of one anchor only the ``top_k`` largest losses are
    kept (hard-negative mining), and the result is their mean over the batch.

    Parameters
    ----------
    anchor, positive
        Encoded maps by level, each ``Tensor[B, C, H_k, W_k]``.
    negatives
        One mapping per negative (the paper uses five), each shaped like ``anchor``.
    margin
        ``m`` in the paper (1.0).
    top_k
        Negatives kept per anchor (1 in the paper).

    Returns
    -------
    Tensor
        Scalar loss; zero when every positive is identical to its anchor and every
        negative is orthogonal to it (with ``margin = 1``).
    """
    if not negatives:
        raise ValueError("multiscale_consistency_loss: needs at least one negative")
    if not 1 <= top_k <= len(negatives):
        raise ValueError(f"multiscale_consistency_loss: top_k must be in 1..{len(negatives)}; got {top_k!r}")
    levels = list(anchor)
    positive_distance = [feature_distance(anchor[k], positive[k]) for k in levels]
    per_negative = []
    for negative in negatives:
        hinge = [
            F.relu(d_pos - feature_distance(anchor[k], negative[k]) + margin)
            for k, d_pos in zip(levels, positive_distance)
        ]
        per_negative.append(torch.stack(hinge, dim=0).sum(dim=0))  # [B]
    losses = torch.stack(per_negative, dim=1)  # [B, num_negatives]
    hardest = losses.topk(top_k, dim=1).values
    return hardest.mean()
