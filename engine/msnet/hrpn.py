"""The Hierarchical Region Proposal Network (MSNet paper, section 4.2).

Two RPNs on the same FPN features:

- the *building* (high-level) RPN, trained on the deduplicated house boxes with binary
  labels, whose top proposals say where the damaged buildings are;
- the *damage* (low-level) RPN, whose anchors are gated by those proposals
  (:mod:`engine.msnet.gating`): only anchors that score above ``S`` against some
  building proposal are decoded into damage proposals and take part in its loss.

Both are torchvision :class:`~torchvision.models.detection.rpn.RegionProposalNetwork`
subclasses; the gating is the one thing added. The two RPNs share the 3x3 conv of a
torchvision :class:`~torchvision.models.detection.rpn.RPNHead` and each has its own
1x1 objectness/box predictors, so the second RPN costs two 1x1 convs rather than a second
3x3 conv over every FPN level (the bench target is at most 1.10x Mask R-CNN).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.rpn import RPNHead, concat_box_prediction_layers

from engine.msnet.gating import GateMetric, gate_anchors
from engine.msnet.inference import in_bfloat16
from engine.msnet.unlabelled import RegionProposalNetworkWithIgnore


class RPNPredictor(nn.Module):
    """The 1x1 objectness and box-delta convs of an RPN head, without its 3x3 conv.

    Parameters
    ----------
    in_channels : int
        Channels of the (already convolved) feature maps.
    num_anchors : int
        Anchors per location.
    """

    def __init__(self, in_channels: int, num_anchors: int) -> None:
        super().__init__()
        self.cls_logits = nn.Conv2d(in_channels, num_anchors, kernel_size=1, stride=1)
        self.bbox_pred = nn.Conv2d(in_channels, num_anchors * 4, kernel_size=1, stride=1)
        for layer in (self.cls_logits, self.bbox_pred):
            nn.init.normal_(layer.weight, std=0.01)
            nn.init.constant_(layer.bias, 0)

    def forward(self, x: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        return [self.cls_logits(t) for t in x], [self.bbox_pred(t) for t in x]


class _PositiveQualityMatcher(det_utils.Matcher):
    """A :class:`~torchvision.models.detection._utils.Matcher` whose low-quality matches
    need some overlap.

    torchvision gives every ground-truth box its best anchors even when the best IoU is
    0, which with all anchors never happens. Once anchors are gated away a damage box can
    overlap none of the kept anchors; without this every kept anchor would tie at IoU 0
    and become a positive.
    """

    def set_low_quality_matches_(self, matches: Tensor, all_matches: Tensor, match_quality_matrix: Tensor) -> None:
        highest_quality_foreach_gt, _ = match_quality_matrix.max(dim=1)
        best = (match_quality_matrix == highest_quality_foreach_gt[:, None]) & (match_quality_matrix > 0)
        pred_inds_to_update = torch.where(best)[1]
        matches[pred_inds_to_update] = all_matches[pred_inds_to_update]


class GatedRegionProposalNetwork(RegionProposalNetworkWithIgnore):
    """A torchvision RPN that can restrict itself to the anchors inside given regions.

    Parameters are those of :class:`RegionProposalNetwork`, plus:

    gate_metric : {"ii", "iou"}
        Inner intersection (paper's default) or IoU.
    gate_threshold : float
        ``S``: anchors scoring strictly above it are kept.

    ``test_gate_threshold`` (``None``: ``gate_threshold``) is the ``S`` used in eval mode
    only, a test-time setting (``engine.msnet.inference``); training always gates with
    the ``S`` the model is trained with.

    Without ``gate_regions`` it behaves exactly as torchvision's RPN, and also returns the
    proposal scores (the building RPN uses that to report building boxes). Anchors on a
    target's ``ignore_boxes`` are not trained on as background
    (:class:`~engine.msnet.unlabelled.RegionProposalNetworkWithIgnore`).
    """

    def __init__(self, *args, gate_metric: GateMetric | str = "ii", gate_threshold: float = 0.1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.gate_metric = GateMetric.parse(gate_metric)
        self.gate_threshold = float(gate_threshold)
        self.test_gate_threshold: float | None = None
        self.proposal_matcher = _PositiveQualityMatcher(
            self.proposal_matcher.high_threshold, self.proposal_matcher.low_threshold, allow_low_quality_matches=True
        )

    def forward(
        self,
        images: ImageList,
        features: dict[str, Tensor],
        targets: list[dict[str, Tensor]] | None = None,
    ) -> tuple[list[Tensor], dict[str, Tensor]]:
        boxes, _, losses = self.propose(images, features, targets)
        return boxes, losses

    def propose(
        self,
        images: ImageList,
        features: dict[str, Tensor],
        targets: list[dict[str, Tensor]] | None = None,
        gate_regions: list[Tensor] | None = None,
    ) -> tuple[list[Tensor], list[Tensor], dict[str, Tensor]]:
        """Proposals, their objectness probabilities and (in training) the losses.

        Parameters
        ----------
        images : ImageList
            The transformed batch.
        features : dict[str, Tensor]
            Feature maps, one per level.
        targets : list of dict, optional
            ``boxes`` (FloatTensor[G, 4], xyxy in transformed pixels) per image; needed in
            training.
        gate_regions : list of Tensor[P, 4], optional
            Per image, the regions (building proposals) that gate the anchors. ``None``
            keeps every anchor.

        Returns
        -------
        boxes : list of Tensor[K, 4]
        scores : list of Tensor[K]
        losses : dict
            ``loss_objectness`` and ``loss_rpn_box_reg`` in training, else empty.
        """
        feature_maps = list(features.values())
        objectness, pred_bbox_deltas = self.head(feature_maps)
        anchors = self.anchor_generator(images, feature_maps)
        num_images = len(anchors)
        num_anchors_per_level = [o[0].numel() for o in objectness]
        objectness, pred_bbox_deltas = concat_box_prediction_layers(objectness, pred_bbox_deltas)
        objectness = objectness.view(num_images, -1)
        pred_bbox_deltas = pred_bbox_deltas.view(num_images, -1, 4)

        if gate_regions is None:
            keeps = [torch.ones(a.shape[0], dtype=torch.bool, device=a.device) for a in anchors]
        else:
            threshold = self.gate_threshold
            if not self.training and self.test_gate_threshold is not None:
                threshold = self.test_gate_threshold
            keeps = [gate_anchors(a, r, metric=self.gate_metric, threshold=threshold) for a, r in zip(anchors, gate_regions)]
        level_of_anchor = torch.repeat_interleave(
            torch.arange(len(num_anchors_per_level), device=objectness.device),
            torch.tensor(num_anchors_per_level, device=objectness.device),
        )

        kept_anchors = [a[k] for a, k in zip(anchors, keeps)]
        kept_objectness = [o[k] for o, k in zip(objectness, keeps)]
        kept_deltas = [d[k] for d, k in zip(pred_bbox_deltas, keeps)]

        boxes: list[Tensor] = []
        scores: list[Tensor] = []
        for image_index, keep in enumerate(keeps):
            # Each image has its own kept anchors, so proposals are filtered per image with
            # that image's per-level anchor counts; torchvision's filter does the rest.
            per_level = torch.bincount(level_of_anchor[keep], minlength=len(num_anchors_per_level)).tolist()
            # Faster R-CNN does not backprop through the proposals.
            proposals = self.box_coder.decode(kept_deltas[image_index].detach(), [kept_anchors[image_index]])
            image_boxes, image_scores = self.filter_proposals(
                proposals.view(1, -1, 4),
                kept_objectness[image_index].view(1, -1),
                [images.image_sizes[image_index]],
                per_level,
            )
            boxes.extend(image_boxes)
            scores.extend(image_scores)

        losses: dict[str, Tensor] = {}
        if self.training:
            if targets is None:
                raise ValueError("GatedRegionProposalNetwork: targets are needed in training mode")
            losses = self._gated_loss(kept_anchors, kept_objectness, kept_deltas, targets)
        return boxes, scores, losses

    def assign_targets_to_anchors(
        self, anchors: list[Tensor], targets: list[dict[str, Tensor]]
    ) -> tuple[list[Tensor], list[Tensor]]:
        """torchvision's assignment, image by image; an image with no kept anchor gets none."""
        labels: list[Tensor] = []
        matched_gt_boxes: list[Tensor] = []
        for anchors_per_image, targets_per_image in zip(anchors, targets):
            if anchors_per_image.shape[0] == 0:
                labels.append(anchors_per_image.new_zeros((0,)))
                matched_gt_boxes.append(anchors_per_image.new_zeros((0, 4)))
                continue
            image_labels, image_matched = super().assign_targets_to_anchors([anchors_per_image], [targets_per_image])
            labels.extend(image_labels)
            matched_gt_boxes.extend(image_matched)
        return labels, matched_gt_boxes

    def _gated_loss(
        self,
        anchors: list[Tensor],
        objectness: list[Tensor],
        pred_bbox_deltas: list[Tensor],
        targets: list[dict[str, Tensor]],
    ) -> dict[str, Tensor]:
        """torchvision's RPN loss over the kept anchors only (gated-out ones give none)."""
        labels, matched_gt_boxes = self.assign_targets_to_anchors(anchors, targets)
        all_objectness = torch.cat(objectness)
        all_deltas = torch.cat(pred_bbox_deltas)
        if not any(bool((image_labels >= 0).any()) for image_labels in labels):
            # Nothing to sample (every anchor gated out or ignored): a zero that still
            # belongs to the graph, as torchvision's empty-target losses do.
            zero = all_objectness.sum() * 0.0 + all_deltas.sum() * 0.0
            return {"loss_objectness": zero, "loss_rpn_box_reg": zero.clone()}
        regression_targets = self.box_coder.encode(matched_gt_boxes, anchors)
        loss_objectness, loss_rpn_box_reg = self.compute_loss(all_objectness, all_deltas, labels, regression_targets)
        return {"loss_objectness": loss_objectness, "loss_rpn_box_reg": loss_rpn_box_reg}


class HierarchicalRPN(nn.Module):
    """Building RPN, then a damage RPN gated by the top building proposals.

    Parameters
    ----------
    trunk : nn.Module
        The shared 3x3 conv applied to every feature map (an ``RPNHead().conv``).
    building_rpn, damage_rpn : GatedRegionProposalNetwork
        Their heads are :class:`RPNPredictor` s working on the trunk's output; they share
        one anchor generator. ``building_rpn.post_nms_top_n()`` is the number of top
        building proposals that gate the damage anchors.
    gate_with_gt_in_training : bool
        Also gate with the ground-truth building boxes while training (as torchvision
        adds ground truth to the RoI proposals), so every damage box has kept anchors
        even while the building RPN is still untrained.

    Returns from :meth:`forward`: damage proposals (to the RoI heads), building proposals
    and their scores, and the losses ``loss_objectness_building``,
    ``loss_rpn_box_reg_building``, ``loss_objectness``, ``loss_rpn_box_reg``.
    """

    def __init__(
        self,
        trunk: nn.Module,
        building_rpn: GatedRegionProposalNetwork,
        damage_rpn: GatedRegionProposalNetwork,
        *,
        gate_with_gt_in_training: bool = True,
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.building_rpn = building_rpn
        self.damage_rpn = damage_rpn
        self.gate_with_gt_in_training = gate_with_gt_in_training
        #: run the shared 3x3 conv in bfloat16 in eval on a native-bfloat16 CPU (its
        #: output, and so objectness and box deltas, stay float32)
        self.trunk_bfloat16 = False

    def _trunk(self, feature: Tensor) -> Tensor:
        if self.training:
            return self.trunk(feature)
        return in_bfloat16(self.trunk_bfloat16, self.trunk, feature)

    def forward(
        self,
        images: ImageList,
        features: dict[str, Tensor],
        targets: list[dict[str, Tensor]] | None = None,
    ) -> tuple[list[Tensor], list[Tensor], list[Tensor], dict[str, Tensor]]:
        convolved = OrderedDict((name, self._trunk(feature)) for name, feature in features.items())
        building_targets = None
        if self.training:
            if targets is None:
                raise ValueError("HierarchicalRPN: targets are needed in training mode")
            building_targets = [{"boxes": t["building_boxes"]} for t in targets]
        building_boxes, building_scores, building_losses = self.building_rpn.propose(
            images, convolved, building_targets
        )
        gate_regions = building_boxes
        if self.training and self.gate_with_gt_in_training and building_targets is not None:
            gate_regions = [torch.cat([p, t["boxes"].to(p)]) for p, t in zip(building_boxes, building_targets)]
        damage_boxes, _, damage_losses = self.damage_rpn.propose(images, convolved, targets, gate_regions)
        losses = {f"{name}_building": value for name, value in building_losses.items()}
        losses.update(damage_losses)
        return damage_boxes, building_boxes, building_scores, losses


def build_hrpn(
    anchor_generator: AnchorGenerator,
    out_channels: int,
    *,
    gate_metric: GateMetric | str = "ii",
    gate_threshold: float = 0.1,
    building_top_n: int = 100,
    pre_nms_top_n: dict[str, int] | None = None,
    post_nms_top_n: dict[str, int] | None = None,
    nms_thresh: float = 0.7,
    fg_iou_thresh: float = 0.7,
    bg_iou_thresh: float = 0.3,
    batch_size_per_image: int = 256,
    positive_fraction: float = 0.5,
    gate_with_gt_in_training: bool = True,
) -> HierarchicalRPN:
    """An HRPN with torchvision's RPN defaults (those of ``maskrcnn_resnet50_fpn``)."""
    num_anchors = anchor_generator.num_anchors_per_location()[0]
    trunk = RPNHead(out_channels, num_anchors).conv
    shared = dict(
        fg_iou_thresh=fg_iou_thresh,
        bg_iou_thresh=bg_iou_thresh,
        batch_size_per_image=batch_size_per_image,
        positive_fraction=positive_fraction,
        nms_thresh=nms_thresh,
    )
    building_rpn = GatedRegionProposalNetwork(
        anchor_generator,
        RPNPredictor(out_channels, num_anchors),
        pre_nms_top_n=dict(training=1000, testing=500),
        post_nms_top_n=dict(training=building_top_n, testing=building_top_n),
        **shared,
    )
    damage_rpn = GatedRegionProposalNetwork(
        anchor_generator,
        RPNPredictor(out_channels, num_anchors),
        pre_nms_top_n=pre_nms_top_n or dict(training=2000, testing=1000),
        post_nms_top_n=post_nms_top_n or dict(training=2000, testing=1000),
        gate_metric=gate_metric,
        gate_threshold=gate_threshold,
        **shared,
    )
    return HierarchicalRPN(trunk, building_rpn, damage_rpn, gate_with_gt_in_training=gate_with_gt_in_training)
