"""Does fine-tuning on a few reviewed frames fix a flight the shipped model handles poorly?

A synthetic flight is rendered in a look the shipped detector was never trained on
(:data:`engine.synth.style.LOOKS`; default ``false-colour``: every hue turned to its
complement, so roofs, bare decking, tarps and lawns all change colour; ``ochre-dust``:
orange ground under the orange decking of damaged roofs, haze). It is analysed with the
shipped model; an analyst's review is simulated from the ground truth on K frames
spread over the flight (each detection accepted when it matches a true damaged part
with mask IoU >= 0.5, relabelled when its level is wrong, redrawn when its outline is
poor, rejected otherwise; missed parts drawn in). ``damagemap finetune`` then trains
for a fixed CPU time budget, the flight is analysed again with the improved model, and
mask AP (the paper's protocol) on the *other* frames of the flight, which nobody
reviewed, is printed before and after, as a table.

    python bench/bench_finetune.py --threads 1           # K = 20, 10 minutes
    python bench/bench_finetune.py --minutes 2 --seconds 8 --k 8   # a quick look

The machine's CPU is named in the table; it is shared with other work, so the number
of fine-tune steps done in the budget varies from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _machine import cpu_name  # noqa: E402 - bench/ is on sys.path when a script runs


def mask_iou(a, b) -> float:  # noqa: ANN001 - RleMask
    x, y = a.to_array().astype(bool), b.to_array().astype(bool)
    union = np.logical_or(x, y).sum()
    return float(np.logical_and(x, y).sum() / union) if union else 0.0


def simulate_review(store, run_id: int, truth: dict[int, list], frames: list[int]) -> dict[str, int]:  # noqa: ANN001
    """The analyst's decisions on ``frames``, from the ground truth."""
    from core.review import AddDetection, Relabel, ReviewSession, SetMask, SetReview
    from core.types import ReviewState

    session = ReviewSession(store, run_id, author="bench")
    counts = {"accepted": 0, "relabelled": 0, "redrawn": 0, "rejected": 0, "added": 0}
    for frame in frames:
        parts = list(truth.get(frame, []))
        detections = sorted(store.detections(run_id, frame_index=frame), key=lambda d: -d.final_score)
        used: set[int] = set()
        for det in detections:
            best, best_iou = None, 0.0
            for index, part in enumerate(parts):
                if index in used or det.mask is None or part.mask is None:
                    continue
                iou = mask_iou(det.mask, part.mask)
                if iou > best_iou:
                    best, best_iou = index, iou
            if best is None or best_iou < 0.5:
                session.apply(SetReview(det.id, ReviewState.REJECTED))
                counts["rejected"] += 1
                continue
            used.add(best)
            part = parts[best]
            if part.level != det.level:
                session.apply(Relabel(det.id, part.level))
                counts["relabelled"] += 1
            if best_iou < 0.75:
                session.apply(SetMask(det.id, part.mask))
                counts["redrawn"] += 1
            if part.level == det.level and best_iou >= 0.75:
                session.apply(SetReview(det.id, ReviewState.ACCEPTED))
                counts["accepted"] += 1
        for index, part in enumerate(parts):
            if index not in used:
                session.apply(AddDetection(run_id, replace(part, id=None, frame_index=frame)))
                counts["added"] += 1
    return counts


def analyse(store, weights: Path | None, *, new_run: bool) -> tuple[int, float]:  # noqa: ANN001
    from services.analysis import AnalysisRequest
    from services.analysis import analyse as run

    request = AnalysisRequest(device="cpu", weights=weights, srn=False, new_run=new_run)
    started = time.perf_counter()
    for _ in run(store, request):
        pass
    return store.latest_run_id(), time.perf_counter() - started


