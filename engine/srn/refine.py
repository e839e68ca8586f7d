"""Score refinement across adjacent frames (MSNet paper, section 4.5).

For two adjacent analysed frames P and Q, the encoded FPN maps are RoI-aligned (7x7,
FPN level chosen by box size) to every prediction's box; each prediction of one frame
is matched to its most similar prediction of the other (mean cosine similarity over the
7x7 locations, equation 3), and a score inside ``[C0, C1]`` is replaced by the mean of
itself and its match's score. Confident and hopeless scores are left alone.

The API streams: :meth:`ScoreRefiner.describe` turns one frame's predictions and FPN maps
into small per-prediction descriptors, :meth:`ScoreRefiner.refine_pair` compares two
frames, and :class:`SequenceRefiner` walks a video holding one frame at a time.

Matching runs both ways (P to Q and Q to P): a prediction always averages with *its own*
best match, so the result does not depend on which frame is called ``prev`` and a
prediction that is the best match of several others is still refined once.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.ops import roi_align
from torchvision.ops.poolers import LevelMapper

from engine.msnet.anchors import fpn_stride
from engine.msnet.inference import in_bfloat16
from engine.srn.encoder import SRNEncoder


@dataclass
class FramePredictions:
    """One frame's predictions with the FPN maps of the same detector pass.

    Attributes
    ----------
    boxes
        ``Tensor[N, 4]`` ``[x1, y1, x2, y2]`` in original frame pixels (as the detector's
        ``postprocess`` returns them).
    scores
        ``Tensor[N]`` box scores in ``[0, 1]``.
    features
        FPN maps by level ``'0'..'3'`` (P2..P5) of this frame only, each
        ``Tensor[1, C, H_k, W_k]`` or ``Tensor[C, H_k, W_k]``: raw (256 channels) or
        already encoded by the SRN (set ``encoded``). Batch padding is fine.
    image_size
        ``(H, W)`` of the resized image the maps were computed on (the detector's
        ``image_sizes`` entry, before padding).
    original_size
        ``(H, W)`` of the frame the boxes refer to; ``None`` means ``image_size``.
    mask_scores
        ``Tensor[N]`` mask scores, refined like ``scores``; ``None`` when the detector
        has no separate mask score.
    encoded
        Whether ``features`` are SRN-encoded already.
    """

    boxes: Tensor
    scores: Tensor
    features: Mapping[str, Tensor]
    image_size: tuple[int, int]
    original_size: tuple[int, int] | None = None
    mask_scores: Tensor | None = None
    encoded: bool = False

    @classmethod
    def from_detector(
        cls,
        output: Mapping[str, Tensor],
        features: Mapping[str, Tensor],
        image_sizes: list[tuple[int, int]],
        original_size: tuple[int, int],
        index: int = 0,
    ) -> FramePredictions:
        """Image ``index`` of a batch from ``model.detect_with_features``.

        ``output`` is that image's dict (``boxes``, ``scores``, optional ``mask_scores``).
        """
        return cls(
            boxes=output["boxes"],
            scores=output["scores"],
            features={k: v[index : index + 1] for k, v in features.items() if k != "pool"},
            image_size=(int(image_sizes[index][0]), int(image_sizes[index][1])),
            original_size=(int(original_size[0]), int(original_size[1])),
            mask_scores=output.get("mask_scores"),
        )


@dataclass
class FrameDescriptors:
    """What refinement keeps of a frame: scores and one descriptor per prediction.

    ``descriptors`` is ``Tensor[N, L * C]``: the 7x7 RoI-aligned encoded features, each
    location's vector unit-normalised and the whole divided by ``sqrt(L)``, so that the
    dot product of two rows is their mean cosine similarity (equation 3, normalised).
    """

    scores: Tensor
    descriptors: Tensor
    mask_scores: Tensor | None = None

    def __len__(self) -> int:
        return int(self.scores.shape[0])


@dataclass
class PairRefinement:
    """Refined scores of two adjacent frames (CPU tensors).

    ``prev_match[i]`` is the index in ``curr`` of prediction ``i``'s best match (``-1``
    when ``curr`` is empty or the match is below ``min_similarity``); ``curr_match``
    likewise. ``similarity`` is ``Tensor[N_prev, N_curr]``.
    """

    prev_scores: Tensor
    curr_scores: Tensor
    prev_mask_scores: Tensor | None
    curr_mask_scores: Tensor | None
    prev_match: Tensor
    curr_match: Tensor
    similarity: Tensor


class ScoreRefiner:
    """Refines detection scores of adjacent frames with a trained SRN encoder.

    Parameters
    ----------
    encoder
        The SRN encoder (see :func:`engine.srn.load_srn`).
    score_range
        ``(C0, C1)``: only scores within it, inclusive, are refined (paper: 0.2, 0.7).
    roi_size
        RoIAlign output size (7).
    sampling_ratio
        RoIAlign sampling points per bin (2, as torchvision's box head).
    min_similarity
        A match below this mean cosine similarity is ignored; ``None`` (the paper)
        always uses the best match.
    encode_rois_first
        ``False`` (the paper): encode whole FPN maps, then RoIAlign. ``True``: RoIAlign
        the raw maps and encode only the ``N x 7 x 7`` pooled vectors; not the same
        numbers (the encoder is non-linear) but far cheaper on CPU.
    device
        Where the encoder runs; by default where its weights are.
    cpu_bfloat16
        Encode in bfloat16 on a CPU that computes it natively (about 2x faster there);
        the descriptors and the similarities stay float32.
    """

    def __init__(
        self,
        encoder: SRNEncoder,
        *,
        score_range: tuple[float, float] = (0.2, 0.7),
        roi_size: int = 7,
        sampling_ratio: int = 2,
        min_similarity: float | None = None,
        encode_rois_first: bool = False,
        device: str | torch.device | None = None,
        cpu_bfloat16: bool = False,
    ) -> None:
        low, high = score_range
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"ScoreRefiner: score_range must satisfy 0 <= C0 <= C1 <= 1; got {score_range!r}")
        self.device = torch.device(device) if device is not None else next(encoder.parameters()).device
        self.encoder = encoder.to(self.device).eval()
        self.score_range = (float(low), float(high))
        self.roi_size = roi_size
        self.sampling_ratio = sampling_ratio
        self.min_similarity = min_similarity
        self.encode_rois_first = encode_rois_first
        self.cpu_bfloat16 = bool(cpu_bfloat16)

    @classmethod
    def from_weights(cls, path: str | Path, *, device: str | torch.device = "cpu", **overrides) -> ScoreRefiner:
        """A refiner from SRN weights, with ``score_range``/``roi_size`` from their config.

        Raises :class:`core.errors.ModelError` naming the file when it cannot be loaded.
        """
        from engine.srn.io import load_srn

        encoder, config = load_srn(path, device=device)
        settings = {"score_range": config.score_range, "roi_size": config.roi_size, **overrides}
        return cls(encoder, device=device, **settings)

    # -- one frame ----------------------------------------------------------------------

    @torch.no_grad()
    def describe(self, frame: FramePredictions) -> FrameDescriptors:
        """Encode and RoI-align one frame's features to its boxes."""
        pooled = self._pool(frame)
        locations = self.roi_size * self.roi_size
        unit = F.normalize(pooled.flatten(2), dim=1, eps=1e-8)  # [N, C, L], unit per location
        descriptors = unit.transpose(1, 2).reshape(pooled.shape[0], locations * pooled.shape[1])
        descriptors = descriptors / math.sqrt(locations)
        mask_scores = frame.mask_scores.detach().float().cpu() if frame.mask_scores is not None else None
        return FrameDescriptors(frame.scores.detach().float().cpu(), descriptors, mask_scores)

    def _pool(self, frame: FramePredictions) -> Tensor:
        levels = self.encoder.levels
        out_channels = self.encoder.out_channels
        boxes = frame.boxes.detach().to(self.device, torch.float32).reshape(-1, 4)
        size = (self.roi_size, self.roi_size)
        if boxes.shape[0] == 0:
            return torch.zeros((0, out_channels) + size, device=self.device)
        missing = [level for level in levels if level not in frame.features]
        if missing:
            raise KeyError(f"ScoreRefiner: features lack FPN levels {missing}; got {list(frame.features)}")
        maps = [_batched(frame.features[level]).to(self.device, torch.float32) for level in levels]

        image_h, image_w = frame.image_size
        original_h, original_w = frame.original_size or frame.image_size
        ratio = boxes.new_tensor([image_w / original_w, image_h / original_h] * 2)
        boxes = boxes * ratio
        scales = [_infer_scale(m, frame.image_size) for m in maps]
        mapper = LevelMapper(round(-math.log2(scales[0])), round(-math.log2(scales[-1])))
        box_levels = mapper([boxes])

        pooled = torch.zeros((boxes.shape[0], out_channels) + size, device=self.device)
        for level, (feature_map, scale) in enumerate(zip(maps, scales)):
            index = torch.where(box_levels == level)[0]
            if index.numel() == 0:
                continue  # nothing at this level: its map is never encoded
            rois = torch.cat([boxes.new_zeros((index.numel(), 1)), boxes[index]], dim=1)

            def align(x: Tensor, rois: Tensor = rois, scale: float = scale) -> Tensor:
                return roi_align(x, rois, size, spatial_scale=scale, sampling_ratio=self.sampling_ratio)

            if frame.encoded:
                level_pooled = align(feature_map)
            elif self.encode_rois_first:
                level_pooled = self._encode(align(feature_map))
            else:
                level_pooled = self._encode_and_align(feature_map, rois, scale)
            # under autocast the encoder answers in half precision; descriptors stay float32
            pooled[index] = level_pooled.to(pooled.dtype)
        return pooled

    def _encode_and_align(self, feature_map: Tensor, rois: Tensor, scale: float) -> Tensor:
        """Encode the part of ``feature_map`` the RoIs sample, then RoIAlign (the paper's order).

        The encoder works location by location, so encoding only the rectangle around
        the RoIs (with the one-location margin bilinear sampling reads) gives the same
        numbers as encoding the whole map, at a fraction of the cost when the boxes
        cover part of the frame. Off the CPU the whole map is encoded: a GPU builds a
        cuDNN plan for every new input shape, and the rectangle changes every frame.
        """
        size = (self.roi_size, self.roi_size)
        if feature_map.device.type != "cpu":
            return roi_align(self._encode(feature_map), rois, size, spatial_scale=scale,
                             sampling_ratio=self.sampling_ratio)
        height, width = feature_map.shape[-2:]
        x = rois[:, [1, 3]] * scale
        y = rois[:, [2, 4]] * scale
        # roi_align treats a RoI as at least one location wide
        x_end = torch.maximum(x[:, 1], x[:, 0] + 1.0)
        y_end = torch.maximum(y[:, 1], y[:, 0] + 1.0)
        left = max(0, math.floor(float(x[:, 0].min())) - 1)
        top = max(0, math.floor(float(y[:, 0].min())) - 1)
        right = min(width, math.ceil(float(x_end.max())) + 2)
        bottom = min(height, math.ceil(float(y_end.max())) + 2)
        if right <= left or bottom <= top:  # every RoI outside the map: sample the whole map
            left, top, right, bottom = 0, 0, width, height
        crop = feature_map[..., top:bottom, left:right]
        shifted = rois.clone()
        shifted[:, [1, 3]] -= left / scale
        shifted[:, [2, 4]] -= top / scale
        return roi_align(self._encode(crop), shifted, size, spatial_scale=scale, sampling_ratio=self.sampling_ratio)

    def _encode(self, x: Tensor) -> Tensor:
        return in_bfloat16(self.cpu_bfloat16, self.encoder.encode, x)

    # -- a pair -------------------------------------------------------------------------

    @torch.no_grad()
    def refine_pair(
        self, prev: FramePredictions | FrameDescriptors, curr: FramePredictions | FrameDescriptors
    ) -> PairRefinement:
        """Refine the scores of two adjacent frames against each other.

        Either side may be given as :class:`FramePredictions` (described here) or as
        the :class:`FrameDescriptors` of an earlier :meth:`describe`, so a streaming
        caller describes each frame once.
        """
        a = prev if isinstance(prev, FrameDescriptors) else self.describe(prev)
        b = curr if isinstance(curr, FrameDescriptors) else self.describe(curr)
        similarity = (a.descriptors @ b.descriptors.T).float().cpu()  # [N, M], all pairs at once
        prev_match = self._best_match(similarity)
        curr_match = self._best_match(similarity.T)
        return PairRefinement(
            prev_scores=self._refine(a.scores, b.scores, prev_match),
            curr_scores=self._refine(b.scores, a.scores, curr_match),
            prev_mask_scores=self._refine_optional(a.mask_scores, b.mask_scores, prev_match),
            curr_mask_scores=self._refine_optional(b.mask_scores, a.mask_scores, curr_match),
            prev_match=prev_match,
            curr_match=curr_match,
            similarity=similarity,
        )

    def _best_match(self, similarity: Tensor) -> Tensor:
        rows, cols = similarity.shape
        if cols == 0:
            return torch.full((rows,), -1, dtype=torch.int64)
        best, match = similarity.max(dim=1)
        if self.min_similarity is not None:
            match = torch.where(best >= self.min_similarity, match, torch.full_like(match, -1))
        return match

    def _refine(self, scores: Tensor, other_scores: Tensor, match: Tensor) -> Tensor:
        low, high = self.score_range
        if other_scores.numel() == 0:
            return scores.clone()
        partner = other_scores[match.clamp(min=0)]
        refine = (match >= 0) & (scores >= low) & (scores <= high)
        return torch.where(refine, (scores + partner) / 2, scores)

    def _refine_optional(self, scores: Tensor | None, other: Tensor | None, match: Tensor) -> Tensor | None:
        if scores is None:
            return None
        if other is None:  # the other frame has no mask scores: nothing to average with
            return scores.clone()
        return self._refine(scores, other, match)


@dataclass
class RefinedFrame:
    """Final refined scores of one frame of a sequence (CPU tensors, input order)."""

    key: Hashable
    scores: Tensor
    mask_scores: Tensor | None


@dataclass
class _Pending:
    key: Hashable
    descriptors: FrameDescriptors
    score_sum: Tensor | None = None
    mask_sum: Tensor | None = None
    pairs: int = 0

    def add(self, scores: Tensor, mask_scores: Tensor | None) -> None:
        self.score_sum = scores if self.score_sum is None else self.score_sum + scores
        if mask_scores is not None:
            self.mask_sum = mask_scores if self.mask_sum is None else self.mask_sum + mask_scores
        self.pairs += 1

    def result(self) -> RefinedFrame:
        d = self.descriptors
        if self.pairs == 0:
            return RefinedFrame(self.key, d.scores.clone(), None if d.mask_scores is None else d.mask_scores.clone())
        mask = None if self.mask_sum is None else self.mask_sum / self.pairs
        return RefinedFrame(self.key, self.score_sum / self.pairs, mask)  # type: ignore[operator]


class SequenceRefiner:
    """Walks a video's analysed frames in order, holding one frame's descriptors.

    A frame with two neighbours is refined against each (:meth:`ScoreRefiner.refine_pair`
    on the detector's own scores) and gets the mean of the two results; the first and
    last frames get their one pair's result. A score outside ``[C0, C1]`` stays as it
    is. Use :meth:`push` for each frame in order, :meth:`flush` at the end (or at a gap).

    Example
    -------
    >>> sequence = SequenceRefiner(refiner)
    >>> for key, predictions in frames:
    ...     done = sequence.push(key, predictions)   # the previous frame, now final
    ...     if done: store(done.key, done.scores)
    >>> last = sequence.flush()
    """

    def __init__(self, refiner: ScoreRefiner) -> None:
        self.refiner = refiner
        self._pending: _Pending | None = None

    def push(self, key: Hashable, frame: FramePredictions | FrameDescriptors) -> RefinedFrame | None:
        """Add the next frame; returns the previous frame's final scores, if any."""
        descriptors = frame if isinstance(frame, FrameDescriptors) else self.refiner.describe(frame)
        current = _Pending(key, descriptors)
        previous, self._pending = self._pending, current
        if previous is None:
            return None
        pair = self.refiner.refine_pair(previous.descriptors, descriptors)
        previous.add(pair.prev_scores, pair.prev_mask_scores)
        current.add(pair.curr_scores, pair.curr_mask_scores)
        return previous.result()

    def flush(self) -> RefinedFrame | None:
        """The last frame's final scores; the next :meth:`push` starts a new sequence."""
        pending, self._pending = self._pending, None
        return None if pending is None else pending.result()


def _batched(feature_map: Tensor) -> Tensor:
    if feature_map.dim() == 3:
        return feature_map.unsqueeze(0)
    if feature_map.dim() == 4 and feature_map.shape[0] == 1:
        return feature_map
    raise ValueError(
        "ScoreRefiner: expected one frame's map, [C, H, W] or [1, C, H, W]; "
        f"got shape {tuple(feature_map.shape)} (slice the batch per frame)"
    )


def _infer_scale(feature_map: Tensor, image_size: tuple[int, int]) -> float:
    # FPN strides are powers of two: the detector's anchors infer them the same way
    return 1.0 / fpn_stride(int(image_size[0]), int(feature_map.shape[-2]))
