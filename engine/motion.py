"""Apparent image motion of a video: how fast the scene slides through the frame and how
the camera turns, measured between frames a fixed time apart.

Frames are decoded a few times a second, turned grey and shrunk to a small working width;
corners found in one (OpenCV ``goodFeaturesToTrack``) are followed into the next with
pyramidal Lucas-Kanade optical flow, and a similarity transform (shift, rotation, scale)
is fitted to the tracks with RANSAC (``estimateAffinePartial2D``), so moving objects and
bad tracks do not count. The result is a time series in pixels per second of the working
width, for :mod:`geo.clock_offset` to match against a telemetry track's speed and turns.
:func:`held_views` uses the same fit to tell which frames filmed from one spot repeat a view.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

#: Frames a second sampled for motion (pairs 0.2 s apart).
DEFAULT_RATE_HZ = 5.0
#: Width (pixels) frames are shrunk to before tracking.
DEFAULT_WIDTH_PX = 320
#: Fewer RANSAC inliers than this: no estimate for the pair.
MIN_INLIERS = 12


@dataclass(frozen=True)
class ImageMotion:
    """Image motion between consecutive sampled frames (arrays of one length).

    ``t_s`` is the middle of each pair (video time). ``dx_px_s``/``dy_px_s``: how fast the
    image content at the frame centre moves (right/down positive), pixels per second of
    a frame ``width_px`` wide; ``rotation_deg_s``: in-image rotation rate (clockwise
    positive); ``zoom_per_s``: log scale rate (positive: content grows). ``valid`` is
    False where too few features were followed. ``parallax_px_s``: how much faster the
    bottom third moves down than the top third (travel over the ground, not tilt; NaN
    where either third has too few features). ``band_flow_px_s``: the median motion in
    each of :data:`BANDS` horizontal bands of a frame ``height_px`` high (how the flow
    grows down the frame tells the camera's pitch and field of view).
    """

    t_s: np.ndarray
    dx_px_s: np.ndarray
    dy_px_s: np.ndarray
    rotation_deg_s: np.ndarray
    zoom_per_s: np.ndarray
    valid: np.ndarray
    width_px: int
    parallax_px_s: np.ndarray | None = None
    band_flow_px_s: np.ndarray | None = None  # float[N, BANDS, 2]: (dx, dy) per band, top to bottom
    height_px: int = 0

    @property
    def speed_px_s(self) -> np.ndarray:
        """How fast the scene slides through the frame, pixels per second."""
        return np.hypot(self.dx_px_s, self.dy_px_s)

    def __len__(self) -> int:
        return len(self.t_s)


def pair_motion(previous: np.ndarray, current: np.ndarray) -> tuple[float, float, float, float, float] | None:
    """``(dx, dy, rotation_deg, log_scale, parallax)`` of ``current`` relative to
    ``previous`` (grey ``uint8`` images of one size): the shift of the content at the
    image centre, in pixels, and the bottom third's downward motion less the top
    third's (NaN when either has too few features); ``None`` when too few features
    could be followed."""
    corners = cv2.goodFeaturesToTrack(previous, maxCorners=300, qualityLevel=0.01, minDistance=6, blockSize=7)
    if corners is None or len(corners) < MIN_INLIERS:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, current, corners, None, winSize=(21, 21), maxLevel=3)
    ok = status.reshape(-1) == 1
    if ok.sum() < MIN_INLIERS:
        return None
    src, dst = corners.reshape(-1, 2)[ok], moved.reshape(-1, 2)[ok]
    matrix, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.5)
    if matrix is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return None
    h, w = previous.shape[:2]
    centre = np.array([w / 2.0, h / 2.0, 1.0])
    shift = matrix @ centre - centre[:2]
    rotation = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    return float(shift[0]), float(shift[1]), rotation, math.log(max(scale, 1e-6)), _parallax(src, dst, h)


#: Horizontal bands the frame is cut into for :func:`band_flow`.
BANDS = 6
#: Percentile of the downward motion taken per band: roofs, nearer the camera than the
#: ground, move faster; the slower part of the band is the ground.
GROUND_PERCENTILE = 30.0


def band_flow(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """``float64[BANDS, 2]``: median ``(dx, dy)`` (pixels) of the features followed in
    each horizontal band of the frame, top to bottom, within the middle half of the
    width (NaN where a band has fewer than 4)."""
    out = np.full((BANDS, 2), np.nan)
    corners = cv2.goodFeaturesToTrack(previous, maxCorners=600, qualityLevel=0.005, minDistance=4, blockSize=7)
    if corners is None or len(corners) < MIN_INLIERS:
        return out
    moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, current, corners, None, winSize=(21, 21), maxLevel=3)
    ok = status.reshape(-1) == 1
    src, dst = corners.reshape(-1, 2)[ok], moved.reshape(-1, 2)[ok]
    h, w = previous.shape[:2]
    middle = np.abs(src[:, 0] - w / 2) <= w / 4
    band = np.clip((src[:, 1] / h * BANDS).astype(int), 0, BANDS - 1)
    for b in range(BANDS):
        sel = middle & (band == b)
        if sel.sum() >= 4:
            flow = dst[sel] - src[sel]
            out[b] = (np.median(flow[:, 0]), np.percentile(flow[:, 1], GROUND_PERCENTILE))
    return out


def _parallax(src: np.ndarray, dst: np.ndarray, height: int) -> float:
    """How much faster the bottom third of the image moves down than the top third,
    pixels: near ground slides faster than far ground when the camera moves, while a
    camera tilting moves both alike (so this measures travel, not gimbal motion)."""
    dy = dst[:, 1] - src[:, 1]
    top, bottom = src[:, 1] < height / 3.0, src[:, 1] > 2.0 * height / 3.0
    if top.sum() < 4 or bottom.sum() < 4:
        return float("nan")
    return float(np.median(dy[bottom]) - np.median(dy[top]))


def motion_from_frames(frames: Iterable[tuple[float, np.ndarray]], *, width_px: int = DEFAULT_WIDTH_PX) -> ImageMotion:
    """:class:`ImageMotion` of ``(time_s, image)`` pairs in time order (RGB or grey,
    any size: shrunk to ``width_px``)."""
    rows: list[tuple[float, float, float, float, float, float, bool]] = []
    bands: list[np.ndarray] = []
    previous: np.ndarray | None = None
    previous_t = 0.0
    height, width = 0, width_px
    for t, image in frames:
        grey = _working_grey(image, width_px)
        if previous is not None and t > previous_t:
            step = t - previous_t
            found = pair_motion(previous, grey) if previous.shape == grey.shape else None
            bands.append(band_flow(previous, grey) / step if found is not None else np.full((BANDS, 2), np.nan))
            if found is None:
                rows.append((0.5 * (t + previous_t), 0.0, 0.0, 0.0, 0.0, float("nan"), False))
            else:
                dx, dy, rot, zoom, parallax = found
                rows.append((0.5 * (t + previous_t), dx / step, dy / step, rot / step, zoom / step, parallax / step, True))
        previous, previous_t = grey, float(t)
        height, width = grey.shape[:2]
    columns = np.array(rows, dtype=np.float64).reshape(-1, 7)
    return ImageMotion(columns[:, 0], columns[:, 1], columns[:, 2], columns[:, 3], columns[:, 4],
                       columns[:, 6].astype(bool), int(width), columns[:, 5],
                       np.array(bands, dtype=np.float64).reshape(-1, BANDS, 2), int(height))


def _working_grey(image: np.ndarray, width_px: int) -> np.ndarray:
    """``image`` (RGB or grey) grey, shrunk to ``width_px`` when wider."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    scale = width_px / grey.shape[1]
    if scale < 1.0:
        grey = cv2.resize(grey, (width_px, max(8, round(grey.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return grey


#: A frame holds the view it is compared with (:func:`held_views`) while the content at
#: its centre has moved less than this share of the frame's width, ...
HELD_SHIFT_SHARE = 0.1
#: ... the image has turned less than this (degrees) ...
HELD_TURN_DEG = 5.0
#: ... and its scale changed by less than this (log scale: about 5%).
HELD_LOG_SCALE = 0.05


def held_views(frames: Iterable[tuple[int, np.ndarray]], *, width_px: int = DEFAULT_WIDTH_PX) -> dict[int, int]:
    """Each of ``frames`` (``(index, image)`` in time order, filmed from one spot) mapped
    to the index of the frame whose view it holds: the first frame opens a view, and
    each later frame stays in the open view while its image, compared with the view's
    first, has moved less than :data:`HELD_SHIFT_SHARE` of the width, turned less than
    :data:`HELD_TURN_DEG` and changed scale less than :data:`HELD_LOG_SCALE`; otherwise,
    or where too few features can be followed between the two (water, a blurred or dark
    frame), it opens a view of its own.

    Compared with the view's first frame, not with the frame before: a slow turn or
    drift opens a new view once it has added up, however little each step moves."""
    views: dict[int, int] = {}
    anchor: np.ndarray | None = None
    anchor_index = -1
    for index, image in frames:
        grey = _working_grey(image, width_px)
        if anchor is not None and anchor.shape == grey.shape:
            found = pair_motion(anchor, grey)
            if found is not None:
                dx, dy, rotation, log_scale, _ = found
                if (math.hypot(dx, dy) < HELD_SHIFT_SHARE * grey.shape[1] and abs(rotation) < HELD_TURN_DEG
                        and abs(log_scale) < HELD_LOG_SCALE):
                    views[index] = anchor_index
                    continue
        anchor, anchor_index = grey, index
        views[index] = index
    return views


def video_held_views(path: str | os.PathLike, stretches: Iterable[Sequence[int]], *,
                     width_px: int = DEFAULT_WIDTH_PX) -> dict[int, int]:
    """:func:`held_views` of each stretch of frame indices (ascending; each filmed from
    one spot) of a video file, decoded once.

    Raises
    ------
    core.errors.VideoError
        Naming the file when it cannot be read.
    """
    from engine.video import VideoReader

    views: dict[int, int] = {}
    with VideoReader(path) as reader:
        for stretch in stretches:
            frames = ((frame.index, frame.image) for frame in reader.iter_frames(list(stretch))
                      if frame.image is not None)
            views.update(held_views(frames, width_px=width_px))
    return views


def video_motion(
    path: str | os.PathLike, *, rate_hz: float = DEFAULT_RATE_HZ, width_px: int = DEFAULT_WIDTH_PX
) -> ImageMotion:
    """:class:`ImageMotion` of a video file, sampled about ``rate_hz`` frames a second
    (true frame timestamps; rotation metadata applied).

    Raises
    ------
    core.errors.VideoError
        Naming the file when it cannot be read.
    """
    from engine.video import iter_frames

    frames = ((frame.pts_s, frame.image) for frame in iter_frames(path, fps=rate_hz) if frame.image is not None)
    return motion_from_frames(frames, width_px=width_px)


__all__ = ["ImageMotion", "held_views", "motion_from_frames", "pair_motion", "video_held_views", "video_motion"]
