import numpy as np
import pytest

from core.masks import RleMask


@pytest.mark.parametrize("seed", range(5))
def test_rle_round_trip_matches_pycocotools(seed):
    mask_utils = pytest.importorskip("pycocotools.mask")
    rng = np.random.default_rng(seed)
    mask = rng.random((17, 23)) > 0.6
    rle = RleMask.from_array(mask)
    assert np.array_equal(rle.to_array(), mask)
    assert rle.area_px == int(mask.sum())
    decoded = mask_utils.decode(mask_utils.frPyObjects(rle.to_coco(), 17, 23)).astype(bool)
    assert np.array_equal(decoded, mask)


def test_mask_starting_with_a_set_pixel_has_a_leading_zero_run():
    mask = np.zeros((3, 3), bool)
    mask[0, 0] = True
    rle = RleMask.from_array(mask)
    assert rle.counts[0] == 0
    assert np.array_equal(rle.to_array(), mask)


def test_empty_and_full_masks():
    empty = RleMask.from_array(np.zeros((4, 5), bool))
    assert empty.area_px == 0 and empty.bbox_xyxy() is None
    full = RleMask.from_array(np.ones((4, 5), bool))
    assert full.area_px == 20 and full.bbox_xyxy() == (0.0, 0.0, 5.0, 4.0)


def test_polygon_rasterises_inside_its_vertices():
    rle = RleMask.from_polygon([(2, 2), (12, 2), (12, 8), (2, 8)], 20, 20)
    x1, y1, x2, y2 = rle.bbox_xyxy()
    assert (x1, y1, x2, y2) == (2.0, 2.0, 13.0, 9.0)
    assert rle.area_px == 11 * 7


def test_inconsistent_runs_are_refused():
    with pytest.raises(ValueError, match="runs add up to"):
        RleMask(2, 2, (1, 1))


def test_crop_and_extent_from_runs_match_the_decoded_mask():
    rng = np.random.default_rng(0)
    for _ in range(100):
        h, w = (int(v) for v in rng.integers(1, 30, 2))
        array = rng.random((h, w)) < rng.random()
        mask = RleMask.from_array(array)
        crop = mask.crop()
        if not array.any():
            assert crop is None and mask.extent_xyxy() is None and mask.bbox_xyxy() is None
            continue
        pixels, x0, y0 = crop
        rebuilt = np.zeros_like(array)
        rebuilt[y0:y0 + pixels.shape[0], x0:x0 + pixels.shape[1]] = pixels
        assert (rebuilt == array).all()
        ys, xs = np.nonzero(array)
        assert (x0, y0) == (xs.min(), ys.min()) and pixels.shape == (ys.max() - y0 + 1, xs.max() - x0 + 1)
        extent = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert mask.extent_xyxy() == extent and mask.bbox_xyxy() == tuple(float(v) for v in extent)


def test_pixel_centres_from_runs_are_the_very_means_of_the_pixels():
    """:func:`core.masks.pixel_centres` of many masks at once (single pixels, runs across
    columns, whole columns, empty) gives each the float the mean of its listed pixels gives."""
    from core.masks import pixel_centres

    rng = np.random.default_rng(3)
    masks = []
    for k in range(400):
        height, width = (int(n) for n in rng.integers(1, 40, 2))
        array = rng.random((height, width)) < rng.random()
        if k % 4 == 0:
            array[:] = False
            array[rng.integers(0, height):, rng.integers(0, width)] = True
        masks.append(RleMask.from_array(array))
    masks.append(RleMask.from_array(np.zeros((5, 7), dtype=bool)))
    expected = []
    for mask in masks:
        pixels = mask.pixels()
        if pixels is None:
            expected.append((np.nan, np.nan))
            continue
        xs, ys = pixels
        x0, y0 = int(xs[0]), int(ys.min())
        expected.append(((xs - x0).sum() / len(xs) + x0 + 0.5, (ys - y0).sum() / len(ys) + y0 + 0.5))
    centres = pixel_centres(masks)
    assert np.isnan(centres[-1]).all()
    assert centres.tobytes() == np.array(expected).tobytes()
    assert pixel_centres([]).shape == (0, 2)


@pytest.mark.parametrize("batch_px", [4_000_000, 60, 1])
def test_mask_crops_are_each_masks_own_crop(monkeypatch, batch_px):
    """:func:`core.masks.mask_crops` paints many masks' crops together, in one pass or in
    several (a pass smaller than one mask's crop too), each the very crop
    :meth:`RleMask.crop` paints alone: empty masks, single pixels, runs across columns,
    whole frames, blobs touching the frame's edges."""
    import core.masks
    from core.masks import mask_crops

    monkeypatch.setattr(core.masks, "CROP_BATCH_PX", batch_px)
    rng = np.random.default_rng(5)
    masks = []
    for k in range(300):
        height, width = (int(n) for n in rng.integers(1, 30, 2))
        array = np.zeros((height, width), dtype=bool)
        if k % 5 == 0:
            array[:] = True
        elif k % 5 == 1:
            array[rng.integers(0, height), rng.integers(0, width)] = True
        elif k % 5 == 2:
            array[rng.integers(0, height):, rng.integers(0, width):] = True  # runs across columns
        elif k % 5 == 3:
            array = rng.random((height, width)) < rng.random()
        masks.append(RleMask.from_array(array))
    crops = mask_crops(masks)
    assert len(crops) == len(masks)
    for mask, got in zip(masks, crops):
        expected = mask.crop()
        if expected is None:
            assert got is None
            continue
        crop, x0, y0 = got
        assert (x0, y0) == expected[1:] and crop.dtype == np.uint8 and crop.flags.c_contiguous
        assert np.array_equal(crop, expected[0].astype(np.uint8))
    assert mask_crops([]) == []
