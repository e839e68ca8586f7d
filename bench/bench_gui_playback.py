"""Playback cost per frame in the GUI at 1080p: decode + overlay + paint.

Prints a table of the median milliseconds per frame over several runs, for

- ``decode``: ``VideoReader.frame_at`` sequentially (the reference, ratio 1.0),
- ``show (cold)``: decode + QImage + mask layer built + frame view painted,
- ``show (cached)``: the same with the mask layers already cached (a replay or scrub),
- ``window (cold/cached)``: ``MainWindow.show_frame`` on a real project: store read,
  frame view, transport, timeline, map (no telemetry here),

and the frame rate each would sustain next to the video's. Run it headless::

    QT_QPA_PLATFORM=offscreen python bench/bench_gui_playback.py [--frames 60 --runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def _make_video(path: Path, frames: int, size: tuple[int, int], fps: float) -> None:
    from engine.video import write_video

    w, h = size
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    images = (np.roll(base, 6 * i, axis=1) for i in range(frames))
    write_video(path, images, fps=fps)


def _detections(frame_index: int, size: tuple[int, int], count: int):
    from core.masks import RleMask
    from core.types import DamageLevel, Detection

    w, h = size
    out = []
    yy, xx = np.mgrid[0:h, 0:w]
    for k in range(count):
        cx, cy, r = 200 + 300 * k + 4 * frame_index, 300 + 80 * k, 60 + 10 * k
        mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        box = (float(cx - r), float(cy - r), float(cx + r), float(cy + r))
        out.append(Detection(frame_index, DamageLevel(1 + k % 3), 0.9, box, RleMask.from_array(mask),
                             building_box_xyxy_px=box, id=frame_index * 100 + k))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--detections", type=int, default=5, help="masks per frame")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()
    size = (1920, 1080)

    from PySide6.QtWidgets import QApplication

    from app.widgets.frame_view import FrameView, image_to_qimage
    from engine.video import VideoReader

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "bench.mp4"
        _make_video(video, args.frames, size, args.fps)
        dets = {i: _detections(i, size, args.detections) for i in range(args.frames)}
        view = FrameView()
        view.resize(1280, 720)
        view.show()
        app.processEvents()

        def decode_only() -> float:
            with VideoReader(video) as reader:
                t0 = time.perf_counter()
                for i in range(args.frames):
                    reader.frame_at(i)
                return (time.perf_counter() - t0) / args.frames

        def show(cold: bool) -> float:
            if cold:
                view.invalidate_frames()
            with VideoReader(video) as reader:
                t0 = time.perf_counter()
                for i in range(args.frames):
                    frame = reader.frame_at(i)
                    view.show_frame(i, image_to_qimage(frame.image), dets[i])
                    view.viewport().repaint()
                return (time.perf_counter() - t0) / args.frames

        from PySide6.QtCore import QSettings

        from app.main_window import MainWindow
        from app.settings import AppSettings
        from core.store import ProjectStore
        from core.types import Frame

        project = Path(tmp) / "bench.dmproj"
        with ProjectStore.create(project, video_path=video) as store, VideoReader(video) as reader:
            run = store.start_run(model={"bench": True}, settings={})
            for i in range(args.frames):
                stored = [dataclasses.replace(d, id=None) for d in dets[i]]
                store.write_frame(run, Frame(i, reader.pts_s[i], *size), stored)
        window = MainWindow(settings=AppSettings(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)))
        window.resize(1600, 940)
        window.show()
        window.open_path(project)
        window.threshold_spin.setValue(0.0)
        app.processEvents()

        def show_in_window(cold: bool) -> float:
            if cold:
                window.document.refresh_frames(range(args.frames))  # drops the detection cache
                window.frame_view.invalidate_frames()
            window.show_frame(0)
            t0 = time.perf_counter()
            for i in range(1, args.frames):
                window.show_frame(i)
                window.frame_view.viewport().repaint()
                window.timeline.repaint()
            return (time.perf_counter() - t0) / (args.frames - 1)

        show(True)  # warm-up
        rows = {
            "decode": [decode_only() for _ in range(args.runs)],
            "show (cold)": [show(True) for _ in range(args.runs)],
            "show (cached)": [show(False) for _ in range(args.runs)],
            "window (cold)": [show_in_window(True) for _ in range(args.runs)],
            "window (cached)": [show_in_window(False) for _ in range(args.runs)],
        }
        window.close()
    reference = statistics.median(rows["decode"])
    print(f"1920x1080, {args.frames} frames, {args.detections} masks/frame, view 1280x720, video {args.fps:g} fps")
    print(f"{'step':<16}{'ms/frame':>10}{'ratio':>8}{'max fps':>9}{'keeps up':>10}")
    for name, values in rows.items():
        ms = statistics.median(values) * 1000
        fps = 1000 / ms
        print(f"{name:<16}{ms:>10.1f}{ms / (reference * 1000):>8.2f}{fps:>9.1f}{'yes' if fps >= args.fps else 'no':>10}")


if __name__ == "__main__":
    main()
