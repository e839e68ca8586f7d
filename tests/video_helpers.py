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
