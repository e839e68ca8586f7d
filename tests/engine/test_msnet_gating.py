"""HRPN anchor gating (paper eq. 1-2) against hand-computed boxes, and its effect on the loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.ops import box_iou

from engine.msnet.gating import anchor_gate_scores, gate_anchors, inner_intersection, intersection_over_union
from engine.msnet.hrpn import GatedRegionProposalNetwork

BUILDING = torch.tensor([[0.0, 0.0, 100.0, 100.0]])


def test_small_anchor_inside_building_scores_one_by_ii_and_low_by_iou():
    anchor = torch.tensor([[10.0, 10.0, 20.0, 20.0]])  # 100 px² inside a 10,000 px² building
    assert inner_intersection(anchor, BUILDING).item() == pytest.approx(1.0)
    assert intersection_over_union(anchor, BUILDING).item() == pytest.approx(100 / 10_000)


def test_half_overlapping_anchor():
    anchor = torch.tensor([[90.0, 0.0, 110.0, 10.0]])  # 20x10, half of it inside
    assert inner_intersection(anchor, BUILDING).item() == pytest.approx(0.5)
    assert intersection_over_union(anchor, BUILDING).item() == pytest.approx(100 / (200 + 10_000 - 100))


def test_score_is_max_over_proposals():
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 60.0, 60.0], [200.0, 200.0, 210.0, 210.0]])
    proposals = torch.tensor([[5.0, 0.0, 10.0, 10.0], [0.0, 0.0, 2.0, 10.0], [55.0, 50.0, 70.0, 70.0]])
    ii = anchor_gate_scores(anchors, proposals, "ii")
    torch.testing.assert_close(ii, torch.tensor([0.5, 0.5, 0.0]))
    iou = anchor_gate_scores(anchors, proposals, "iou")
    torch.testing.assert_close(iou, box_iou(anchors, proposals).amax(dim=1))


def test_gate_keeps_strictly_above_threshold():
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0], [95.0, 0.0, 105.0, 10.0], [99.0, 0.0, 109.0, 10.0]])
    # inner intersections: 1.0, 0.5, 0.1
    assert gate_anchors(anchors, BUILDING, metric="ii", threshold=0.1).tolist() == [True, True, False]
    assert gate_anchors(anchors, BUILDING, metric="ii", threshold=0.5).tolist() == [True, False, False]
    assert gate_anchors(anchors, BUILDING, metric="iou", threshold=0.004).tolist() == [True, True, False]


def test_no_proposals_gates_everything_out():
    anchors = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 50.0, 50.0]])
    empty = torch.zeros((0, 4))
    for metric in ("ii", "iou"):
        assert anchor_gate_scores(anchors, empty, metric).tolist() == [0.0, 0.0]
        assert not gate_anchors(anchors, empty, metric=metric).any()


def test_degenerate_boxes_score_zero_not_nan():
    anchors = torch.tensor([[10.0, 10.0, 10.0, 20.0], [30.0, 30.0, 20.0, 20.0], [10.0, 10.0, 20.0, 20.0]])
    proposals = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 100.0, 100.0]])
    for metric in ("ii", "iou"):
        scores = anchor_gate_scores(anchors, proposals, metric)
        assert torch.isfinite(scores).all()
        assert scores[:2].tolist() == [0.0, 0.0]  # an anchor without area is inside nothing
        assert scores[2] > 0
    only_degenerate = anchor_gate_scores(anchors[2:], proposals[:1], "ii")
    assert only_degenerate.tolist() == [0.0]


def test_on_an_anchor_grid_the_scores_are_exactly_the_full_matrix_maxima(monkeypatch):
    """Widths and heights are computed once per distinct span of the grid: the same floats."""
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    from engine.msnet import gating

    generator = AnchorGenerator(((16,), (32,)), ((0.5, 1.0, 2.0),) * 2)
    maps = [torch.zeros(1, 8, 24, 40), torch.zeros(1, 8, 12, 20)]
    anchors = generator(ImageList(torch.zeros(1, 3, 96, 160), [(90, 160)]), maps)[0]
    generator_ = torch.Generator().manual_seed(0)
    corners = torch.rand(37, 2, generator=generator_) * torch.tensor([150.0, 85.0])
    proposals = torch.cat([corners, corners + 3 + 60 * torch.rand(37, 2, generator=generator_)], dim=1)
    proposals[0] = torch.tensor([-7.5, 3.25, 40.0, 12.0])  # spans starting off the image, as proposals may
    expected = inner_intersection(anchors, proposals).amax(dim=1)
    monkeypatch.setattr(gating, "_PAIRS_PER_CHUNK", 37 * 500)  # several chunks, the last one short
    scores = anchor_gate_scores(anchors, proposals, "ii")
    assert len(anchors) == 3 * (24 * 40 + 12 * 20) and (expected > 0).any() and (expected == 0).any()
    assert torch.equal(scores, expected)


def test_unknown_metric_lists_the_valid_ones():
    with pytest.raises(ValueError, match="ii, iou"):
        anchor_gate_scores(BUILDING, BUILDING, "giou")


class _FixedHead(nn.Module):
    """RPN head whose outputs are parameters, so gradients per anchor can be read."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.logits = nn.Parameter(torch.randn(1, 1, height, width, generator=generator))
        self.deltas = nn.Parameter(torch.randn(1, 4, height, width, generator=generator) * 0.1)

    def forward(self, features):  # type: ignore[no-untyped-def]
        return [self.logits], [self.deltas]


