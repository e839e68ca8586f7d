"""Regions a target leaves undecided: anchors and proposals on them get no label.

A set of reviewed frames holds detections nobody has decided on yet (``"unreviewed"``
in :func:`engine.export_coco.export_reviewed_frames`); a COCO file may mark crowd
regions (``iscrowd``). Either may be damage or not. Left out of the targets, they would
be trained on as background: a damaged roof nobody reviewed yet would teach the model
that it is not damage. Their boxes come in a target's ``ignore_boxes`` instead
(FloatTensor[K, 4], xyxy in the model's input pixels; :class:`engine.msnet.model.MSNet`
resizes them with the image).

torchvision's matchers label an anchor or a proposal by its best IoU with a target:
positive from the matcher's high threshold, background below its low threshold and
ignored (``-1``, never sampled) between. Whether the region is damage or not, an anchor
or proposal overlapping it by less than the low threshold is background; one overlapping
it by more would be positive or ignored were the region damage. So the one thing added:
a candidate labelled background (``0``) whose IoU with an undecided region reaches the
matcher's low threshold is labelled ``-1``, as between the thresholds; the samplers of
the RPN and the box head then never draw it, and no loss sees it as background. A
candidate a target makes positive stays so.
"""

from __future__ import annotations

from torch import Tensor
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.ops import box_iou

#: the target key holding the undecided regions
IGNORE_KEY = "ignore_boxes"
#: the label torchvision's RPN and RoI heads give a candidate they do not sample
UNLABELLED = -1


def leave_unlabelled(labels: Tensor, candidates: Tensor, regions: Tensor | None, low_threshold: float) -> Tensor:
    """``labels`` (of ``candidates``, FloatTensor[N, 4] xyxy), with every background
    label (``0``) of a candidate whose IoU with one of ``regions`` (FloatTensor[K, 4])
    is at least ``low_threshold`` set to :data:`UNLABELLED`. In place; returns ``labels``."""
    if regions is None or len(regions) == 0 or len(candidates) == 0:
        return labels
    overlap = box_iou(candidates, regions.to(candidates)).max(dim=1).values
    labels[(labels == 0) & (overlap >= low_threshold)] = UNLABELLED
    return labels


class RegionProposalNetworkWithIgnore(RegionProposalNetwork):
    """torchvision's RPN, whose anchors on a target's ``ignore_boxes`` are not trained
    on as background (:func:`leave_unlabelled` at its matcher's low threshold). The same
    parameters and state dict; a target without ``ignore_boxes`` is labelled exactly as
    torchvision does."""

    def assign_targets_to_anchors(
        self, anchors: list[Tensor], targets: list[dict[str, Tensor]]
    ) -> tuple[list[Tensor], list[Tensor]]:
        labels, matched_gt_boxes = super().assign_targets_to_anchors(anchors, targets)
        low = float(self.proposal_matcher.low_threshold)
        for image_labels, image_anchors, target in zip(labels, anchors, targets):
            leave_unlabelled(image_labels, image_anchors, target.get(IGNORE_KEY), low)
        return labels, matched_gt_boxes


__all__ = ["IGNORE_KEY", "RegionProposalNetworkWithIgnore", "UNLABELLED", "leave_unlabelled"]
