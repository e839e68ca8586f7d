"""services.sync.known_field_of_view: a GPX-only flight's field of view from the drone
model its video names (a tiny MP4 written with the tag), the telemetry's focal length
first; geo.camera's presets by model name and the error budget's share."""

from __future__ import annotations

import pytest

from core.types import TelemetrySample
from geo.camera import (HFOV_PRESETS_DEG, METADATA_FOV_SIGMA_DEG, FieldOfView, FramePoses, camera_angle_sigma_deg,
                        preset_for_model, resolve_hfov)
from geo.telemetry.track import TimeBase, Track
from services.sync import known_field_of_view


def track(focal_length_mm: float | None = None) -> Track:
    samples = tuple(TelemetrySample(t_s=float(t), lat_deg=30.16 + t * 5e-5, lon_deg=-85.66, alt_rel_m=50.0,
                                    focal_length_mm=focal_length_mm) for t in range(10))
    return Track(samples, None, "gpx", TimeBase.VIDEO)


def test_the_video_names_the_drone(tmp_path, tagged_video):
    video = tagged_video(tmp_path / "DJI_0001.MP4", {"make": "DJI", "model": "Mavic 3"})
    fov = known_field_of_view(video, track())
    assert fov == FieldOfView(HFOV_PRESETS_DEG["mavic-3"], "video metadata: DJI Mavic 3")


def test_the_telemetry_focal_length_comes_first(tmp_path, tagged_video):
    video = tagged_video(tmp_path / "DJI_0001.MP4", {"model": "DJI Mavic 2 Pro"})
    fov = known_field_of_view(video, track(focal_length_mm=24.0))
    assert fov is not None and fov.source.startswith("telemetry focal length")
    assert fov.hfov_deg == pytest.approx(73.7, abs=0.1)


def test_nothing_known_leaves_it_to_the_flow(tmp_path, tagged_video):
    assert known_field_of_view(tagged_video(tmp_path / "plain.mp4", {}), track()) is None
    phone = tagged_video(tmp_path / "phone.mp4", {"com.apple.quicktime.make": "Apple",
                                                   "com.apple.quicktime.model": "iPhone 12"})
    assert known_field_of_view(phone, track()) is None  # no preset: no guess


@pytest.mark.parametrize(("model", "preset"), [
    ("DJI Mavic 3", "mavic-3"), ("DJIMavic3", "mavic-3"), ("DJI Mini 4 Pro", "mini-4-pro"), ("FC3170", "mavic-air-2"),
    ("DJI FC7303", "mini-2"), ("L1D-20c", "mavic-2-pro"), ("Phantom 4 Pro V2.0", "phantom-4-pro"),
    ("Mavic 3 Pro", None), ("DJI OsmoAction3", None), ("iPhone 12", None), ("generic", None), ("", None),
])
def test_presets_by_model_name(model, preset):
    assert preset_for_model(model) == preset


def test_resolve_order_and_error_budget():
    assert resolve_hfov(80.0, [24.0], video_model="DJI Mavic 3").source == "given"
    assert resolve_hfov(None, [35.0], video_model="DJI Mavic 3").source.startswith("telemetry")
    from_video = resolve_hfov(None, [], video_model="DJI Mavic 2 Pro")
    assert from_video == FieldOfView(HFOV_PRESETS_DEG["mavic-2-pro"], "video metadata: DJI Mavic 2 Pro")
    assert resolve_hfov(None, [], video_model="Sony A7").source.startswith("default")
    # telemetry with gimbal pitch and heading: only the field of view's share is left
    known = FramePoses({}, {}, (), "telemetry", "telemetry")
    assert camera_angle_sigma_deg(known, from_video) == pytest.approx(0.5 * METADATA_FOV_SIGMA_DEG)
    assert camera_angle_sigma_deg(known, from_video, hfov_sigma_deg=METADATA_FOV_SIGMA_DEG) == pytest.approx(
        0.5 * METADATA_FOV_SIGMA_DEG)  # the same share when the view carries it
    assert camera_angle_sigma_deg(known, resolve_hfov(None, [])) > camera_angle_sigma_deg(known, from_video)
    assert camera_angle_sigma_deg(known, resolve_hfov(70.0)) == 0.0
