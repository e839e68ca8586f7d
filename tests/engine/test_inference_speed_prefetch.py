"""The decoding thread that runs ahead of the detector: frames in order, errors handed
over, and it stops when told even with its queue full."""

from __future__ import annotations

from engine.analysis.threads import _END, _Failure, _Prefetcher


def _drain(prefetch: _Prefetcher) -> list[object]:
    items = []
    while True:
        item = prefetch.frames.get(timeout=10)
        items.append(item)
        if item is _END or isinstance(item, _Failure):
            return items


def test_frames_come_in_the_order_asked_with_their_pixels(tmp_path, texture_video):
    video = texture_video(tmp_path / "v.mp4", 12)
    prefetch = _Prefetcher(video, [0, 3, 4, 9, 11], depth=2)
    prefetch.start()
    items = _drain(prefetch)
    prefetch.join(timeout=10)
    assert items[-1] is _END and not prefetch.is_alive()
    frames = items[:-1]
    assert [f.index for f in frames] == [0, 3, 4, 9, 11]
    assert all(f.image is not None and f.image.shape == (48, 64, 3) for f in frames)
    assert [f.pts_s for f in frames] == sorted(f.pts_s for f in frames)


def test_a_video_that_cannot_be_read_is_handed_over_as_a_failure(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    prefetch = _Prefetcher(broken, [0, 1], depth=2)
    prefetch.start()
    items = _drain(prefetch)
    prefetch.join(timeout=10)
    assert len(items) == 1 and isinstance(items[0], _Failure)
    assert "broken.mp4" in str(items[0].error)
    assert not prefetch.is_alive()


def test_it_stops_when_told_although_nobody_takes_its_frames(tmp_path, texture_video):
    video = texture_video(tmp_path / "v.mp4", 12)
    prefetch = _Prefetcher(video, list(range(12)), depth=1)
    prefetch.start()
    first = prefetch.frames.get(timeout=10)  # it has started and now waits on a full queue
    prefetch.stop.set()
    prefetch.join(timeout=10)
    assert first.index == 0
    assert not prefetch.is_alive()
    assert prefetch.frames.qsize() <= 1  # it gave up instead of decoding the rest
