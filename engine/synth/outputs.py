"""Writers for everything a flyover produces: video, GPX, DJI SRT, COCO/ISBDA, GeoJSON, camera."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from core.camera import CameraPose, PinholeCamera
from core.types import DamageLevel
from engine.export_coco import mask_polygons
from engine.synth.geodesy import LocalFrame
from engine.synth.scene import Scene

CATEGORIES = [{"id": int(level), "name": level.name.lower(), "supercategory": "damage"} for level in DamageLevel]


@dataclass(frozen=True)
class FrameRecord:
    """Telemetry of one frame, shared by GPX, SRT and camera.json."""

    index: int
    pts_s: float
    utc: dt.datetime
    pose: CameraPose
    lat_deg: float
    lon_deg: float
    alt_rel_m: float
    alt_abs_m: float


def iso_utc(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ------------------------------------------------------------------ video
class VideoWriter:
    """H.264 (libx264) MP4 when available, MPEG-4 Part 2 otherwise; one PTS tick per frame."""

    def __init__(self, path: Path, *, width: int, height: int, fps: float, creation_time: dt.datetime) -> None:
        import av

        self._container = av.open(str(path), mode="w")
        self._container.metadata["creation_time"] = iso_utc(creation_time)
        rate = Fraction(fps).limit_denominator(1001)
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        self._stream = self._container.add_stream(codec, rate=rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            self._stream.options = {"crf": "21", "preset": "veryfast", "tune": "film"}
        else:
            self._stream.bit_rate = 8_000_000
        self._av = av
        self.codec = codec

    def write(self, rgb: np.ndarray, index: int) -> None:
        frame = self._av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = index  # in 1/rate units: the encoder's time base
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()


# ------------------------------------------------------------------ telemetry
def write_gpx(path: Path, records: list[FrameRecord], *, name: str) -> None:
    import gpxpy.gpx

    gpx = gpxpy.gpx.GPX()
    gpx.creator = "damagemap synth"
    track = gpxpy.gpx.GPXTrack(name=name)
    segment = gpxpy.gpx.GPXTrackSegment()
    for r in records:
        segment.points.append(gpxpy.gpx.GPXTrackPoint(round(r.lat_deg, 8), round(r.lon_deg, 8), elevation=round(r.alt_abs_m, 3), time=r.utc))
    track.segments.append(segment)
    gpx.tracks.append(track)
    path.write_text(gpx.to_xml(version="1.1"), encoding="utf-8")


def _srt_time(t_s: float) -> str:
    ms = int(round(t_s * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def focal_length_35mm(hfov_deg: float) -> float:
    """35 mm-equivalent focal length (36 mm wide frame) of a horizontal field of view."""
    return 18.0 / math.tan(math.radians(hfov_deg) / 2)


def write_srt(path: Path, records: list[FrameRecord], *, fps: float, hfov_deg: float) -> None:
    """DJI Mavic 3 style SRT (``FrameCnt``/``DiffTime`` header, bracketed fields, ``gb_yaw``)."""
    diff_ms = int(round(1000 / fps))
    focal = focal_length_35mm(hfov_deg)
    lines = []
    for k, r in enumerate(records):
        end = records[k + 1].pts_s if k + 1 < len(records) else r.pts_s + 1.0 / fps
        stamp = r.utc.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        lines += [
            str(k + 1),
            f"{_srt_time(r.pts_s)} --> {_srt_time(end)}",
            f'<font size="28">FrameCnt: {k + 1}, DiffTime: {diff_ms}ms',
            stamp,
            f"[iso: 100] [shutter: 1/640.0] [fnum: 2.8] [ev: 0] [color_md : default] [ae_meter_md: 1] "
            f"[focal_len: {focal:.2f}] [dzoom_ratio: 1.00], [latitude: {r.lat_deg:.6f}] [longitude: {r.lon_deg:.6f}] "
            f"[rel_alt: {r.alt_rel_m:.3f} abs_alt: {r.alt_abs_m:.3f}] "
            f"[gb_yaw: {r.pose.yaw_deg:.1f} gb_pitch: {r.pose.pitch_deg:.1f} gb_roll: {r.pose.roll_deg:.1f}] </font>",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_camera_json(path: Path, camera: PinholeCamera, records: list[FrameRecord], *, frame: LocalFrame, ground_alt_m: float, fps: float, seed: int, split: str) -> None:
    doc = {
        "version": 1,
        "seed": seed,
        "split": split,
        "fps": fps,
        "intrinsics": {**camera.to_dict(), "focal_px": camera.focal_px, "cx_px": camera.principal_point_px[0], "cy_px": camera.principal_point_px[1]},
        "origin": {"lat_deg": frame.lat_deg, "lon_deg": frame.lon_deg, "ground_alt_m": ground_alt_m},
        "crs": frame.proj_string,
        "enu": "x east, y north, z up in metres of 'crs'; ground is z = 0 (ground_alt_m above the ellipsoid)",
        "start_utc": iso_utc(records[0].utc) if records else None,
        "frames": [
            {
                "index": r.index,
                "pts_s": r.pts_s,
                "utc": iso_utc(r.utc),
                "pose": r.pose.to_dict(),
                "lat_deg": r.lat_deg,
                "lon_deg": r.lon_deg,
                "alt_abs_m": r.alt_abs_m,
                "alt_rel_m": r.alt_rel_m,
                "yaw_deg": r.pose.yaw_deg,
                "pitch_deg": r.pose.pitch_deg,
            }
            for r in records
        ],
    }
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


# ------------------------------------------------------------------ ground truth
def write_truth_geojson(path: Path, scene: Scene, frame: LocalFrame) -> None:
    features = []
    for b in scene.buildings:
        ring = np.concatenate([b.footprint_en, b.footprint_en[:1]])
        lon, lat = frame.to_lonlat(ring[:, 0], ring[:, 1])
        parts = []
        for p in b.parts:
            plon, plat = frame.to_lonlat(p.centroid_enu[0], p.centroid_enu[1])
            parts.append({"part_id": p.part_id, "level": p.level.name.lower(), "lon": float(plon), "lat": float(plat), "east_m": float(p.centroid_enu[0]), "north_m": float(p.centroid_enu[1]), "up_m": float(p.centroid_enu[2])})
        level = b.level
        worst = [q for q in parts if level is not None and q["level"] == level.name.lower()]
        props = {
            "id": b.building_id,
            "level": level.name.lower() if level is not None else "none",
            "damaged": level is not None,
            "roof": b.roof,
            "height_m": round(float(b.height_m), 3),
            "centre_east_m": float(b.centre_en[0]),
            "centre_north_m": float(b.centre_en[1]),
            "damage_lon": worst[0]["lon"] if worst else None,
            "damage_lat": worst[0]["lat"] if worst else None,
            "damage_east_m": worst[0]["east_m"] if worst else None,
            "damage_north_m": worst[0]["north_m"] if worst else None,
            "parts": parts,
        }
        features.append({"type": "Feature", "id": b.building_id, "properties": props, "geometry": {"type": "Polygon", "coordinates": [[[float(x), float(y)] for x, y in zip(lon, lat)]]}})
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


# ------------------------------------------------------------------ ISBDA / COCO
def _xywh(mask: np.ndarray) -> list[float]:
    x, y, w, h = cv2.boundingRect(mask.astype(np.uint8))
    return [float(x), float(y), float(w), float(h)]


def _straight_sliver(mask: np.ndarray) -> bool:
    """A part whose every piece is a straight line one pixel wide (OpenCV outlines each
    with fewer than 3 corners): a sliver an annotator would not outline, left out like
    the parts under ``min_area_px`` (as the data sets made so far left them out)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return not any(len(c) >= 3 for c in contours)


