"""ProjectSettings: typed, checked, and kept in the project store."""

from __future__ import annotations

import dataclasses
import math

import pytest

from core.errors import StoreError
from core.settings import DEFAULT_MIN_SCORE, ProjectSettings
from core.store import ProjectStore


def test_defaults_and_round_trip_through_the_store(tmp_path):
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "v.mp4") as store:
        assert store.project_settings() == ProjectSettings() and ProjectSettings().min_score == DEFAULT_MIN_SCORE
        chosen = ProjectSettings(time_offset_s=-1.5, hfov_deg="mavic-2-pro", ground_elevation_m=12.0, min_score=0.3,
                                 camera_pitch_deg=-32.5, camera_pitch_sigma_deg=3.0, heading_offset_deg=-4.0)
        store.set_project_settings(chosen)
        store.set_setting("something_else", 3)  # other keys live beside the typed ones
    with ProjectStore.open(tmp_path / "p.dmproj") as store:
        assert store.project_settings() == chosen
        store.set_project_settings(ProjectSettings(time_offset_s=2.0))
        assert store.settings() == {"time_offset_s": 2.0, "min_score": 0.5, "something_else": 3}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("time_offset_s", math.nan, "finite number of seconds"),
        ("hfov_deg", 200.0, "between 1 and 170"),
        ("hfov_deg", "", "preset name"),
        ("ground_elevation_m", math.inf, "finite number of metres"),
        ("min_score", 1.5, "in .0, 1."),
        ("min_score", "0.5", "in .0, 1."),
        ("camera_pitch_deg", 30.0, "degrees from -90 to 0"),
        ("camera_pitch_deg", math.nan, "degrees from -90 to 0"),
        ("heading_offset_deg", 270.0, "degrees from -180 to 180"),
        ("camera_pitch_sigma_deg", -1.0, "degrees from 0 to 90"),
    ],
)
def test_bad_values_are_refused_naming_the_field(field, value, words):
    with pytest.raises(ValueError, match=rf"ProjectSettings\.{field}.*{words}"):
        ProjectSettings(**{field: value})


def test_a_bad_stored_value_is_a_store_error(tmp_path):
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "v.mp4") as store:
        store.set_setting("min_score", 7)
        with pytest.raises(StoreError, match="invalid settings.*min_score"):
            store.project_settings()


def test_a_width_read_unsure_is_kept_and_a_given_width_is_never_unsure(tmp_path):
    """The flag that the flight could not pin the width down is stored with the reading
    (and not at all by a project that never read one); a width typed over it, without the
    reading's spread, is given and so not unsure."""
    read = ProjectSettings(hfov_deg=78.6, hfov_sigma_deg=8.9, hfov_unsure=True)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=tmp_path / "v.mp4") as store:
        store.set_project_settings(read)
        assert store.project_settings().hfov_unsure
        store.set_project_settings(ProjectSettings(hfov_deg=78.6, hfov_sigma_deg=8.9))
        assert "hfov_unsure" not in store.settings()
    typed = dataclasses.replace(read, hfov_deg=82.0, hfov_sigma_deg=None)
    assert not typed.hfov_unsure
    with pytest.raises(ValueError, match="hfov_unsure must be true or false"):
        ProjectSettings(hfov_deg=78.6, hfov_sigma_deg=8.9, hfov_unsure="yes")
