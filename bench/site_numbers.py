"""What keeping site numbers and decided sites costs a map build.

A site keeps its number across builds (``geo.site_numbers``, the numbers kept in the
project) and a site decided as a whole stays whole (``geo.regroup.DecidedSite``). Both run
on every build of a project's map: after each review edit and threshold move. This
times, on a copy of an analysed project (the demo's, say), the
map build from scratch (the reference) and each added part: numbering the sites against
the kept numbers, keeping one for every sighting (a first build; later builds keep only the
sightings placed for the first time and new numbers),
and regrouping around every site decided as a whole (every confirmed site accepted, the
most there can be), at the project's threshold and at a low one where fusion takes them
apart. Median of ``--repeats`` runs; the CPU is named.

    python bench/site_numbers.py --project demo.dmproj [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._machine import cpu_name  # noqa: E402

#: A threshold low enough that fusion groups the sightings otherwise (the decided sites
#: taken apart and joined to the sightings it lets in)
LOW = 0.1


def _median_ms(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True,
                        help="an analysed project (`damagemap demo --no-gui` makes one); its folder is copied")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    from core.store import ProjectStore
    from geo.regroup import DecidedSite, regroup
    from geo.site_numbers import number_sites
    from services.maps import clear_cache, damage_map

    with tempfile.TemporaryDirectory() as tmp:
        # the project's folder copied whole: its video and telemetry are found beside it
        folder = Path(shutil.copytree(args.project.resolve().parent, Path(tmp) / "copy"))
        project = folder / args.project.name
        with ProjectStore.open(project) as store:
            run_id = store.latest_run_id()

            def build():
                clear_cache()
                return damage_map(store, run_id)

            built = build()
            fused = built.all_fused
            kept = store.site_numbers(run_id)
            every = {int(m.detection.id): f.site.id for f in fused for m in f.members}
            threshold = store.project_settings().min_score  # the decisions made on this map
            decided = [DecidedSite(frozenset(m.detection.id for m in f.members), threshold) for f in built.fused]
            rows = [
                ("map build, from scratch (reference)", _median_ms(build, args.repeats)),
                ("  numbering the sites against the kept numbers", _median_ms(lambda: number_sites(fused, kept),
                                                                               args.repeats)),
                ("  keeping every detection's number (a first build)",
                 _median_ms(lambda: store.add_site_numbers(run_id, every), args.repeats)),
                (f"  regrouping around {len(decided)} sites decided whole",
                 _median_ms(lambda: regroup(fused, decided, camera=built.camera, local=built.local,
                                            settings=built.fusion), args.repeats)),
            ]
            low_settings = replace(store.project_settings(), min_score=LOW)
            low = damage_map(store, run_id, settings=low_settings).all_fused

            def build_low():
                clear_cache()
                return damage_map(store, run_id, settings=low_settings)

            rows.append((f"map build at threshold {LOW}, from scratch", _median_ms(build_low, args.repeats)))
            rows.append((f"  regrouping around the {len(decided)} decided, {len(low)} sites there",
                         _median_ms(lambda: regroup(low, decided, camera=built.camera, local=built.local,
                                                    settings=built.fusion), args.repeats)))
    print(f"{len(fused)} sites, {sum(len(f.members) for f in fused)} sightings; median of {args.repeats}; "
          f"{cpu_name()}")
    print(f"| {'step':<52} | {'ms':>8} | {'ratio':>6} |")
    print(f"|{'-' * 54}|{'-' * 10}|{'-' * 8}|")
    reference = rows[0][1]
    for name, ms in rows:
        print(f"| {name:<52} | {ms:8.1f} | {ms / reference:6.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
