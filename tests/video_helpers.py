"""Videos the tests make of other videos."""

from __future__ import annotations

from pathlib import Path


def cut_short(video: Path, out: Path, keep: float) -> Path:
    """``video`` as a camera whose battery died writes it: its index up front (faststart,
    every frame listed), the file cut after ``keep`` of its bytes."""
    import av

    whole = out.with_name("whole.mp4")
    with av.open(str(video)) as source, av.open(str(whole), "w", options={"movflags": "faststart"}) as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                packet.stream = stream
                target.mux(packet)
    data = whole.read_bytes()
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def noise_video(path: Path, frames: int = 20, *, options: dict[str, str] | None = None) -> Path:
    """``frames`` frames of noise at 160x96, 5 frames/s, into ``path`` (its suffix picks the
    container; ``options`` the muxer's, e.g. ``{"movflags": "faststart"}``): frames alike in
    size, so that half the bytes hold about half the frames."""
    import av
    import numpy as np

    with av.open(str(path), "w", options=options or {}) as target:
        stream = target.add_stream("libx264", rate=5)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        rng = np.random.default_rng(0)
        for _ in range(frames):
            image = (rng.random((96, 160, 3)) * 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return path


def first_half(video: Path, out: Path) -> Path:
    """``video``'s first half of bytes, as a copy stopped halfway leaves it."""
    out.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    return out
