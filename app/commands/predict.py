"""``damagemap predict``: damage predictions on images.

Writes ``<stem>-prediction.jpg`` (frame | overlay, as the paper's figures) per image and
``predictions.json``: COCO results for every image, each with the image's ``file_name``,
its ``path`` as given on the command line, ``width`` and ``height``, ``category_id`` and
``level``, ``score``, ``bbox`` as ``[x, y, w, h]`` in the original image's pixels and the
RLE ``segmentation``. Detections
only a few pixels wide (compression slivers) are dropped by the model itself, so
``analyze`` drops them alike.

Images with the same name from different folders (DJI numbers restart on every card) get
``<stem>-2-prediction.jpg``, ``<stem>-3-prediction.jpg``, ... in the order given, so no
overlay replaces another.

A result's ``image_id`` is its image's place on the command line (1, 2, ...), not an id
of any data set: ``damagemap evaluate --predictions`` matches results to a data set's
images by ``file_name``.

An image that cannot be read (missing, truncated, not an image) is named on stderr and
skipped; the others are predicted and written, and the command then fails (status 2)
naming the skipped files, so a script notices. With no image read, no
``predictions.json`` is written.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands import _flags

if TYPE_CHECKING:
    import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    parser.add_argument("--weights", default=None, help="MSNet .safetensors (default: the shipped model)")
    parser.add_argument("--out", required=True,
                        help="folder for <stem>-prediction.jpg files (<stem>-2-prediction.jpg, ... for repeated "
                             "names) and predictions.json")
    parser.add_argument("--score-threshold", type=float, default=0.5, help="hide predictions below (default 0.5)")
    parser.add_argument("--json-threshold", type=float, default=0.05,
                        help="keep predictions from this score in predictions.json (default 0.05, the paper's test threshold)")
    parser.add_argument("--buildings", action="store_true", help="also outline the building proposals")
    _flags.add_detector_settings(parser)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")


def overlay_names(images: Sequence[Path]) -> list[str]:
    """The overlay file name of each image, in order: ``<stem>-prediction.jpg``, and for a
    stem already used (compared case-insensitively, as some file systems do)
    ``<stem>-2-prediction.jpg``, ``<stem>-3-...``: unique, and the same for the same inputs."""
    used: set[str] = set()
    names: list[str] = []
    for image in images:
        stem, number = image.stem, 1
        name = f"{stem}-prediction.jpg"
        while name.casefold() in used:
            number += 1
            name = f"{stem}-{number}-prediction.jpg"
        used.add(name.casefold())
        names.append(name)
    return names


def _read_image(path: Path) -> np.ndarray:
    """``path`` upright as a viewer shows it (``engine.image_files.read_image_file``)."""
    from engine.image_files import read_image_file

    return read_image_file(path)


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    from PIL import Image

    from core.errors import InputError
    from core.types import DamageLevel
    from engine.device import resolve_device
    from engine.evaluate import describe_names, outputs_to_results
    from engine.msnet.fold import fold_batch_norms
    from engine.msnet.working_size import detect_image
    from engine.visualize import prediction_figure
    from engine.weights import DEFAULT_MSNET_WEIGHTS, load_model
    from geo.export._atomic import write_text_atomic

    _flags.fraction("--score-threshold", args.score_threshold)  # before the model loads
    _flags.fraction("--json-threshold", args.json_threshold)
    inference = _flags.detector_settings(args)
    device = resolve_device(args.device)
    paths = [Path(name) for name in args.images]
    if not any(path.exists() and not path.is_dir() for path in paths):  # before the model loads and --out is made
        raise InputError(f"no image to predict on: {describe_names([str(p) for p in paths])} "
                         f"{'is' if len(paths) == 1 else 'are'} missing or a folder")
    # the weights before --out, so that bad weights leave no empty folder behind
    model, _ = load_model(args.weights or DEFAULT_MSNET_WEIGHTS, device=device, inference=inference)
    fold_batch_norms(model)  # as the analysis runs it
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)  # before any image: a path that cannot be a folder fails at once
    results: list[dict] = []
    skipped: list[Path] = []
    # image ids follow the command line, a skipped image's id unused, so ids and overlay
    # names do not shift with the images that could be read
    for image_id, (path, overlay_name) in enumerate(zip(paths, overlay_names(paths)), start=1):
        try:
            image = _read_image(path)
        except InputError as exc:
            print(f"{exc}; skipped", file=sys.stderr)
            skipped.append(path)
            continue
        # shrunk as the analysis shrinks a frame; each mask inside its box only (a full-frame
        # mask per detection took 9 GB on a 10-megapixel photo)
        output = detect_image(model, image, device, mask_crops=True)
        figure = prediction_figure(image, output, score_threshold=args.score_threshold,
                                   show_buildings=args.buildings)
        target = out / overlay_name
        try:
            Image.fromarray(figure).save(target, quality=92)
        except OSError as exc:  # Pillow's full disk names no file: the one line names the overlay
            target.unlink(missing_ok=True)
            raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
        every = outputs_to_results(output, image_id, image_size=image.shape[:2])
        kept = [r for r in every if r["score"] >= args.json_threshold]
        height, width = image.shape[:2]
        for result in kept:
            result.update(file_name=path.name, path=str(path), width=int(width), height=int(height),
                          level=DamageLevel(result["category_id"]).name.lower())
        results.extend(kept)
        shown = sum(1 for r in every if r["score"] >= args.score_threshold)  # those drawn, whatever the JSON keeps
        print(f"{path}: {shown} damage prediction(s) >= {args.score_threshold} -> {target}")
    skipped_names = describe_names([str(p) for p in skipped], shown=10)
    if len(skipped) == len(paths):
        what = "the image" if len(paths) == 1 else f"all {len(paths)} images"
        raise InputError(f"{what} could not be read ({skipped_names}); no {out / 'predictions.json'} written")
    write_text_atomic(out / "predictions.json", json.dumps(results))
    print(f"{out / 'predictions.json'}: {len(results)} prediction(s) >= {args.json_threshold} (COCO results)")
    if skipped:
        raise InputError(f"{len(skipped)} of {len(paths)} images could not be read and were skipped: "
                         f"{skipped_names}; {out / 'predictions.json'} holds the other {len(paths) - len(skipped)}")
    return 0
