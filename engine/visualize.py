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
        text = f"{scores[index]:.2f}"
        scale = max(0.4, min(height, width) / 900)
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = max(0, y1 - th - baseline - 2)
        cv2.rectangle(canvas, (x1, top), (x1 + tw + 4, top + th + baseline + 2), tuple(int(c) for c in colour), -1)
        cv2.putText(canvas, text, (x1 + 2, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness,
                    cv2.LINE_AA)
    return canvas


def side_by_side(left: np.ndarray, right: np.ndarray, *, gap_px: int = 8) -> np.ndarray:
    """Two equally sized RGB images next to each other with a white gap."""
    height = left.shape[0]
    gap = np.full((height, gap_px, 3), 255, dtype=np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def prediction_figure(image: np.ndarray, output: dict, *, score_threshold: float = 0.5,
                      show_buildings: bool = False) -> np.ndarray:
    """Frame | frame with predictions, from one model output dict (torch tensors)."""
    masks = output.get("masks")
    drawn = draw_predictions(
        image,
        output["boxes"].detach().cpu().numpy(),
        output["labels"].detach().cpu().numpy(),
        output["scores"].detach().cpu().numpy(),
        None if masks is None else masks.detach().cpu().numpy()[:, 0],
        building_boxes=output["building_boxes"].detach().cpu().numpy() if show_buildings else None,
        score_threshold=score_threshold,
    )
    return side_by_side(image, drawn)
