"""Hilly ground for synthetic flights: a smooth height field in the flight's local ENU
metres, and the GeoTIFF DEM of it that a user of real footage would bring.

The height is a sum of a few broad Gaussian hills and hollows plus a gentle tilt, drawn
from a seed; ``z = 0`` stays the take-off elevation at the origin (height 0 there).
:meth:`Hills.intersect` puts camera rays on the hills (what the renderer and the ground
truth need), and :meth:`Hills.write_geotiff` writes the DEM (absolute elevation:
``ground_alt_m`` plus the height) in the flight's own transverse Mercator CRS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.synth.geodesy import LocalFrame


@dataclass(frozen=True)
class Hills:
    """``height(e, n) = tilt . (e, n) + sum_k a_k exp(-|p - c_k|^2 / (2 s_k^2)) - h(0, 0)``."""

    centres_en: np.ndarray  # float[K, 2]
    amplitudes_m: np.ndarray  # float[K]
    sigmas_m: np.ndarray  # float[K]
    tilt: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def sample(cls, rng: np.random.Generator, *, extent_m: float = 300.0, relief_m: float = 15.0, count: int = 5) -> Hills:
        """Hills over a square of ``extent_m`` around the origin, ``relief_m`` high at most;
        slopes up to about 10-20 %."""
        centres = rng.uniform(-extent_m / 2, extent_m / 2, (count, 2))
        amplitudes = rng.uniform(0.4, 1.0, count) * relief_m * rng.choice([-1.0, 1.0], count)
        sigmas = rng.uniform(0.15, 0.3, count) * extent_m
        tilt = tuple(float(v) for v in rng.uniform(-0.04, 0.04, 2))
        return cls(centres, amplitudes, sigmas, tilt)  # type: ignore[arg-type]

    def _raw(self, east: np.ndarray, north: np.ndarray) -> np.ndarray:
        z = self.tilt[0] * east + self.tilt[1] * north
        for (ce, cn), a, s in zip(self.centres_en, self.amplitudes_m, self.sigmas_m):
            z = z + a * np.exp(-((east - ce) ** 2 + (north - cn) ** 2) / (2 * s * s))
        return z

    def height(self, east_m, north_m) -> np.ndarray:
        """Height above the take-off elevation (metres) at ENU points."""
        east = np.asarray(east_m, dtype=np.float64)
        north = np.asarray(north_m, dtype=np.float64)
        return self._raw(east, north) - float(self._raw(np.zeros(1), np.zeros(1))[0])

    def intersect(self, origin: np.ndarray, directions: np.ndarray, *, iterations: int = 30) -> np.ndarray:
        """Where rays from ``origin`` (ENU) along unit ``directions`` ``float[N, 3]`` meet
        the hills, ``float64[N, 3]`` (NaN for rays that do not go down). Fixed-point
        iteration on the height under the ray, exact to millimetres for slopes < 50 %."""
        d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
        down = d[:, 2] < -1e-6
        out = np.full((len(d), 3), np.nan)
        if not down.any():
            return out
        dd = d[down]
        level = np.zeros(len(dd))
        for _ in range(iterations):
            t = (origin[2] - level) / -dd[:, 2]
            p = origin + dd * t[:, None]
            new = self.height(p[:, 0], p[:, 1])
            if np.max(np.abs(new - level)) < 1e-4:
                level = new
                break
            level = new
        t = (origin[2] - level) / -dd[:, 2]
        out[down] = origin + dd * t[:, None]
        return out

    def write_geotiff(self, path: Path, frame: LocalFrame, bounds: tuple[float, float, float, float], *,
                      ground_alt_m: float, resolution_m: float = 2.0) -> Path:
        """The DEM over ``bounds`` (ENU east0, north0, east1, north1) as a float32 GeoTIFF
        in the flight's transverse Mercator CRS, elevation ``ground_alt_m + height``."""
        import rasterio
        from rasterio.crs import CRS
        from rasterio.transform import from_origin

        e0, n0, e1, n1 = bounds
        width = max(2, int(math.ceil((e1 - e0) / resolution_m)))
        height = max(2, int(math.ceil((n1 - n0) / resolution_m)))
        east = e0 + (np.arange(width) + 0.5) * resolution_m
        north = n1 - (np.arange(height) + 0.5) * resolution_m
        grid_e, grid_n = np.meshgrid(east, north)
        elevation = (ground_alt_m + self.height(grid_e, grid_n)).astype(np.float32)
        profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="float32",
                       crs=CRS.from_proj4(frame.proj_string), transform=from_origin(e0, n1, resolution_m, resolution_m),
                       nodata=-9999.0)
        path = Path(path)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(elevation, 1)
        return path


