"""Prediction overlays like the paper's figures: the frame, and beside it the same frame
with translucent damage masks, their boxes and scores, coloured by damage level
(Slight green, Severe orange, Debris red; :class:`core.types.DamageLevel`)."""

from __future__ import annotations

import cv2
import numpy as np

from core.types import DamageLevel

BUILDING_COLOUR_RGB = (80, 160, 255)


def draw_predictions(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    masks: np.ndarray | None = None,
    *,
    building_boxes: np.ndarray | None = None,
    score_threshold: float = 0.5,
    alpha: float = 0.45,
) -> np.ndarray:
    """Draw damage predictions on a copy of ``image``.

    Parameters
    ----------
    image : uint8[H, W, 3]
        RGB frame.
    boxes : float[N, 4]
        ``(x1, y1, x2, y2)`` pixels.
    labels : int[N]
        Damage level 1..3.
    scores : float[N]
        Confidences in ``[0, 1]``.
    masks : float[N, H, W] or bool[N, H, W], optional
        Mask probabilities (thresholded at 0.5) or binary masks.
    building_boxes : float[B, 4], optional
        Drawn as thin blue outlines.
    score_threshold : float
        Predictions below it are left out (the paper shows >= 0.5).

    Returns
    -------
    uint8[H, W, 3]
    """
    canvas = np.ascontiguousarray(image.copy())
    height, width = canvas.shape[:2]
    thickness = max(1, round(min(height, width) / 300))
    if building_boxes is not None:
        for x1, y1, x2, y2 in np.round(np.asarray(building_boxes)).astype(int):
            cv2.rectangle(canvas, (x1, y1), (x2, y2), BUILDING_COLOUR_RGB, max(1, thickness // 2))
    keep = np.flatnonzero(np.asarray(scores) >= score_threshold)
    order = keep[np.argsort(np.asarray(scores)[keep])]  # most confident drawn last (on top)
    for index in order:
        colour = np.array(DamageLevel(int(labels[index])).colour_rgb, dtype=np.float32)
        if masks is not None:
            region = np.asarray(masks[index]) > 0.5
            canvas[region] = (canvas[region] * (1 - alpha) + colour * alpha).astype(np.uint8)
        x1, y1, x2, y2 = (int(round(v)) for v in boxes[index])
        cv2.rectangle(canvas, (x1, y1), (x2, y2), tuple(int(c) for c in colour), thickness)
    # the scores over everything, the most confident placed first: one label may not cover
    # another (the detector often boxes one roof twice, and "0.63" over "0.61" read "0.630.61")
    scale = max(0.4, min(height, width) / 900)
    placed: list[tuple[int, int, int, int]] = []
    drawn = [tuple(int(round(v)) for v in boxes[index]) for index in order]
    for index in order[::-1]:
        colour = tuple(int(c) for c in DamageLevel(int(labels[index])).colour_rgb)
        x1, y1 = (int(round(v)) for v in boxes[index][:2])
        text = f"{scores[index]:.2f}"
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        label_w, label_h = tw + 4, th + baseline + 2
        # boxes a label could hide whole (a few labels' size): kept clear, this one's own among them
        small = [box for box in drawn if (box[2] - box[0]) * (box[3] - box[1]) <= 4 * label_w * label_h]
        left, top = label_place(x1, y1, label_w, label_h, placed, width=width, height=height,
                                bottom=int(round(boxes[index][3])) + thickness, keep_clear=small)
        placed.append((left, top, left + label_w, top + label_h))
        cv2.rectangle(canvas, (left, top), (left + tw + 4, top + th + baseline + 2), colour, -1)
        cv2.putText(canvas, text, (left + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness,
                    cv2.LINE_AA)
    levels = sorted({int(labels[index]) for index in order})
    if levels:
        _legend(canvas, [DamageLevel(level) for level in levels], scale, thickness)
    return canvas


def _legend(canvas: np.ndarray, levels: list[DamageLevel], scale: float, thickness: int) -> None:
    """The levels drawn, each its colour's swatch and its name, in the picture's lower-left
    corner: the level is otherwise only a colour (red and green, to a colour-blind reader,
    alike)."""
    height = canvas.shape[0]
    sizes = [cv2.getTextSize(level.label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness) for level in levels]
    line = max(th + baseline for (_, th), baseline in sizes) + 4
    swatch = line - 4
    box_w = 8 + swatch + 6 + max(tw for (tw, _), _ in sizes) + 6
    top = max(0, height - 4 - line * len(levels) - 4)
    region = canvas[top:height - 4, 4:4 + box_w]
    region[:] = (region * 0.3 + 255 * 0.7).astype(np.uint8)  # a light panel under the names
    for k, (level, ((_, th), _)) in enumerate(zip(levels, sizes)):
        y = top + 4 + k * line
        colour = tuple(int(c) for c in level.colour_rgb)
        cv2.rectangle(canvas, (8, y), (8 + swatch, y + swatch), colour, -1)
        cv2.putText(canvas, level.label, (8 + swatch + 6, y + th), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    thickness, cv2.LINE_AA)


def label_place(x: int, y: int, w: int, h: int, placed: list[tuple[int, int, int, int]], *,
                width: int, height: int, bottom: int | None = None,
                keep_clear: list[tuple[int, int, int, int]] = ()) -> tuple[int, int]:
    """Where a ``w`` x ``h`` label of a box whose corner is ``(x, y)`` goes: just above the
    box (just under it, at ``bottom``, where the image's top edge leaves no room above:
    a label pushed down onto a small box there hid it), else the nearest free spot a
    label's height or width away (down, up, right; with ``keep_clear``, under the box
    first), at most :data:`LABEL_STEPS` away, covering none of ``placed`` (``(x1, y1,
    x2, y2)``) nor of ``keep_clear`` (boxes a label would hide: small ones, its own
    among them) and inside the image; at the first spot when none is free (a label far
    from its box would name another)."""
    def free(left: int, top: int) -> bool:
        return all(left + w <= a or left >= c or top + h <= b or top >= d for a, b, c, d in (*placed, *keep_clear))

    above = y - h
    start = above if above >= 0 or bottom is None or bottom + h > height else bottom
    first = (min(max(0, x), max(0, width - w)), min(max(0, start), max(0, height - h)))
    under = bottom if keep_clear and bottom is not None else None
    for step in range(LABEL_STEPS + 1):
        spots = [(first[0], first[1] + step * h), (first[0], first[1] - step * h), (first[0] + step * w, first[1])]
        if under is not None:  # up, then below the box, before down onto it
            spots = [(first[0], first[1] - step * h), (first[0], under + step * h), *spots]
        for left, top in spots:
            left, top = min(max(0, left), max(0, width - w)), min(max(0, top), max(0, height - h))
            if free(left, top):
                return left, top
    return first


#: How many label heights (or widths) a label may move off its box's corner.
LABEL_STEPS = 3


def side_by_side(left: np.ndarray, right: np.ndarray, *, gap_px: int = 8) -> np.ndarray:
    """Two equally sized RGB images next to each other with a white gap."""
    height = left.shape[0]
    gap = np.full((height, gap_px, 3), 255, dtype=np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def prediction_figure(image: np.ndarray, output: dict, *, score_threshold: float = 0.5,
                      show_buildings: bool = False) -> np.ndarray:
    """Frame | frame with predictions, from one model output dict (torch tensors; its
    masks full-frame, or ``mask_crops`` pasted one at a time)."""
    masks = output.get("masks")
    if masks is not None:
        masks = masks.detach().cpu().numpy()[:, 0]
    elif output.get("mask_crops") is not None:
        from engine.msnet.paste import FrameMasks

        masks = FrameMasks(output["mask_crops"], image.shape[:2])
    drawn = draw_predictions(
        image,
        output["boxes"].detach().cpu().numpy(),
        output["labels"].detach().cpu().numpy(),
        output["scores"].detach().cpu().numpy(),
        masks,
        building_boxes=output["building_boxes"].detach().cpu().numpy() if show_buildings else None,
        score_threshold=score_threshold,
    )
    return side_by_side(image, drawn)
