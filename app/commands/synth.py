"""``damagemap synth OUT``: render a synthetic drone flyover with ground truth.

Train/validation data: ``--splits train,val`` renders one flight per split (seeds
``--seed``, ``--seed + 1``, ...) into one dataset; or call it twice with different
``--seed``/``--split`` into the same OUT (see :mod:`engine.synth`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from core.errors import InputError


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720; got {text!r}") from None
    return w, h


def _pair(example: str, what: str):  # noqa: ANN202 - an argparse type
    """An argparse type reading two comma-separated numbers."""

    def parse(text: str) -> tuple[float, float]:
        try:
            first, second = (float(v) for v in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} such as {example}; got {text!r}") from None
        return first, second

    return parse


_origin = _pair("30.1588,-85.6602", "LAT,LON")
_altitudes = _pair("70,120", "LOW,HIGH metres")
_hover = _pair("3,10", "START,SECONDS")


def _utc(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO time such as 2018-10-12T15:00:00Z; got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output folder")
    parser.add_argument("--seconds", type=float, default=20.0, help="clip length (default 20)")
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second (default 10)")
    parser.add_argument("--size", type=_size, default=(1280, 720), metavar="WxH", help="frame size (default 1280x720)")
    parser.add_argument("--seed", type=int, default=0,
                        help="scene and flight seed (default 0); with --town, the flight's path")
    parser.add_argument("--town", type=int, default=None, metavar="SEED",
                        help="fly over the town of this seed: the same houses and damage for every --seed, each "
                             "seed another path crossing the town's centre (flights for a survey: give each a "
                             "--start on another day)")
    parser.add_argument("--annotate-every", type=int, default=5, metavar="K", help="annotate every K-th frame (default 5)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--split", default="train", help="dataset split name (default train)")
    group.add_argument("--splits", default=None, help="comma-separated splits, one flight each (seeds seed, seed+1, ...)")
    parser.add_argument("--origin", type=_origin, default=(30.1588, -85.6602), metavar="LAT,LON", help="map origin (default Panama City, FL)")
    parser.add_argument("--hfov", type=float, default=84.0, help="horizontal field of view in degrees (default 84)")
    parser.add_argument("--start", type=_utc, default=None, metavar="UTC", help="UTC time of the first frame (default 2018-10-12T15:00:00Z)")
    parser.add_argument("--manoeuvres", action="store_true",
                        help="the drone speeds up, slows down and turns as it flies (clock-offset tests)")
    parser.add_argument("--hover", type=_hover, default=None, metavar="START,SECONDS",
                        help="the drone stops at START seconds and hovers for SECONDS, camera and all, "
                             "before it flies on (the clip keeps its length)")
    parser.add_argument("--hover-turn", type=float, default=0.0, metavar="DEG",
                        help="with --hover: the drone turns this far away and back while it hovers (the SRT "
                             "records the turn, the GPX cannot)")
    parser.add_argument("--altitude", type=_altitudes, default=None, metavar="LOW,HIGH",
                        help="heights above the ground the flight is drawn between, in metres (default 28,70)")
    parser.add_argument("--light-roofs", type=float, default=0.2, metavar="SHARE",
                        help="share of houses with light, tan or tile roofs, intact roofs the colour of bare "
                             "decking (default 0.2, at most 0.88): raise it for tile-roofed neighbourhoods or "
                             "for training flights rich in such hard negatives")
    parser.add_argument("--no-orthophoto", action="store_true",
                        help="do not write nadir.tif, the offline basemap (about 8 MB a flight): "
                             "a training set needs only its frames")
    parser.add_argument("--terrain", type=float, default=0.0, metavar="M",
                        help="hilly ground up to M metres high, its DEM written as dem.tif (default 0: flat)")


def frame_progress(label: str):  # noqa: ANN201 - a callback
    """A ``progress(done, total)`` callback for rendering: a bar on a terminal, a line at
    every quarter otherwise (a log file), so minutes of rendering never pass in silence."""
    import sys

    from tqdm import tqdm

    bar = None
    quarters_said = 0

    def progress(done: int, total: int) -> None:
        nonlocal bar, quarters_said
        if sys.stderr.isatty():
            if bar is None:
                bar = tqdm(total=total, desc=label, unit="frame", dynamic_ncols=True, file=sys.stderr)
            bar.update(done - bar.n)
            if done >= total:
                bar.close()
            return
        quarter = 4 * done // max(total, 1)
        if quarter > quarters_said:
            quarters_said = quarter
            print(f"{label}: {done}/{total} frames", file=sys.stderr, flush=True)

    return progress


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.commands import _flags
    from engine.synth import render_flyover
    from engine.synth.survey_paths import survey_flight
    from engine.synth.style import MAX_LIGHT_ROOF_SHARE

    _flags.positive("--seconds", args.seconds, "of seconds")  # before anything is rendered
    _flags.positive("--fps", args.fps, "of frames per second")
    _flags.at_least("--annotate-every", args.annotate_every)
    _flags.at_least("--seed", args.seed, 0)  # numpy's seeds are never negative
    _flags.at_least("--town", args.town, 0)
    _flags.between("--hfov", args.hfov, 1, 170, "degrees", inclusive=False)
    _flags.between("--terrain", args.terrain, 0, 100, "metres")
    _flags.between("--light-roofs", args.light_roofs, 0, MAX_LIGHT_ROOF_SHARE, "(a share of the houses)")

    if args.town is not None:  # the town's path limits its own height and pitch
        given = [flag for flag, value in (("--manoeuvres", args.manoeuvres), ("--hover", args.hover),
                                          ("--altitude", args.altitude), ("--terrain", args.terrain)) if value]
        if given:
            raise InputError(f"synth: --town draws its own path over the town; leave out {', '.join(given)}")

    splits = [s.strip() for s in args.splits.split(",") if s.strip()] if args.splits else [args.split]
    out = Path(args.out)
    for k, split in enumerate(splits):
        flight_dir = out / "flights" / split if args.splits else out
        started = time.perf_counter()
        try:
            flight = None if args.town is None else survey_flight(
                town_seed=args.town, path_seed=args.seed + k, seconds=args.seconds, fps=args.fps, size=args.size,
                hfov_deg=args.hfov)
            paths = render_flyover(
                out,
                seconds=args.seconds,
                fps=args.fps,
                size=args.size,
                seed=args.seed + k,
                annotate_every=args.annotate_every,
                split=split,
                origin_lat=args.origin[0],
                origin_lon=args.origin[1],
                hfov_deg=args.hfov,
                start_utc=args.start,
                flight_dir=flight_dir,
                manoeuvres=args.manoeuvres,
                hover=args.hover,
                hover_turn_deg=args.hover_turn,
                terrain_relief_m=args.terrain,
                altitude_range_m=args.altitude,
                light_roof_share=args.light_roofs,
                orthophoto=not args.no_orthophoto,
                progress=frame_progress(f"rendering {split}"),
                flight=flight,
            )
        except ValueError as exc:
            raise InputError(f"synth: {exc}") from None
        took = time.perf_counter() - started
        town = "" if args.town is None else f", over town {args.town}"
        print(f"split {split} (seed {args.seed + k}{town}): {paths.frame_count} frames in {took:.1f} s, "
              f"{paths.annotated_count} annotated frames with {paths.annotation_count} damage instances")
        for label, path in [("video", paths.video), ("gpx", paths.gpx), ("srt", paths.srt), ("truth", paths.truth),
                            ("camera", paths.camera), ("annotations", paths.annotations), ("images", paths.images_dir),
                            ("footprints", paths.footprints),
                            *([("orthophoto", paths.orthophoto)] if paths.orthophoto is not None else []),
                            *([("dem", paths.dem)] if paths.dem is not None else [])]:
            print(f"  {label:12s} {path}")
    return 0
