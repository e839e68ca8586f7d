"""A field of view read from the video's flow and kept in the project (``--camera
auto`` at analyze) is said to be an estimate on the map, and its spread enters the
sites' uncertainty as it does when the camera is read at export; typed, it is given."""

from __future__ import annotations

import dataclasses

import pytest

from core.settings import ProjectSettings
from core.store import ProjectStore
from services.maps import clear_cache, damage_map
from tests.truth_runs import write_run


def _map(store: ProjectStore, **settings):
    clear_cache()
    store.set_project_settings(dataclasses.replace(store.project_settings(), **settings))
    return damage_map(store)


def test_an_estimated_field_of_view_is_said_and_counted(tmp_path, sites_flyover, sites_truth):
    with ProjectStore.create(tmp_path / "flight.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
        typed = _map(store, hfov_deg=80.0, hfov_sigma_deg=None)
        read = _map(store, hfov_deg=80.0, hfov_sigma_deg=12.0)
    assert any("80.0 deg" in n and "(given)" in n for n in typed.notes)
    assert any("estimated from the video, +-12.0 deg" in n for n in read.notes)
    assert not any("80.0 deg" in n and "(given)" in n for n in read.notes)
    spread = {round(f.site.lon_deg, 7): f.uncertainty_m for f in typed.fused}
    wider = [f.uncertainty_m > spread[round(f.site.lon_deg, 7)] for f in read.fused
             if round(f.site.lon_deg, 7) in spread]
    assert wider and all(wider)


def test_a_spread_needs_a_field_of_view_and_stays_in_range():
    with pytest.raises(ValueError, match="hfov_sigma_deg"):
        ProjectSettings(hfov_deg=80.0, hfov_sigma_deg=-1.0)
    assert ProjectSettings.from_mapping({"hfov_deg": 80.0, "hfov_sigma_deg": 12.0}).hfov_sigma_deg == 12.0
