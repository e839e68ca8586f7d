"""Does the SRN help? AP with and without refinement, same detector, same frames.

For each held-out flight (a video plus COCO/ISBDA annotations of some of its frames,
whose ``images`` carry ``frame_index``, as :func:`engine.synth.render_flyover` writes
them), the detector runs on every ``stride``-th frame of the video, a
:class:`~engine.srn.SequenceRefiner` refines the scores across adjacent analysed frames,
and the annotated frames are scored with the paper's protocol
(:func:`engine.evaluate.evaluate_results`) twice: with the detector's scores and with the
refined scores. Only the scores differ between the two result sets.

    python -m engine.srn.evaluate --weights msnet.safetensors --srn srn.safetensors FLIGHT_DIR...
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.errors import InputError
from engine.srn.refine import FramePredictions, RefinedFrame, ScoreRefiner, SequenceRefiner


@dataclass(frozen=True)
class Flight:
    """One held-out sequence: its video and the annotations of some of its frames."""

    video: Path
    annotations: Path

    @classmethod
    def from_dir(cls, folder: str | Path, split: str = "val") -> Flight:
        """A folder written by ``render_flyover(folder, split=...)``."""
        folder = Path(folder)
        flight = cls(folder / "flight.mp4", folder / "annotations" / f"instances_{split}.json")
        for path in (flight.video, flight.annotations):
            if not path.is_file():
                raise InputError(f"{folder}: expected {path.name} of a synthetic flyover (split {split!r})")
        return flight


@torch.no_grad()
def predict_flight(
    detector: torch.nn.Module,
    refiners: Mapping[str, ScoreRefiner],
    flight: Flight,
    *,
    stride: int = 1,
    device: str | torch.device = "cpu",
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Ground truth, plain results and each refiner's refined results of one flight.

    The detector runs once per frame; every refiner sees the same outputs and features.
    Results are COCO dicts in the same order in every list (only ``score`` differs).
    """
    from engine.evaluate import outputs_to_results
    from engine.video import iter_frames

    annotations = json.loads(flight.annotations.read_text(encoding="utf-8"))
    image_of_frame = {int(image["frame_index"]): int(image["id"]) for image in annotations["images"]}
    sequences = {name: SequenceRefiner(refiner) for name, refiner in refiners.items()}
    # annotated frames whose refined scores are not final yet, per refiner
    waiting: dict[str, dict[int, dict[str, torch.Tensor]]] = {name: {} for name in refiners}
    plain: list[dict[str, Any]] = []
    refined: dict[str, list[dict[str, Any]]] = {name: [] for name in refiners}
    visited: set[int] = set()

    def finish(name: str, done: RefinedFrame | None) -> None:
        if done is None or done.key not in waiting[name]:
            return
        output = dict(waiting[name].pop(done.key))
        output["scores"] = done.scores
        refined[name].extend(outputs_to_results(output, image_of_frame[done.key]))

    for frame in iter_frames(flight.video, stride=stride):
        visited.add(frame.index)
        image = torch.from_numpy(frame.image).to(device).permute(2, 0, 1).float().div_(255.0)
        outputs, features, image_sizes = detector.detect_with_features([image])
        output = {k: v for k, v in outputs[0].items() if k in ("boxes", "scores", "labels", "masks")}
        predictions = FramePredictions.from_detector(
            output, features, image_sizes, (frame.height_px, frame.width_px)
        )
        annotated = frame.index in image_of_frame
        if annotated:
            plain.extend(outputs_to_results(output, image_of_frame[frame.index]))
            host = {k: v.cpu() for k, v in output.items()}
        for name, sequence in sequences.items():
            if annotated:
                waiting[name][frame.index] = host
            finish(name, sequence.push(frame.index, predictions))
    for name, sequence in sequences.items():
        finish(name, sequence.flush())
    missing = sorted(set(image_of_frame) - visited)
    if missing:
        raise InputError(f"{flight.annotations}: annotated frames {missing[:5]} are not among the analysed frames")
    return annotations, plain, refined


