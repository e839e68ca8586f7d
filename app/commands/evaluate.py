"""``damagemap evaluate``: the MSNet paper's protocol (COCOeval, IoU 0.25:0.05:0.5) on
weights (the shipped model by default) or on a COCO results file, printed as the paper's
table.

A results file whose results carry ``file_name`` (``damagemap predict``'s
``predictions.json``) is scored image by image by those names, whatever its ``image_id``
values (``predict`` numbers images in the order it was given them); one without names by
``image_id``; ``--save-predictions`` names them likewise. Results of images the split
does not hold are refused, naming them; so are malformed results, labels none of which is
the split's categories (or counted from 0) and masks of another size than their image,
which COCO would score as misses without a word."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.commands import _flags


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset folder: annotations/instances_<split>.json + <split>/")
    parser.add_argument("--split", default="val", help="split to evaluate (default val)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--weights", help="MSNet .safetensors to run over the split (default: the shipped model)")
    source.add_argument("--predictions", metavar="RESULTS.json", help="COCO results file to score (any model)")
    parser.add_argument("--images-in-results", action="store_true",
                        help="with --predictions: score only the images the results name (a file of some of the "
                             "split's images; otherwise every image of the split counts, and the damage on an "
                             "image with no result is a miss)")
    parser.add_argument("--json", metavar="FILE", help="also write the metrics as JSON")
    parser.add_argument("--save-predictions", metavar="FILE", help="write the model's COCO results (not with --predictions)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda[:N] (default auto)")
    parser.add_argument("--batch-size", type=int, default=2, help="images per model call (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.add_argument("--frames", choices=["images", "video"], default="images",
                        help="run the model on the annotated images (default) or on the same frames as the flight's "
                        "video gives them, with the codec's artefacts the analysis sees: the video each image names ('video', as "
                        "export --training writes it), else DIR/flight.mp4 of a flyover folder")
    _flags.add_detector_settings(parser)


def _write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path``; a failure names the file (a write that fails once the
    file is open, a full disk say, says none), and leaves no cut-off file behind."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        if exc.filename is None and path.is_file() and not path.is_char_device():
            path.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def _check_output_file(flag: str, value: str | None) -> None:
    """Refuse an output file whose folder is missing or not a folder before the model
    runs, rather than after minutes of evaluation (other failures to write it are still
    reported, naming the file, when it is written)."""
    import os
    from pathlib import Path

    from core.errors import InputError

    if not value:
        return
    target = Path(value)
    folder = target.parent
    if target.is_dir():
        raise InputError(f"{flag} {value}: is a folder; give a file name")
    if not folder.is_dir():
        problem = "is a file, not a folder" if folder.exists() else "does not exist"
        raise InputError(f"{flag} {value}: cannot write it: the folder {str(folder)!r} {problem}")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{flag} {value}: cannot write it: the folder {str(folder)!r} is read-only; "
                         "choose a folder you can write to")


def named_results(results: list[dict], annotations: dict) -> list[dict]:
    """``results`` with each image's ``file_name``, ``width`` and ``height`` and each
    level's name, as ``predict`` writes them: a saved file given back to ``evaluate
    --predictions`` with another split or data set is then refused, naming the images it
    lacks, instead of being scored by image id against other images' ground truth."""
    from core.types import DamageLevel

    images = {image["id"]: image for image in annotations.get("images", [])}
    named = []
    for result in results:
        image = images[result["image_id"]]
        named.append({**result, "file_name": image["file_name"], "width": int(image["width"]),
                      "height": int(image["height"]), "level": DamageLevel(result["category_id"]).name.lower()})
    return named


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from core.errors import InputError

    from app.commands import _flags

    _check_output_file("--json", args.json)  # before the model runs
    _check_output_file("--save-predictions", args.save_predictions)
    _flags.at_least("--batch-size", args.batch_size)  # 0 stopped in torch's traceback once the model had loaded
    _flags.at_least("--threads", args.threads)

    image_ids = None  # every image of the split
    if args.images_in_results and not args.predictions:
        raise InputError("--images-in-results: only with --predictions (a model run scores every image it ran on)")
    if args.predictions:
        # These flags steer a model run; a results file has none, and ignoring them
        # would print a table the user believes was made at their settings.
        model_only = [flag for flag, given in (("--input-size", args.input_size is not None),
                                               ("--building-gate", args.building_gate is not None),
                                               ("--sharpness-ceiling", args.sharpness_ceiling is not None),
                                               ("--flip-check", args.flip_check),
                                               ("--tiles", args.tiles is not None),
                                               ("--frames video", args.frames == "video"),
                                               ("--close-look" if args.close_look else "--no-close-look",
                                                args.close_look is not None),
                                               ("--save-predictions", bool(args.save_predictions))) if given]
        if model_only:
            raise InputError(f"{', '.join(model_only)}: only when a model runs (--weights, or the shipped model); "
                             f"--predictions {args.predictions!r} scores results already made")
    from engine.data.isbda import ISBDADataset, annotation_path, read_coco_json
    from engine.evaluate import check_results, describe_ids, evaluate_results, format_table, ground_truth_problems, \
        id_type_note, match_results_to_images, predict_dataset, read_results, unknown_image_ids

    if not args.predictions:
        from engine.device import resolve_device
        from engine.msnet.fold import fold_batch_norms
        from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model

        device = resolve_device(args.device)
        if args.threads is not None:
            import torch

            torch.set_num_threads(args.threads)
        weights = args.weights or DEFAULT_MSNET_WEIGHTS
        model, _ = load_model(weights, device=device, inference=_flags.detector_settings(args))
        # as `analyze` and `predict` run it: the close look's scores follow the folded weights'
        # last bits closely enough that unfolded ones scored other detections (up to 0.24 off)
        fold_batch_norms(model)
        dataset = ISBDADataset(args.data, args.split, video_frames=1.0 if args.frames == "video" else 0.0)
        results = predict_dataset(model, dataset, device=device, batch_size=args.batch_size,
                                  progress=not args.quiet)
        annotations = dataset.coco
        if args.save_predictions:
            _write_text(Path(args.save_predictions), json.dumps(named_results(results, annotations)))
        source = weights
    else:
        annotations_file = annotation_path(args.data, args.split)
        annotations = read_coco_json(annotations_file)
        made = read_results(args.predictions)
        # by file name where the results give one: `damagemap predict` numbers its images
        # in the order they were given, not as the data set does
        results = match_results_to_images(annotations, made, results_name=args.predictions,
                                          annotations_name=str(annotations_file))
        moved = {(r.get("file_name"), r["image_id"]) for r, m in zip(made, results) if r["image_id"] != m["image_id"]}
        if moved:
            print(f"{args.predictions}: results matched to the images of {annotations_file} by file name "
                  f"({len(moved)} image(s) have another image id there)", file=sys.stderr)
        unknown = unknown_image_ids(annotations, results)
        if unknown:  # e.g. `damagemap predict` run over other images: COCO cannot score them
            raise InputError(f"{args.predictions}: image ids {describe_ids(unknown)}{id_type_note(annotations, unknown)} "
                             f"are not in {annotations_file}; give results made over the {args.split!r} split's images")
        # ground truth COCOeval would leave out, or never match, without a word (a model run
        # hears it from the data set as it reads the images)
        for warning in ground_truth_problems(annotations, annotations_name=str(annotations_file)):
            print(warning, file=sys.stderr)
        # categories and mask sizes COCOeval would score as misses without a word
        for warning in check_results(annotations, results, results_name=args.predictions,
                                     annotations_name=str(annotations_file)):
            print(warning, file=sys.stderr)
        if not made:
            print(f"{args.predictions}: holds no detections; every AP is 0 where the split has ground truth "
                  "('-' in the sizes it has none of)", file=sys.stderr)
        named = {r["image_id"] for r in results}
        images = [image["id"] for image in annotations.get("images", []) if isinstance(image, dict)]
        damaged = {a.get("image_id") for a in annotations.get("annotations", []) if isinstance(a, dict)}
        missed = [i for i in images if i not in named and i in damaged]  # damage with no result on its image
        if args.images_in_results:
            image_ids = sorted(named, key=str)
            print(f"{args.predictions}: scoring the {len(image_ids)} image(s) it names, of the split's "
                  f"{len(images)}", file=sys.stderr)
        elif made and missed:
            print(f"{args.predictions}: {len(missed)} of the split's {len(images)} images have damage and no "
                  "result, and their damage counts as missed (a file of some of the images, such as predict on a "
                  "few, scores low): --images-in-results scores the images it names alone", file=sys.stderr)
        source = args.predictions
    iou_types = ("segm", "bbox")
    if results and not any("segmentation" in r for r in results):  # boxes only: no mask to score, not mask AP 0
        print(f"{source}: the results hold boxes only (no segmentation): box AP alone", file=sys.stderr)
        iou_types = ("bbox",)
    metrics = evaluate_results(annotations, results, iou_types=iou_types, image_ids=image_ids)
    frames = ", video frames" if args.frames == "video" else ""
    print(format_table(metrics, title=f"{source} on {args.data} [{args.split}{frames}], IoU 0.25:0.05:0.5 (percent)"))
    if args.json:
        record = {"source": str(source), "data": str(args.data), "split": args.split, "frames": args.frames,
                  "iou_thresholds": [0.25, 0.3, 0.35, 0.4, 0.45, 0.5], "metrics": metrics}
        _write_text(Path(args.json), json.dumps(record, indent=2) + "\n")
    return 0
