"""The close look runs between the box branch and the mask branch, so no mask is computed
for a detection it drops; the detections are exactly those of looking afterwards."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import torch

from engine.msnet import build_msnet
from engine.msnet.heads import BEFORE_MASKS, RoIHeadsWithHook


def _tiny_model_with_close_look(arch: str = "msnet") -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_msnet(arch=arch, backbone="mobilenet_v2", min_size=64, max_size=96, heads="light",
                        norm="frozen_bn", rpn_pre_nms_top_n_test=60, rpn_post_nms_top_n_test=30,
                        box_detections_per_img=30, box_score_thresh=0.0)
    model.add_close_look(32)
    return model.eval()


def _counting_mask_rows(model: torch.nn.Module) -> list[int]:
    rows: list[int] = []
    model.roi_heads.mask_head.register_forward_pre_hook(lambda module, args: rows.append(int(args[0].shape[0])))
    return rows


def test_looking_before_the_masks_gives_the_detections_of_looking_after_with_fewer_masks() -> None:
    model = _tiny_model_with_close_look()
    assert isinstance(model.roi_heads, RoIHeadsWithHook)
    images = [torch.rand(3, 72, 96, generator=torch.Generator().manual_seed(1)),
              torch.rand(3, 80, 88, generator=torch.Generator().manual_seed(2))]
    with torch.no_grad():
        raw = model(images)
        # a floor under which the close look drops about half of the detections
        combined = torch.cat([d["scores"] for d in model._close_looked(images, raw)])
        floor = float(combined.median())
        model.roi_heads.score_thresh = floor
        rows = _counting_mask_rows(model)

        raw = model(images)  # close look off: masks for every detection over the floor
        after = model._close_looked(images, raw)
        rows_after = sum(rows)
        rows.clear()
        model.close_look = True
        before = model(images)
        rows_before = sum(rows)

    assert 0 < sum(len(d["scores"]) for d in after) < sum(len(d["scores"]) for d in raw)
    assert rows_before < rows_after
    for early, late in zip(before, after):
        assert torch.equal(early["labels"], late["labels"])
        assert torch.allclose(early["scores"], late["scores"])
        assert torch.allclose(early["boxes"], late["boxes"])
        assert torch.allclose(early["masks"], late["masks"])
        assert torch.equal(early["building_boxes"], late["building_boxes"])


def test_the_co_trained_baseline_looks_after_separating_its_buildings() -> None:
    model = _tiny_model_with_close_look("maskrcnn-cotrain")
    model.roi_heads.detections_per_img = 200  # every class of every proposal, buildings among them
    images = [torch.rand(3, 72, 96, generator=torch.Generator().manual_seed(3))]
    with torch.no_grad():
        after = model._close_looked(images, model(images))
        model.close_look = True
        before = model(images)
    assert len(before[0]["building_boxes"]) > 0
    # buildings are not looked at: neither rescored nor dropped
    assert torch.equal(before[0]["building_boxes"], after[0]["building_boxes"])
    assert torch.equal(before[0]["building_scores"], after[0]["building_scores"])
    assert torch.equal(before[0]["scores"], after[0]["scores"])


def test_the_hook_of_one_call_is_not_seen_by_a_call_on_another_thread() -> None:
    token = BEFORE_MASKS.set(lambda boxes, scores, labels: (boxes, scores, labels))
    try:
        with ThreadPoolExecutor(1) as other:
            seen_there = other.submit(BEFORE_MASKS.get).result()
        assert BEFORE_MASKS.get() is not None
    finally:
        BEFORE_MASKS.reset(token)
    assert seen_there is None
    assert BEFORE_MASKS.get() is None
