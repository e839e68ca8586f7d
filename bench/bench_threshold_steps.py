"""How long the map takes to follow the score threshold slider down a long flight.

Each step of the slider builds the map again at the new threshold: the sightings it lets
in join sites, and those sites are built again (placed, their sightings' outlines moved to
their roof planes and joined). What did not change is kept between builds (``geo.observe``,
``geo.fusion``); the sites built again are built on a few threads (``geo.parallel``). This
bench builds the map at 0.50, then steps down by 0.05 to 0.25, from nothing each repeat
(every cache emptied first), and times each build. The reference is the same with the
sites built on one thread.

Run::

    python bench/bench_threshold_steps.py --project damagemap-demo/demo.dmproj [--repeats 3]

(``damagemap demo --no-gui --seconds 300`` makes a 5-minute flight's project.)
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import cpu_name  # noqa: E402

THRESHOLDS = (0.50, 0.45, 0.40, 0.35, 0.30, 0.25)


def _steps(project: Path) -> list[float]:
    """Seconds to build the map at each of :data:`THRESHOLDS`, in turn, from nothing."""
    from core.store import ProjectStore
    from services import maps

    maps.clear_cache()
    seconds = []
    with ProjectStore.open(project, read_only=True) as store:
        settings = store.project_settings()
        for threshold in THRESHOLDS:
            start = time.perf_counter()
            maps.damage_map(store, settings=dataclasses.replace(settings, min_score=threshold))
            seconds.append(time.perf_counter() - start)
    return seconds


def main() -> int:
    import geo.fusion
    from geo.parallel import thread_workers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a project (read, not changed)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of every step, each way")
    args = parser.parse_args()
    threaded_sites = geo.fusion.THREADED_SITES
    runs: dict[str, list[list[float]]] = {"one thread (reference)": [], f"{thread_workers()} threads": []}
    for _ in range(args.repeats):  # alternated, so that a busier minute weighs on both
        for label in runs:
            geo.fusion.THREADED_SITES = 10**9 if label.startswith("one") else threaded_sites
            runs[label].append(_steps(args.project))
    geo.fusion.THREADED_SITES = threaded_sites
    medians = {label: [statistics.median(run[k] for run in seconds) for k in range(len(THRESHOLDS))]
               for label, seconds in runs.items()}
    reference = medians["one thread (reference)"]
    print(f"Map at each threshold stepping down, {args.project.name}: seconds, median of {args.repeats}, "
          f"sites built on ({cpu_name()})")
    print(f"{'threshold':>9} " + " ".join(f"{label:>24}" for label in medians) + f" {'ratio':>6}")
    for k, threshold in enumerate(THRESHOLDS):
        row = " ".join(f"{medians[label][k]:23.2f}s" for label in medians)
        ratio = reference[k] / list(medians.values())[-1][k]
        print(f"{threshold:9.2f} {row} {ratio:5.2f}x" + ("  (first build)" if k == 0 else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
