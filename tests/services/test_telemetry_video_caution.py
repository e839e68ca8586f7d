"""A DJI SRT is written with its own video: one that runs far longer or shorter than the
video it is paired with is probably another video's, and the analysis says so first."""

from __future__ import annotations

import numpy as np
import pytest

from geo.telemetry.track import TimeBase
from services.footage import telemetry_length_caution
from tests.geo.test_geo_sync import make_track


def _track(seconds: float, base: TimeBase = TimeBase.VIDEO):
    times = np.arange(0.0, seconds + 1e-9, 0.5)
    return make_track(times, 30.0 + times * 1e-5, np.full(len(times), -85.0), base=base)


@pytest.mark.parametrize(("log_s", "video_s", "cautioned"), [
    (40.0, 6.0, True),   # DJI_0023.SRT beside DJI_0024.MP4
    (6.0, 40.0, True),
    (6.0, 6.5, False),   # the SRT's last subtitle ends with the video
    (100.0, 95.0, False),
])
def test_an_srt_much_longer_or_shorter_than_its_video_is_cautioned(log_s, video_s, cautioned):
    caution = telemetry_length_caution(_track(log_s), video_s)
    assert (caution is not None) is cautioned
    if cautioned:
        assert f"runs {log_s:.0f} s and the video {video_s:.0f} s" in caution and "another video's" in caution


def test_a_log_on_its_own_clock_is_not_compared_with_the_video():
    assert telemetry_length_caution(_track(40.0, TimeBase.UTC), 6.0) is None  # a GPX spans the whole flight


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
    caution = next((note for note in built.notes if "DJI_0023.SRT runs 22 s and the video 2 s" in note), None)
    assert caution is not None and "another video's" in caution and caution in built.cautions
