import pytest
import torch
from torchvision.models.detection.roi_heads import paste_masks_in_image
from torchvision.ops import boxes as box_ops

from engine.msnet.paste import paste_mask_crops


def _into_frames(crops, shape):
    frames = torch.zeros((len(crops), *shape))
    for frame, crop in zip(frames, crops):
        h, w = crop.values.shape
        frame[crop.y0 : crop.y0 + h, crop.x0 : crop.x0 + w] = crop.values
    return frames


@pytest.mark.parametrize("shape", [(72, 128), (45, 31)])
def test_crops_pasted_into_frames_equal_torchvisions_full_frame_masks(shape):
    generator = torch.Generator().manual_seed(0)
    height, width = shape
    masks = torch.rand((40, 1, 28, 28), generator=generator)
    corner = torch.rand((40, 2), generator=generator) * torch.tensor([width * 1.4, height * 1.4]) - 10
    size = 1 + torch.rand((40, 2), generator=generator) * 40
    # Clipped to the frame as the detector's boxes are; expanded, many cross its edges.
    boxes = box_ops.clip_boxes_to_image(torch.cat([corner, corner + size], dim=1), shape)

    crops = paste_mask_crops(masks, boxes, shape)

    expected = paste_masks_in_image(masks, boxes, shape)[:, 0]
    assert len(crops) == 40
    assert (expected.sum(dim=(1, 2)) > 0).sum() > 20  # the comparison is not between empty frames
    torch.testing.assert_close(_into_frames(crops, shape), expected, rtol=0, atol=0)
    for crop in crops:
        h, w = crop.values.shape
        assert 0 <= crop.x0 and crop.x0 + w <= width and 0 <= crop.y0 and crop.y0 + h <= height


def test_a_box_off_the_frame_gives_an_empty_crop():
    (crop,) = paste_mask_crops(torch.ones((1, 1, 28, 28)), torch.tensor([[-30.0, 5.0, -20.0, 9.0]]), (10, 10))
    assert crop.values.numel() == 0


def test_no_detections_no_crops():
    assert paste_mask_crops(torch.zeros((0, 1, 28, 28)), torch.zeros((0, 4)), (10, 10)) == []


def test_results_and_pictures_from_crops_are_those_from_full_frame_masks():
    """`predict` pastes each mask into the photo in turn (a 10-megapixel photo with 90
    detections held 90 full-frame masks at once: 9 GB): the COCO results and the picture
    are the same as from torchvision's full-frame masks."""
    import numpy as np

    from engine.evaluate import outputs_to_results
    from engine.visualize import prediction_figure

    generator = torch.Generator().manual_seed(1)
    shape = (60, 90)
    masks = torch.rand((12, 1, 28, 28), generator=generator)
    corner = torch.rand((12, 2), generator=generator) * torch.tensor([80.0, 50.0])
    boxes = box_ops.clip_boxes_to_image(torch.cat([corner, corner + 2 + 20 * torch.rand((12, 2), generator=generator)],
                                                  dim=1), shape)
    common = {"boxes": boxes, "labels": torch.randint(1, 4, (12,), generator=generator),
              "scores": torch.rand(12, generator=generator), "building_boxes": torch.zeros((0, 4))}
    full = {**common, "masks": paste_masks_in_image(masks, boxes, shape)}
    cropped = {**common, "mask_crops": paste_mask_crops(masks, boxes, shape)}
    assert outputs_to_results(cropped, 7, image_size=shape) == outputs_to_results(full, 7)
    image = np.full((*shape, 3), 90, dtype=np.uint8)
    np.testing.assert_array_equal(prediction_figure(image, cropped, score_threshold=0.2),
                                  prediction_figure(image, full, score_threshold=0.2))
