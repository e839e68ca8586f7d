"""Another process analysing a project, step by step, as ``damagemap analyze`` in a
terminal stores its frames: run as ``python other_analysis.py PROJECT FPS``, it starts a
run at FPS frames/s and answers each line on its stdin:

``frame N``   store frame N with one Severe detection
``finish``    mark the run finished
``quit``      end (the run stays unfinished when it was not finished)

and prints ``ok RUN`` after each, so a test steps it without sleeping.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from core.masks import RleMask
from core.store import ProjectStore
from core.types import DamageLevel, Detection, Frame
from engine.video import probe_video


def main(project: Path, fps: float) -> None:
    with ProjectStore.open(project) as store:
        info = probe_video(store.video_path)
        mask = np.zeros((info.height_px, info.width_px), bool)
        mask[10:30, 10:40] = True
        run = store.start_run(model={"weights": None}, settings={"fps": fps, "stride": None})
        print(f"ok {run}", flush=True)
        for line in sys.stdin:
            command, *rest = line.split()
            if command == "frame":
                index = int(rest[0])
                store.write_frame(run, Frame(index, info.pts_s[index], info.width_px, info.height_px),
                                  [Detection(index, DamageLevel.SEVERE, 0.9, (10.0, 10.0, 40.0, 30.0),
                                             RleMask.from_array(mask))])
            elif command == "finish":
                store.finish_run(run)
            elif command == "quit":
                print(f"ok {run}", flush=True)
                return
            print(f"ok {run}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]))
