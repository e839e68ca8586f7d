"""What a detector finds on real frames: the hand-marked ISBDA frame, an intact one, and
the labelled aerial gallery.

Runs ``damagemap predict`` (the same code path a user gets) on

- ``tests/data/isbda-frame``: one real ISBDA drone frame with three damaged roofs and a
  debris pile marked by hand; the table gives, per marked part, the best score of a
  detection that finds it (:mod:`engine.marked_frames`) and how many other detections
  score >= 0.5;
- ``tests/data/real-intact``: a flooded neighbourhood with intact roofs, where every
  detection >= 0.5 is a false alarm;
- ``tests/data/real-gallery``: public-domain aerial photos of real storm damage, labelled
  by hand; per image, the labelled parts found at >= 0.3 and the detections >= 0.5 that
  find none. Its ``train`` split is marked as such: a model fine-tuned on it has seen
  those images, so only the ``test`` split measures it.

The aim for a useful model: 3 of the 4 marked parts found at score >= 0.3, and at most
2 false alarms >= 0.5 on the intact frame. Prints a table; writes the overlays to
``--out``. Examples::

    python bench/real_frames.py                          # the shipped model
    python bench/real_frames.py --weights runs/msnet/model.safetensors --out /tmp/real
    python bench/real_frames.py --input-size 480                          # the shipped model, larger input
    python bench/real_frames.py --building-gate 0.8                       # the shipped model, stricter gate
    python bench/real_frames.py --flip-check                              # the shipped model, mirror check
    python bench/real_frames.py --tiles 2                                 # the shipped model, tiled look
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _detector_flags import add_detector_flags, describe, detector_arguments  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MARKED = ROOT / "tests" / "data" / "isbda-frame"
INTACT = ROOT / "tests" / "data" / "real-intact"
GALLERY = ROOT / "tests" / "data" / "real-gallery"
LEVELS = {1: "slight", 2: "severe", 3: "debris"}


def predict(images: list[Path], model_args: list[str], out: Path) -> list[dict]:
    """``damagemap predict`` on ``images`` with ``model_args`` (``--weights`` and the detector's flags)."""
    command = [sys.executable, "-m", "app.cli", "predict", *map(str, images), "--out", str(out),
               "--json-threshold", "0.05", "--score-threshold", "0.3", *model_args]
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return json.loads((out / "predictions.json").read_text())


def report_gallery(split: str, model_args: list[str], out: Path) -> None:
    """One row per labelled gallery image: parts found per level, and false alarms."""
    from engine.marked_frames import false_alarms, find_parts, marked_parts

    annotations = json.loads((GALLERY / "annotations" / f"instances_{split}.json").read_text())
    images = annotations["images"]
    results = predict([GALLERY / split / image["file_name"] for image in images], model_args, out)
    note = " (the fine-tuning images: not a measure of a model trained on them)" if split == "train" else ""
    print(f"\nreal gallery, split {split!r}{note}")
    print(f"{'image':<48} {'found >= 0.3 (slight/severe/debris)':<36} {'false alarms >= 0.5':>19}")
    totals = [0, 0, 0]
    for image in images:
        mine = [r for r in results if r["file_name"] == image["file_name"]]
        parts = marked_parts(annotations, image["id"])
        findings = find_parts(mine, parts)
        cells = []
        for level in LEVELS:
            of_level = [f for f in findings if f.part.level == level]
            cells.append(f"{sum(f.found(0.3) for f in of_level)}/{len(of_level)}" if of_level else "-")
        alarms = false_alarms(mine, parts, 0.5)
        totals[0] += sum(f.found(0.3) for f in findings)
        totals[1] += len(findings)
        totals[2] += alarms
        print(f"{image['file_name'][:48]:<48} {' '.join(cells):<36} {alarms:>19}")
    print(f"{'all':<48} {f'{totals[0]}/{totals[1]} parts':<36} {totals[2]:>19}")


def main(argv: list[str] | None = None) -> int:
    from engine.marked_frames import false_alarms, find_parts, marked_parts

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=None, help="MSNet .safetensors (default: the shipped model)")
    parser.add_argument("--out", default=None, help="folder for the overlays and predictions.json files")
    add_detector_flags(parser)
    args = parser.parse_args(argv)
    model_args = (["--weights", args.weights] if args.weights else []) + detector_arguments(args)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="real-frames-"))

    annotations = json.loads((MARKED / "annotations" / "instances_test.json").read_text())
    image = annotations["images"][0]
    results = predict([MARKED / "test" / image["file_name"]], model_args, out / "marked")
    parts = marked_parts(annotations, image["id"])
    findings = find_parts(results, parts)
    print(f"weights: {args.weights or 'shipped default'} ({describe(args)})")
    print(f"\nmarked ISBDA frame ({image['width']}x{image['height']}): {len(results)} detections >= 0.05")
    print(f"{'part':>4}  {'marked as':<9}  {'best score':>10}  {'found as':<9}  found >= 0.3")
    for finding in findings:
        level = LEVELS.get(finding.best_level, "-") if finding.best_level else "-"
        print(f"{finding.part.part_id:>4}  {LEVELS[finding.part.level]:<9}  {finding.best_score:>10.2f}  "
              f"{level:<9}  {'yes' if finding.found(0.3) else 'no'}")
    found = sum(f.found(0.3) for f in findings)
    others = false_alarms(results, parts, 0.5)
    print(f"found {found} of {len(parts)} at >= 0.3; other detections >= 0.5 on this frame: {others}")

    intact_images = sorted(p for p in INTACT.iterdir() if p.suffix.lower() in {".jpg", ".png"})
    intact = predict(intact_images, model_args, out / "intact")
    print(f"\nintact frames: {len(intact_images)}")
    for path in intact_images:
        scores = [r["score"] for r in intact if r["file_name"] == path.name]
        print(f"  {path.name}: false alarms >= 0.5: {sum(s >= 0.5 for s in scores)}, >= 0.3: {sum(s >= 0.3 for s in scores)}")
    for split in ("test", "train"):
        if (GALLERY / "annotations" / f"instances_{split}.json").is_file():
            report_gallery(split, model_args, out / f"gallery-{split}")
    print(f"\noverlays and predictions.json under {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
