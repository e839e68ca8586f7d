"""Unsupervised SRN training on video: triplets of frames, multi-scale consistency loss.

Only the encoder learns; the detector's backbone stays frozen, so the encoded features
describe what the detector sees. No labels are needed, so users can train the SRN on
their own footage (``damagemap train-srn``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from engine.srn.backbone import FrozenFPN
from engine.srn.encoder import SRNEncoder
from engine.srn.frames import FrameBank
from engine.srn.loss import multiscale_consistency_loss
from engine.srn.sampling import TripletSampler


@dataclass(frozen=True)
class SRNTrainingConfig:
    """Settings of one training run; the defaults are the paper's where it gives them."""

    steps: int = 300
    batch_size: int = 2
    lr: float = 1e-3
    margin: float = 1.0
    num_negatives: int = 5
    top_k: int = 1
    positive_window_s: float = 0.5
    negative_gap_s: float = 10.0
    seed: int = 0
    #: locations per FPN level the loss is computed on each step (the same for every
    #: frame of the step, drawn anew each step); ``None`` uses all. D is a mean over
    #: locations and the encoder works location by location, so a random subset is an
    #: unbiased estimate of D that spares encoding whole P2 maps (1024 wide) on CPU.
    locations_per_level: int | None = 1024
    #: memory for keeping frames' FPN maps (float16) once computed: the backbone is
    #: frozen, so a frame drawn again needs no second pass. 0 turns the cache off.
    feature_cache_mb: int = 0


@dataclass(frozen=True)
class TrainingStep:
    """What one optimisation step reports (passed to ``on_step``)."""

    step: int
    loss: float


def train_srn(
    encoder: SRNEncoder,
    extractor: FrozenFPN,
    bank: FrameBank,
    config: SRNTrainingConfig = SRNTrainingConfig(),
    *,
    device: str | torch.device = "cpu",
    progress: bool = True,
    on_step: Callable[[TrainingStep], None] | None = None,
) -> list[float]:
    """Train ``encoder`` in place with Adam on triplets drawn from ``bank``.

    Each step draws ``batch_size`` anchors, one positive and ``num_negatives``
    negatives each, runs the frames through the frozen ``extractor`` in one batch (or
    takes their maps from the feature cache), encodes ``locations_per_level`` random
    locations of each FPN level and minimises
    :func:`~engine.srn.loss.multiscale_consistency_loss`.

    Returns
    -------
    list[float]
        The loss of every step.

    Raises
    ------
    FloatingPointError
        When a loss is not finite, with the step and the value.
    core.errors.InputError
        When ``bank`` cannot give triplets (see :class:`TripletSampler`).
    """
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    sampler = TripletSampler(
        bank.video_ids,
        bank.times_s,
        positive_window_s=config.positive_window_s,
        negative_gap_s=config.negative_gap_s,
        num_negatives=config.num_negatives,
        seed=config.seed,
    )
    encoder.to(device).train()
    extractor.to(device)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=config.lr)
    batch, negatives = config.batch_size, config.num_negatives
    losses: list[float] = []
    bar = tqdm(range(1, config.steps + 1), desc="train-srn", unit="step", disable=not progress)
    cache = _FeatureCache(extractor, bank, device, config.feature_cache_mb * 2**20)
    for step in bar:
        triplets = sampler.sample(batch)
        # one backbone pass for the whole step: anchors, positives, then negatives
        # grouped by rank (all first negatives, all second negatives, ...)
        order = [t.anchor for t in triplets] + [t.positive for t in triplets]
        order += [t.negatives[j] for j in range(negatives) for t in triplets]
        features = _sample_locations(cache.features(order), config.locations_per_level)
        encoded = encoder(features)
        chunks = {level: torch.split(maps, batch) for level, maps in encoded.items()}
        anchor = {level: parts[0] for level, parts in chunks.items()}
        positive = {level: parts[1] for level, parts in chunks.items()}
        negative_maps = [{level: parts[2 + j] for level, parts in chunks.items()} for j in range(negatives)]
        loss = multiscale_consistency_loss(
            anchor, positive, negative_maps, margin=config.margin, top_k=config.top_k
        )
        value = float(loss.detach())
        if not math.isfinite(value):
            from engine.train import NonFiniteLossError  # a ModelError: one line, as the detector's training says it

            raise NonFiniteLossError(f"SRN training: loss became {value} at step {step} (a learning rate too "
                                     "high? try a lower --lr)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(value)
        bar.set_postfix(loss=f"{value:.4f}")
        if on_step is not None:
            on_step(TrainingStep(step, value))
    encoder.eval()
    return losses


def _sample_locations(features: dict[str, Tensor], count: int | None) -> dict[str, Tensor]:
    """The same ``count`` random locations of every map, as ``[B, C, count, 1]`` maps."""
    if count is None:
        return features
    sampled = {}
    for level, maps in features.items():
        flat = maps.flatten(2)  # [B, C, H * W]
        if flat.shape[-1] > count:
            keep = torch.randperm(flat.shape[-1], device=flat.device)[:count]
            flat = flat[:, :, keep]
        sampled[level] = flat.unsqueeze(-1)
    return sampled


class _FeatureCache:
    """FPN maps of bank frames, computed once while they fit in ``budget_bytes``."""

    def __init__(self, extractor: FrozenFPN, bank: FrameBank, device: str | torch.device, budget_bytes: int) -> None:
        self.extractor = extractor
        self.bank = bank
        self.device = device
        self.budget_bytes = budget_bytes
        self.used_bytes = 0
        self.maps: dict[int, dict[str, Tensor]] = {}

    def features(self, indices: list[int]) -> dict[str, Tensor]:
        """``Tensor[len(indices), C, H_k, W_k]`` float32 per level."""
        todo = sorted({i for i in indices if i not in self.maps})
        fresh: dict[int, dict[str, Tensor]] = {}
        if todo:
            computed = self.extractor(self.bank.batch(todo, device=self.device))
            for row, index in enumerate(todo):
                fresh[index] = {level: maps[row] for level, maps in computed.items()}
                size = sum(m.numel() * 2 for m in fresh[index].values())
                if self.used_bytes + size <= self.budget_bytes:
                    self.maps[index] = {level: m.half() for level, m in fresh[index].items()}
                    self.used_bytes += size
        rows = [fresh[i] if i in fresh else self.maps[i] for i in indices]
        return {level: torch.stack([r[level] for r in rows]).float() for level in rows[0]}
