"""A map of a run that is not finished (interrupted, or still running) says so first:
it covers the flight only as far as the run got. Exports map the latest run, as the app
shows it, so the note names a finished run to map instead."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.store import ProjectStore
from core.types import Frame
from services.maps import clear_cache, damage_map
from tests.truth_runs import write_run


@pytest.fixture(autouse=True)
def fresh_maps():
    clear_cache()
    yield
    clear_cache()


def test_an_unfinished_run_is_said_first_with_a_finished_one_to_map(tmp_path, sites_flyover, sites_truth):
    with ProjectStore.create(tmp_path / "flight.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as store:
        finished = write_run(store, sites_truth.detections, sites_truth.times)
        assert not [n for n in damage_map(store).notes if "not finished" in n]

        first_half = sorted(sites_truth.times)[: len(sites_truth.times) // 2]
        mask = next(d.mask for d in sites_truth.detections if d.mask is not None)
        interrupted = store.start_run(model={"name": "other settings"}, settings={})
        for index in first_half:
            store.write_frame(interrupted, Frame(index, sites_truth.times[index], mask.width_px, mask.height_px),
                              [replace(d, id=None) for d in sites_truth.detections if d.frame_index == index])
        built = damage_map(store)
        note = built.notes[0]
        end = sites_truth.times[first_half[-1]]
        frames = f"{len(first_half)} analysed frame{'' if len(first_half) == 1 else 's'}"  # one, on some CPUs' renders
        assert note.startswith(f"run {interrupted} is not finished: its {frames} end at {end:.1f} s of the ")
        assert note.endswith(f"run {finished} is finished (--run {finished} maps it; in the app, Analysis > Show Run)")
        assert built.cautions[0] == note  # the app's map says it too
        assert not [n for n in damage_map(store, finished).notes if "not finished" in n]

        store.finish_run(interrupted)
        assert not [n for n in damage_map(store).notes if "not finished" in n]


def test_a_run_another_damagemap_is_analysing_now_is_not_said_to_need_analysing_again(
        tmp_path, sites_flyover, sites_truth, monkeypatch):
    from services.maps import unfinished_run_note

    with ProjectStore.create(tmp_path / "flight.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as store:
        running = store.start_run(model={"name": "tiny"}, settings={})
        interrupted = unfinished_run_note(store, running, 10.0)
        assert "analyse again with the same settings" in interrupted
        writer = {"pid": 4242, "host": "field-laptop", "user": "ana", "since_utc": "2026-12-07T08:00:00Z",
                  "last_utc": "2026-12-07T08:01:00Z"}
        monkeypatch.setattr(ProjectStore, "active_writer", lambda self, run_id: writer if run_id == running else None)
        note = unfinished_run_note(store, running, 10.0)
        assert note.startswith(f"run {running} is not finished: no frame is analysed yet of the 10.0 s video")
        assert "analyse again" not in note
        assert "another damagemap (process 4242 on field-laptop, by ana" in note and "is analysing it now" in note
