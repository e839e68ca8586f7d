"""A site's confidence learned from its evidence over the flight, against the map's rule.

The map shows a site when it was detected in enough of the frames that showed it
(``geo.fusion.is_confirmed``) and its detections pass the score slider. This bench asks
whether a site-level score does better: a logistic regression on what every site carries
(frames that detected it, the share of the frames showing it that did, its best and mean
per-frame score), fitted on the sites of some flights and applied to others, each site
right or wrong by :func:`geo.building_evaluation.evaluate_buildings`.

It reads the flights and projects that ``bench/site_accuracy.py --work DIR`` left:

    python bench/site_accuracy.py --work DIR --seeds 301 ... 324
    python bench/site_rescoring.py --work DIR --fit 301 ... 312 --test 313 ... 324

Prints, for both sets of flights, the map's confirmation rule with the site's best score
at a few floors (close to the app's slider, which filters detections before the sites are
fused) and the fitted score at each cut-off (precision / recall of the damaged buildings,
pooled).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from geo.building_evaluation import BuildingEvaluation, DamagedBuildings, evaluate_buildings  # noqa: E402

#: the analysis's floor: every stored detection enters the sites
DEFAULT_FLOOR = 0.2


@dataclass(frozen=True)
class SiteRow:
    lonlat: tuple[float, float]
    features: np.ndarray  # log(1 + frames seen), seen share, best and mean per-frame score
    confirmed: bool
    right: bool | None  # None: on a barely filmed damaged building (not counted)

    @property
    def best_score(self) -> float:
        return float(self.features[2])


@dataclass(frozen=True)
class Flight:
    truth: DamagedBuildings
    filmed: set[int]
    glimpsed: set[int]
    sites: list[SiteRow]


def read_flight(work: Path, seed: int, floor: float = DEFAULT_FLOOR) -> Flight:
    from core.store import ProjectStore
    from geo.building_evaluation import filmed_in, largest_views, read_damaged_buildings
    from services.maps import damage_map

    flight = work / f"flight-{seed}"
    filmed, glimpsed = filmed_in(largest_views(flight / "annotations" / "instances_test.json"))
    truth = read_damaged_buildings(flight / "truth.geojson")
    store = ProjectStore.open(work / f"project-{seed}.damagemap", read_only=True)
    try:
        built = damage_map(store, settings=dataclasses.replace(store.project_settings(), min_score=floor))
    finally:
        store.close()
    rows = []
    for fused in built.all_fused:
        per_frame: dict[int, float] = {}
        for m in fused.members:
            per_frame[m.frame_index] = max(per_frame.get(m.frame_index, 0.0), m.detection.final_score)
        scores = np.array(list(per_frame.values()))
        share = fused.frames_seen / max(fused.frames_in_view, fused.frames_seen, 1)
        point = (fused.site.lon_deg, fused.site.lat_deg)
        evaluation = evaluate_buildings([point], truth, filmed, glimpsed)
        rows.append(SiteRow(point, np.array([np.log1p(fused.frames_seen), share, scores.max(), scores.mean()]),
                            fused.confirmed, bool(evaluation.correct_sites) if evaluation.sites else None))
    return Flight(truth, filmed, glimpsed, rows)


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights (intercept first) on standardised features, and the standardisation."""
    mean, spread = x.mean(0), x.std(0) + 1e-9
    z = np.c_[np.ones(len(x)), (x - mean) / spread]
    w = np.zeros(z.shape[1])
    for _ in range(50):  # Newton's method
        p = 1.0 / (1.0 + np.exp(-z @ w))
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + ridge * np.eye(len(w))
        w -= np.linalg.solve(hessian, z.T @ (p - y) + ridge * w)
    return w, mean, spread


def pooled(flights: list[Flight], keep: Callable[[SiteRow], bool]) -> BuildingEvaluation:
    """The sites ``keep`` keeps, scored on each flight and pooled."""
    total = BuildingEvaluation(0, 0, 0, 0, ())
    for flight in flights:
        points = [row.lonlat for row in flight.sites if keep(row)]
        total += evaluate_buildings(points, flight.truth, flight.filmed, flight.glimpsed)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="the folder bench/site_accuracy.py --work filled")
    parser.add_argument("--fit", type=int, nargs="+", required=True, metavar="SEED")
    parser.add_argument("--test", type=int, nargs="+", required=True, metavar="SEED")
    parser.add_argument("--floor", type=float, default=DEFAULT_FLOOR,
                        help="the lowest detection score that enters the sites (the analysis stores >= 0.2 "
                             "unless run with another --score-threshold)")
    parser.add_argument("--cutoffs", type=float, nargs="+", default=[0.4, 0.5, 0.55, 0.6, 0.65, 0.7])
    args = parser.parse_args(argv)
    work = Path(args.work)
    fit = [read_flight(work, seed, args.floor) for seed in args.fit]
    test = [read_flight(work, seed, args.floor) for seed in args.test]
    counted = [row for flight in fit for row in flight.sites if row.right is not None]
    w, mean, spread = fit_logistic(np.array([r.features for r in counted]),
                                   np.array([float(bool(r.right)) for r in counted]))
    print(f"fitted on {len(counted)} sites of seeds {args.fit}; weights on standardised "
          f"[log(1+seen), seen share, best score, mean score]: intercept {w[0]:.2f}, {np.round(w[1:], 2).tolist()}")

    def probability(row: SiteRow) -> float:
        return float(1.0 / (1.0 + np.exp(-(w[0] + ((row.features - mean) / spread) @ w[1:]))))

    print(f"\nprecision / recall of the damaged buildings (sites), pooled over the fit seeds and over the test "
          f"seeds {args.test}")
    print(f"{'rule':>34}  {'fit seeds':>18}  {'test seeds':>18}")

    def line(label: str, keep: Callable[[SiteRow], bool]) -> None:
        cells = [f"{e.precision:.2f} / {e.recall:.2f} ({e.sites:>3})" for e in (pooled(fit, keep), pooled(test, keep))]
        print(f"{label:>34}  {cells[0]:>18}  {cells[1]:>18}")

    line("every site", lambda row: True)
    for slider in sorted({args.floor} | {s for s in (0.2, 0.3, 0.4, 0.5) if s > args.floor}):
        line(f"confirmed, best score >= {slider:g}", lambda row, s=slider: row.confirmed and row.best_score >= s)
    for cutoff in args.cutoffs:
        line(f"fitted site score >= {cutoff:g}", lambda row, c=cutoff: probability(row) >= c)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