def merge_flights(
    parts: Sequence[tuple[dict[str, Any], list[dict[str, Any]], Mapping[str, list[dict[str, Any]]]]],
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """One ground truth and the result lists over several flights (ids renumbered)."""
    merged: dict[str, Any] = {"images": [], "annotations": [], "categories": parts[0][0].get("categories", [])}
    plain_all: list[dict[str, Any]] = []
    refined_all: dict[str, list[dict[str, Any]]] = {name: [] for name in parts[0][2]}
    for truth, plain, refined in parts:
        offset = len(merged["images"])
        new_id = {image["id"]: offset + i + 1 for i, image in enumerate(truth["images"])}
        merged["images"] += [{**image, "id": new_id[image["id"]]} for image in truth["images"]]
        first = len(merged["annotations"])
        merged["annotations"] += [
            {**a, "id": first + i + 1, "image_id": new_id[a["image_id"]]} for i, a in enumerate(truth["annotations"])
        ]
        plain_all += [{**r, "image_id": new_id[r["image_id"]]} for r in plain]
        for name, results in refined.items():
            refined_all[name] += [{**r, "image_id": new_id[r["image_id"]]} for r in results]
    return merged, plain_all, refined_all


def main(argv: Sequence[str] | None = None) -> int:
    from engine.evaluate import evaluate_results, format_table
    from engine.msnet.inference import srn_in_bfloat16
    from engine.srn.encoder import build_srn
    from engine.weights import load_model

    parser = argparse.ArgumentParser(prog="python -m engine.srn.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("flights", nargs="+", type=Path, help="synthetic flyover folders (flight.mp4 + annotations)")
    parser.add_argument("--weights", type=Path, required=True, help="detector weights")
    parser.add_argument("--srn", type=Path, required=True, help="SRN weights")
    parser.add_argument("--split", default="val")
    parser.add_argument("--stride", type=int, default=1, help="analyse every n-th frame (default: %(default)s)")
    parser.add_argument("--score-range", type=float, nargs=2, default=None, metavar=("C0", "C1"))
    parser.add_argument("--min-similarity", type=float, default=None)
    parser.add_argument("--order", choices=("paper", "rois-first"), default=None,
                        help="encode maps then RoIAlign (paper; default on CUDA) or RoIAlign first (default on CPU)")
    parser.add_argument("--control", action="store_true",
                        help="also refine with an untrained encoder (seed 0): does training matter?")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", type=Path, default=None, help="also write the metrics here")
    args = parser.parse_args(argv)

    detector, _ = load_model(args.weights, device=args.device)
    order = args.order or ("paper" if str(args.device).startswith("cuda") else "rois-first")
    settings: dict[str, Any] = {"min_similarity": args.min_similarity, "encode_rois_first": order == "rois-first",
                                "cpu_bfloat16": srn_in_bfloat16(detector)}  # as the analysis runs it
    if args.score_range is not None:
        settings["score_range"] = tuple(args.score_range)
    refiners = {"with SRN": ScoreRefiner.from_weights(args.srn, device=args.device, **settings)}
    if args.control:
        torch.manual_seed(0)
        settings.setdefault("score_range", refiners["with SRN"].score_range)
        refiners["untrained encoder (control)"] = ScoreRefiner(build_srn(), device=args.device, **settings)
    parts = [
        predict_flight(detector, refiners, Flight.from_dir(f, args.split), stride=args.stride, device=args.device)
        for f in args.flights
    ]
    truth, plain, refined = merge_flights(parts)
    metrics: dict[str, Any] = {"without SRN": evaluate_results(truth, plain)}
    changed: dict[str, int] = {}
    for name, results in refined.items():
        metrics[name] = evaluate_results(truth, results)
        changed[name] = sum(1 for a, b in zip(plain, results) if abs(a["score"] - b["score"]) > 1e-9)
    c0, c1 = refiners["with SRN"].score_range
    print(f"{len(truth['images'])} annotated frames, {len(truth['annotations'])} instances, "
          f"{len(plain)} detections, stride {args.stride}, [C0, C1] = [{c0}, {c1}], order {order}")
    for name, values in metrics.items():
        note = f" ({changed[name]} scores changed)" if name in changed else ""
        print(format_table(values, title=name + note))
    if args.json:
        args.json.write_text(json.dumps({"metrics": metrics, "scores_changed": changed}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
