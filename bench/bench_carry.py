"""How long a flight's new run takes to keep the reviewer's decisions of an earlier run.

A flight analysed again (``damagemap analyze --new-run``) gets, for each of its sites,
the decision made on the same damage in an earlier run (``services.sites.carry_outcome``,
``services.carry``): the earlier run's map is built (once, then kept), each decision's
site read off it, and every decision matched with the new run's sites. This bench makes,
on a copy of a project, a second run of its last run's detections (each box moved by a
pixel or two and its score by a few hundredths, as another frame rate or model would),
decides the first run's sites (accepted, rejected, relabelled in turn), and times:

* the reference: the new run's site list (``services.sites.site_review``), its map built
  from nothing, what the window shows the run with;
* the carry-over with the earlier run's map built first (the first time a run is shown);
* the carry-over with the earlier run's map kept (the app shows the run again).

Each is the median of ``--repeats`` runs; the ratios are to the reference measured in the
same run. The copy (with its second run and decisions) is made once and reused.

Run::

    python bench/bench_carry.py --project /tmp/long/long.dmproj --work /tmp/carry-bench [--repeats 3] [--profile]

(``bench/_long_flight.py`` makes a long flight's project.)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import cpu_name  # noqa: E402

#: How far a copied detection's box corners move (pixels, standard deviation) and its score.
BOX_JITTER_PX = 1.5
SCORE_JITTER = 0.03


def second_run(store, seed: int = 0) -> int:  # noqa: ANN001 - a ProjectStore
    """A finished new run of the store's last run's detections, jittered (undecided,
    as the detector stored them); its id."""
    from core.types import Frame, ReviewState

    rng = np.random.default_rng(seed)
    first = store.runs()[-1].id
    frames = store.analysed_frames(first)
    detections = store.detections(first)
    sized = next(d for d in detections if d.mask is not None)
    width, height = sized.mask.width_px, sized.mask.height_px
    by_frame: dict[int, list] = {}
    for d in detections:
        by_frame.setdefault(d.frame_index, []).append(d)
    run = store.start_run(model={"name": "the first run's detections, jittered"}, settings={"bench": "carry"})
    for index, t_s in sorted(frames.items()):
        moved = []
        for d in by_frame.get(index, []):
            x0, y0, x1, y1 = np.asarray(d.box_xyxy_px, dtype=float) + rng.normal(0.0, BOX_JITTER_PX, 4)
            x0, x1 = sorted((float(np.clip(x0, 0, width - 1)), float(np.clip(x1, 0, width - 1))))
            y0, y1 = sorted((float(np.clip(y0, 0, height - 1)), float(np.clip(y1, 0, height - 1))))
            score = float(np.clip(d.score + rng.normal(0.0, SCORE_JITTER), 0.01, 0.99))
            moved.append(replace(d, id=None, box_xyxy_px=(x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)),
                                 score=round(score, 3), refined_score=None, review=ReviewState.PENDING))
        store.write_frame(run, Frame(index, t_s, width, height), moved)
    store.finish_run(run)
    return run


def decide_sites(store, run_id: int) -> int:  # noqa: ANN001 - a ProjectStore
    """Decide every site of ``run_id`` in one step (accepted, rejected, relabelled Severe
    in turn); the number decided."""
    from core.review import ReviewSession, SiteDecisions
    from core.sites import site_decision
    from core.types import DamageLevel, ReviewState
    from services.sites import site_review

    kinds = [ReviewState.ACCEPTED, ReviewState.REJECTED, DamageLevel.SEVERE]
    sites = [item.site for item in site_review(store, run_id).queue if not item.site.decided]
    groups = tuple(site_decision(site, kinds[k % len(kinds)]) for k, site in enumerate(sites))
    if groups:
        ReviewSession(store, run_id).apply(SiteDecisions(groups))
    return len(groups)


def prepared(project: Path, work: Path) -> tuple[Path, int, int]:
    """The copy of ``project`` in ``work`` with a second run and the first run decided
    (made once): its path, the new run's id and the decisions made."""
    from core.store import ProjectStore

    work.mkdir(parents=True, exist_ok=True)
    copy = work / project.name
    if not copy.is_file():
        partial = work / (project.name + ".partial")
        shutil.copy(project, partial)
        with ProjectStore.open(partial) as store:
            first = store.runs()[-1].id
            second_run(store)  # of the detections as the detector left them: before the decisions
            decide_sites(store, first)
        shutil.move(partial, copy)
    with ProjectStore.open(copy, read_only=True) as store:
        runs = [run.id for run in store.runs()]
        decided = len([d for d in store.site_decisions() if d.run_id != runs[-1]])
    return copy, runs[-1], decided


def _median(fn: Callable[[], object], repeats: int, before: Callable[[], object] = lambda: None) -> float:
    times = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a project with a finished run")
    parser.add_argument("--work", type=Path, required=True, help="a folder for the copy (kept, reused)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also print where the carry-over's time goes")
    args = parser.parse_args()

    from core.store import ProjectStore
    from services import maps
    from services.sites import carry_outcome, site_review

    copy, run_id, decided = prepared(args.project, args.work)
    with ProjectStore.open(copy, read_only=True) as store:
        review = site_review(store, run_id)
        reference = _median(lambda: site_review(store, run_id), args.repeats, maps.clear_cache)

        def cold() -> None:
            maps.clear_cache()
            fresh = site_review(store, run_id)
            start = time.perf_counter()
            carry_outcome(store, fresh)
            cold_times.append(time.perf_counter() - start)

        cold_times: list[float] = []
        for _ in range(args.repeats):
            cold()
        first = statistics.median(cold_times)
        review = site_review(store, run_id)
        outcome = carry_outcome(store, review)
        kept = _median(lambda: carry_outcome(store, review), args.repeats)
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(carry_outcome, store, review)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

    print(f"carry-over of {decided} decisions to {len(review.queue)} sites "
          f"({outcome.sightings} sightings decided, {len(outcome.disputed)} left for review); "
          f"{args.project.name}, CPU: {cpu_name()}, median of {args.repeats}")
    print(f"{'':52} {'seconds':>8} {'ratio':>6}")
    print(f"{'reference: site list of the new run, map from nothing':52} {reference:8.2f} {1.0:6.2f}")
    print(f"{'carry-over, earlier map built':52} {first:8.2f} {first / reference:6.2f}")
    print(f"{'carry-over, earlier map kept':52} {kept:8.2f} {kept / reference:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
