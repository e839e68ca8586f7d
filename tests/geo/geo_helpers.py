"""Helpers shared by the geo tests (a module with its own name: ``conftest`` is taken
by every test folder)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIRS = [ROOT.parent / "shared" / "samples", Path("/work/shared/samples")]


def samples_dir() -> Path | None:
    return next((d for d in SAMPLE_DIRS if d.is_dir()), None)


@dataclass(frozen=True)
class Flyover:
    """A rendered synthetic flight and what the map needs from it."""

    paths: object  # engine.synth.FlyoverPaths
    camera: dict

    @property
    def video_info(self) -> dict:
        start = dt.datetime.fromisoformat(self.camera["start_utc"].replace("Z", "+00:00")).timestamp()
        intr = self.camera["intrinsics"]
        return {"width_px": intr["width_px"], "height_px": intr["height_px"],
                "duration_s": len(self.camera["frames"]) / self.camera["fps"], "creation_time_utc": start}

    def visible_part_ids(self) -> set[int]:
        doc = json.loads(Path(self.paths.annotations).read_text())
        return {a["part_id"] for a in doc["annotations"]}


def render(flyover_once, seed: int) -> Flyover:
    """The 12 s 640x360 flyover of ``seed``, rendered once a test run (``flyover_once``)."""
    pytest.importorskip("engine.synth")
    paths = flyover_once(f"geo-{seed}", seconds=12.0, fps=10.0, size=(640, 360), seed=seed)
    return Flyover(paths, json.loads(Path(paths.camera).read_text()))


def map_of(flyover: Flyover, **kwargs):
    """The damage map of a flyover's ground-truth masks, from its SRT."""
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from
    from geo.telemetry import read_telemetry

    detections, times = detections_from_coco(flyover.paths.annotations)
    damage_map = build_damage_map_from(detections, times, read_telemetry(flyover.paths.srt),
                                       video=flyover.video_info, **kwargs)
    return damage_map, detections


def track_across_180(flyover: Flyover):
    """A flyover's track moved so that it crosses 180° longitude in the middle (a flight
    over Fiji or Tonga), each longitude within -180..180."""
    import dataclasses

    import numpy as np

    from geo.antimeridian import unwrap_longitudes
    from geo.telemetry import read_telemetry

    track = read_telemetry(flyover.paths.srt)
    centre = float(np.median([s.lon_deg for s in track.samples]))
    return dataclasses.replace(track, samples=tuple(
        dataclasses.replace(s, lon_deg=float(unwrap_longitudes(np.array([s.lon_deg - centre + 180.0]), 0.0)[0]))
        for s in track.samples))


def map_across_180(flyover: Flyover, **kwargs):
    """The damage map of a flyover's ground-truth masks, its track moved so that it
    crosses 180° longitude in the middle (:func:`track_across_180`)."""
    from geo.evaluation import detections_from_coco
    from geo.mapping import build_damage_map_from

    detections, times = detections_from_coco(flyover.paths.annotations)
    return build_damage_map_from(detections, times, track_across_180(flyover), video=flyover.video_info, **kwargs)