def frame_annotations(surface_ids: np.ndarray, scene: Scene, *, image_id: int, first_id: int, min_area_px: int = 8) -> list[dict]:
    """ISBDA annotations (one per visible damaged part) from a surface-id buffer; each
    part's ``segmentation`` rasterises (pycocotools) to exactly its pixels, holes
    included (:func:`engine.export_coco.mask_polygons`), and its ``area`` counts them."""
    to_building, to_part = scene.surface_tables()
    parts = scene.parts
    visible = np.unique(surface_ids)
    building_of_pixel = None
    annotations = []
    for sid in visible:
        if sid >= len(to_part) or to_part[sid] < 0:
            continue
        part = parts[to_part[sid]]
        mask = surface_ids == sid
        area = int(mask.sum())
        if area < min_area_px:
            continue
        damage_bbox = _xywh(mask)
        x, y, w, h = (int(v) for v in damage_bbox)
        crop = mask[y : y + h, x : x + w]
        if _straight_sliver(crop):
            continue
        # along the pixels' edges: COCO's rasterisation gives back exactly these pixels
        polygons = mask_polygons(crop, offset=(x, y))
        if building_of_pixel is None:
            building_of_pixel = to_building[surface_ids]
        house_mask = building_of_pixel == to_building[sid]
        annotations.append(
            {
                "id": first_id + len(annotations),
                "image_id": image_id,
                "category_id": int(part.level),
                "segmentation": polygons,
                "area": float(area),
                "bbox": damage_bbox,
                "damage_bbox": damage_bbox,
                "house_bbox": _xywh(house_mask),
                "iscrowd": 0,
                "building_id": part.building_id,
                "part_id": part.part_id,
            }
        )
    return annotations


def write_coco(path: Path, images: list[dict], annotations: list[dict], *, description: str) -> None:
    doc = {
        "info": {"description": description, "version": "1.0"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": CATEGORIES,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
