"""MSNet and the paper's two Mask R-CNN baselines, as one torchvision ``MaskRCNN`` subclass.

- ``msnet``: the Hierarchical RPN (:mod:`engine.msnet.hrpn`) replaces the RPN; damage
  proposals go to torchvision's standard RoI heads (box + mask branches).
- ``maskrcnn``: stock torchvision Mask R-CNN trained on damage only.
- ``maskrcnn-cotrain``: Mask R-CNN with the building boxes as an extra class, trained in
  the RPN and the box branch (paper, section 5.2). torchvision's mask loss covers every
  positive, so a building's mask target is its box; class-specific mask logits keep
  that target on the building channel, away from the three damage channels.

All three share the torchvision contract (list of float ``[C, H, W]`` images in
``[0, 1]``; training returns a dict of named losses; eval returns one dict per image)
and add ``building_boxes`` / ``building_scores`` to each eval output (empty for
``maskrcnn``).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import torch
from torch import Tensor
from torchvision.models.detection._utils import Matcher
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.mask_rcnn import MaskRCNN
from torchvision.models.detection.transform import resize_boxes
from torchvision.ops import boxes as box_ops

from engine.msnet.anchors import SIZE_DIVISIBLE, FPNAnchorGenerator
from engine.msnet.choices import Choice
from engine.msnet.close_look import CloseLookHead, combined_scores, damage_probabilities
from engine.msnet.flip_check import flip_checked
from engine.msnet.backbones import FPN_CHANNELS, build_fpn_backbone
from engine.msnet.gating import GateMetric
from engine.msnet.heads import BEFORE_MASKS, BoxHead, Detections, MaskHead, MaskPredictor, RoIHeadsWithHook
from engine.msnet.hrpn import HierarchicalRPN, build_hrpn
from engine.msnet.inference import bfloat16_applies
from engine.msnet.paste import paste_mask_crops
from engine.msnet.rescore import rescored
from engine.msnet.roi_align import use_gather_roi_align
from engine.msnet.sharpness import softened
from engine.msnet.tiling import in_image, merged, tile_windows
from engine.msnet.unlabelled import IGNORE_KEY, RegionProposalNetworkWithIgnore

#: a target's boxes besides its damage boxes, in the input image's pixels: the buildings
#: (the building RPN's targets), the regions nobody decided on (anchors and proposals on
#: them get no label: :mod:`engine.msnet.unlabelled`) and the rejected ones (a fine-tune's
#: explicit negatives: :class:`engine.finetune.ReviewedRegions`)
TARGET_REGION_KEYS = ("building_boxes", IGNORE_KEY, "negative_boxes")

#: class names by label; 0 is the background
DAMAGE_CLASS_NAMES = ("__background__", "Slight", "Severe", "Debris")


class Arch(Choice):
    MSNET = "msnet"
    MASKRCNN = "maskrcnn"
    MASKRCNN_COTRAIN = "maskrcnn-cotrain"


Arch.label = "arch"


#: Detections narrower or shorter than this in the input image's pixels are dropped: a
#: few-pixel sliver is a compression artefact at a frame border, never a damaged roof.
MIN_DETECTION_SIDE_PX = 4.0


class MSNet(MaskRCNN):
    """torchvision Mask R-CNN whose RPN may be hierarchical, with building outputs.

    Build it with :func:`build_msnet`. ``self.rpn`` is a :class:`HierarchicalRPN` for
    ``arch="msnet"`` and torchvision's RPN otherwise.

    Parameters
    ----------
    backbone : BackboneWithFPN
    num_classes : int
        Damage classes plus background (4 for ISBDA).
    arch : Arch
    building_score_thresh, building_nms_thresh, building_detections_per_img
        Which building proposals are reported in eval outputs.
    **kwargs
        Passed to :class:`torchvision.models.detection.MaskRCNN`.
    """

    def __init__(
        self,
        backbone: torch.nn.Module,
        num_classes: int,
        *,
        arch: Arch | str = Arch.MSNET,
        gate_metric: GateMetric | str = "ii",
        gate_threshold: float = 0.1,
        building_top_n: int = 100,
        building_score_thresh: float = 0.05,
        building_nms_thresh: float = 0.5,
        building_detections_per_img: int = 100,
        **kwargs: Any,
    ) -> None:
        self.arch = Arch.parse(arch)
        self.num_damage_classes = num_classes
        # co-training adds the building as the last class of the box branch
        total_classes = num_classes + (self.arch is Arch.MASKRCNN_COTRAIN)
        given_predictor = kwargs.get("box_predictor") is not None
        super().__init__(backbone, num_classes=None if given_predictor else total_classes, **kwargs)
        # torchvision builds a RoIHeads; the subclass only adds a hook before the mask
        # branch (the close look runs there), same parameters and state dict
        self.roi_heads.__class__ = RoIHeadsWithHook
        # the RoI poolers: CPU inference as one weighted gather (torchvision's numbers, faster)
        use_gather_roi_align(self.roi_heads)
        if self.arch is not Arch.MSNET:  # anchors on regions nobody decided on get no label; same parameters
            self.rpn.__class__ = RegionProposalNetworkWithIgnore
        else:
            self.rpn = build_hrpn(
                self.rpn.anchor_generator,
                backbone.out_channels,
                gate_metric=gate_metric,
                gate_threshold=gate_threshold,
                building_top_n=building_top_n,
                pre_nms_top_n=dict(self.rpn._pre_nms_top_n),
                post_nms_top_n=dict(self.rpn._post_nms_top_n),
                nms_thresh=self.rpn.nms_thresh,
            )
        self.building_score_thresh = building_score_thresh
        self.building_nms_thresh = building_nms_thresh
        self.building_detections_per_img = building_detections_per_img
        self.min_detection_side_px = MIN_DETECTION_SIDE_PX
        #: test-time settings (:func:`engine.msnet.inference.apply_inference_settings`)
        self.backbone_bfloat16 = False
        self.fpn_bfloat16 = False
        self.flip_check = False
        #: the tiled look (:mod:`engine.msnet.tiling`): each image also seen in a grid of
        #: this many tiles a side; below 2, the images only as they are
        self.tiles = 1
        #: frames sharper than this are softened first (:mod:`engine.msnet.sharpness`)
        self.sharpness_ceiling: float | None = None
        #: the short side it is measured at (``None``: the transform's)
        self.sharpness_short_side: int | None = None
        #: frames with a longer short side are shrunk to it before the model sees them, by
        #: its clients (engine.msnet.working_size); None: as they come
        self.working_short_side: int | None = None
        #: the close look (:mod:`engine.msnet.close_look`): its head, when the weights have
        #: one (:meth:`add_close_look`), and whether it runs (a test-time setting)
        self.close_look_head: CloseLookHead | None = None
        self.close_look = False
        self.inference_settings = None

    def add_close_look(self, crop_px: int) -> CloseLookHead:
        """Give the model a close-look head for crops of ``crop_px`` pixels: a copy of its
        backbone's body (as it is now) and an untrained linear layer."""
        self.close_look_head = CloseLookHead(copy.deepcopy(self.backbone.body), crop_px)
        return self.close_look_head

    @property
    def building_label(self) -> int:
        """Label of the building class in the co-trained box branch."""
        return self.num_damage_classes

    def forward(self, images: list[Tensor], targets: list[dict[str, Tensor]] | None = None):  # type: ignore[override]
        """Losses (training, with targets) or one output dict per image (eval).

        Parameters
        ----------
        images : list of FloatTensor[3, H, W]
            RGB in ``[0, 1]``; sizes may differ.
        targets : list of dict, optional
            ``boxes`` (FloatTensor[N, 4], xyxy pixels), ``labels`` (Int64Tensor[N], 1..3),
            ``masks`` (UInt8Tensor[N, H, W]) and ``building_boxes`` (FloatTensor[B, 4]).

        Returns
        -------
        dict[str, Tensor] in training: ``loss_classifier``, ``loss_box_reg``,
        ``loss_mask``, ``loss_objectness``, ``loss_rpn_box_reg`` and, for MSNet,
        ``loss_objectness_building``, ``loss_rpn_box_reg_building``.
        list of dict in eval: ``boxes`` [N, 4], ``labels`` [N], ``scores`` [N],
        ``masks`` [N, 1, H, W] probabilities, ``building_boxes`` [B, 4],
        ``building_scores`` [B]; all in input pixels.
        """
        if self.training and targets is None:
            raise ValueError("MSNet: targets are needed in training mode")
        outputs, _, _ = self._run(images, targets)
        return outputs

    @torch.no_grad()
    def detect_with_features(
        self, images: list[Tensor], *, mask_crops: bool = False, output_sizes: list[tuple[int, int]] | None = None
    ) -> tuple[list[dict[str, Tensor]], "OrderedDict[str, Tensor]", list[tuple[int, int]]]:
        """Eval outputs plus the FPN maps and transformed image sizes of the same pass.

        The SRN works on these features, so a video frame goes through the backbone once.
        ``features`` has keys ``'0'..'3'`` (P2..P5) and ``'pool'``; ``image_sizes`` are the
        ``(H, W)`` of each image after resizing, before batch padding.

        With ``mask_crops`` each output holds ``mask_crops`` (a list of
        :class:`engine.msnet.paste.MaskCrop`, the probabilities inside each detection's
        box) instead of full-frame ``masks``: the same pixels, without allocating a
        frame per detection.

        With ``output_sizes`` (``(H, W)`` per image) the boxes and masks are given in an
        image of that size instead: the frame the images were shrunk from (see
        :data:`working_short_side` and :func:`engine.msnet.working_size.working_image`).
        Masks are pasted from the mask head straight into the larger frame, so they
        lose nothing to the shrinking. Not with the tiled look.
        """
        if self.training:
            raise RuntimeError("MSNet.detect_with_features: call model.eval() first")
        detections, features, image_sizes = self._run(images, None, mask_crops=mask_crops, output_sizes=output_sizes)
        return detections, features, image_sizes  # type: ignore[return-value]

    # -- the pipeline -----------------------------------------------------------------

    def _run(self, images: list[Tensor], targets: list[dict[str, Tensor]] | None, *, mask_crops: bool = False,
             output_sizes: list[tuple[int, int]] | None = None):
        if self.training:
            return self._run_once(images, targets, mask_crops=mask_crops)
        if self.sharpness_ceiling is not None:
            short_side = self.sharpness_short_side or int(self.transform.min_size[-1])
            images = [softened(image, self.sharpness_ceiling, short_side) for image in images]
        if output_sizes is not None and self.tiles >= 2:
            raise ValueError("MSNet: the tiled look sees frames at their own size (no output_sizes)")
        detections, features, image_sizes = self._look(images, mask_crops=mask_crops, output_sizes=output_sizes)
        if self.tiles >= 2:
            detections = self._with_tiles(images, detections, mask_crops=mask_crops)
        return detections, features, image_sizes

    def _look(self, images: list[Tensor], *, mask_crops: bool, output_sizes: list[tuple[int, int]] | None = None):
        """Eval detections of ``images`` as they are (in ``output_sizes`` where given):
        the mirror check and the close look where set."""
        # the close look before the masks; after them with the mirror check (both views
        # merged first) and for the co-trained baseline (its buildings are detections)
        looks = self.close_look and self.close_look_head is not None
        looks_early = looks and not self.flip_check and self.arch is not Arch.MASKRCNN_COTRAIN
        sizes = [(int(image.shape[-2]), int(image.shape[-1])) for image in images]
        output_sizes = output_sizes or sizes
        if not self.flip_check:
            detections, features, image_sizes = self._run_once(images, None, mask_crops=mask_crops,
                                                               close_look=looks_early, output_sizes=output_sizes)
        else:  # the mirror check: the images and their mirror images in one batch
            count = len(images)
            detections, features, image_sizes = self._run_once(
                [*images, *(image.flip(-1) for image in images)], None, mask_crops=mask_crops,
                output_sizes=[*output_sizes, *output_sizes])
            detections = [flip_checked(detections[i], detections[count + i], output_sizes[i][1],
                                       score_floor=self.roi_heads.score_thresh) for i in range(count)]
            features = OrderedDict((name, level[:count]) for name, level in features.items())
            image_sizes = image_sizes[:count]
        if looks and not looks_early:
            detections = self._close_looked(images, detections, [
                resize_boxes(d["boxes"], output, size) for d, output, size in zip(detections, output_sizes, sizes)])
        return detections, features, image_sizes

    def _with_tiles(self, images: list[Tensor], detections: list[dict[str, Any]], *,
                    mask_crops: bool) -> list[dict[str, Any]]:
        """Each image's ``detections`` (of the whole image) joined with the small detections
        of its tiles (:mod:`engine.msnet.tiling`); every image's tiles go through the
        detector in one batch."""
        sizes = [(int(image.shape[-2]), int(image.shape[-1])) for image in images]
        windows = [tile_windows(*size, self.tiles) for size in sizes]
        crops = [image[:, y0:y1, x0:x1] for image, own in zip(images, windows) for x0, y0, x1, y1 in own]
        tile_detections, _, _ = self._look(crops, mask_crops=mask_crops)
        joined, first = [], 0
        for detection, size, own in zip(detections, sizes, windows):
            tiles = [in_image(d, window, size) for d, window in zip(tile_detections[first:first + len(own)], own)]
            joined.append(merged(detection, tiles, limit=int(self.roi_heads.detections_per_img)))
            first += len(own)
        return joined

    def _close_looked(self, images: list[Tensor], detections: list[dict[str, Any]],
                      boxes_in_images: list[Tensor] | None = None) -> list[dict[str, Any]]:
        """Each detection's score combined with the close look's (:mod:`engine.msnet.close_look`).

        ``boxes_in_images``: where the detections lie in ``images`` (default: their own
        boxes, in the images' pixels)."""
        assert self.close_look_head is not None
        probabilities = damage_probabilities(
            images, boxes_in_images or [d["boxes"] for d in detections], self.close_look_head,
            list(self.transform.image_mean), list(self.transform.image_std))
        return [rescored(d, combined_scores(d["scores"], p), score_floor=self.roi_heads.score_thresh)
                for d, p in zip(detections, probabilities)]

    def _close_look_before_masks(self, images: list[Tensor], image_sizes: list[tuple[int, int]],
                                 original_sizes: list[tuple[int, int]]):
        """:meth:`_close_looked` as a hook on the RoI heads (:data:`engine.msnet.heads.BEFORE_MASKS`):
        the same scores, order and survivors, before any mask is computed. The boxes are
        still in input pixels; their crops are cut where the transform's postprocess will
        put them in the original image."""

        def look(boxes: list[Tensor], scores: list[Tensor], labels: list[Tensor]) -> Detections:
            in_original = [resize_boxes(b, resized, original)
                           for b, resized, original in zip(boxes, image_sizes, original_sizes)]
            kept = self._close_looked(
                images, [{"boxes": b, "scores": s, "labels": l} for b, s, l in zip(boxes, scores, labels)], in_original)
            return [k["boxes"] for k in kept], [k["scores"] for k in kept], [k["labels"] for k in kept]

        return look

    def _run_once(self, images: list[Tensor], targets: list[dict[str, Tensor]] | None, *, mask_crops: bool = False,
                  close_look: bool = False, output_sizes: list[tuple[int, int]] | None = None):
        for image in images:
            if image.dim() != 3:
                raise ValueError(f"images is expected to be a list of 3d tensors of shape [C, H, W], got {image.shape}")
        original_sizes = [(int(img.shape[-2]), int(img.shape[-1])) for img in images]
        output_sizes = output_sizes or original_sizes
        image_list, targets = self.transformed(images, targets)
        features = self._features(image_list.tensors)

        building_boxes: list[Tensor] | None = None
        building_scores: list[Tensor] | None = None
        if isinstance(self.rpn, HierarchicalRPN):
            proposals, building_boxes, building_scores, proposal_losses = self.rpn(image_list, features, targets)
        else:
            proposals, proposal_losses = self.rpn(image_list, features, targets)
        if not self.training and next(iter(features.values())).device.type == "cpu":
            # The CPU's RoI pooling (engine.msnet.roi_align) reads each map as a table of
            # locations x channels, i.e. channels-last: the layout the int8 convolutions
            # already give; lay out any other map once, the same numbers.
            features = OrderedDict((name, level.contiguous(memory_format=torch.channels_last))
                                   for name, level in features.items())
        hook = (self._close_look_before_masks(images, image_list.image_sizes, original_sizes)
                if close_look and not self.training else None)
        token = BEFORE_MASKS.set(hook)
        try:
            detections, detector_losses = self.roi_heads(features, proposals, image_list.image_sizes, targets)
        finally:
            BEFORE_MASKS.reset(token)

        if self.training:
            return {**detector_losses, **proposal_losses}, features, image_list.image_sizes
        detections = self._attach_buildings(detections, building_boxes, building_scores)
        # Masks left out, the postprocess only rescales the boxes; they are pasted below.
        mask_probs = None
        if mask_crops and detections and "masks" in detections[0]:
            mask_probs = [detection.pop("masks") for detection in detections]
        detections = self.transform.postprocess(detections, image_list.image_sizes, output_sizes)
        for index, (detection, resized, original) in enumerate(zip(detections, image_list.image_sizes, output_sizes)):
            detection["building_boxes"] = resize_boxes(detection["building_boxes"], resized, original)
            boxes = detection["boxes"]
            wide = torch.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= self.min_detection_side_px
            if not bool(wide.all()):
                for key in ("boxes", "labels", "scores", "masks"):
                    if key in detection:
                        detection[key] = detection[key][wide]
                if mask_probs is not None:
                    mask_probs[index] = mask_probs[index][wide]
            if mask_probs is not None:
                detection["mask_crops"] = paste_mask_crops(mask_probs[index], detection["boxes"], original)
        return detections, features, image_list.image_sizes

    def transformed(self, images: list[Tensor], targets: list[dict[str, Tensor]] | None
                    ) -> tuple[ImageList, list[dict[str, Tensor]] | None]:
        """The batch as the model sees it (resized, normalised, padded) and its targets
        resized with it: torchvision's transform resizes ``boxes`` and ``masks``; this also
        the other boxes a target may hold (:data:`TARGET_REGION_KEYS`)."""
        original_sizes = [(int(img.shape[-2]), int(img.shape[-1])) for img in images]
        if targets is not None:
            targets = [self._prepare_target(t, size) for t, size in zip(targets, original_sizes)]
        image_list, targets = self.transform(images, targets)
        if targets is not None:
            for target, original, resized in zip(targets, original_sizes, image_list.image_sizes):
                for key in TARGET_REGION_KEYS:
                    if key in target:
                        target[key] = resize_boxes(target[key], original, resized)
        return image_list, targets

    def _features(self, tensors: Tensor) -> "OrderedDict[str, Tensor]":
        """The FPN maps; with ``backbone_bfloat16`` / ``fpn_bfloat16`` (eval,
        native-bfloat16 CPU) the body's / the FPN's convolutions run in bfloat16, and the
        maps come back as float32."""
        body, fpn = getattr(self.backbone, "body", None), getattr(self.backbone, "fpn", None)
        if self.training or body is None or fpn is None:
            return self.backbone(tensors)
        body_bfloat16 = bfloat16_applies(self.backbone_bfloat16, tensors)
        fpn_bfloat16 = bfloat16_applies(self.fpn_bfloat16, tensors)
        if not (body_bfloat16 or fpn_bfloat16):
            return self.backbone(tensors)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=body_bfloat16):
            maps = body(tensors)
        if not fpn_bfloat16:
            maps = OrderedDict((name, level.float()) for name, level in maps.items())
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fpn_bfloat16):
            features = fpn(maps)
        return OrderedDict((name, level.float()) for name, level in features.items())

    def _prepare_target(self, target: dict[str, Tensor], size: tuple[int, int]) -> dict[str, Tensor]:
        """Co-training: append building boxes as instances of the building class."""
        target = dict(target)
        if "building_boxes" not in target:
            target["building_boxes"] = target["boxes"].new_zeros((0, 4))
        if self.arch is not Arch.MASKRCNN_COTRAIN:
            return target
        buildings = target["building_boxes"].to(target["boxes"])
        target["boxes"] = torch.cat([target["boxes"], buildings])
        target["labels"] = torch.cat(
            [target["labels"], torch.full((len(buildings),), self.building_label, dtype=target["labels"].dtype,
                                          device=target["labels"].device)]
        )
        if "masks" in target:
            target["masks"] = torch.cat([target["masks"], _box_masks(buildings, size).to(target["masks"])])
        return target

    def _attach_buildings(
        self,
        detections: list[dict[str, Tensor]],
        building_boxes: list[Tensor] | None,
        building_scores: list[Tensor] | None,
    ) -> list[dict[str, Tensor]]:
        for index, detection in enumerate(detections):
            device = detection["boxes"].device
            if self.arch is Arch.MASKRCNN_COTRAIN:
                is_building = detection["labels"] == self.building_label
                boxes, scores = detection["boxes"][is_building], detection["scores"][is_building]
                for key in list(detection):
                    detection[key] = detection[key][~is_building]
            elif building_boxes is not None and building_scores is not None:
                boxes, scores = building_boxes[index], building_scores[index]
                keep = torch.where(scores >= self.building_score_thresh)[0]
                boxes, scores = boxes[keep], scores[keep]
                keep = box_ops.nms(boxes, scores, self.building_nms_thresh)[: self.building_detections_per_img]
                boxes, scores = boxes[keep], scores[keep]
            else:
                boxes, scores = torch.zeros((0, 4), device=device), torch.zeros((0,), device=device)
            detection["building_boxes"] = boxes
            detection["building_scores"] = scores
        return detections


