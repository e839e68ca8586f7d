"""A nadir (straight-down) rendering of a synthetic scene as a GeoTIFF, and its building footprints.

An orthophoto of the neighbourhood: the painted ground texture with every upward-facing
face (roofs, rubble, tree crowns) drawn on it from low to high, each face's texture
mapped by the affine map its plane gives. Written as an RGB GeoTIFF in the flight's local
transverse Mercator (``camera.json``'s ``crs``), so GIS software and
:mod:`geo.basemap` place it. ``footprints.geojson`` holds the houses' outlines with an
``id`` and a ``height`` (what a user's OpenStreetMap extract would give), without damage.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from engine.synth.geodesy import LocalFrame
from engine.synth.scene import Scene

#: Ground resolution of the orthophoto (metres per pixel).
NADIR_M_PER_PX = 0.25


def _faces(scene: Scene):  # noqa: ANN202 - faces of engine.synth.geometry
    for b in scene.buildings:
        yield from b.faces
        for _centre, faces in b.wings:
            yield from faces
    for t in scene.trees:
        yield from t.faces
    for p in scene.poles:
        yield from p.faces


def render_nadir(scene: Scene, *, m_per_px: float = NADIR_M_PER_PX) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The orthophoto ``uint8[H, W, 3]`` and ``(east0, north1, m_per_px)`` of its top-left corner."""
    ground = scene.ground
    scale = ground.m_per_px / m_per_px
    h = max(1, int(round(ground.image.shape[0] * scale)))
    w = max(1, int(round(ground.image.shape[1] * scale)))
    canvas = cv2.resize(ground.image, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    e0, n1 = ground.east0, ground.north1
    upward = [f for f in _faces(scene) if f.normal is None or float(f.normal[2]) > 0.2]
    upward.sort(key=lambda f: float(np.mean(f.polygon_enu[:, 2])))
    for face in upward:
        poly = np.stack([(face.polygon_enu[:, 0] - e0) / m_per_px - 0.5,
                         (n1 - face.polygon_enu[:, 1]) / m_per_px - 0.5], axis=1)
        x0, y0 = np.floor(poly.min(axis=0)).astype(int)
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            continue
        k = 1.0 / (face.px_per_m * m_per_px)
        u, v, o = face.axis_u, face.axis_v, face.origin
        half = 0.5 / face.px_per_m
        affine = np.array([
            [u[0] * k, v[0] * k, (o[0] + half * (u[0] + v[0]) - e0) / m_per_px - 0.5 - x0],
            [-u[1] * k, -v[1] * k, (n1 - o[1] - half * (u[1] + v[1])) / m_per_px - 0.5 - y0],
        ])
        if abs(np.linalg.det(affine[:, :2])) < 1e-9:
            continue
        texture = face.texture if face.alpha is None else np.dstack([face.texture, face.alpha])
        warped = cv2.warpAffine(texture, affine, (x1 - x0, y1 - y0), flags=cv2.INTER_AREA,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [np.round((poly - (x0, y0)) * 8).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=3)
        weight = mask.astype(np.float32) / 255.0
        if face.alpha is not None:
            weight *= warped[..., 3] / 255.0
        region = canvas[y0:y1, x0:x1]
        region += (warped[..., :3] - region) * weight[..., None]
    return np.clip(canvas, 0, 255).astype(np.uint8), (e0, n1, m_per_px)


def write_nadir_geotiff(path: Path, scene: Scene, frame: LocalFrame, *, m_per_px: float = NADIR_M_PER_PX) -> Path:
    """The orthophoto as a tiled, deflate-compressed RGB GeoTIFF in the local projection."""
    import rasterio
    from affine import Affine
    from rasterio.crs import CRS

    image, (e0, n1, mpp) = render_nadir(scene, m_per_px=m_per_px)
    profile = {
        "driver": "GTiff", "width": image.shape[1], "height": image.shape[0], "count": 3, "dtype": "uint8",
        "crs": CRS.from_proj4(frame.proj_string), "transform": Affine(mpp, 0.0, e0, 0.0, -mpp, n1),
        "compress": "deflate", "tiled": True, "blockxsize": 256, "blockysize": 256, "photometric": "RGB",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.moveaxis(image, 2, 0))
        dst.update_tags(TIFFTAG_SOFTWARE="damagemap synth", DESCRIPTION="synthetic nadir rendering of the scene")
    return path


def write_footprints_geojson(path: Path, scene: Scene, frame: LocalFrame) -> Path:
    """The houses' outlines (WGS84) with ``id`` and ``height`` (metres), no damage."""
    features = []
    for b in scene.buildings:
        ring = np.concatenate([b.footprint_en, b.footprint_en[:1]])
        lon, lat = frame.to_lonlat(ring[:, 0], ring[:, 1])
        coords = [[round(float(x), 9), round(float(y), 9)] for x, y in zip(lon, lat)]
        if _clockwise(coords):
            coords.reverse()
        features.append({"type": "Feature", "properties": {"id": b.building_id, "building": "house",
                                                            "height": round(float(b.height_m), 2)},
                         "geometry": {"type": "Polygon", "coordinates": [coords]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "name": "buildings", "features": features}),
                    encoding="utf-8")
    return path


def _clockwise(ring: list[list[float]]) -> bool:
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))
    return area < 0
