"""Prediction overlays: one score's label never covers another's, and stays in the image."""

from __future__ import annotations

import numpy as np

from engine.visualize import draw_predictions, label_place


def _overlap(a, b) -> bool:
    return not (a[2] <= b[0] or a[0] >= b[2] or a[3] <= b[1] or a[1] >= b[3])


def test_labels_of_boxes_on_one_roof_do_not_cover_each_other():
    """The detector boxes one roof several times: "0.63" drawn over "0.61" read "0.630.61"."""
    placed: list[tuple[int, int, int, int]] = []
    for x, y in ((40, 50), (42, 52), (41, 51), (44, 50)):
        left, top = label_place(x, y, 34, 14, placed, width=200, height=120)
        rect = (left, top, left + 34, top + 14)
        assert not any(_overlap(rect, other) for other in placed)
        assert 0 <= left and rect[2] <= 200 and 0 <= top and rect[3] <= 120
        placed.append(rect)
    assert placed[0] == (40, 36, 74, 50)  # the first (most confident) sits just above its box


def test_a_label_at_the_image_s_edge_stays_inside_it():
    left, top = label_place(190, 5, 40, 20, [], width=200, height=100)
    assert (left, top) == (160, 0)


def test_drawing_keeps_the_frame_size_and_leaves_low_scores_out():
    image = np.full((120, 200, 3), 90, dtype=np.uint8)
    boxes = np.array([[40.0, 50.0, 120.0, 100.0], [42.0, 52.0, 110.0, 95.0], [10.0, 10.0, 30.0, 30.0]])
    drawn = draw_predictions(image, boxes, np.array([2, 2, 1]), np.array([0.63, 0.61, 0.2]))
    assert drawn.shape == image.shape and (drawn != image).any()
    assert (drawn[12:28, 12:28] == 90).all()  # the 0.2 box, under the threshold, is not drawn


def test_a_label_at_the_image_s_top_edge_goes_under_its_box_not_onto_it():
    """A 17x8 box at the top edge was hidden under its own label."""
    left, top = label_place(393, 1, 30, 14, [], width=640, height=360, bottom=10)
    assert (left, top) == (393, 10)
    assert label_place(40, 50, 34, 14, [], width=200, height=120, bottom=100) == (40, 36)  # room above: above


def test_the_picture_names_the_levels_it_draws():
    """The level was a colour alone: no legend, and red and green alike to many readers."""
    image = np.full((240, 400, 3), 90, dtype=np.uint8)
    boxes = np.array([[200.0, 40.0, 300.0, 100.0], [250.0, 120.0, 350.0, 180.0]])
    drawn = draw_predictions(image, boxes, np.array([1, 3]), np.array([0.9, 0.8]))
    corner = drawn[150:236, 4:120]
    assert (corner > 200).mean() > 0.1  # the light panel of the legend, lower left
    from core.types import DamageLevel

    for level in (DamageLevel.SLIGHT, DamageLevel.DEBRIS):
        assert (np.abs(corner.astype(int) - np.array(level.colour_rgb)).sum(axis=2) < 10).any()
    assert not (np.abs(corner.astype(int) - np.array(DamageLevel.SEVERE.colour_rgb)).sum(axis=2) < 10).any()


def test_labels_never_hide_small_boxes_side_by_side():
    """On the Moore photo, "0.57" pushed down by "0.98" lay over both 10x7 boxes."""
    image = np.full((426, 640, 3), 90, dtype=np.uint8)
    boxes = np.array([[140.0, 283.0, 150.0, 290.0], [140.0, 286.0, 149.0, 292.0]])
    drawn = draw_predictions(image, boxes, np.array([1, 1]), np.array([0.98, 0.57]))
    text = (np.abs(drawn.astype(int)).sum(axis=2) < 30)  # the labels' black figures
    for x1, y1, x2, y2 in boxes.astype(int):
        assert not text[y1:y2 + 1, x1:x2 + 1].any(), "a label lies over the box"
        assert (drawn[y1 + 2:y2 - 1, x1 + 2:x2 - 1] == 90).mean() > 0.5  # the frame shows through, but for lines
    assert text.sum() > 20  # both labels are drawn


def test_a_small_box_elsewhere_does_not_move_a_label_off_its_own_box():
    """Any tiny box anywhere put every label under its box, onto the box below."""
    assert label_place(100, 100, 40, 20, [], width=1000, height=1000, bottom=400,
                       keep_clear=[(900, 900, 905, 905)]) == (100, 80)
