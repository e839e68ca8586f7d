"""A long flight's map built cold, this checkout against another git revision, runs taking turns.

A cold build (every cache empty: the project just opened) places each detection's mask
outline on the ground (``geo.observe``) and fuses the sightings into sites
(``geo.fusion``); on a 4-5 minute flight analysed at 2 frames a second (10-15 thousand
detections) those two were most of its time. This script exports the other revision
(``git archive``, no git state changed) into a temporary folder and builds the same
project's map in each tree in turn (``_revisions.py``), each run a fresh process on a copy of the project,
and prints a table: the median wall seconds of the whole build, of the placement
(``geo.mapping.place_detections``) and of the fusion (``geo.mapping.fuse_observations``)
in each tree, the same in the process's CPU seconds (on a shared machine the wall clock
waits for other processes too), and their ratio (this checkout's over the other's).

Run::

    python bench/bench_map_cold.py --project flight.dmproj --base HEAD~2 [--pairs 5]

(a project: ``damagemap synth`` a flight and ``damagemap analyze --fps 2`` it, or
``bench/_long_flight.py`` for one without the detector.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_name  # noqa: E402
from _project_copy import project_copy  # noqa: E402
from _revisions import ROOT, revision_tree, run_in_tree  # noqa: E402

#: run inside a tree (its own ``geo``/``services``): one cold build timed, as JSON on the last line
_ONE_RUN = """
import json, sys, time
from pathlib import Path
import geo.mapping
from core.store import ProjectStore
from services import maps

spent = {"placement": 0.0, "fusion": 0.0, "placement cpu": 0.0, "fusion cpu": 0.0}

def timed(name, function):
    def call(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start
            spent[name + " cpu"] += time.process_time() - cpu
    return call

geo.mapping.place_detections = timed("placement", geo.mapping.place_detections)
geo.mapping.fuse_observations = timed("fusion", geo.mapping.fuse_observations)
maps.clear_cache()
with ProjectStore.open(Path(sys.argv[1]), read_only=True) as store:
    start, cpu = time.perf_counter(), time.process_time()
    built = maps.damage_map(store)
    spent["build"] = time.perf_counter() - start
    spent["build cpu"] = time.process_time() - cpu
spent["sites"] = len(built.fused) + len(built.unconfirmed)
print(json.dumps(spent))
"""

STEPS = ("build", "placement", "fusion", "build cpu", "placement cpu", "fusion cpu")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, required=True, help="the project whose map is built")
    parser.add_argument("--base", required=True, help="git revision to compare this checkout against")
    parser.add_argument("--pairs", type=int, default=5, help="builds in each tree (default: 5)")
    args = parser.parse_args(argv)
    if not args.project.is_file():
        raise SystemExit(f"{args.project}: no such project")
    times: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
    with revision_tree(args.base) as base, project_copy(args.project.resolve(), "cold") as copy:
        trees = {"base": base, "this": ROOT}
        for pair in range(args.pairs):
            for name in ("base", "this") if pair % 2 == 0 else ("this", "base"):
                times[name].append(run_in_tree(trees[name], _ONE_RUN, str(copy), what="the map build"))
                print(f"{name} {pair + 1}/{args.pairs}: {times[name][-1]['build']:.2f} s", file=sys.stderr, flush=True)
    sites = {name: {int(run["sites"]) for run in runs} for name, runs in times.items()}
    print(f"median seconds of {args.pairs} cold map builds each ({cpu_name()}; "
          f"{args.project.name}, sites {sorted(sites['this'])} here, {sorted(sites['base'])} at {args.base})")
    print(f"{'step':<14} {args.base:>12} {'this':>8} {'ratio':>6}")
    for step in STEPS:
        base = statistics.median(run[step] for run in times["base"])
        this = statistics.median(run[step] for run in times["this"])
        print(f"{step:<14} {base:12.2f} {this:8.2f} {this / base:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