def lift_scene(scene, hills: Hills) -> None:
    """Stand every house, tree and pole of ``scene`` on the hills (in place): each is
    raised by the height under its centre (houses stay level, as built on a pad); damage
    painted on the ground is raised by the height under it."""
    def lift(faces, dz: float) -> None:
        for face in faces:
            face.origin = np.asarray(face.origin, dtype=np.float64) + (0.0, 0.0, dz)
            face.polygon_enu = np.asarray(face.polygon_enu, dtype=np.float64) + (0.0, 0.0, dz)

    def under(centre_en) -> float:
        c = np.asarray(centre_en, dtype=np.float64)
        return float(hills.height(c[:1], c[1:2])[0])

    for building in scene.buildings:
        dz = under(building.centre_en)
        lift(building.faces, dz)
        for _, wing_faces in building.wings:
            lift(wing_faces, dz)
        for part in building.parts:
            c = np.asarray(part.centroid_enu, dtype=np.float64)
            part.centroid_enu = c + (0.0, 0.0, under(c[:2]) if c[2] < 0.3 else dz)
    for tree in scene.trees:
        lift(tree.faces, under(tree.centre_en))
    for pole in scene.poles:
        lift(pole.faces, under(pole.centre_en))


def ground_bounds_on_hills(hills: Hills, camera, poses, margin_m: float) -> tuple[float, float, float, float]:
    """ENU box covering every frame's view of the hills (the frame border put on them)."""
    from core.camera import pixel_rays

    w, h = camera.width_px, camera.height_px
    border = np.array([[0, 0], [w / 2, 0], [w, 0], [w, h / 2], [w, h], [w / 2, h], [0, h], [0, h / 2]], dtype=np.float64)
    points = []
    for pose in poses:
        hit = hills.intersect(pose.position, pixel_rays(camera, pose, border))
        if np.isnan(hit).any():
            raise ValueError("flight: the camera sees the horizon; pitch it further down")
        points.append(hit[:, :2])
    allp = np.concatenate(points)
    lo, hi = allp.min(axis=0) - margin_m, allp.max(axis=0) + margin_m
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


def ground_points(rng: np.random.Generator, hills: Hills, camera, poses, *, count: int = 30,
                  spacing_m: float = 15.0) -> np.ndarray:
    """``float64[K, 3]`` points on the hills that the flight sees (through random pixels
    of random frames, lower two thirds of the image), at least ``spacing_m`` apart."""
    from core.camera import pixel_rays

    points: list[np.ndarray] = []
    for _ in range(count * 20):
        if len(points) >= count:
            break
        pose = poses[int(rng.integers(len(poses)))]
        uv = np.array([[rng.uniform(0.05, 0.95) * camera.width_px, rng.uniform(0.35, 0.95) * camera.height_px]])
        hit = hills.intersect(pose.position, pixel_rays(camera, pose, uv))[0]
        if np.isfinite(hit).all() and all(np.hypot(*(hit[:2] - p[:2])) >= spacing_m for p in points):
            points.append(hit)
    return np.array(points).reshape(-1, 3)


def sightings(hills: Hills, camera, poses, points_enu: np.ndarray, *, margin_px: float = 8.0) -> list[list[tuple[int, float, float]]]:
    """Per pose, ``(point index, u, v)`` of the points it sees: inside the frame (with
    ``margin_px``), in front of the camera and not hidden behind a hill."""
    from core.camera import project_points

    seen: list[list[tuple[int, float, float]]] = []
    for pose in poses:
        uv, in_front = project_points(camera, pose, points_enu)
        rows = []
        for k in np.flatnonzero(in_front):
            u, v = uv[k]
            if not (margin_px <= u <= camera.width_px - margin_px and margin_px <= v <= camera.height_px - margin_px):
                continue
            # hidden when the line of sight passes under the ground on the way
            along = np.linspace(0.02, 0.95, 40)[:, None]
            line = pose.position + along * (points_enu[k] - pose.position)
            if np.any(line[:, 2] < hills.height(line[:, 0], line[:, 1]) - 0.05):
                continue
            rows.append((int(k), float(u), float(v)))
        seen.append(rows)
    return seen


__all__ = ["Hills", "ground_bounds_on_hills", "ground_points", "lift_scene", "sightings"]
