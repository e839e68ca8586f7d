"""A field of view read from the video of a flight that turns too little to pin it down
(``FlowView.width_unsure``) leaves the pitch read with it unsure too: the map cautions
so, above the app's map and in the exports' notes, and asks for the camera's own."""

from __future__ import annotations

import dataclasses

from core.store import ProjectStore
from geo.pitch import DRAWN_FOV_SOURCE, ESTIMATED_FOV_SOURCE, FlowView
from services.maps import clear_cache, damage_map
from tests.truth_runs import write_run


def _view(source: str, hfov_sigma_deg: float) -> FlowView:
    return FlowView(pitch_deg=-47.0, yaw_offset_deg=2.0, hfov_deg=78.6, pitch_sigma_deg=4.0, yaw_sigma_deg=5.0,
                    hfov_sigma_deg=hfov_sigma_deg, rms_px_s=1.0, samples=40, hfov_source=source)


def _unsure(built) -> list[str]:
    return [c for c in built.cautions if "field of view read from the video (79 deg) is not pinned down" in c]


def test_a_width_the_flight_could_not_pin_down_is_a_caution(tmp_path, sites_flyover, sites_truth):
    with ProjectStore.create(tmp_path / "flight.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
        store.set_project_settings(dataclasses.replace(store.project_settings(), hfov_deg=78.6))
        clear_cache()
        drawn = damage_map(store, camera_view=_view(f"{DRAWN_FOV_SOURCE} 73.7 deg", 8.9))
        clear_cache()
        pinned = damage_map(store, camera_view=_view(ESTIMATED_FOV_SOURCE, 4.0))
        clear_cache()
        store.set_project_settings(dataclasses.replace(store.project_settings(), hfov_sigma_deg=30.0))
        kept_unsure = damage_map(store)
    [caution] = _unsure(drawn)
    assert "--hfov DEG" in caution and "the pitch is unsure too" in caution
    assert caution in drawn.notes
    assert not _unsure(pinned)
    assert _unsure(kept_unsure)  # kept in the project's settings with its spread


def test_a_width_read_unsure_and_kept_in_the_settings_is_a_caution(tmp_path, sites_flyover, sites_truth):
    """A width drawn towards the default keeps a spread below the unsure threshold: the
    settings' flag, stored where the Georeferencing dialog or ``georeference_from_video``
    kept the reading, is what makes a map built later from them caution."""
    with ProjectStore.create(tmp_path / "flight.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
        drawn = dataclasses.replace(store.project_settings(), hfov_deg=78.6, hfov_sigma_deg=8.9)
        store.set_project_settings(drawn)
        clear_cache()
        sure = damage_map(store)
        store.set_project_settings(dataclasses.replace(drawn, hfov_unsure=True))
        clear_cache()
        unsure = damage_map(store)
    assert not _unsure(sure)
    [caution] = _unsure(unsure)
    assert "--hfov DEG" in caution and caution in unsure.notes
