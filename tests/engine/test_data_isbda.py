"""The ISBDA loader and the augmentation, on a two-image dataset written in tmp_path."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import DamagemapWarning, InputError
from engine.data import ISBDADataset, RandomHorizontalFlip, collate, multiscale_sizes


def _annotation(ann_id, image_id, category, polygon, damage_bbox, house_bbox, **extra):
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category,
        "segmentation": [polygon],
        "area": damage_bbox[2] * damage_bbox[3],
        "damage_bbox": damage_bbox,
        "house_bbox": house_bbox,
        "iscrowd": 0,
        **extra,
    }


@pytest.fixture()
def dataset_dir(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "annotations").mkdir()
    for name, size in (("a.png", (48, 64)), ("b.png", (40, 56))):
        Image.fromarray(np.full((*size, 3), 120, dtype=np.uint8)).save(tmp_path / "train" / name)
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "height": 48, "width": 64},
            {"id": 2, "file_name": "b.png", "height": 40, "width": 56},
        ],
        "annotations": [
            _annotation(10, 1, 1, [4, 4, 20, 4, 20, 14, 4, 14], [4, 4, 16, 10], [0, 0, 30, 30]),
            _annotation(11, 1, 3, [22, 20, 28, 20, 28, 28, 22, 28], [22, 20, 6, 8], [0, 0, 30, 30]),
            _annotation(12, 1, 2, [40, 30, 60, 30, 60, 44, 40, 44], [40, 30, 20, 14], [35, 25, 29, 23]),
            _annotation(13, 1, 2, [40, 30, 50, 30], [40, 30, 10, 1], [35, 25, 29, 23]),  # 2-point polygon
        ],
        "categories": [{"id": 1, "name": "Slight"}, {"id": 2, "name": "Severe"}, {"id": 3, "name": "Debris"}],
    }
    (tmp_path / "annotations" / "instances_train.json").write_text(json.dumps(data))
    return tmp_path


def test_targets_follow_torchvision_and_buildings_are_deduplicated(dataset_dir):
    with pytest.warns(DamagemapWarning, match=r"annotation id 13.*of 2 point.*annotation skipped"):
        dataset = ISBDADataset(dataset_dir, "train")
    image, target = dataset[0]
    assert image.shape == (3, 48, 64) and image.dtype == torch.float32 and 0 <= image.min() <= image.max() <= 1
    torch.testing.assert_close(target["boxes"], torch.tensor([[4.0, 4, 20, 14], [22, 20, 28, 28], [40, 30, 60, 44]]))
    assert target["labels"].tolist() == [1, 3, 2]
    assert target["masks"].shape == (3, 48, 64) and target["masks"].dtype == torch.uint8
    assert target["masks"][0, 8, 10] == 1 and target["masks"][0, 30, 10] == 0
    # three annotations share two houses
    assert sorted(target["building_boxes"].tolist()) == [[0.0, 0, 30, 30], [35, 25, 64, 48]]
    assert int(target["image_id"]) == 1

    _, empty = dataset[1]
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 40, 56)
    assert empty["building_boxes"].shape == (0, 4)
    images, targets = collate([dataset[0], dataset[1]])
    assert len(images) == len(targets) == 2


def test_missing_annotation_file_names_the_path(tmp_path):
    with pytest.raises(InputError, match="instances_val.json"):
        ISBDADataset(tmp_path, "val")


def test_hflip_moves_boxes_masks_and_buildings_with_the_image(dataset_dir):
    with pytest.warns(DamagemapWarning):
        dataset = ISBDADataset(dataset_dir, "train")
    image, target = dataset[0]
    image[0, 5, 6] = 0.0  # a marker pixel
    flip = RandomHorizontalFlip(1.0, rng=random.Random(0))
    flipped, out = flip(image, target)
    width = image.shape[-1]
    assert flipped[0, 5, width - 1 - 6] == 0.0
    torch.testing.assert_close(out["boxes"][0], torch.tensor([width - 20.0, 4, width - 4.0, 14]))
    torch.testing.assert_close(out["building_boxes"][:, [0, 2]], width - target["building_boxes"][:, [2, 0]])
    torch.testing.assert_close(out["masks"], target["masks"].flip(-1))
    # every flipped box still holds its flipped mask
    for box, mask in zip(out["boxes"], out["masks"]):
        ys, xs = torch.nonzero(mask, as_tuple=True)
        assert box[0] <= xs.min() and xs.max() < box[2]
    unchanged, same = RandomHorizontalFlip(0.0)(image, target)
    assert unchanged is image and same is target


def test_multiscale_sizes_end_at_the_eval_size():
    assert multiscale_sizes(800) == (480, 576, 640, 704, 800)
    assert multiscale_sizes(800, steps=1) == (800,)
    assert all(s % 32 == 0 for s in multiscale_sizes(416)[:-1])


def test_video_frames_are_the_flights_video_at_each_images_frame_index(sites_flyover):
    stills = ISBDADataset(sites_flyover.out_dir, "train")
    video = ISBDADataset(sites_flyover.out_dir, "train", video_frames=1.0)
    assert len(video) == len(stills) > 1
    for index in range(len(stills)):
        still, target = stills[index]
        frame, video_target = video[index]
        assert frame.shape == still.shape
        assert all(torch.equal(target[key], video_target[key]) for key in ("boxes", "labels", "masks", "building_boxes"))
        # the same picture, with the codec's artefacts in place of the still's
        assert 0 < (frame - still).abs().mean().item() < 0.05
    # each frame is its still's, not a neighbour's
    first, second = stills[0][0], stills[1][0]
    assert (video[0][0] - first).abs().mean() < (video[0][0] - second).abs().mean()


def test_a_share_of_video_frames_mixes_both_sources_as_the_seed_says(sites_flyover):
    def sources(seed: int) -> list[bool]:
        dataset = ISBDADataset(sites_flyover.out_dir, "train", video_frames=0.5, seed=seed)
        return [not torch.equal(dataset[index][0], stills[index][0]) for index in range(len(dataset)) for _ in range(4)]

    stills = ISBDADataset(sites_flyover.out_dir, "train")
    chosen = sources(1)
    assert any(chosen) and not all(chosen)
    assert sources(1) == chosen


def test_video_frames_need_a_flyover_folder(dataset_dir, sites_flyover, tmp_path):
    with pytest.raises(InputError, match=rf"{dataset_dir}: no flight\.mp4 to take video frames from"):
        ISBDADataset(dataset_dir, "train", video_frames=0.5)
    with pytest.raises(ValueError, match="video_frames must be a probability in"):
        ISBDADataset(dataset_dir, "train", video_frames=1.5)
    # a flyover whose annotations lost their frame indices
    import shutil

    copy = tmp_path / "flight"
    shutil.copytree(sites_flyover.out_dir, copy)
    annotations = copy / "annotations" / "instances_train.json"
    data = json.loads(annotations.read_text())
    del data["images"][1]["frame_index"]
    annotations.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"instances_train\.json: 1 image\(s\) without a 'frame_index'"):
        ISBDADataset(copy, "train", video_frames=1.0)


def test_each_dataloader_worker_flips_on_its_own_and_runs_repeat(dataset_dir):
    """Workers start with copies of the dataset's random generators: the trainer seeds
    each item (``engine.train.SeededItems``), so the workers' choices differ from one
    another and repeat run to run."""
    from torch.utils.data import DataLoader

    from engine.data import train_transforms
    from engine.train import SeededItems, mixed_seed
    from tests.forking import stop_decoding_threads

    stop_decoding_threads()  # the loader's workers are forked

    def flips(seeded: bool) -> list[list[bool]]:
        with pytest.warns(DamagemapWarning):
            dataset = ISBDADataset(dataset_dir, "train", transforms=train_transforms(hflip=0.5, seed=3))
        if seeded:
            items = [[(0, mixed_seed(7, "item", 0, place))] for place in range(24)]  # one item, seeded per place
            loader = DataLoader(SeededItems(dataset), batch_sampler=items, num_workers=2, collate_fn=collate)
        else:
            loader = DataLoader(dataset, batch_size=1, sampler=[0] * 24, num_workers=2, collate_fn=collate,
                                generator=torch.Generator().manual_seed(7))
        flipped = [bool(targets[0]["boxes"][0, 0] != 4) for _, targets in loader]
        return [flipped[0::2], flipped[1::2]]  # the two workers take turns

    copied = flips(seeded=False)
    assert copied[0] == copied[1]  # the defect: both workers draw the same flips
    first = flips(seeded=True)
    assert first[0] != first[1]
    assert flips(seeded=True) == first


def test_reseeding_a_dataset_repeats_its_choice_of_video_frames(sites_flyover):
    fresh = ISBDADataset(sites_flyover.out_dir, "train", video_frames=0.5, seed=5)
    reseeded = ISBDADataset(sites_flyover.out_dir, "train", video_frames=0.5, seed=1)
    reseeded.reseed(5)
    assert [fresh._video_choice.random() for _ in range(8)] == [reseeded._video_choice.random() for _ in range(8)]


@pytest.mark.parametrize("categories", [
    [{"id": 1, "name": "debris"}, {"id": 2, "name": "severe"}, {"id": 3, "name": "slight"}],  # alphabetical
    [{"id": 0, "name": "slight"}, {"id": 1, "name": "Severe"}, {"id": 2, "name": "debris"}],  # from 0
    [{"id": 1, "name": "Severe damage"}, {"id": 2, "name": "Slight damage"}, {"id": 3, "name": "Debris"}],
    [{"id": 1, "name": "no-damage"}, {"id": 2, "name": "minor-damage"}, {"id": 3, "name": "major-damage"},
     {"id": 4, "name": "destroyed"}],  # xBD's
])
def test_categories_naming_the_levels_under_other_ids_are_refused(tmp_path, categories):
    """Trained on silently with Slight and Debris swapped; evaluated, perfect predictions
    scored 0."""
    from engine.data import read_coco_json

    path = tmp_path / "instances_val.json"
    path.write_text(json.dumps({"images": [], "annotations": [], "categories": categories}))
    with pytest.raises(InputError, match="its categories number the levels otherwise.*renumber"):
        read_coco_json(path)
    path.write_text(json.dumps({"images": [], "annotations": [], "categories": [
        {"id": 1, "name": "Slight"}, {"id": 2, "name": "severe"}, {"id": 3, "name": "debris"}, {"id": 4, "name": "x"}]}))
    assert len(read_coco_json(path)["categories"]) == 4  # ISBDA's numbering, names in any case
    path.write_text(json.dumps({"images": [], "annotations": [], "categories": [
        {"id": "1", "name": "slight_damage"}, {"id": 2, "name": "Severe damage"}, {"id": 3, "name": "destroyed"},
        {"id": 4, "name": "no-damage"}, {"id": 5, "name": "damage"}]}))
    assert len(read_coco_json(path)["categories"]) == 5  # the same levels in other words


def _one_image_dataset(root, image, name, size, **save):
    (root / "annotations").mkdir(parents=True)
    (root / "val").mkdir()
    image.save(root / "val" / name, **save)
    width, height = size
    polygon = [2, 2, 12, 2, 12, 12, 2, 12]
    (root / "annotations" / "instances_val.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": name, "width": width, "height": height}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 2, 10, 10],
                         "segmentation": [polygon], "area": 100, "iscrowd": 0}],
        "categories": [{"id": 1, "name": "slight"}, {"id": 2, "name": "severe"}, {"id": 3, "name": "debris"}]}))
    return ISBDADataset(root, "val")


def test_a_photo_stored_sideways_is_read_upright_as_predict_reads_it(tmp_path):
    """Annotated upright (640x426), its EXIF turning it: training and evaluation refused it
    ("image is 426x640, annotations say 640x426") where `predict` read it upright."""
    stored = Image.fromarray(np.zeros((40, 30, 3), dtype=np.uint8))  # 30 wide, 40 tall as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to show
    upright = _one_image_dataset(tmp_path / "upright", stored, "a.jpg", (40, 30), exif=exif.tobytes())
    assert upright.read_image(0).shape == (30, 40, 3)
    as_stored = _one_image_dataset(tmp_path / "stored", stored, "a.jpg", (30, 40), exif=exif.tobytes())
    assert as_stored.read_image(0).shape == (40, 30, 3)  # annotated on the pixels as stored: taken so


def test_a_16_bit_picture_is_scaled_not_clipped_white(tmp_path):
    grey = (np.arange(40 * 30, dtype=np.uint32).reshape(40, 30) * 50).astype(np.uint16)
    dataset = _one_image_dataset(tmp_path / "deep", Image.fromarray(grey), "a.png", (30, 40))
    image = dataset.read_image(0)
    assert image.shape == (40, 30, 3) and 0 < image.mean() < 250 and len(np.unique(image)) > 100


def test_a_mask_drawn_for_another_size_is_skipped_with_a_warning_and_a_text_id_refused(tmp_path):
    """Both stopped a training run with a traceback (a broadcast error at the first batch
    holding the mask; `new(): invalid data type 'str'`), and left an empty run folder."""
    from pycocotools import mask as mask_utils

    root = tmp_path / "data"
    (root / "annotations").mkdir(parents=True)
    (root / "val").mkdir()
    Image.fromarray(np.zeros((96, 128, 3), dtype=np.uint8)).save(root / "val" / "a.png")
    wrong = mask_utils.encode(np.asfortranarray(np.ones((192, 256), dtype=np.uint8)))
    wrong["counts"] = wrong["counts"].decode("ascii")
    right = mask_utils.encode(np.asfortranarray(np.ones((96, 128), dtype=np.uint8)))
    right["counts"] = right["counts"].decode("ascii")
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 128, "height": 96}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 20, 20], "segmentation": wrong},
                            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [0, 0, 20, 20], "segmentation": right}],
            "categories": []}
    (root / "annotations" / "instances_val.json").write_text(json.dumps(coco))
    with pytest.warns(DamagemapWarning, match=r"annotation id 1 .*its mask is \[192, 256\] \(height, width\), the "
                                              r"image \[96, 128\]; skipped"):
        dataset = ISBDADataset(root, "val")
    _, target = dataset[0]
    assert target["labels"].tolist() == [2] and tuple(target["masks"].shape) == (1, 96, 128)
    coco["images"][0]["id"] = "a"
    for annotation in coco["annotations"]:
        annotation["image_id"] = "a"
    (root / "annotations" / "instances_val.json").write_text(json.dumps(coco))
    with pytest.raises(InputError, match="image 'a.png' has the id 'a'; COCO image ids are whole numbers"):
        ISBDADataset(root, "val")


def test_a_box_beside_the_image_is_skipped_not_clipped_to_an_empty_box(tmp_path):
    """A damage or house box wholly outside its image clipped to a zero-width target, and
    the first batch holding it stopped training as a diverged loss (NaN at step N); one
    partly inside is clipped, as before."""
    root = tmp_path / "data"
    (root / "annotations").mkdir(parents=True)
    (root / "train").mkdir()
    Image.fromarray(np.full((40, 64, 3), 90, dtype=np.uint8)).save(root / "train" / "a.png")
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 40}],
            "annotations": [
                _annotation(1, 1, 1, [70, 5, 80, 5, 80, 15, 70, 15], [70, 5, 10, 10], [66, 0, 20, 20]),
                _annotation(2, 1, 2, [4, 4, 20, 4, 20, 14, 4, 14], [4, 4, 16, 10], [2, -30, 30, 20]),
                _annotation(3, 1, 3, [50, 30, 70, 30, 70, 38, 50, 38], [50, 30, 20, 8], [0, 0, 64, 40])],
            "categories": []}
    (root / "annotations" / "instances_train.json").write_text(json.dumps(coco))
    with pytest.warns(DamagemapWarning) as caught:
        dataset = ISBDADataset(root, "train")
    said = [str(warning.message) for warning in caught if issubclass(warning.category, DamagemapWarning)]
    assert any("annotation id 1 " in text and "damage box [70, 5, 10, 10] lies outside the 64x40 image; skipped"
               in text for text in said), said
    assert any("2 annotations have a house box outside their image; left out (ids 1, 2; the first, annotation id "
               "1 (image 1): house box [66, 0, 20, 20] lies outside the 64x40 image" in text for text in said), said
    _, target = dataset[0]
    assert target["labels"].tolist() == [2, 3]
    assert target["boxes"].tolist() == [[4, 4, 20, 14], [50, 30, 64, 38]]
    assert target["building_boxes"].tolist() == [[0, 0, 64, 40]]


def test_an_rle_mask_whose_runs_do_not_cover_the_image_is_skipped(tmp_path):
    """An empty RLE ("counts": "") decoded into a mask of whatever the memory held (values
    up to 255, different each run) and trained on as the part's outline."""
    from pycocotools import mask as mask_utils

    from engine.data.isbda import rle_pixel_count

    root = tmp_path / "data"
    (root / "annotations").mkdir(parents=True)
    (root / "train").mkdir()
    Image.fromarray(np.zeros((30, 40, 3), dtype=np.uint8)).save(root / "train" / "a.png")
    drawn = np.zeros((30, 40), dtype=np.uint8)
    drawn[5:15, 8:30] = 1
    sound = mask_utils.encode(np.asfortranarray(drawn))
    sound["counts"] = sound["counts"].decode("ascii")
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [8, 5, 22, 10],
                             "segmentation": {"size": [30, 40], "counts": ""}},
                            {"id": 2, "image_id": 1, "category_id": 3, "bbox": [8, 5, 22, 10],
                             "segmentation": {"size": [30, 40], "counts": [100, 20]}},
                            {"id": 3, "image_id": 1, "category_id": 2, "bbox": [8, 5, 22, 10], "segmentation": sound}],
            "categories": []}
    (root / "annotations" / "instances_train.json").write_text(json.dumps(coco))
    with pytest.warns(DamagemapWarning) as caught:
        dataset = ISBDADataset(root, "train")
    said = " | ".join(str(warning.message) for warning in caught)
    assert "annotation id 1 (image 1): its mask's run lengths cover 0 pixels, not the image's 30 x 40" in said
    assert "2 annotations have a mask whose run lengths do not cover their image; skipped (ids 1, 2;" in said
    _, target = dataset[0]
    assert target["labels"].tolist() == [2]
    assert np.array_equal(target["masks"][0].numpy(), drawn)
    rng = np.random.default_rng(5)
    for share in (0.0, 0.02, 0.5, 1.0):  # the compressed string's runs, long and short, as pycocotools reads them
        mask = (rng.random((37, 53)) < share).astype(np.uint8)
        assert rle_pixel_count(mask_utils.encode(np.asfortranarray(mask))["counts"]) == 37 * 53


