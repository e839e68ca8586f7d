"""How long the map takes to follow a review decision.

Every decision (accept, reject, relabel a site) changes what the map is derived from, so
the map and the site list are built again: the detections placed on the ground again
and fused into sites. Where a detection lies (its mask's outline, placed on the ground or
on a roof's plane from its frame's pose) does not change with a decision, and is kept
between builds, and so are the sites built of the very same sightings, the tracks'
locations and the footprints' overlaps (``geo.observe``, ``geo.fusion``). This bench
takes decisions on a copy of a project, one site after another, and times what the
review waits for after each: the map built
again and the site list read from it (``services.sites.site_review``). The reference is
the same with nothing kept between builds (every cache emptied before each decision).

A run the reviewer decided whole (``--run``: one of a project's earlier runs) has no
pending site left: there the reviewer changes their mind, relabelling one accepted site
after another. Each build also applies every decision made before (``geo.regroup``).
The table gives the wall-clock seconds and the process's CPU seconds (on a shared
machine the wall clock waits for other processes too).

Run::

    python bench/bench_map_rebuild.py --project damagemap-demo/demo.dmproj [--run N] [--decisions 8] [--kept-only]

(``--kept-only``: without the reference, for a long flight whose builds from nothing take
minutes.)

(``damagemap demo --no-gui`` makes the demo's project.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_name  # noqa: E402
from _project_copy import project_copy  # noqa: E402


def _decisions(project: Path, count: int, *, keep: bool, run: int | None = None) -> list[tuple[float, float]]:
    """Seconds from each decision to the site list read again (one per site): wall clock
    and the process's CPU."""
    from core.review import ReviewSession
    from core.sites import site_decision
    from core.store import ProjectStore
    from core.types import DamageLevel, ReviewState
    from services import maps
    from services.sites import site_review

    kinds = [ReviewState.ACCEPTED, ReviewState.REJECTED, DamageLevel.SEVERE]
    seconds = []
    maps.clear_cache()
    with ProjectStore.open(project) as store:
        review = site_review(store, run)
        session = ReviewSession(store, review.run_id)
        relabelled: set[int] = set()
        for k in range(count):
            pending = [item.site for item in review.queue if not item.site.decided]
            accepted = [item.site for item in review.queue
                        if item.site.state is ReviewState.ACCEPTED and item.site.site_id not in relabelled]
            if pending:
                decision = site_decision(pending[0], kinds[k % len(kinds)])
            elif accepted:  # a run decided whole: the reviewer changes their mind
                site = accepted[0]
                relabelled.add(site.site_id)
                decision = site_decision(site, next(level for level in DamageLevel if level is not site.level))
            else:
                break
            session.apply(decision)
            if not keep:
                maps.clear_cache()
            start, cpu = time.perf_counter(), time.process_time()
            review = site_review(store, run)
            seconds.append((time.perf_counter() - start, time.process_time() - cpu))
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a project (it is copied; the copy is decided)")
    parser.add_argument("--run", type=int, help="the run to decide (default: the latest)")
    parser.add_argument("--decisions", type=int, default=8, help="decisions to time (one site each)")
    parser.add_argument("--kept-only", action="store_true", help="only the builds with what is kept between them")
    args = parser.parse_args()
    rows = []
    ways = (("nothing kept (reference)", False), ("kept between builds", True))
    for label, keep in ways[1:] if args.kept_only else ways:
        with project_copy(args.project, str(int(keep))) as copy:
            rows.append((label, _decisions(copy, args.decisions, keep=keep, run=args.run)))
    if not rows[0][1]:
        print(f"{args.project.name}: no site to decide", file=sys.stderr)
        return 1
    reference = statistics.median(wall for wall, _ in rows[0][1])
    run = "" if args.run is None else f", run {args.run}"
    print(f"Map and site list after a review decision, {args.project.name}{run} ({cpu_name()})")
    print(f"{'':28} {'decisions':>9} {'median s':>9} {'max s':>7} {'CPU s':>6} {'ratio':>6}")
    for label, seconds in rows:
        median = statistics.median(wall for wall, _ in seconds)
        cpu = statistics.median(c for _, c in seconds)
        longest = max(wall for wall, _ in seconds)
        print(f"{label:28} {len(seconds):9d} {median:9.2f} {longest:7.2f} {cpu:6.2f} {reference / median:5.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
