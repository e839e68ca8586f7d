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

Run::

    python bench/bench_map_rebuild.py --project damagemap-demo/demo.dmproj [--decisions 8] [--kept-only]

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


def _decisions(project: Path, count: int, *, keep: bool) -> list[float]:
    """Seconds from each decision to the site list read again (one per site)."""
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
        review = site_review(store)
        session = ReviewSession(store, review.run_id)
        for k in range(count):
            pending = [item.site for item in review.queue if not item.site.decided]
            if not pending:
                break
            session.apply(site_decision(pending[0], kinds[k % len(kinds)]))
            if not keep:
                maps.clear_cache()
            start = time.perf_counter()
            review = site_review(store)
            seconds.append(time.perf_counter() - start)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a project (it is copied; the copy is decided)")
    parser.add_argument("--decisions", type=int, default=8, help="decisions to time (one site each)")
    parser.add_argument("--kept-only", action="store_true", help="only the builds with what is kept between them")
    args = parser.parse_args()
    rows = []
    ways = (("nothing kept (reference)", False), ("kept between builds", True))
    for label, keep in ways[1:] if args.kept_only else ways:
        with project_copy(args.project, str(int(keep))) as copy:
            rows.append((label, _decisions(copy, args.decisions, keep=keep)))
    reference = statistics.median(rows[0][1])
    print(f"Map and site list after a review decision, {args.project.name} ({cpu_name()})")
    print(f"{'':28} {'decisions':>9} {'median s':>9} {'max s':>7} {'ratio':>6}")
    for label, seconds in rows:
        median = statistics.median(seconds)
        print(f"{label:28} {len(seconds):9d} {median:9.2f} {max(seconds):7.2f} {reference / median:5.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
