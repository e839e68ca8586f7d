"""Review by site: how many actions settle a flight, and how fast the queue and the
Sites panel are.

1. **Actions to settle every site** on a synthetic flight whose truth is known: the
   ground truth stored as an analysis run, with a quarter of the sightings dropped,
   15% of the levels flipped and random scores (so the queue has doubts to show).
   Settling a site is one decision (accept, reject or relabel); a site that fused
   sightings of several buildings needs one split per extra building first. Compared
   with one action per detection (the detection table) and with the target of at
   most 1.1 actions per site. With ``--project P`` (e.g. the demo's), the sites and
   detections of that project are counted instead (no truth: no splits).
2. **Queue at scale**: ``--detections`` sightings (100,000 by default) spread over sites
   of ``--per-site`` sightings: :func:`core.sites.review_queue` (order and reasons),
   :class:`services.sites.SiteReview` (index), a threshold count, and the Sites panel's
   list filled with every site (thumbnails come later, a few per event-loop turn).
3. **Crops**: selecting each site of the flight in the panel: what the GUI thread
   spends (its frame time while stepping through sites) and how long until every crop
   of the site is drawn (decoded on the job thread), median and max milliseconds.

Run headless::

    QT_QPA_PLATFORM=offscreen python bench/bench_site_review.py [--seconds 20] [--detections 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path


def _ms(f, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def make_flight(folder: Path, seconds: float, seed: int) -> tuple[Path, dict[int, int]]:
    """A perturbed ground-truth project; returns it and detection id -> building id."""
    from core.store import ProjectStore
    from core.types import DamageLevel, Frame
    from engine.synth import render_flyover
    from geo.evaluation import detections_from_coco

    fly = render_flyover(folder, seconds=seconds, fps=10.0, size=(640, 360), seed=seed)
    import json

    doc = json.loads(Path(fly.annotations).read_text())
    building_of_annotation = {a["id"]: a.get("building_id") for a in doc["annotations"]}
    detections, times = detections_from_coco(fly.annotations)
    rng = random.Random(seed)
    building: dict[int, int] = {}
    path = folder / "flight.dmproj"
    with ProjectStore.create(path, video_path=fly.video, telemetry_path=fly.srt) as store:
        run = store.start_run(model={"name": "ground truth, perturbed"}, settings={})
        mask = next(d.mask for d in detections if d.mask is not None)
        for index in sorted(times):
            kept, truth = [], []
            for d in detections:
                if d.frame_index != index or rng.random() < 0.25:
                    continue
                level = d.level
                if rng.random() < 0.15:
                    level = DamageLevel(max(1, min(3, int(level) + rng.choice((-1, 1)))))
                kept.append(replace(d, id=None, level=level, score=round(rng.uniform(0.3, 0.98), 3)))
                truth.append(building_of_annotation.get(d.id))
            ids = store.write_frame(run, Frame(index, times[index], mask.width_px, mask.height_px), kept)
            building.update({i: b for i, b in zip(ids, truth) if b is not None})
        store.finish_run(run)
    return path, building


def actions_to_settle(project: Path, building: dict[int, int]) -> None:
    from core.store import ProjectStore
    from services.sites import site_review

    with ProjectStore.open(project) as store:
        review = site_review(store)
        detections = len(store.detections(review.run_id))
    sites = len(review.queue)
    splits = 0
    for site in review.sites:
        buildings = Counter(building[i] for i in site.detection_ids if i in building)
        splits += max(0, len(buildings) - 1)
    actions = sites + splits
    print("\n## Actions to settle every site\n")
    print("| detections | sites | splits needed | actions by site | actions by detection | actions / site | target |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {detections} | {sites} | {splits} | {actions} | {detections} | {actions / max(sites, 1):.2f} | <= 1.10 |")
    reasons = Counter(item.reason.split(";")[0].split(":")[0].split(" 0.")[0] for item in review.queue)
    print("\nqueue reasons (first reason of each site): " + ", ".join(f"{k}: {v}" for k, v in reasons.most_common()))


def queue_at_scale(n_detections: int, per_site: int, repeats: int) -> None:
    from core.sites import Sighting, SiteSummary, review_queue
    from core.types import DamageLevel, ReviewState
    from services.sites import SiteReview

    rng = random.Random(0)
    sites = []
    det = 0
    for site_id in range(1, n_detections // per_site + 1):
        sightings = []
        base = rng.choice(list(DamageLevel))
        for k in range(rng.randint(1, 2 * per_site - 1)):
            level = base if rng.random() > 0.1 else rng.choice(list(DamageLevel))
            sightings.append(Sighting(det, site_id * 10 + k, (site_id * 10 + k) / 10.0, level,
                                      rng.uniform(0.3, 1.0), ReviewState.PENDING))
            det += 1
        sites.append(SiteSummary(site_id, base, rng.uniform(0.3, 1.0), -85.0 + site_id * 1e-5, 30.0,
                                 tuple(sightings), sightings[0].frame_index, sightings[0].detection_id))
    queue = review_queue(sites, 0.5)
    site_of = {s.detection_id: site.site_id for site in sites for s in site.sightings}
    t_queue = _ms(lambda: review_queue(sites, 0.5), repeats)
    t_index = _ms(lambda: SiteReview(1, 0.5, review_queue(sites, 0.5), site_of), repeats)
    review = SiteReview(1, 0.5, queue, site_of)
    t_count = _ms(lambda: review.count_at(0.7), repeats)

    from PySide6.QtWidgets import QApplication

    from app.document import ProjectDocument
    from app.panels.site_review_panel import SiteReviewPanel

    QApplication.instance() or QApplication([])
    panel = SiteReviewPanel(ProjectDocument())
    panel._fill_grid = lambda site: None  # no video here: the list alone
    panel.resize(520, 800)
    panel.show()
    t_panel = _ms(lambda: panel._show(review), repeats)
    t_step = _ms(lambda: panel.step(1), 200)
    print(f"\n## Queue at scale: {det} detections in {len(sites)} sites\n")
    print("| step | median ms | max ms |")
    print("|---|---|---|")
    for name, values in (("review_queue (order + reasons)", t_queue), ("SiteReview (queue + index)", t_index),
                         ("count at a threshold", t_count), ("Sites panel: list filled", t_panel),
                         ("Sites panel: next site (list only)", t_step)):
        print(f"| {name} | {statistics.median(values):.1f} | {max(values):.1f} |")
    print("\ntarget: the queue opens and filters in <= 200 ms")


def crops(project: Path) -> None:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.document import ProjectDocument
    from app.panels.site_review_panel import SiteReviewPanel

    app = QApplication.instance() or QApplication([])
    doc = ProjectDocument()
    panel = SiteReviewPanel(doc)
    panel.resize(520, 800)
    panel.show()
    loop = QEventLoop()
    panel.sites_updated.connect(loop.quit)
    QTimer.singleShot(120_000, loop.quit)
    doc.open_path(project)
    loop.exec()

    def settle() -> None:
        while not panel.thumbnails_done:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)

    t = time.perf_counter()
    settle()  # every list thumbnail
    thumbs_s = time.perf_counter() - t
    # the GUI thread's share: the handler that draws arrived crops, timed around it
    drawn: list[float] = []
    original = panel._on_crops

    def timed(target, crops_):  # noqa: ANN001
        t0 = time.perf_counter()
        original(target, crops_)
        drawn.append((time.perf_counter() - t0) * 1000.0)

    panel._on_crops = timed
    size = f"{doc.video_info.width_px}x{doc.video_info.height_px}"
    select, whole = [], []
    for site in panel.review.sites:
        t = time.perf_counter()
        select += _ms(lambda s=site: panel.select_site(s.site_id), 1)
        settle()
        whole.append((time.perf_counter() - t) * 1000.0)
    doc.close()
    print(f"\n## Crops ({len(select)} sites, up to {panel.GRID_SIZE} crops each, {size} video)\n")
    print(f"every list thumbnail drawn {thumbs_s:.1f} s after the list opened (job thread, "
          f"{panel.THUMBS_PER_JOB} per batch)\n")
    print("| step | median ms | max ms |")
    print("|---|---|---|")
    for name, values in (("GUI thread: select the next site (row, placeholders, job asked)", select),
                         ("GUI thread: draw a batch of arrived crops", drawn),
                         ("every crop of a site drawn (job thread decodes)", whole)):
        print(f"| {name} | {statistics.median(values):.1f} | {max(values):.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="count an existing project's sites instead of a synthetic flight")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--detections", type=int, default=100_000)
    parser.add_argument("--per-site", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.project is not None:
            project, building = args.project, {}
        else:
            project, building = make_flight(Path(tmp), args.seconds, args.seed)
        actions_to_settle(project, building)
        queue_at_scale(args.detections, args.per_site, args.repeats)
        crops(project)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