def test_many_annotations_skipped_for_one_reason_are_one_warning(tmp_path):
    """A file with thousands of annotations of a class damagemap does not train (buildings,
    say) printed a warning for each: one a reason now, with the count and the first ids."""
    root = tmp_path / "data"
    (root / "annotations").mkdir(parents=True)
    (root / "train").mkdir()
    Image.fromarray(np.full((40, 64, 3), 90, dtype=np.uint8)).save(root / "train" / "a.png")
    polygon, box = [4, 4, 20, 4, 20, 14, 4, 14], [4, 4, 16, 10]
    annotations = [_annotation(number, 1, 4, polygon, box, box) for number in range(1, 3001)]
    annotations += [_annotation(3001, 1, 2, polygon, box, box), _annotation(3002, 1, 2, polygon, [70, 5, 10, 10], box)]
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 40}], "annotations": annotations,
            "categories": []}
    (root / "annotations" / "instances_train.json").write_text(json.dumps(coco))
    with pytest.warns(DamagemapWarning) as caught:
        dataset = ISBDADataset(root, "train")
    said = [str(warning.message) for warning in caught if issubclass(warning.category, DamagemapWarning)]
    assert len(said) == 2, said
    assert ("3000 annotations have a category_id other than 1 (Slight), 2 (Severe) or 3 (Debris); skipped (ids 1, 2, "
            "3, 4, 5 and 2995 more; the first, annotation id 1 (image 1): category_id 4 is not") in said[0]
    assert said[1].endswith("annotation id 3002 (image 1): damage box [70, 5, 10, 10] lies outside the 64x40 image; "
                            "skipped")
    assert dataset.instance_count == 1