def _box_masks(boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """``uint8[N, H, W]`` masks filling each xyxy box (the co-trained building targets)."""
    height, width = size
    ys = torch.arange(height, device=boxes.device, dtype=boxes.dtype)[None, :, None] + 0.5
    xs = torch.arange(width, device=boxes.device, dtype=boxes.dtype)[None, None, :] + 0.5
    x1, y1, x2, y2 = (boxes[:, i, None, None] for i in range(4))
    return ((xs >= x1) & (xs < x2) & (ys >= y1) & (ys < y2)).to(torch.uint8)


#: torchvision's box and mask heads ("standard"), and heads sized for CPU and a small
#: shipped file ("light": about 3x fewer parameters in the heads)
_HEADS: dict[str, dict[str, Any]] = {
    "standard": {"box_representation_size": 1024, "mask_layers": (256, 256, 256, 256)},
    "light": {"box_representation_size": 256, "mask_layers": (256, 256)},
}


def set_training_matches(model: MaskRCNN, *, damage_positive_iou: float = 0.7,
                         box_positive_iou: float = 0.5) -> None:
    """Set how closely an anchor or a proposal must overlap a damaged part to be trained
    on as that damage (training only: inference never matches).

    ``damage_positive_iou`` is the damage RPN's positive overlap (torchvision's 0.7;
    negatives stay below 0.3, and each part keeps its best anchor however low);
    ``box_positive_iou`` the box head's, which is also its negatives' ceiling
    (torchvision's 0.5). Damage a few pixels across meets a 16 px anchor at an IoU of
    0.1-0.3 and a proposal one pixel off at under 0.5, so the defaults train it on few
    examples; the paper scores at IoU 0.25-0.5. The building RPN keeps torchvision's.
    """
    for name, value in (("damage_positive_iou", damage_positive_iou), ("box_positive_iou", box_positive_iou)):
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{name}: expected an overlap in (0, 1]; got {value!r}")
    rpn = model.rpn.damage_rpn if isinstance(model.rpn, HierarchicalRPN) else model.rpn
    negatives_below = rpn.proposal_matcher.low_threshold
    if damage_positive_iou < negatives_below:
        raise ValueError(f"damage_positive_iou: expected at least the negatives' {negatives_below}; "
                         f"got {damage_positive_iou!r}")
    rpn.proposal_matcher = Matcher(damage_positive_iou, negatives_below, allow_low_quality_matches=True)
    model.roi_heads.proposal_matcher = Matcher(box_positive_iou, box_positive_iou, allow_low_quality_matches=False)


#: The smallest short side the model may resize frames to (multi-scale training of a
#: tiny model draws sizes as small as 32; 0 or a negative size cannot be run at all).
MIN_RESIZE_PX = 16


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_settings(*, num_classes: object, min_size: object, max_size: object, gate_threshold: object,
                    building_top_n: object) -> None:
    """Refuse settings no model can run with (a hand-edited config, say), each with one
    :class:`ValueError` naming it, before anything is built."""
    sizes = list(min_size) if isinstance(min_size, (tuple, list)) else [min_size]
    if not sizes or not all(_whole(size) and size >= MIN_RESIZE_PX for size in sizes):  # type: ignore[operator]
        raise ValueError(f"min_size must be a whole number >= {MIN_RESIZE_PX} (or a list of them); got {min_size!r}")
    if not _whole(max_size) or max_size < max(sizes):  # type: ignore[operator]
        raise ValueError(f"max_size must be a whole number >= min_size ({max(sizes)}); got {max_size!r}")
    if not _whole(num_classes) or num_classes < 1:  # type: ignore[operator]
        raise ValueError(f"num_classes must be a whole number >= 1; got {num_classes!r}")
    if isinstance(gate_threshold, bool) or not isinstance(gate_threshold, (int, float)) or not (
            0.0 <= gate_threshold <= 1.0):
        raise ValueError(f"gate_threshold must be a number from 0 to 1; got {gate_threshold!r}")
    if not _whole(building_top_n) or building_top_n < 1:  # type: ignore[operator]
        raise ValueError(f"building_top_n must be a whole number >= 1; got {building_top_n!r}")


def build_msnet(
    *,
    arch: Arch | str = "msnet",
    backbone: str = "resnet50",
    num_classes: int = 4,
    min_size: int | tuple[int, ...] = 800,
    max_size: int = 1333,
    gate_metric: str = "ii",
    gate_threshold: float = 0.1,
    building_top_n: int = 100,
    norm: str = "bn",
    heads: str = "standard",
    trainable_backbone_layers: int | None = None,
    anchor_sizes: tuple[int, ...] = (32, 64, 128, 256, 512),
    close_look_px: int | None = None,
    **overrides: Any,
) -> MSNet:
    """Build MSNet or a baseline, randomly initialised (nothing is downloaded, ever).

    Parameters
    ----------
    arch : {"msnet", "maskrcnn", "maskrcnn-cotrain"}
    backbone : {"resnet50", "resnet18", "mobilenet_v3", "mobilenet_v2"}
        FPN backbone; ResNet-50 as in the paper, the others for CPU.
    num_classes : int
        Damage classes plus background.
    min_size, max_size : int
        Short and long side limits of the internal resize (paper: 800 / 1333). A tuple
        ``min_size`` picks one at random per training batch (multi-scale training); eval
        uses the last.
    gate_metric, gate_threshold, building_top_n
        HRPN anchor gating: inner intersection ``"ii"`` or ``"iou"``, the threshold ``S``
        and how many top building proposals gate (MSNet only).
    norm : {"bn", "frozen_bn"}
        Backbone normalisation: trainable BatchNorm for training from scratch, frozen for
        fine-tuning a pretrained initialisation.
    anchor_sizes : tuple of int
        One anchor size per FPN level (P2..P6), ratios 0.5, 1, 2; the paper's
        (32, ..., 512) by default, (16, ..., 256) suits small damage in small frames.
    close_look_px : int, optional
        Give the model a close-look head for crops of this many pixels
        (:mod:`engine.msnet.close_look`); none by default.
    heads : {"standard", "light"}
        torchvision's box (1024-d MLP) and mask (4 convs) heads, or lighter ones (256-d
        MLP, 2 convs) for CPU use and a small shipped model.
    **overrides
        Any other keyword of :class:`torchvision.models.detection.MaskRCNN` (e.g.
        ``box_score_thresh``, ``rpn_post_nms_top_n_test``).

    Returns
    -------
    MSNet
        With ``build_config``: the arguments that rebuild it (for the weights JSON).
    """
    arch = Arch.parse(arch)
    _check_settings(num_classes=num_classes, min_size=min_size, max_size=max_size, gate_threshold=gate_threshold,
                    building_top_n=building_top_n)
    total_classes = num_classes + (arch is Arch.MASKRCNN_COTRAIN)
    body = build_fpn_backbone(backbone, norm=norm, trainable_layers=trainable_backbone_layers)
    if heads not in _HEADS:
        raise ValueError(f"heads: expected 'standard' or 'light'; got {heads!r}")
    resolution = 7  # torchvision's box RoIAlign output size
    representation, mask_layers = _HEADS[heads]["box_representation_size"], list(_HEADS[heads]["mask_layers"])
    head_kwargs: dict[str, Any] = {
        "box_head": BoxHead(FPN_CHANNELS * resolution**2, representation),
        "box_predictor": FastRCNNPredictor(representation, total_classes),
        "mask_head": MaskHead(FPN_CHANNELS, mask_layers, 1),
        "mask_predictor": MaskPredictor(mask_layers[-1], mask_layers[-1], total_classes),
    }
    if len(anchor_sizes) != 5:
        raise ValueError(f"anchor_sizes: expected one size per FPN level (5); got {anchor_sizes!r}")
    head_kwargs["rpn_anchor_generator"] = FPNAnchorGenerator(
        tuple((int(size),) for size in anchor_sizes), ((0.5, 1.0, 2.0),) * len(anchor_sizes)
    )
    sizes = tuple(min_size) if isinstance(min_size, (tuple, list)) else min_size
    model = MSNet(
        body,
        num_classes,
        arch=arch,
        gate_metric=gate_metric,
        gate_threshold=gate_threshold,
        building_top_n=building_top_n,
        min_size=sizes,
        max_size=max_size,
        **head_kwargs,
        **{"size_divisible": SIZE_DIVISIBLE, **overrides},
    )
    model.build_config = {
        "arch": arch.value,
        "backbone": backbone,
        "num_classes": num_classes,
        "min_size": list(sizes) if isinstance(sizes, tuple) else sizes,
        "max_size": max_size,
        "gate_metric": gate_metric,
        "gate_threshold": gate_threshold,
        "building_top_n": building_top_n,
        "norm": norm,
        "heads": heads,
        "trainable_backbone_layers": trainable_backbone_layers,
        "anchor_sizes": [int(size) for size in anchor_sizes],
        **({"close_look_px": int(close_look_px)} if close_look_px else {}),
        **overrides,
    }
    if close_look_px:
        model.add_close_look(int(close_look_px))
    return model