def _rpn(head: nn.Module) -> GatedRegionProposalNetwork:
    return GatedRegionProposalNetwork(
        AnchorGenerator(((16,),), ((1.0,),)),
        head,
        fg_iou_thresh=0.5,
        bg_iou_thresh=0.3,
        batch_size_per_image=256,
        positive_fraction=0.5,
        pre_nms_top_n=dict(training=1000, testing=1000),
        post_nms_top_n=dict(training=1000, testing=1000),
        nms_thresh=0.99,
        gate_metric="ii",
        gate_threshold=0.1,
    )


def test_gated_out_anchors_give_no_proposals_and_no_loss():
    # 64x64 image, one 8x8 level (stride 8): 64 anchors of 16x16 centred on the grid
    images = ImageList(torch.zeros(1, 3, 64, 64), [(64, 64)])
    features = {"0": torch.zeros(1, 4, 8, 8)}
    head = _FixedHead(8, 8)
    rpn = _rpn(head).train()
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 20.0, 20.0], [40.0, 40.0, 60.0, 60.0]])}]
    left_half = [torch.tensor([[0.0, 0.0, 28.0, 64.0]])]

    boxes, scores, losses = rpn.propose(images, features, targets, gate_regions=left_half)
    sum(losses.values()).backward()

    anchors = rpn.anchor_generator(images, [features["0"]])[0]
    kept = gate_anchors(anchors, left_half[0], metric="ii", threshold=0.1).view(8, 8)
    assert 0 < kept.sum() < 64
    assert kept[:, :4].all() and not kept[:, 5:].any()  # columns x >= 40 are outside
    grad = head.logits.grad[0, 0]
    assert (grad[~kept] == 0).all()
    assert (grad[kept] != 0).any()
    assert (head.deltas.grad[0][:, ~kept] == 0).all()
    assert len(boxes[0]) == int(kept.sum())  # decoded only from kept anchors
    assert set(losses) == {"loss_objectness", "loss_rpn_box_reg"}

    # the same RPN without gating does learn from the right half
    head.zero_grad()
    _, _, ungated = rpn.propose(images, features, targets)
    sum(ungated.values()).backward()
    assert (head.logits.grad[0, 0][~kept] != 0).any()


def test_everything_gated_out_gives_zero_finite_loss():
    images = ImageList(torch.zeros(1, 3, 64, 64), [(64, 64)])
    features = {"0": torch.zeros(1, 4, 8, 8)}
    head = _FixedHead(8, 8)
    rpn = _rpn(head).train()
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 20.0, 20.0]])}]
    boxes, _, losses = rpn.propose(images, features, targets, gate_regions=[torch.zeros((0, 4))])
    assert len(boxes[0]) == 0
    assert all(torch.isfinite(v) and v.item() == 0.0 for v in losses.values())
    sum(losses.values()).backward()  # still part of the graph
    assert (head.logits.grad == 0).all()


def test_a_test_time_gate_applies_in_eval_only():
    """The building gate set at test time keeps fewer anchors in eval; training keeps the
    S the model is trained with."""
    images = ImageList(torch.zeros(1, 3, 64, 64), [(64, 64)])
    features = {"0": torch.zeros(1, 4, 8, 8)}
    rpn = _rpn(_FixedHead(8, 8))
    region = [torch.tensor([[0.0, 0.0, 30.0, 64.0]])]  # anchors straddling x = 30 lie partly inside
    anchors = rpn.anchor_generator(images, [features["0"]])[0]
    trained = int(gate_anchors(anchors, region[0], metric="ii", threshold=0.1).sum())
    strict = int(gate_anchors(anchors, region[0], metric="ii", threshold=0.8).sum())
    assert 0 < strict < trained

    rpn.test_gate_threshold = 0.8
    with torch.no_grad():
        boxes, _, _ = rpn.eval().propose(images, features, gate_regions=region)
    assert len(boxes[0]) == strict
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 20.0, 20.0]])}]
    boxes, _, _ = rpn.train().propose(images, features, targets, gate_regions=region)
    assert len(boxes[0]) == trained
    rpn.test_gate_threshold = None
    with torch.no_grad():
        boxes, _, _ = rpn.eval().propose(images, features, gate_regions=region)
    assert len(boxes[0]) == trained
