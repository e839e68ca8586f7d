"""A project copied on its own, without its telemetry: the map says which file it looked
for and how to give it, and maps with the telemetry given."""

from __future__ import annotations

import shutil

import pytest

from core.errors import TelemetryError
from core.store import ProjectStore
from services.maps import clear_cache, damage_map
from tests.truth_runs import write_run


def test_a_project_without_its_telemetry_names_it_and_maps_with_it_given(tmp_path, sites_flyover, sites_truth):
    original = tmp_path / "flight.dmproj"
    telemetry = shutil.copy2(sites_flyover.srt, tmp_path / "flight.SRT")
    with ProjectStore.create(original, video_path=sites_flyover.video, telemetry_path=telemetry) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    (tmp_path / "elsewhere").mkdir()
    copied = shutil.copy2(original, tmp_path / "elsewhere" / "flight.dmproj")
    shutil.move(telemetry, tmp_path / "handed-over-later.SRT")  # the original folder moved on too
    clear_cache()
    with ProjectStore.open(copied) as store:
        with pytest.raises(TelemetryError, match="the project's telemetry file is not there") as refused:
            damage_map(store)
        assert "--telemetry FILE" in str(refused.value) and "File > Open Telemetry" in str(refused.value)
        assert str(store.telemetry_path) in str(refused.value)  # the file it looked for
        assert damage_map(store, telemetry_path=sites_flyover.srt).sites  # given: mapped
