"""What the project store's safety costs: WAL checkpoints while frames are stored, and
the integrity check (``PRAGMA quick_check``) when a project is opened.

    python bench/bench_store_safety.py                 # 300 frames of 50 detections, 5 repeats
    python bench/bench_store_safety.py --frames 2000   # a long flight (100,000 detections)

Each figure is the median of ``--repeats`` runs, next to the same work with the safety
step switched off in the same run (the reference), and their ratio. Frames are written
from a throw-away folder on the same disk as the system's temporary files.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs

from core.masks import RleMask  # noqa: E402
from core.store import ProjectStore  # noqa: E402
from core.types import DamageLevel, Detection, Frame  # noqa: E402


def _detections(index: int, n: int, mask: RleMask) -> list[Detection]:
    return [
        Detection(frame_index=index, level=DamageLevel(1 + i % 3), score=0.3 + 0.01 * i,
                  box_xyxy_px=(10.0 + i, 5.0, 60.0 + i, 40.0), mask=mask)
        for i in range(n)
    ]


def _write(folder: Path, frames: int, per_frame: int, *, checkpoints: bool) -> tuple[float, Path]:
    array = np.zeros((720, 1280), dtype=bool)
    array[100:180, 300:420] = True
    mask = RleMask.from_array(array)
    path = folder / f"p{time.perf_counter_ns()}.dmproj"
    video = folder / "v.mp4"
    video.write_bytes(b"x")
    store = ProjectStore.create(path, video_path=video)
    if not checkpoints:
        store.checkpoint = lambda *, wait=True: False  # type: ignore[method-assign]
    run = store.start_run(model={}, settings={})
    batches = [_detections(i, per_frame, mask) for i in range(frames)]
    started = time.perf_counter()
    for i, detections in enumerate(batches):
        store.write_frame(run, Frame(index=i, pts_s=i / 10, width_px=1280, height_px=720), detections)
    store.finish_run(run)
    store.close()
    return time.perf_counter() - started, path


def _open(path: Path, *, check: bool) -> float:
    started = time.perf_counter()
    if check:
        ProjectStore.open(path).close()
    else:
        import sqlite3

        conn = sqlite3.connect(path.as_uri() + "?mode=rw", uri=True)
        conn.execute("PRAGMA application_id").fetchone()
        conn.execute("SELECT version FROM schema_version").fetchone()
        conn.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--per-frame", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with_cp, without_cp, opened, bare = [], [], [], []
        path = None
        for _ in range(args.repeats):
            seconds, path = _write(folder, args.frames, args.per_frame, checkpoints=True)
            with_cp.append(seconds)
            seconds, _ = _write(folder, args.frames, args.per_frame, checkpoints=False)
            without_cp.append(seconds)
        assert path is not None
        size_mb = path.stat().st_size / 1e6
        for _ in range(args.repeats):
            opened.append(_open(path, check=True))
            bare.append(_open(path, check=False))
    rows = [
        (f"store {args.frames} frames x {args.per_frame} detections (s)", with_cp, without_cp, "no checkpoints"),
        (f"open a {size_mb:.1f} MB project (s)", opened, bare, "raw SQLite open, no checks"),
    ]
    print(f"CPU: {cpu_name()}; median of {args.repeats} runs")
    print(f"| {'measure':<48} | {'with safety':>11} | {'reference':>9} | {'ratio':>5} | reference is |")
    print(f"|{'-' * 50}|{'-' * 13}|{'-' * 11}|{'-' * 7}|--------------|")
    for name, mine, reference, what in rows:
        a, b = statistics.median(mine), statistics.median(reference)
        print(f"| {name:<48} | {a:>11.3f} | {b:>9.3f} | {a / b:>5.2f} | {what} |")


if __name__ == "__main__":
    main()