def render_test_flight(args: argparse.Namespace, prefix: str):  # noqa: ANN201 - engine.synth's flight
    """Set the torch threads, then render the flight the options ask for (``--look``, ``--seconds``,
    ``--fps``, ``--size``, ``--seed``, ``--out``; every frame annotated). Returns (folder, flight)."""
    import torch

    from engine.synth import render_flyover
    from engine.synth.style import forced_look

    if args.threads:
        torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.lower().split("x"))
    out = args.out or Path(tempfile.mkdtemp(prefix=prefix))
    out.mkdir(parents=True, exist_ok=True)
    with forced_look(args.look):
        flight = render_flyover(out / "flight", seconds=args.seconds, fps=args.fps, size=(width, height),
                                seed=args.seed, annotate_every=1, split="test")
    return out, flight


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--look", default="false-colour", help="a look of engine.synth.style.LOOKS (default false-colour)")
    parser.add_argument("--seconds", type=float, default=15.0, help="flight length (default 15 s)")
    parser.add_argument("--fps", type=float, default=4.0, help="frames per second (default 4: 60 frames)")
    parser.add_argument("--size", default="640x360", help="frame size WxH (default 640x360, the model's)")
    parser.add_argument("--k", type=int, default=20, help="frames reviewed (default 20)")
    parser.add_argument("--minutes", type=float, default=10.0, help="fine-tune CPU budget (default 10)")
    parser.add_argument("--lr", type=float, default=0.005, help="fine-tune learning rate (default 0.005)")
    parser.add_argument("--seed", type=int, default=31, help="flight seed (default 31)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=None, help="keep the flight and project here")
    args = parser.parse_args()

    import torch

    from core.store import ProjectStore
    from engine.evaluate import evaluate_results
    from geo.evaluation import detections_from_coco
    from services.finetune import FinetuneRequest, finetune_project, model_output, results_for
    from services.models import find_model

    timings: dict[str, float] = {}
    started = time.perf_counter()
    out, flight = render_test_flight(args, "bench-finetune-")
    timings["render"] = time.perf_counter() - started
    detections, _ = detections_from_coco(flight.annotations)
    truth: dict[int, list] = {}
    for det in detections:
        truth.setdefault(det.frame_index, []).append(det)
    frames = list(range(flight.frame_count))
    reviewed = sorted({int(round(v)) for v in np.linspace(0, len(frames) - 1, args.k)})
    others = [f for f in frames if f not in set(reviewed)]
    print(f"flight: {flight.frame_count} frames {args.size}, look {args.look}, {len(detections)} damaged parts; "
          f"reviewing {len(reviewed)} frames, measuring on {len(others)}", file=sys.stderr)

    document = json.loads(flight.annotations.read_text())
    keep = set(others)
    images = [dict(img, id=img["frame_index"] + 1) for img in document["images"] if img["frame_index"] in keep]
    by_old = {img["id"]: img["frame_index"] + 1 for img in document["images"] if img["frame_index"] in keep}
    gt = {"images": images, "categories": document["categories"],
          "annotations": [dict(a, image_id=by_old[a["image_id"]]) for a in document["annotations"] if a["image_id"] in by_old]}

    project = out / "flight.dmproj"
    if project.exists():
        project.unlink()
    with ProjectStore.create(project, video_path=flight.video, telemetry_path=flight.srt) as store:
        run_before, timings["analyse before"] = analyse(store, None, new_run=False)
        before = evaluate_results(gt, results_for(model_output(store, run_before), others))
        counts = simulate_review(store, run_before, truth, reviewed)
    print(f"review: {counts}; mask AP before {before['segm']['AP'] * 100:.1f}", file=sys.stderr)

    request = FinetuneRequest(minutes=args.minutes, holdout_every=0, device="cpu", lr=args.lr, seed=0)
    started = time.perf_counter()
    last = None
    for last in finetune_project(project, request):
        if last.step % 10 == 0 or last.state != "running":
            print(f"fine-tune step {last.step}, {last.elapsed_s:.0f} s, loss {last.losses.get('loss', float('nan')):.3f}",
                  file=sys.stderr)
    timings["fine-tune (incl. export, replay)"] = time.perf_counter() - started
    assert last is not None and last.weights is not None
    version = find_model(project)

    with ProjectStore.open(project) as store:
        run_after, timings["analyse after"] = analyse(store, version.weights, new_run=True)
        after = evaluate_results(gt, results_for(model_output(store, run_after), others))

    def row(name: str, b: float, a: float) -> str:
        ratio = f"{a / b:.2f}x" if b > 0 else "-"
        return f"{name:<14}{b * 100:>9.1f}{a * 100:>9.1f}{(a - b) * 100:>+9.1f}{ratio:>9}"

    print()
    print(f"Fine-tune on {len(reviewed)} reviewed frames, measured on the {len(others)} other frames of the flight")
    print(f"flight: look {args.look!r}, seed {args.seed}, {flight.frame_count} frames {args.size}; "
          f"review: {', '.join(f'{k} {v}' for k, v in counts.items())}")
    print(f"fine-tune: {last.step} steps in {last.summary['elapsed_s']:.0f} s (budget {args.minutes:g} min), "
          f"scope {last.summary['scope']}, lr {args.lr:g}, batch 2 (1 reviewed + 1 synthetic replay frame)")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f} at the end (shared with other work)")
    print()
    print(f"{'metric (%)':<14}{'before':>9}{'after':>9}{'gain':>9}{'ratio':>9}")
    for key, label in (("segm", "mask"), ("bbox", "box")):
        for metric in ("AP", "AP25", "AP50"):
            print(row(f"{label} {metric}", before[key][metric], after[key][metric]))
    print()
    print("times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print(f"project: {project}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
