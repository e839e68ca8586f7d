"""Frames too dark, too uniform or too blurred to count as a look: measured
(engine.frame_quality), kept in the project, and judged (core.frame_quality)."""

from __future__ import annotations

import sqlite3

import cv2
import numpy as np
import pytest

from core.frame_quality import FrameQuality, describe_unusable, unusable_frames
from core.store import SCHEMA_VERSION, ProjectStore
from core.types import Frame
from engine.frame_quality import measure_frame


def _town(seed: int = 0, size=(720, 1280)) -> np.ndarray:
    """Roofs and streets: blocks of many greys with sharp edges."""
    rng = np.random.default_rng(seed)
    image = np.full((*size, 3), 110, np.uint8)
    for _ in range(400):
        y, x = rng.integers(0, size[0] - 40), rng.integers(0, size[1] - 40)
        h, w = rng.integers(8, 40, 2)
        image[y:y + h, x:x + w] = rng.integers(20, 235, 3)
    return image


def test_black_washed_out_and_uniform_frames_are_blank_and_a_town_is_not():
    town = measure_frame(_town())
    assert town.blank is None and town.contrast > 10 and town.sharpness > 100
    assert measure_frame(np.zeros((720, 1280, 3), np.uint8)).blank == "black"  # the lens cap
    assert measure_frame(np.full((720, 1280, 3), 252, np.uint8)).blank == "washed out"
    assert measure_frame(np.full((720, 1280, 3), (90, 140, 200), np.uint8)).blank == "uniform"  # sky


def test_sharpness_is_measured_at_the_detectors_size_so_4k_and_720p_agree():
    town = _town(size=(720, 1280))
    big = cv2.resize(town, (3840, 2160), interpolation=cv2.INTER_CUBIC)
    small, large = measure_frame(town).sharpness, measure_frame(big).sharpness
    assert large == pytest.approx(small, rel=0.35)
    assert measure_frame(big).sharpness > 5 * measure_frame(cv2.GaussianBlur(big, (0, 0), 12)).sharpness


def test_a_frame_smeared_by_a_fast_turn_is_blurred_against_the_videos_own_sharpness():
    frames = {i: measure_frame(_town(i)) for i in range(10)}
    smeared = cv2.blur(_town(99), (41, 1))  # a 40-pixel sideways smear
    frames[10] = measure_frame(smeared)
    frames[11] = measure_frame(np.zeros((720, 1280, 3), np.uint8))
    assert unusable_frames(frames) == {10: "blurred", 11: "black"}
    # too few frames to know the video's own sharpness: only the blank one is judged
    assert unusable_frames({k: frames[k] for k in (0, 1, 10, 11)}) == {11: "black"}
    line = describe_unusable(unusable_frames(frames), 12)
    assert line is not None and line.startswith("2 of the 12 analysed frames") and "1 blurred" in line
    assert describe_unusable({}, 12) is None


def test_a_softer_but_steady_video_flags_nothing():
    """Sharpness depends on the footage: a soft video is judged by its own middle."""
    frames = {i: measure_frame(cv2.GaussianBlur(_town(i), (0, 0), 1.5 + 0.2 * (i % 3))) for i in range(12)}
    assert unusable_frames(frames) == {}


def test_quality_values_must_be_finite_and_not_negative():
    with pytest.raises(ValueError, match="FrameQuality.sharpness"):
        FrameQuality(100.0, 20.0, float("nan"))


def test_the_project_keeps_each_frames_quality_and_an_older_project_gains_the_columns(tmp_path):
    path = tmp_path / "p.dmproj"
    with ProjectStore.create(path, video_path=tmp_path / "v.mp4") as store:
        run = store.start_run(model={}, settings={})
        store.write_frame(run, Frame(0, 0.0, 64, 48, quality=FrameQuality(100.0, 30.0, 250.5)), [])
        store.write_frame(run, Frame(1, 0.1, 64, 48), [])  # not measured
        assert store.frame_qualities(run) == {0: FrameQuality(100.0, 30.0, 250.5)}
        assert set(store.analysed_frames(run)) == {0, 1}
    conn = sqlite3.connect(path)  # as the previous damagemap wrote it
    conn.executescript("ALTER TABLE frames DROP COLUMN quality_mean; ALTER TABLE frames DROP COLUMN quality_contrast; "
                       "ALTER TABLE frames DROP COLUMN quality_sharpness; DROP TABLE site_numbers; "
                       "ALTER TABLE runs DROP COLUMN site_numbers_version; "
                       "ALTER TABLE site_decisions DROP COLUMN min_score; "
                       "UPDATE schema_version SET version = 2;")
    conn.close()
    with ProjectStore.open(path, read_only=True) as store:  # read as it is (a survey's flights, the map's job)
        assert store.frame_qualities(run) == {} and set(store.analysed_frames(run)) == {0, 1}
        assert store.site_numbers(run) == {} and store.site_numbers_version(run) == 0  # none kept yet
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == 2
    conn.close()
    with ProjectStore.open(path) as store:
        assert store.frame_qualities(run) == {}  # the old frames were not measured
        store.write_frame(run, Frame(2, 0.2, 64, 48, quality=FrameQuality(5.0, 1.0, 0.5)), [])
        assert store.frame_qualities(run) == {2: FrameQuality(5.0, 1.0, 0.5)}
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION == 5
    conn.close()


def test_a_flight_from_a_town_over_smooth_fields_is_judged_against_the_frames_around_each():
    """Half the flight over a dense town, half over smooth fields (a tenth as sharp):
    the fields are not blurred; a smear among them is."""
    town = {i: FrameQuality(110.0, 40.0, 900.0 + 10 * (i % 4)) for i in range(0, 30)}
    fields = {i: FrameQuality(120.0, 15.0, 60.0 + 3 * (i % 5)) for i in range(30, 60)}
    frames = {**town, **fields}
    assert unusable_frames(frames) == {}
    frames[45] = FrameQuality(120.0, 12.0, 9.0)  # a fast turn over the fields
    frames[12] = FrameQuality(110.0, 30.0, 150.0)  # and one over the town
    assert unusable_frames(frames) == {12: "blurred", 45: "blurred"}
