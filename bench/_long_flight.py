"""A long flight's project without the detector, for the benches that time a project's
map, review and exports at a relief team's scale (a 20-30 minute flight analysed at
2 frames a second: thousands of frames, tens of thousands of stored detections).

The detections are a rendered flyover's ground truth (``damagemap synth --annotate-every
1``, every frame annotated), a share of them dropped and the rest scored as a detector
might, plus false detections at low scores (small blobs anywhere in the frame, more of
them near the horizon where a detector's false alarms gather), so that each frame holds
some 10-30 detections at a score of 0.2 or more, as a detector's stored output does.

Make one::

    damagemap synth /tmp/long --seconds 1200 --fps 2 --size 640x360 --annotate-every 1 --no-orthophoto
    python bench/_long_flight.py /tmp/long /tmp/long/long.dmproj
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Share of the true damage the stand-in detector misses, and the false detections per
#: frame it adds (uniform between these), scored between 0.2 and 0.5 mostly.
MISSED_SHARE = 0.15
FALSE_PER_FRAME = (4, 20)


def _false_detection(rng: np.random.Generator, frame_index: int, width: int, height: int):  # noqa: ANN202 - Detection
    """A low-score blob somewhere in the frame (a third of them in its top fifth, far away)."""
    from core.masks import RleMask
    from core.types import DamageLevel, Detection

    w = int(rng.integers(6, max(8, width // 10)))
    h = int(rng.integers(6, max(8, height // 10)))
    x0 = int(rng.integers(0, width - w))
    top = height // 5 if rng.random() < 1 / 3 else height - h
    y0 = int(rng.integers(0, max(1, min(top, height - h))))
    yy, xx = np.mgrid[0:height, 0:width]
    inside = ((xx - (x0 + w / 2)) / (w / 2)) ** 2 + ((yy - (y0 + h / 2)) / (h / 2)) ** 2 <= 1.0
    score = float(np.clip(0.2 + rng.beta(1.2, 9.0), 0.2, 0.99))
    return Detection(frame_index, DamageLevel(int(rng.integers(1, 4))), round(score, 3),
                     (float(x0), float(y0), float(x0 + w), float(y0 + h)), mask=RleMask.from_array(inside))


def make_long_flight_project(flyover: Path, project: Path, *, seed: int = 0) -> Path:
    """``project`` (replaced) from the flyover folder ``flyover`` (``flight.mp4``,
    ``flight.SRT``, ``annotations/instances_train.json``): one finished run of its ground
    truth, a share missed, scored, with low-score false detections added."""
    from core.store import ProjectStore
    from core.types import Frame
    from geo.evaluation import detections_from_coco

    truth, times = detections_from_coco(next((flyover / "annotations").glob("instances_*.json")))
    width, height = truth[0].mask.width_px, truth[0].mask.height_px  # type: ignore[union-attr]
    by_frame = defaultdict(list)
    for detection in truth:
        by_frame[detection.frame_index].append(detection)
    rng = np.random.default_rng(seed)
    for leftover in project.parent.glob(project.name + "*"):
        leftover.unlink()
    # written in memory where the system has a RAM disk (a commit per frame waits on the disk), then moved
    scratch = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else project.parent))
    written = scratch / project.name
    with ProjectStore.create(written, video_path=(flyover / "flight.mp4").resolve(),
                             telemetry_path=(flyover / "flight.SRT").resolve()) as store:
        run = store.start_run(model={"name": "ground truth, scored, with false detections"}, settings={})
        for index in sorted(times):
            kept = [replace(d, id=None, score=round(float(rng.uniform(0.35, 0.98)), 3))
                    for d in by_frame[index] if rng.random() >= MISSED_SHARE]
            kept += [_false_detection(rng, index, width, height) for _ in range(int(rng.integers(*FALSE_PER_FRAME)))]
            store.write_frame(run, Frame(index, times[index], width, height), kept)
        store.finish_run(run)
        footprints = flyover / "footprints.geojson"
        if footprints.is_file():  # the relief package grades them, as a relief team's would be
            from services.package import set_product_sources

            set_product_sources(store, footprints=footprints.resolve())
    shutil.move(written, project)
    shutil.rmtree(scratch)
    return project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flyover", type=Path, help="a folder written by damagemap synth --annotate-every 1")
    parser.add_argument("project", type=Path, help="the project to write (replaced)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    make_long_flight_project(args.flyover, args.project, seed=args.seed)
    from core.store import ProjectStore

    with ProjectStore.open(args.project, read_only=True) as store:
        run = store.runs()[-1].id
        detections = store.detections(run, masks=False)
        frames = len(store.analysed_frames(run))
    print(f"{args.project}: {frames} frames, {len(detections)} detections "
          f"({sum(d.score >= 0.5 for d in detections)} at 0.5 or more)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
