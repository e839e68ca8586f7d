"""Review the sites of the first part of a flight, improve the model, map the rest.

The workflow the Sites panel and "Improve the model from my reviews" are for, measured
per damaged building: a synthetic flight (a seed the shipped model never saw, the usual
look unless ``--look``) is analysed with the shipped model; an analyst's review **by
site** is simulated on the sites the flight saw in its first part (every site the slider
shows, ``--shown``, whose sightings all lie in the first ``--review-share`` of the frames):
accepted when it lies within 5 m of a damaged building the flight filmed, rejected
otherwise, one decision a site, as in the Sites panel. ``damagemap finetune`` then trains
for a fixed CPU budget, the flight is analysed again with the improved model, and the
confirmed sites of the flight's last part (sighted after the first ``--measure-from`` of
the frames: houses nobody reviewed) are scored against the truth at several score
thresholds, before and after.

    python bench/bench_finetune_sites.py --seed 361 --threads 2        # about 17 minutes on 2 cores
    python bench/bench_finetune_sites.py --seed 362 --minutes 5

Prints the review's decisions, then one row per threshold: sites, precision and recall
with the shipped model and with the improved one. The CPU is named in the table; a shared
machine does fewer fine-tune steps in the same budget.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402
from bench_finetune import analyse, render_test_flight  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.6)


def review_sites_by_truth(store, run_id: int, flight, last_frame: int, shown: float) -> dict[str, int]:  # noqa: ANN001
    """Accept or reject, from the truth, each shown site seen only up to ``last_frame``."""
    from core.review import ReviewSession
    from core.sites import site_decision
    from core.types import ReviewState
    from geo.building_evaluation import evaluate_buildings, filmed_buildings, read_damaged_buildings
    from services.maps import clear_cache
    from services.sites import site_review

    clear_cache()
    filmed, glimpsed = filmed_buildings(flight.annotations)
    truth = read_damaged_buildings(flight.truth)
    session = ReviewSession(store, run_id, author="bench")
    counts = {"accepted": 0, "rejected": 0}
    for site in site_review(store, run_id).sites:
        if site.confidence < shown or max(s.frame_index for s in site.sightings) > last_frame:
            continue
        score = evaluate_buildings([(site.lon_deg, site.lat_deg)], truth, filmed, glimpsed)
        if score.sites == 0:
            continue  # beside a barely-seen damaged building: an analyst could not tell
        right = score.correct_sites == 1
        session.apply(site_decision(site, ReviewState.ACCEPTED if right else ReviewState.REJECTED))
        counts["accepted" if right else "rejected"] += 1
    return counts


def score_late_sites(store, run_id: int, flight, first_frame: int, frame_count: int) -> dict[float, tuple[int, float, float]]:  # noqa: ANN001
    """(sites, precision, recall) of the confirmed sites sighted from ``first_frame`` on, per threshold."""
    from geo.building_evaluation import evaluate_buildings, filmed_buildings
    from services.maps import clear_cache, damage_map

    late, late_glimpsed = filmed_buildings(flight.annotations, set(range(first_frame, frame_count)))
    filmed, glimpsed = filmed_buildings(flight.annotations)
    elsewhere = (filmed | glimpsed | late_glimpsed) - late  # neither right nor wrong here
    out = {}
    for threshold in THRESHOLDS:
        clear_cache()
        settings = replace(store.project_settings(), min_score=threshold)
        built = damage_map(store, run_id, settings=settings)
        points = [(f.site.lon_deg, f.site.lat_deg) for f in built.fused
                  if f.confirmed and max(m.detection.frame_index for m in f.members) >= first_frame]
        score = evaluate_buildings(points, flight.truth, late, elsewhere)
        out[threshold] = (score.sites, score.correct_sites / max(1, score.sites),
                          score.found_buildings / max(1, score.filmed_buildings))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=361, help="flight seed (default 361)")
    parser.add_argument("--look", default=None, help="a look of engine.synth.style.LOOKS (default: the usual draw)")
    parser.add_argument("--seconds", type=float, default=40.0, help="flight length (default 40 s)")
    parser.add_argument("--fps", type=float, default=4.0, help="frames per second rendered and analysed (default 4)")
    parser.add_argument("--size", default="960x540", help="frame size WxH (default 960x540)")
    parser.add_argument("--review-share", type=float, default=0.45,
                        help="sites seen only in this first share of the frames are reviewed (default 0.45)")
    parser.add_argument("--measure-from", type=float, default=0.55,
                        help="sites sighted after this share of the frames are scored (default 0.55)")
    parser.add_argument("--shown", type=float, default=0.5, help="the slider: sites scoring this are reviewed (0.5)")
    parser.add_argument("--minutes", type=float, default=10.0, help="fine-tune CPU budget (default 10)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=None, help="keep the flight and project here")
    args = parser.parse_args()

    import torch

    from core.store import ProjectStore
    from services.finetune import FinetuneRequest, finetune_project
    from services.models import find_model

    out, flight = render_test_flight(args, "bench-finetune-sites-")
    frames = flight.frame_count
    last_reviewed, first_measured = int(frames * args.review_share), int(frames * args.measure_from)

    project = out / "flight.dmproj"
    if project.exists():
        project.unlink()
    with ProjectStore.create(project, video_path=flight.video, telemetry_path=flight.srt) as store:
        run_before, _ = analyse(store, None, new_run=False)
        before = score_late_sites(store, run_before, flight, first_measured, frames)
        decisions = review_sites_by_truth(store, run_before, flight, last_reviewed, args.shown)
    print(f"review: {decisions}", file=sys.stderr)

    started = time.perf_counter()
    last = None
    for last in finetune_project(project, FinetuneRequest(minutes=args.minutes, holdout_every=0, device="cpu", seed=0)):
        pass
    finetune_s = time.perf_counter() - started
    assert last is not None and last.weights is not None
    with ProjectStore.open(project) as store:
        run_after, _ = analyse(store, find_model(project).weights, new_run=True)
        after = score_late_sites(store, run_after, flight, first_measured, frames)

    print()
    print(f"Sites of the flight's last part after a review by site of its first part (seed {args.seed}, "
          f"look {args.look or 'usual'}, {frames} frames {args.size} analysed)")
    print(f"review: {decisions['accepted']} sites accepted, {decisions['rejected']} rejected "
          f"(frames 0-{last_reviewed}, sites scoring >= {args.shown}); scored: confirmed sites sighted from "
          f"frame {first_measured} on")
    print(f"fine-tune: {last.step} steps in {finetune_s:.0f} s (budget {args.minutes:g} min), "
          f"scope {last.summary['scope']}; CPU: {cpu_name()}, {os.cpu_count()} cores, "
          f"torch threads {torch.get_num_threads()}")
    print()
    print("| score >= | shipped: sites | precision | recall | improved: sites | precision | recall |")
    print("|---|---|---|---|---|---|---|")
    for threshold in THRESHOLDS:
        b, a = before[threshold], after[threshold]
        print(f"| {threshold:.1f} | {b[0]} | {b[1]:.2f} | {b[2]:.2f} | {a[0]} | {a[1]:.2f} | {a[2]:.2f} |")
    print(json.dumps({"seed": args.seed, "before": before, "after": after, "review": decisions}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
