"""A camera read from a flight that hardly turns: the flow cannot tell a steeper, wider
camera from a shallower, narrower one, and whoever asked hears what to give."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import services.sync
from core.settings import ProjectSettings
from geo.pitch import ESTIMATED_FOV_SOURCE, UNSURE_HFOV_SIGMA_DEG, FlowView
from geo.telemetry import read_telemetry
from services.sync import UNSURE_WIDTH_HINT, SyncReport, georeference_from_video


def test_reading_an_unsure_camera_says_to_give_its_width(monkeypatch, sites_flyover):
    """Whoever asked for the camera hears that its width, and so its pitch, is unsure,
    and what to give; the reading is kept all the same (its spreads are in the sites'
    uncertainty)."""
    view = FlowView(-37.0, 2.0, 50.0, 12.0, 5.0, UNSURE_HFOV_SIGMA_DEG + 2.0, 0.1, 50, ESTIMATED_FOV_SOURCE)
    for flow_view, hinted in ((view, True), (dataclasses.replace(view, hfov_sigma_deg=8.0), False)):
        monkeypatch.setattr(services.sync, "estimate_sync", lambda *a, v=flow_view, **k: SyncReport(None, v))
        read = georeference_from_video(Path(sites_flyover.video), read_telemetry(Path(sites_flyover.gpx)),
                                       ProjectSettings(ground_elevation_m=10.0), camera=True)
        assert (UNSURE_WIDTH_HINT in read.lines) is hinted
        assert read.settings.camera_pitch_deg == -37.0 and read.settings.hfov_deg == 50.0
        assert read.settings.hfov_sigma_deg == round(flow_view.hfov_sigma_deg, 1)  # kept: the map says it is read
        assert read.settings.hfov_unsure is hinted  # kept too: a map built later from the settings cautions
    assert "--hfov DEG" in UNSURE_WIDTH_HINT and "Horizontal field of view" in UNSURE_WIDTH_HINT


def test_a_width_drawn_towards_the_default_is_kept_with_the_pitch_read_at_it(monkeypatch, sites_flyover):
    """A width the flow alone could not pin down, weighed with the map's default: the
    map must place the frames with the width the pitch was read at (kept, with its
    spread, as a reading from the video), and whoever asked hears that it is unsure."""
    from geo.pitch import DRAWN_FOV_SOURCE

    view = FlowView(-44.0, 5.0, 78.6, 6.6, 5.0, 8.9, 0.1, 50,
                    f"{DRAWN_FOV_SOURCE} 73.7 deg, as the flow alone could not pin it down (97 +-20 deg)")
    monkeypatch.setattr(services.sync, "estimate_sync", lambda *a, **k: SyncReport(None, view))
    read = georeference_from_video(Path(sites_flyover.video), read_telemetry(Path(sites_flyover.gpx)),
                                   ProjectSettings(ground_elevation_m=10.0), camera=True)
    assert (read.settings.hfov_deg, read.settings.hfov_sigma_deg) == (78.6, 8.9)
    assert read.settings.hfov_unsure  # below the unsure spread, yet unsure: the settings keep it so
    assert (read.settings.camera_pitch_deg, read.settings.camera_pitch_sigma_deg) == (-44.0, 6.6)
    assert UNSURE_WIDTH_HINT in read.lines
