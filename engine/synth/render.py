"""Render frames of a :class:`~engine.synth.scene.Scene` through a pinhole camera.

The ground is one homography warp of the top-down ground texture (with mip levels
blended by image row against aliasing). Houses and tree crowns are drawn far to near
(painter's algorithm), each face warped from its own texture. With ``with_ids`` the
same drawing order fills a surface-id buffer, so annotations are exactly the visible
pixels of each damaged part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from core.camera import CameraPose, PinholeCamera, intersect_ground, pixel_rays, project_points
from engine.synth.geometry import Face, ProjectedFace, place_face, polygon_mask, roi_homography, uv_to_index
from engine.synth.scene import Scene
from engine.synth.terrain import Hills

MAX_GROUND_MIP = 3


@dataclass
class RenderedFrame:
    rgb: np.ndarray  # uint8[H, W, 3]
    surface_ids: np.ndarray | None  # uint16[H, W]


class FrameRenderer:
    """Draws frames of one scene with one camera; holds the per-flight caches."""

    def __init__(self, scene: Scene, camera: PinholeCamera, *, seed: int, hills: Hills | None = None) -> None:
        self.scene = scene
        self.camera = camera
        self.hills = hills  # ground on hills (objects already lifted: engine.synth.terrain.lift_scene)
        self._ground_mips = [scene.ground.image]
        for _ in range(MAX_GROUND_MIP):
            prev = self._ground_mips[-1]
            if min(prev.shape[:2]) < 8:
                break
            self._ground_mips.append(cv2.pyrDown(prev))
        houses = [b for b in scene.buildings if b.faces]
        self._drawables: list[tuple[np.ndarray, list[Face]]] = (
            [(b.centre_en, b.faces) for b in houses] + [(t.centre_en, t.faces) for t in scene.trees] + [(p.centre_en, p.faces) for p in scene.poles]
            + [wing for b in houses for wing in b.wings]
        )
        # crowns reaching over a roof are drawn after that house (they are above it)
        self._over: list[tuple[int, np.ndarray]] = []
        footprints = [b.footprint_en.astype(np.float32) for b in houses]
        centres = np.array([b.centre_en for b in houses]).reshape(-1, 2)
        spans = np.array([float(np.linalg.norm(f[0] - f[2])) / 2 for f in footprints])
        for k, t in enumerate(scene.trees):
            reach = t.site.radius_m
            near = np.flatnonzero(np.hypot(*(centres - t.centre_en).T) < spans + reach) if len(houses) else []
            under = [int(i) for i in near if cv2.pointPolygonTest(footprints[i], tuple(float(v) for v in t.centre_en), True) > -reach]
            if under:
                self._over.append((len(houses) + k, np.array(under)))
        # every face's outline and texture corners, projected together once per frame
        self._faces = [face for _, faces in self._drawables for face in faces]
        bounds = np.cumsum([0] + [len(faces) for _, faces in self._drawables])
        self._drawable_faces = [range(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]  # indices into _faces
        outlines = [f.polygon_enu for f in self._faces]
        self._outline_starts = np.cumsum([0] + [len(o) for o in outlines])[:-1]
        self._outline_count = int(sum(len(o) for o in outlines))
        self._vertices = np.concatenate(outlines + [f.texture_corners_enu() for f in self._faces]) if self._faces else np.zeros((0, 3))
        self._normals = np.array([f.normal if f.normal is not None else np.zeros(3) for f in self._faces]).reshape(-1, 3)
        self._two_sided = np.array([f.normal is None for f in self._faces], dtype=bool)
        self._anchors = np.array([f.polygon_enu[0] for f in self._faces]).reshape(-1, 3)
        rng = np.random.default_rng(seed + 7919)
        h, w = camera.height_px, camera.width_px
        self._noise = [3.0 * rng.standard_normal((h, w, 3), dtype=np.float32) for _ in range(3)]
        # per-flight optics (domain randomisation the renderer alone can do consistently):
        # lens softness, vignetting, and motion blur from the camera's own movement and
        # gimbal shake during the exposure, which moves near ground more than far ground
        optics = np.random.default_rng(seed + 104729)
        scale = w / 960.0
        self._defocus_px = float(optics.uniform(0.45, 1.3)) * max(scale, 0.5)
        self._noise_gain = float(optics.uniform(0.5, 2.0))
        self._shutter_s = float(1.0 / optics.uniform(30, 120)) if optics.random() < 0.4 else 0.0
        self._shake_deg_s = float(optics.uniform(1.0, 6.0))
        self._optics_seed = seed + 15485863
        style = scene.style
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
        vignette = 1.0 - float(optics.uniform(0.05, 0.35)) * r2
        self._gain = np.repeat(vignette[..., None], 3, axis=2).astype(np.float32)
        # colour grading: saturation around Rec. 601 luma, then white balance
        luma = np.array([0.299, 0.587, 0.114])
        s = style.saturation
        grade = s * np.eye(3) + (1 - s) * np.tile(luma, (3, 1))
        self._colour_matrix = (np.diag(style.white_balance) @ grade).astype(np.float32)
        haze = style.haze * np.clip(1.0 - yy / h, 0, 1) ** 1.5
        self._gain *= (1.0 - haze)[..., None]
        self._offset = (haze[..., None] * np.asarray((200, 205, 215), np.float32)).astype(np.float32)

    # ------------------------------------------------------------------ ground
    def _ground_homography(self, pose: CameraPose) -> np.ndarray:
        w, h = self.camera.width_px, self.camera.height_px
        uv = np.array([[0.0, h * 0.3], [w, h * 0.3], [w, h], [0.0, h]])
        g = intersect_ground(self.camera, pose, uv)
        if np.isnan(g).any():
            raise ValueError("renderer: part of the frame does not see the ground")
        src = self.scene.ground.to_px(g[:, :2]).astype(np.float32)
        return cv2.getPerspectiveTransform(src, uv_to_index(uv).astype(np.float32))

    def _row_mip_levels(self, pose: CameraPose) -> np.ndarray:
        """Fractional mip level per image row (texture pixels per image pixel, log2)."""
        w, h = self.camera.width_px, self.camera.height_px
        rows = np.arange(h, dtype=np.float64) + 0.5
        cx = w / 2
        p = intersect_ground(self.camera, pose, np.stack([np.full(h, cx), rows], axis=1))
        pr = intersect_ground(self.camera, pose, np.stack([np.full(h, cx + 1), rows], axis=1))
        pd = intersect_ground(self.camera, pose, np.stack([np.full(h, cx), rows + 1], axis=1))
        along = np.linalg.norm(pd - p, axis=1)
        across = np.linalg.norm(pr - p, axis=1)
        ratio = np.sqrt(along * across) / self.scene.ground.m_per_px
        return np.clip(np.log2(np.maximum(ratio, 1.0)), 0, len(self._ground_mips) - 1)

    def _draw_ground_on_hills(self, pose: CameraPose, with_ids: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """The ground texture draped over the hills: every pixel's ray put on them, the
        texture sampled there (mip level per pixel from the neighbours' spacing)."""
        assert self.hills is not None
        w, h = self.camera.width_px, self.camera.height_px
        yy, xx = np.mgrid[0:h, 0:w]
        uv = np.stack([xx.ravel() + 0.5, yy.ravel() + 0.5], axis=1).astype(np.float64)
        hits = self.hills.intersect(pose.position, pixel_rays(self.camera, pose, uv))
        if np.isnan(hits).any():
            raise ValueError("renderer: part of the frame does not see the ground")
        ground = hits[:, :2].reshape(h, w, 2)
        step_x = np.linalg.norm(np.gradient(ground, axis=1), axis=2)
        step_y = np.linalg.norm(np.gradient(ground, axis=0), axis=2)
        ratio = np.sqrt(step_x * step_y) / self.scene.ground.m_per_px
        levels = np.clip(np.log2(np.maximum(ratio, 1.0)), 0, len(self._ground_mips) - 1)
        px = self.scene.ground.to_px(ground)
        image = np.zeros((h, w, 3), np.float32)
        for level in range(int(math.floor(levels.min())), int(math.ceil(levels.max())) + 1):
            weight = np.clip(1.0 - np.abs(levels - level), 0, 1).astype(np.float32)
            if not (weight > 0).any():
                continue
            scale = 2.0**level
            map_x = ((px[..., 0] + 0.5) / scale - 0.5).astype(np.float32)
            map_y = ((px[..., 1] + 0.5) / scale - 0.5).astype(np.float32)
            warped = cv2.remap(self._ground_mips[level], map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            image += warped.astype(np.float32) * weight[..., None]
        ids = None
        if with_ids:
            ids = cv2.remap(self.scene.ground.labels, px[..., 0].astype(np.float32), px[..., 1].astype(np.float32),
                            cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return image, ids

    def _draw_ground(self, pose: CameraPose, with_ids: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Warp the ground texture; each mip level only into the band of rows that uses it."""
        if self.hills is not None:
            return self._draw_ground_on_hills(pose, with_ids)
        w, h = self.camera.width_px, self.camera.height_px
        homography = self._ground_homography(pose)
        levels = self._row_mip_levels(pose)
        image = np.zeros((h, w, 3), np.float32)
        for level in range(int(math.floor(levels.min())), int(math.ceil(levels.max())) + 1):
            weight = np.clip(1.0 - np.abs(levels - level), 0, 1).astype(np.float32)
            rows = np.flatnonzero(weight > 0)
            if rows.size == 0:
                continue
            r0, r1 = int(rows[0]), int(rows[-1]) + 1
            scale = 2.0**level
            from_mip = np.array([[scale, 0, 0.5 * scale - 0.5], [0, scale, 0.5 * scale - 0.5], [0, 0, 1.0]])
            band = np.array([[1.0, 0, 0], [0, 1.0, -r0], [0, 0, 1.0]])
            warped = cv2.warpPerspective(self._ground_mips[level], band @ homography @ from_mip, (w, r1 - r0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            image[r0:r1] += warped.astype(np.float32) * weight[r0:r1, None, None]
        ids = None
        if with_ids:
            ids = cv2.warpPerspective(self.scene.ground.labels, homography, (w, h), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return image, ids

    # ------------------------------------------------------------------ faces
    def _draw_face(self, face: Face, projected: ProjectedFace | None, image: np.ndarray, ids: np.ndarray | None) -> None:
        if projected is None:
            return
        x0, y0, x1, y1 = projected.roi
        # the mip level whose texels are about one image pixel
        texture, level = face.mip(int(math.floor(math.log2(max(projected.minification, 1.0)))))
        h_roi = roi_homography(projected.homography, projected.roi, level)
        warped = cv2.warpPerspective(texture, h_roi, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = polygon_mask(projected.polygon_idx, projected.roi)
        region = image[y0:y1, x0:x1]
        if face.alpha is not None:
            alpha = warped[..., 3].astype(np.float32) * (1.0 / 255.0) * inside
            region *= 1.0 - alpha[..., None]
            region += warped[..., :3].astype(np.float32) * alpha[..., None]
            covered = alpha > 0.5
        else:
            np.copyto(region, warped.astype(np.float32), where=inside[..., None])
            covered = inside
        if ids is None:
            return
        id_region = ids[y0:y1, x0:x1]
        id_region[covered] = face.surface_id
        if face.labels is not None:
            h_base = roi_homography(projected.homography, projected.roi, 0)
            labels = cv2.warpPerspective(face.labels, h_base, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            damaged = covered & (labels > 0)
            id_region[damaged] = labels[damaged]

    # ------------------------------------------------------------------ frame
    def _visible_faces(self, pose: CameraPose) -> tuple[np.ndarray, np.ndarray]:
        """Which faces may show (front-facing, in front of the camera, overlapping the
        frame), decided for all faces at once; and all projected vertices."""
        uv, in_front = project_points(self.camera, pose, self._vertices)
        if not self._faces:
            return np.zeros(0, bool), uv
        n_out, starts = self._outline_count, self._outline_starts
        facing = self._two_sided | (np.einsum("ij,ij->i", self._normals, pose.position - self._anchors) > 0)
        ahead = np.logical_and.reduceat(in_front[:n_out], starts) & in_front[n_out:].reshape(-1, 4).all(axis=1)
        lo = np.minimum.reduceat(uv[:n_out], starts, axis=0)
        hi = np.maximum.reduceat(uv[:n_out], starts, axis=0)
        on_screen = (hi[:, 0] > 0) & (hi[:, 1] > 0) & (lo[:, 0] < self.camera.width_px) & (lo[:, 1] < self.camera.height_px)
        return facing & ahead & on_screen, uv

    def render(self, pose: CameraPose, *, frame_index: int, with_ids: bool, velocity_enu: np.ndarray | None = None) -> RenderedFrame:
        """One frame; ``velocity_enu`` (m/s), when given, blurs it along the camera's motion
        (and a random gimbal shake) during the flight's shutter time."""
        frame = self._render(pose, frame_index=frame_index, with_ids=with_ids)
        if self._shutter_s > 0:
            frame.rgb = self._motion_blur(frame.rgb, pose, frame_index, velocity_enu)
        return frame

    def _motion_blur(self, rgb: np.ndarray, pose: CameraPose, frame_index: int, velocity_enu: np.ndarray | None) -> np.ndarray:
        """Average of the frame warped through the ground-plane homographies of the camera
        poses during the exposure (the ids stay those of mid-exposure: blur is < a few px)."""
        rng = np.random.default_rng((self._optics_seed, frame_index))
        t = self._shutter_s
        v = np.zeros(3) if velocity_enu is None else np.asarray(velocity_enu, float)
        d_yaw, d_pitch = rng.normal(0, self._shake_deg_s, 2) * t
        end = CameraPose(pose.east_m + v[0] * t, pose.north_m + v[1] * t, pose.up_m + v[2] * t, pose.yaw_deg + d_yaw, pose.pitch_deg + d_pitch, pose.roll_deg)
        w, h = self.camera.width_px, self.camera.height_px
        uv = np.array([[0.0, h * 0.3], [w, h * 0.3], [w, h], [0.0, h]])
        g = intersect_ground(self.camera, pose, uv)
        if np.isnan(g).any():
            return rgb
        out = np.zeros(rgb.shape, np.float32)
        steps = 5
        src = uv_to_index(uv).astype(np.float32)
        for k in range(steps):
            f = (k + 0.5) / steps - 0.5  # exposure centred on the frame's pose
            p = CameraPose(pose.east_m + (end.east_m - pose.east_m) * f, pose.north_m + (end.north_m - pose.north_m) * f, pose.up_m + (end.up_m - pose.up_m) * f,
                           pose.yaw_deg + d_yaw * f, pose.pitch_deg + d_pitch * f, pose.roll_deg)
            dst, in_front = project_points(self.camera, p, g)
            if not in_front.all():
                return rgb
            homography = cv2.getPerspectiveTransform(src, uv_to_index(dst).astype(np.float32))
            out += cv2.warpPerspective(rgb, homography, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        return np.clip(out / steps + 0.5, 0, 255).astype(np.uint8)

    def _render(self, pose: CameraPose, *, frame_index: int, with_ids: bool) -> RenderedFrame:
        image, ids = self._draw_ground(pose, with_ids)
        visible, uv = self._visible_faces(pose)
        cam = pose.position[:2]
        distance = np.array([float(np.hypot(*(centre - cam))) for centre, _ in self._drawables])
        for k, under in self._over:
            distance[k] = min(distance[k], float(distance[under].min()) - 0.01)
        n_out = self._outline_count
        for d in np.argsort(distance)[::-1]:  # far to near
            for k in self._drawable_faces[d]:
                if not visible[k]:
                    continue
                face = self._faces[k]
                a = self._outline_starts[k]
                outline = uv[a : a + len(face.polygon_enu)]
                corners = uv[n_out + 4 * k : n_out + 4 * k + 4]
                self._draw_face(face, place_face(face, self.camera, outline, corners, True), image, ids)
        return RenderedFrame(self._finish(image, frame_index), ids)

    def _finish(self, image: np.ndarray, frame_index: int) -> np.ndarray:
        """Lens softness, white balance, vignetting, haze and sensor noise."""
        soft = cv2.GaussianBlur(image, (0, 0), self._defocus_px)
        out = cv2.transform(soft, self._colour_matrix)
        out *= self._gain
        out += self._offset
        out += self._noise_gain * self._noise[frame_index % len(self._noise)]
        return np.clip(out, 0, 255).astype(np.uint8)
