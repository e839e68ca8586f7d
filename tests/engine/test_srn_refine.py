"""Score refinement across adjacent frames (engine.srn.refine)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from engine.srn import (
    FrameDescriptors,
    FramePredictions,
    ScoreRefiner,
    SequenceRefiner,
    build_srn,
    build_untrained_fpn,
)

C0, C1 = 0.2, 0.7


@pytest.fixture(scope="module")
def refiner() -> ScoreRefiner:
    torch.manual_seed(0)
    return ScoreRefiner(build_srn(hidden_channels=256), score_range=(C0, C1))


@pytest.fixture(scope="module")
def fpn():
    torch.manual_seed(0)
    return build_untrained_fpn("resnet18")


def _random_frame(num: int, seed: int, *, size: int = 128) -> FramePredictions:
    generator = torch.Generator().manual_seed(seed)
    xy = torch.rand(num, 2, generator=generator) * (size - 48)
    wh = 16 + torch.rand(num, 2, generator=generator) * 32
    features = {
        level: torch.randn(1, 256, size // stride, size // stride, generator=generator)
        for level, stride in zip("0123", (4, 8, 16, 32))
    }
    return FramePredictions(
        boxes=torch.cat([xy, xy + wh], dim=1),
        scores=torch.rand(num, generator=generator),
        mask_scores=torch.rand(num, generator=generator),
        features=features,
        image_size=(size, size),
    )


def test_scores_outside_range_never_change(refiner: ScoreRefiner) -> None:
    prev, curr = _random_frame(12, seed=1), _random_frame(9, seed=2)
    prev.scores = torch.tensor([0.0, 0.05, 0.19, 0.71, 0.9, 1.0, 0.3, 0.5, 0.6, 0.2, 0.7, 0.99])
    curr.scores = torch.tensor([0.99, 0.01, 0.95, 0.1, 0.3, 0.6, 0.85, 0.02, 0.4])
    result = refiner.refine_pair(prev, curr)
    for before, after, mask_before, mask_after in (
        (prev.scores, result.prev_scores, prev.mask_scores, result.prev_mask_scores),
        (curr.scores, result.curr_scores, curr.mask_scores, result.curr_mask_scores),
    ):
        outside = (before < C0) | (before > C1)
        assert torch.equal(after[outside], before[outside])
        mask_outside = (mask_before < C0) | (mask_before > C1)
        assert torch.equal(mask_after[mask_outside], mask_before[mask_outside])
    # and the ones inside became the mean with their best match
    inside = (prev.scores >= C0) & (prev.scores <= C1)
    expected = (prev.scores + curr.scores[result.prev_match]) / 2
    torch.testing.assert_close(result.prev_scores[inside], expected[inside])
    assert not torch.equal(result.prev_scores[inside], prev.scores[inside])


def test_refinement_is_symmetric_for_a_pair(refiner: ScoreRefiner) -> None:
    a, b = _random_frame(7, seed=3), _random_frame(5, seed=4)
    ab = refiner.refine_pair(a, b)
    ba = refiner.refine_pair(b, a)
    torch.testing.assert_close(ab.prev_scores, ba.curr_scores)
    torch.testing.assert_close(ab.curr_scores, ba.prev_scores)
    torch.testing.assert_close(ab.prev_mask_scores, ba.curr_mask_scores)
    assert torch.equal(ab.prev_match, ba.curr_match)
    torch.testing.assert_close(ab.similarity, ba.similarity.T)


def test_empty_frames_leave_scores_alone(refiner: ScoreRefiner) -> None:
    full, empty = _random_frame(4, seed=5), _random_frame(0, seed=6)
    result = refiner.refine_pair(full, empty)
    assert torch.equal(result.prev_scores, full.scores)
    assert result.curr_scores.shape == (0,)
    assert torch.equal(result.prev_match, torch.full((4,), -1))


def _textured_scene(offset: tuple[int, int], size: int = 192) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A smooth background with four distinct textured 'buildings', shifted by ``offset``."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    image = np.stack([0.4 + 0.1 * np.sin(xx / 40), 0.45 + 0.1 * np.cos(yy / 35), 0.4 + 0 * xx], -1)
    dx, dy = offset
    boxes = []
    for i, (x, y) in enumerate([(20, 24), (110, 30), (30, 120), (120, 116)]):
        texture = rng.random((44, 44, 1)) * rng.random((1, 1, 3))
        stripes = 0.5 + 0.5 * np.sin((np.arange(44)[:, None] * (i + 1) / 3.0))[..., None]
        image[y + dy : y + dy + 44, x + dx : x + dx + 44] = 0.6 * texture + 0.4 * stripes
        boxes.append((x + dx, y + dy, x + dx + 44, y + dy + 44))
    return image.astype(np.float32), boxes


def test_matching_finds_the_same_object_in_a_shifted_frame(fpn, refiner: ScoreRefiner) -> None:
    def predictions(offset: tuple[int, int], order: list[int]) -> FramePredictions:
        image, boxes = _textured_scene(offset)
        batch = torch.from_numpy(image).permute(2, 0, 1)[None]
        features = fpn(batch)
        return FramePredictions(
            boxes=torch.tensor([boxes[i] for i in order], dtype=torch.float32),
            scores=torch.full((len(order),), 0.5),
            features=features,
            image_size=tuple(image.shape[:2]),
        )

    prev = predictions((0, 0), [0, 1, 2, 3])
    curr = predictions((5, 3), [2, 0, 3, 1])  # shifted by a few pixels, objects reordered
    result = refiner.refine_pair(prev, curr)
    # object k of prev sits at position [2, 0, 3, 1].index(k) in curr
    assert result.prev_match.tolist() == [1, 3, 0, 2]
    assert result.curr_match.tolist() == [2, 0, 3, 1]


def test_boxes_in_original_pixels_are_scaled_to_the_features(refiner: ScoreRefiner) -> None:
    frame = _random_frame(3, seed=7)
    doubled = FramePredictions(
        boxes=frame.boxes * 2,
        scores=frame.scores,
        features=frame.features,
        image_size=frame.image_size,
        original_size=(frame.image_size[0] * 2, frame.image_size[1] * 2),
    )
    torch.testing.assert_close(refiner.describe(doubled).descriptors, refiner.describe(frame).descriptors)


def test_encoded_features_give_the_same_descriptors(refiner: ScoreRefiner) -> None:
    frame = _random_frame(4, seed=8)
    encoded = FramePredictions(
        boxes=frame.boxes,
        scores=frame.scores,
        features=refiner.encoder(frame.features),
        image_size=frame.image_size,
        encoded=True,
    )
    torch.testing.assert_close(
        refiner.describe(encoded).descriptors, refiner.describe(frame).descriptors, rtol=1e-4, atol=1e-5
    )


def test_sequence_refiner_streams_one_frame_at_a_time(refiner: ScoreRefiner) -> None:
    frames = [_random_frame(n, seed=10 + n) for n in (3, 4, 2)]
    sequence = SequenceRefiner(refiner)
    done = [sequence.push(i, f) for i, f in enumerate(frames)]
    last = sequence.flush()
    assert done[0] is None and [d.key for d in done[1:]] == [0, 1] and last.key == 2

    first = refiner.refine_pair(frames[0], frames[1])
    second = refiner.refine_pair(frames[1], frames[2])
    torch.testing.assert_close(done[1].scores, first.prev_scores)  # one neighbour: that pair
    torch.testing.assert_close(done[2].scores, (first.curr_scores + second.prev_scores) / 2)
    torch.testing.assert_close(last.scores, second.curr_scores)
    assert sequence.flush() is None


def test_descriptors_are_small_and_unit_norm(refiner: ScoreRefiner) -> None:
    described = refiner.describe(_random_frame(5, seed=9))
    assert isinstance(described, FrameDescriptors)
    assert described.descriptors.shape == (5, 7 * 7 * 256)
    torch.testing.assert_close(described.descriptors.norm(dim=1), torch.ones(5))


def test_refinement_works_under_autocast(refiner: ScoreRefiner) -> None:
    # the pipeline runs the detector and the SRN under autocast on CUDA
    a, b = _random_frame(4, seed=20), _random_frame(3, seed=21)
    expected = refiner.refine_pair(a, b)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = refiner.refine_pair(a, b)
    assert result.similarity.dtype == torch.float32
    torch.testing.assert_close(result.similarity, expected.similarity, atol=0.05, rtol=0.05)


def test_encoding_only_around_the_boxes_is_exact(refiner: ScoreRefiner) -> None:
    from torchvision.ops import roi_align

    frame = _random_frame(6, seed=30)
    frame.boxes[0] = torch.tensor([0.0, 0.0, 3.0, 2.0])  # at the border, smaller than a location
    frame.boxes[1] = torch.tensor([100.0, 120.0, 128.0, 128.0])
    feature_map = frame.features["0"]
    rois = torch.cat([torch.zeros(6, 1), frame.boxes], dim=1)
    whole = roi_align(refiner.encoder.encode(feature_map), rois, (7, 7), spatial_scale=0.25, sampling_ratio=2)
    for subset in ([0], [1], [2, 3], list(range(6))):
        cropped = refiner._encode_and_align(feature_map, rois[subset], 0.25)
        torch.testing.assert_close(cropped, whole[subset], rtol=1e-4, atol=1e-5)


def test_off_the_cpu_the_whole_map_is_encoded(refiner: ScoreRefiner, monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPU builds a cuDNN plan per new input shape: there the encoder gets each level's
    whole map, whose shape a video keeps, not the rectangle around each frame's boxes.
    (The meta device, which computes shapes only, stands in for a GPU.)"""
    meta_refiner = copy.deepcopy(refiner)
    meta_refiner.encoder.to("meta")
    seen: list[tuple[int, ...]] = []
    for which in (refiner, meta_refiner):
        encode = which._encode
        monkeypatch.setattr(which, "_encode", lambda x, encode=encode: seen.append(tuple(x.shape)) or encode(x))
    frame = _random_frame(6, seed=31)
    feature_map = frame.features["0"]
    rois = torch.cat([torch.zeros(6, 1), frame.boxes], dim=1)
    refiner._encode_and_align(feature_map, rois[[1, 2]], 0.25)
    assert seen[0][-2:] != tuple(feature_map.shape[-2:])  # on the CPU: the rectangle only
    pooled = meta_refiner._encode_and_align(feature_map.to("meta"), rois[[1, 2]].to("meta"), 0.25)
    assert seen[1:] == [tuple(feature_map.shape)]
    assert pooled.shape == (2, refiner.encoder.out_channels, 7, 7)
