"""Planar textured faces and the homographies that put them into a frame.

Everything the renderer draws is a planar polygon with a texture in its own plane
(walls, roof faces, tree canopies, the ground). A plane maps to the image by a
homography, so one ``cv2.warpPerspective`` per face renders it exactly; the corner
correspondences come from :func:`core.camera.project_points`, so the renderer and the
georeferencing code share one camera model.

Pixel conventions: ``core.camera`` puts pixel centres at ``+0.5``; OpenCV's warps put
them at integer indices. :func:`uv_to_index` converts between the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from core.camera import CameraPose, PinholeCamera, project_points


def polygon_area(points_xy: np.ndarray) -> float:
    """Unsigned area of a simple polygon (shoelace formula)."""
    x, y = points_xy[:, 0], points_xy[:, 1]
    # np.roll(v, -1), without its general-axis overhead (a renderer calls this ~500 times a frame)
    y_next, x_next = np.concatenate((y[1:], y[:1])), np.concatenate((x[1:], x[:1]))
    return 0.5 * abs(float(np.dot(x, y_next) - np.dot(y, x_next)))


def uv_to_index(uv: np.ndarray) -> np.ndarray:
    """``core.camera`` pixel coordinates -> OpenCV pixel-index coordinates."""
    return np.asarray(uv, dtype=np.float64) - 0.5


@dataclass
class Face:
    """A planar polygon with a texture lying in its plane.

    World point of texture pixel index ``(col, row)``:
    ``origin + (col + 0.5) / px_per_m * axis_u + (row + 0.5) / px_per_m * axis_v``.

    Attributes
    ----------
    polygon_enu : float[N, 3]
        The face outline in the world (ENU metres).
    texture : uint8[H, W, 3]
        RGB colour with lighting baked in.
    labels : uint16[H, W] or None
        Surface ids of damaged parts painted on this face (0 = none).
    alpha : uint8[H, W] or None
        Coverage for see-through faces (tree canopies); None for opaque faces.
    negatives : bool[H, W] or None
        Where hard negatives (skylights, solar panels, moss, ...) are painted: things that
        look like damage but are not; never annotated (only ``labels`` are).
    surface_id : int
        Id written into the id buffer where the face is visible and ``labels`` is 0.
    """

    origin: np.ndarray
    axis_u: np.ndarray
    axis_v: np.ndarray
    px_per_m: float
    polygon_enu: np.ndarray
    texture: np.ndarray
    normal: np.ndarray | None = None
    labels: np.ndarray | None = None
    alpha: np.ndarray | None = None
    surface_id: int = 0
    negatives: np.ndarray | None = None
    _mips: list[np.ndarray] = field(default_factory=list, repr=False)
    _texture_area: float | None = field(default=None, repr=False)

    def plane_coords(self, points_enu: np.ndarray) -> np.ndarray:
        """Texture pixel-index coordinates ``float[N, 2]`` of world points in the plane."""
        rel = np.asarray(points_enu, dtype=np.float64) - self.origin
        return np.stack([rel @ self.axis_u, rel @ self.axis_v], axis=1) * self.px_per_m - 0.5

    def texture_corners_enu(self) -> np.ndarray:
        """World positions of the four texture corner pixel centres."""
        h, w = self.texture.shape[:2]
        idx = np.array([[0.0, 0.0], [w - 1.0, 0.0], [w - 1.0, h - 1.0], [0.0, h - 1.0]])
        ab = (idx + 0.5) / self.px_per_m
        return self.origin + ab[:, :1] * self.axis_u + ab[:, 1:] * self.axis_v

    @property
    def texture_area_px(self) -> float:
        """Area of the face outline in texture pixels."""
        if self._texture_area is None:
            self._texture_area = polygon_area(self.plane_coords(self.polygon_enu))
        return self._texture_area

    def faces_camera(self, camera_position: np.ndarray) -> bool:
        """Back-face test; faces without a normal (canopies) are always drawn."""
        if self.normal is None:
            return True
        return float(np.dot(self.normal, camera_position - self.polygon_enu[0])) > 0.0

    def mip(self, level: int) -> tuple[np.ndarray, int]:
        """The texture (RGB, plus alpha as a 4th channel when present) halved up to ``level``
        times, and how many times it was (small textures stop early)."""
        if not self._mips:
            base = self.texture if self.alpha is None else np.dstack([self.texture, self.alpha])
            self._mips.append(base)
        while len(self._mips) <= level:
            prev = self._mips[-1]
            if min(prev.shape[:2]) < 4:
                break
            self._mips.append(cv2.pyrDown(prev))
        level = min(level, len(self._mips) - 1)
        return self._mips[level], level


@dataclass(frozen=True)
class ProjectedFace:
    """Where a face lands in one frame: its outline, its ROI and the texture->ROI homography."""

    polygon_idx: np.ndarray  # float[N, 2] OpenCV index coordinates in the full image
    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), clipped to the image
    homography: np.ndarray  # base texture index -> full image index
    minification: float  # texture pixels per image pixel (linear)


def project_face(face: Face, camera: PinholeCamera, pose: CameraPose) -> ProjectedFace | None:
    """Project a face into the frame, or None when it is off-screen, behind or edge-on."""
    uv, in_front = project_points(camera, pose, np.concatenate([face.polygon_enu, face.texture_corners_enu()]))
    n = len(face.polygon_enu)
    return place_face(face, camera, uv[:n], uv[n:], bool(in_front.all()))


def place_face(face: Face, camera: PinholeCamera, polygon_uv: np.ndarray, corners_uv: np.ndarray, in_front: bool) -> ProjectedFace | None:
    """:func:`project_face` from already projected outline and texture corners.

    The renderer projects every vertex of a frame in one :func:`project_points` call
    and hands each face its slice.
    """
    if not in_front:
        return None
    poly = uv_to_index(polygon_uv)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    if hi[0] < -1 or hi[1] < -1 or lo[0] > camera.width_px or lo[1] > camera.height_px:
        return None
    x0, y0 = max(int(np.floor(lo[0])), 0), max(int(np.floor(lo[1])), 0)
    x1, y1 = min(int(np.ceil(hi[0])) + 1, camera.width_px), min(int(np.ceil(hi[1])) + 1, camera.height_px)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    image_area = polygon_area(poly)
    if image_area < 0.5:
        return None
    h, w = face.texture.shape[:2]
    src = np.array([[0.0, 0.0], [w - 1.0, 0.0], [w - 1.0, h - 1.0], [0.0, h - 1.0]], dtype=np.float32)
    homography = cv2.getPerspectiveTransform(src, uv_to_index(corners_uv).astype(np.float32))
    minification = float(np.sqrt(face.texture_area_px / image_area))
    return ProjectedFace(poly, (x0, y0, x1, y1), homography, minification)


def roi_homography(homography: np.ndarray, roi: tuple[int, int, int, int], mip_level: int = 0) -> np.ndarray:
    """The homography from a mip level's pixels into the ROI's pixels."""
    shift = np.array([[1.0, 0.0, -roi[0]], [0.0, 1.0, -roi[1]], [0.0, 0.0, 1.0]])
    scale = 2.0**mip_level
    # mip index i <-> base index (i + 0.5) * scale - 0.5
    from_mip = np.array([[scale, 0.0, 0.5 * scale - 0.5], [0.0, scale, 0.5 * scale - 0.5], [0.0, 0.0, 1.0]])
    return shift @ homography @ from_mip


def polygon_mask(polygon_idx: np.ndarray, roi: tuple[int, int, int, int]) -> np.ndarray:
    """``bool[h, w]`` coverage of a polygon inside an ROI (pixel centres inside)."""
    x0, y0, x1, y1 = roi
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    pts = np.round((polygon_idx - [x0, y0]) * 16).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=4)
    return mask.astype(bool)
