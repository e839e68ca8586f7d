"""Regions nobody decided on (a reviewed frame's unreviewed detections, COCO crowd
regions) are "don't know": no anchor of the RPN and no proposal of the box head on them
is trained on as background, while the rest of the frame is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torchvision.ops import box_iou

from engine.msnet import build_msnet
from engine.msnet.unlabelled import UNLABELLED, leave_unlabelled

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_msnet(arch=arch, backbone="mobilenet_v3", heads="light", min_size=64, max_size=96,
                        anchor_sizes=(16, 32, 64, 128, 256), box_batch_size_per_image=32,
                        rpn_pre_nms_top_n_train=200, rpn_post_nms_top_n_train=64)
    return model.train()


def _target(size: tuple[int, int], scale: float, *, ignore: bool) -> dict[str, torch.Tensor]:
    """One damage on the left, an unreviewed region on the right, one building over both."""
    height, width = size
    target = {
        "boxes": torch.tensor([[8.0, 10.0, 30.0, 40.0]]) * scale,
        "labels": torch.tensor([2]),
        "masks": torch.zeros(1, height, width, dtype=torch.uint8),
        "building_boxes": torch.tensor([[4.0, 4.0, 92.0, 60.0]]) * scale,
    }
    if ignore:
        target["ignore_boxes"] = torch.tensor([[50.0, 20.0, 80.0, 50.0]]) * scale
    return target


def test_background_labels_on_a_region_become_no_label_and_others_stay():
    labels = torch.tensor([0.0, 0.0, 1.0, -1.0, 0.0])
    candidates = torch.tensor([[50.0, 20.0, 80.0, 50.0], [52.0, 22.0, 80.0, 50.0],  # on the region
                               [50.0, 20.0, 80.0, 50.0],  # a positive stays one
                               [0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 10.0]])  # far: as it was
    region = torch.tensor([[50.0, 20.0, 80.0, 50.0]])
    assert leave_unlabelled(labels.clone(), candidates, region, 0.5).tolist() == [UNLABELLED, UNLABELLED, 1, -1, 0]
    assert leave_unlabelled(labels.clone(), candidates, None, 0.5).tolist() == labels.tolist()


@pytest.mark.parametrize("arch", ["msnet", "maskrcnn"])
def test_no_loss_sees_background_on_an_unreviewed_region(arch):
    """Frames twice the model's size, so the regions are resized with the image; each
    labelling recorded as the RPN and the box head make it, before their samplers draw."""
    model = _tiny(arch)
    rpn = model.rpn.damage_rpn if arch == "msnet" else model.rpn
    anchor_labels: list[tuple[torch.Tensor, torch.Tensor]] = []
    proposal_labels: list[tuple[torch.Tensor, torch.Tensor]] = []
    assign_anchors, assign_proposals = rpn.assign_targets_to_anchors, model.roi_heads.assign_targets_to_proposals

    def anchors_seen(anchors, targets):  # noqa: ANN001, ANN202
        labels, matched = assign_anchors(anchors, targets)
        anchor_labels.extend(zip(anchors, labels))
        return labels, matched

    def proposals_seen(proposals, gt_boxes, gt_labels):  # noqa: ANN001, ANN202
        matched, labels = assign_proposals(proposals, gt_boxes, gt_labels)
        proposal_labels.extend(zip(proposals, labels))
        return matched, labels

    rpn.assign_targets_to_anchors = anchors_seen
    model.roi_heads.assign_targets_to_proposals = proposals_seen
    image = torch.rand(3, 128, 192)
    region = torch.tensor([[50.0, 20.0, 80.0, 50.0]])  # in the model's 64x96 input
    # the model's proposals (untrained: spread all over) with the region's own box among them
    on_region = region + torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    hook = model.roi_heads.register_forward_pre_hook(
        lambda module, args: (args[0], [torch.cat([p, on_region]) for p in args[1]], *args[2:]))

    def background_on_region() -> tuple[int, int]:
        anchors, labels = anchor_labels[-1]
        near = box_iou(anchors, region)[:, 0] >= rpn.proposal_matcher.low_threshold
        proposals, box_labels = proposal_labels[-1]
        near_box = box_iou(proposals, region)[:, 0] >= model.roi_heads.proposal_matcher.low_threshold
        assert near.any() and near_box.any()  # there is something to label there
        return int((labels[near] == 0).sum()), int((box_labels[near_box] == 0).sum())

    losses = model([image], [_target((128, 192), 2.0, ignore=False)])
    anchors_without, proposals_without = background_on_region()
    assert anchors_without > 0 and proposals_without > 0  # without the region: background there

    losses = model([image], [_target((128, 192), 2.0, ignore=True)])
    assert background_on_region() == (0, 0)
    assert all(torch.isfinite(v) for v in losses.values())
    anchors, labels = anchor_labels[-1]
    far = box_iou(anchors, region)[:, 0] == 0
    assert (labels[far] == 0).any()  # the rest of the frame is still background
    hook.remove()


def _write_set(root: Path) -> Path:
    """Two frames, a damage on each; an unreviewed region on the first, a crowd region on the second."""
    from PIL import Image

    (root / "train").mkdir(parents=True)
    (root / "annotations").mkdir()
    images = []
    for number in (1, 2):
        Image.new("RGB", (96, 64), (90, 90, 90)).save(root / "train" / f"f{number}.png")
        images.append({"id": number, "file_name": f"f{number}.png", "width": 96, "height": 64})
    polygon = [[8, 10, 30, 10, 30, 40, 8, 40]]
    annotations = [{"id": n, "image_id": n, "category_id": 1, "bbox": [8, 10, 22, 30], "segmentation": polygon,
                    "area": 660, "iscrowd": 0} for n in (1, 2)]
    annotations.append({"id": 3, "image_id": 2, "category_id": 1, "bbox": [60, 5, 20, 20], "iscrowd": 1,
                        "segmentation": [[60, 5, 80, 5, 80, 25, 60, 25]], "area": 400})
    data = {"images": images, "annotations": annotations, "categories": [],
            "negatives": [], "unreviewed": [{"id": 1, "image_id": 1, "bbox": [50, 20, 30, 30]}]}
    (root / "annotations" / "instances_train.json").write_text(json.dumps(data))
    return root


def test_a_data_set_gives_its_unreviewed_and_crowd_regions_as_ignore_boxes(tmp_path):
    from engine.data import ISBDADataset

    dataset = ISBDADataset(_write_set(tmp_path / "set"), "train")
    assert dataset.instance_count == 2  # the crowd region is no target
    assert dataset[0][1]["ignore_boxes"].tolist() == [[50.0, 20.0, 80.0, 50.0]]
    assert dataset[1][1]["ignore_boxes"].tolist() == [[60.0, 5.0, 80.0, 25.0]]
