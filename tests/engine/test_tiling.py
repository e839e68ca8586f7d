"""The tiled look: small damage found in overlapping tiles joins the image's own detections."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from core.errors import ModelError
from engine.msnet.paste import MaskCrop
from engine.msnet.tiling import EDGE_MARGIN_PX, in_image, merged, tile_windows
from engine.weights import load_model


def _detections(boxes, labels, scores, **extra):
    return {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "labels": torch.tensor(labels),
            "scores": torch.tensor(scores), **extra}


@pytest.mark.parametrize(("height", "width", "grid"), [(540, 960, 2), (360, 640, 3), (101, 77, 4)])
def test_the_tiles_cover_the_image_and_overlap_their_neighbours(height, width, grid) -> None:
    windows = tile_windows(height, width, grid)
    assert len(windows) == grid * grid
    covered = torch.zeros(height, width, dtype=torch.int64)
    for x0, y0, x1, y1 in windows:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        covered[y0:y1, x0:x1] += 1
    assert bool((covered >= 1).all())
    # neighbours share a band: the pixel columns just right of the first tile's middle
    # are in the first two tiles of the top row
    (ax0, _, ax1, _), (bx0, _, _, _) = windows[0], windows[1]
    assert bx0 < ax1 and ax1 - bx0 >= 0.1 * (ax1 - ax0)
    assert tile_windows(height, width, 1) == []


def test_a_tiles_detections_move_into_the_image_and_those_cut_or_large_are_dropped() -> None:
    height, width = 540, 960
    window = (400, 200, 960, 540)  # a tile at the right edge: its left and top edges are inner
    tile_w, tile_h = window[2] - window[0], window[3] - window[1]
    masks = torch.zeros(4, 1, tile_h, tile_w)
    masks[0, 0, 10:20, 10:20] = 1.0
    crops = [MaskCrop(10, 10, torch.ones(10, 10)), MaskCrop(0, 0, torch.ones(2, 2)),
             MaskCrop(5, 5, torch.ones(3, 3)), MaskCrop(500, 300, torch.ones(8, 8))]
    tile = _detections(
        [[10, 10, 20, 20],          # small, inside: kept
         [0, 50, 12, 60],           # touches the inner left edge: cut, dropped
         [5, 5, 300, 300],          # large: the whole image sees it, dropped
         [tile_w - 12, tile_h - 12, tile_w, tile_h]],  # at the image's own edge: kept
        [1, 2, 3, 1], [0.9, 0.8, 0.7, 0.6], masks=masks, mask_crops=crops,
        building_boxes=torch.zeros(2, 4))
    out = in_image(tile, window, (height, width))
    assert out["boxes"].tolist() == [[410, 210, 420, 220], [400 + tile_w - 12, 200 + tile_h - 12, 960, 540]]
    assert out["labels"].tolist() == [1, 1] and out["scores"].tolist() == pytest.approx([0.9, 0.6])
    assert out["masks"].shape == (2, 1, height, width)
    assert out["masks"][0, 0, 210:220, 410:420].min() == 1.0 and out["masks"][0].sum() == 100
    assert [(c.x0, c.y0) for c in out["mask_crops"]] == [(410, 210), (900, 500)]
    assert "building_boxes" not in out
    # a box just clear of the inner edge is kept
    near = in_image(_detections([[EDGE_MARGIN_PX + 1, 50, 20, 60]], [1], [0.5]), window, (height, width))
    assert len(near["boxes"]) == 1


def test_damage_found_whole_and_in_a_tile_is_kept_once_with_its_best_score() -> None:
    whole = _detections([[10, 10, 30, 30], [100, 100, 110, 110]], [1, 2], [0.4, 0.3],
                        mask_crops=["w0", "w1"], building_boxes=torch.ones(1, 4))
    tile_a = _detections([[11, 10, 31, 30], [200, 200, 210, 210]], [1, 3], [0.7, 0.5], mask_crops=["a0", "a1"])
    tile_b = _detections([[100, 100, 110, 110]], [1], [0.9], mask_crops=["b0"])  # same place, another level
    out = merged(whole, [tile_a, tile_b], limit=10)
    assert out["scores"].tolist() == pytest.approx([0.9, 0.7, 0.5, 0.3])
    assert out["labels"].tolist() == [1, 1, 3, 2]
    assert out["mask_crops"] == ["b0", "a0", "a1", "w1"]
    assert out["building_boxes"].tolist() == [[1, 1, 1, 1]]
    assert merged(whole, [tile_a, tile_b], limit=2)["scores"].tolist() == pytest.approx([0.9, 0.7])
    assert merged(whole, [], limit=10)["scores"].tolist() == pytest.approx([0.4, 0.3])


def test_the_model_joins_what_its_tiles_find_to_what_the_whole_image_gives(random_msnet, monkeypatch) -> None:
    from engine.msnet import tiling

    # the random model's boxes are large for so small an image: let a tile keep them
    monkeypatch.setattr(tiling, "SMALL_AREA_FRACTION", 0.2)
    torch.manual_seed(1)
    image = torch.rand(3, 128, 192)
    with torch.no_grad():
        plain, features, sizes = random_msnet.detect_with_features([image], mask_crops=True)
        windows = tile_windows(128, 192, 2)
        tiles = random_msnet.detect_with_features([image[:, y0:y1, x0:x1] for x0, y0, x1, y1 in windows],
                                           mask_crops=True)[0]
        random_msnet.tiles = 2
        try:
            tiled, tiled_features, tiled_sizes = random_msnet.detect_with_features([image], mask_crops=True)
        finally:
            random_msnet.tiles = 1
    from_tiles = [in_image(t, w, (128, 192)) for t, w in zip(tiles, windows)]
    assert sum(len(t["boxes"]) for t in from_tiles) > 0  # the tiles do add candidates
    expected = merged(plain[0], from_tiles, limit=40)
    assert torch.allclose(tiled[0]["scores"], expected["scores"], atol=1e-4)
    assert torch.allclose(tiled[0]["boxes"], expected["boxes"], atol=1e-3)
    assert len(tiled[0]["mask_crops"]) == len(tiled[0]["boxes"])
    for crop, box in zip(tiled[0]["mask_crops"], tiled[0]["boxes"]):  # each mask's window holds its box
        height, width = crop.values.shape
        x0, y0, x1, y1 = box.tolist()
        assert crop.x0 <= x0 + 1 and crop.y0 <= y0 + 1 and crop.x0 + width >= x1 - 1 and crop.y0 + height >= y1 - 1
        assert width <= 1.5 * (x1 - x0) + 4 and height <= 1.5 * (y1 - y0) + 4
    assert tiled_sizes == sizes  # the SRN's features stay the whole image's
    assert all(torch.equal(tiled_features[k], features[k]) for k in features)
    # a batch of frames: every frame's tiles go through the detector together, each
    # frame's output as when it comes alone
    other = torch.rand(3, 128, 192)
    with torch.no_grad():
        random_msnet.tiles = 2
        try:
            alone = random_msnet.detect_with_features([other], mask_crops=True)[0][0]
            batch = random_msnet.detect_with_features([image, other], mask_crops=True)[0]
        finally:
            random_msnet.tiles = 1
    for together, by_itself in zip(batch, (tiled[0], alone)):
        assert torch.allclose(together["scores"], by_itself["scores"], atol=1e-4)
        assert torch.allclose(together["boxes"], by_itself["boxes"], atol=1e-3)
        assert len(together["mask_crops"]) == len(together["boxes"])


def test_the_weights_config_and_the_overrides_set_the_grid_and_refuse_a_bad_one(tiny_detector, tmp_path) -> None:
    for name in ("msnet.safetensors", "msnet.json"):
        shutil.copyfile(tiny_detector / name, tmp_path / name)
    model, _ = load_model(tmp_path / "msnet.safetensors")
    assert model.tiles == 1
    model, _ = load_model(tmp_path / "msnet.safetensors", inference={"tiles": 3})
    assert model.tiles == 3
    config_path = tmp_path / "msnet.json"
    for bad in (0, 5, True, 2.5):
        config = json.loads(config_path.read_text())
        config["inference"] = {"tiles": bad}
        config_path.write_text(json.dumps(config))
        with pytest.raises(ModelError, match="inference setting 'tiles' must be a whole number from 1") as error:
            load_model(tmp_path / "msnet.safetensors")
        assert "msnet.json" in str(error.value)
