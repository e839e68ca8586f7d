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
