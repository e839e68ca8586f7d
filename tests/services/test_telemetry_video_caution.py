"""A DJI SRT is written with its own video: one that runs far longer or shorter than the
video it is paired with may be another video's, and the analysis and the map say so first;
one whose dates disagree with the video's as well is refused before any frame is analysed."""

from __future__ import annotations

import numpy as np
import pytest

from geo.telemetry.track import TimeBase
from services.sync import telemetry_video_match
from tests.geo.test_geo_sync import make_track


def _track(seconds: float, base: TimeBase = TimeBase.VIDEO):
    times = np.arange(0.0, seconds + 1e-9, 0.5)
    return make_track(times, 30.0 + times * 1e-5, np.full(len(times), -85.0), base=base)


def _caution(track, video_s: float) -> str | None:
    return telemetry_video_match(track, {"duration_s": video_s, "creation_time_utc": None}).caution


@pytest.mark.parametrize(("log_s", "video_s", "cautioned"), [
    (40.0, 6.0, True),   # DJI_0023.SRT beside DJI_0024.MP4
    (6.0, 40.0, True),
    (6.0, 6.5, False),   # the SRT's last subtitle ends with the video
    (100.0, 95.0, False),
])
def test_an_srt_much_longer_or_shorter_than_its_video_is_cautioned(log_s, video_s, cautioned):
    caution = _caution(_track(log_s), video_s)
    assert (caution is not None) is cautioned
    if cautioned:
        assert f"runs {log_s + 0.5:.1f} s and the video {video_s:.1f} s" in caution and "another video's" in caution


def test_a_log_on_its_own_clock_is_not_compared_with_the_video():
    assert _caution(_track(40.0, TimeBase.UTC), 6.0) is None  # a GPX spans the whole flight


def test_the_map_says_so_too_for_a_log_attached_after_the_analysis(sites_flyover, tmp_path):
    """The caution came only at the start of an analysis: a log attached later (`export
    --telemetry`, File > Open Telemetry…) or a run finished before gave maps and exports
    that never said it."""
    from core.store import ProjectStore
    from geo.evaluation import detections_from_coco
    from services.maps import damage_map
    from tests.truth_runs import write_run

    blocks = sites_flyover.srt.read_text(encoding="utf-8").strip().split("\n\n")
    last = blocks[-1].split("\n")
    longer = list(blocks)
    for number in range(len(blocks) + 1, len(blocks) + 90):  # the last pose held for 18 s more
        start, end = (number - 1) * 0.2, number * 0.2
        stamp = f"00:00:{int(start):02d},{round(start % 1 * 1000):03d} --> 00:00:{int(end):02d},{round(end % 1 * 1000):03d}"
        longer.append("\n".join([str(number), stamp, *last[2:]]))
    srt = tmp_path / "DJI_0023.SRT"
    srt.write_text("\n\n".join(longer) + "\n", encoding="utf-8")
    detections, times = detections_from_coco(sites_flyover.annotations)
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=sites_flyover.video, telemetry_path=srt) as store:
        write_run(store, detections, times)
        built = damage_map(store)
    caution = next((note for note in built.notes if note.startswith("DJI_0023.SRT may be another video's")), None)
    assert caution is not None and "it runs 21.8 s and the video 2.0 s" in caution
    assert caution is not None and "another video's" in caution and caution in built.cautions


def test_another_videos_srt_is_refused_before_any_frame_is_analysed(sites_flyover, tmp_path):
    """The real Mini 3 Pro SRT (40 s, dated 2022) beside the 2 s synthetic flight (2018):
    the check the analysis runs before its first frame names both files and why."""
    from core.store import ProjectStore
    from services.maps import placement_problem
    from tests.geo.geo_helpers import samples_dir

    if samples_dir() is None:
        pytest.skip("shared/samples is not beside the repository")
    srt = samples_dir() / "srt" / "mini3pro_DJI_0023.SRT"
    with ProjectStore.create(tmp_path / "p.dmproj", video_path=sites_flyover.video, telemetry_path=srt) as store:
        problem = placement_problem(store, [0, 5, 10])
    assert problem is not None
    assert problem.startswith(f"{srt}: telemetry of another video, not {sites_flyover.video.name}'s")
    assert "it runs 40.1 s and the video 2.0 s" in problem and "4.2 years apart" in problem
