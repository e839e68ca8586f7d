"""Triplet sampling for SRN training (MSNet paper, section 4.3).

Given frame ``x_t`` of a video at frame rate ``r``, its positive is a frame within
``[t - 0.5 r, t + 0.5 r]`` (half a second: a drone at ~50 mph barely moves), its
negatives frames more than ``10 r`` away (ten seconds), or frames of another video.
"""

from __future__ import annotations

import math

from dataclasses import dataclass

import numpy as np

from core.errors import InputError


@dataclass(frozen=True)
class Triplet:
    """Frame indices (into a :class:`~engine.srn.frames.FrameBank`) of one training triplet."""

    anchor: int
    positive: int
    negatives: tuple[int, ...]


class TripletSampler:
    """Draws triplets from frames known by video and timestamp.

    Parameters
    ----------
    video_ids, times_s
        Per-frame video index and presentation time (seconds), as in a ``FrameBank``.
    positive_window_s
        A positive lies within this many seconds of its anchor (0.5), the anchor excluded.
    negative_gap_s
        A negative of the same video lies more than this many seconds away (10).
    num_negatives
        Negatives per anchor (5); drawn with replacement when fewer exist.
    seed
        Seed of the sampler's own generator, so runs repeat.

    Raises
    ------
    core.errors.InputError
        When no frame has both a positive and a negative, with what to do about it.
    """

    def __init__(
        self,
        video_ids: np.ndarray,
        times_s: np.ndarray,
        *,
        positive_window_s: float = 0.5,
        negative_gap_s: float = 10.0,
        num_negatives: int = 5,
        seed: int = 0,
    ) -> None:
        self.video_ids = np.asarray(video_ids, dtype=np.int64)
        self.times_s = np.asarray(times_s, dtype=np.float64)
        if self.video_ids.shape != self.times_s.shape:
            raise ValueError("TripletSampler: video_ids and times_s must have one entry per frame")
        self.positive_window_s = positive_window_s
        self.negative_gap_s = negative_gap_s
        self.num_negatives = num_negatives
        self.rng = np.random.default_rng(seed)
        same_video = self.video_ids[:, None] == self.video_ids[None, :]
        gap = np.abs(self.times_s[:, None] - self.times_s[None, :])
        not_self = ~np.eye(len(self.times_s), dtype=bool)
        self._positive = same_video & (gap <= positive_window_s) & not_self
        self._negative = ~same_video | (gap > negative_gap_s)
        self.anchors = np.flatnonzero(self._positive.any(axis=1) & self._negative.any(axis=1))
        if len(self.anchors) == 0:
            need = (f"cannot form SRN training triplets from {len(self.times_s)} frames: each needs a neighbour "
                    f"within {positive_window_s:g} s and a negative more than {negative_gap_s:g} s away")
            if not self._positive.any():  # the frames were sampled too far apart
                raise InputError(f"{need}; no two frames of a video are that close: sample more often "
                                 f"(--sample-fps {math.ceil(2 / positive_window_s):g} or more)")
            raise InputError(f"{need}; give a video longer than {2 * negative_gap_s:g} s or a second video")

    def positives_of(self, anchor: int) -> np.ndarray:
        return np.flatnonzero(self._positive[anchor])

    def negatives_of(self, anchor: int) -> np.ndarray:
        return np.flatnonzero(self._negative[anchor])

    def sample(self, batch_size: int) -> list[Triplet]:
        """``batch_size`` triplets with anchors drawn uniformly from the usable frames."""
        triplets = []
        for anchor in self.rng.choice(self.anchors, size=batch_size):
            positives = self.positives_of(anchor)
            negatives = self.negatives_of(anchor)
            replace = len(negatives) < self.num_negatives
            chosen = self.rng.choice(negatives, size=self.num_negatives, replace=replace)
            triplets.append(
                Triplet(
                    anchor=int(anchor),
                    positive=int(self.rng.choice(positives)),
                    negatives=tuple(int(n) for n in chosen),
                )
            )
        return triplets
