"""``damagemap telemetry FILE [--json] [--video VIDEO]``: summarise a telemetry file, and
with ``--video`` estimate the clock offset between it and the video from the video's
own motion."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a GPX track, DJI .SRT subtitle file or CSV flight log")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--video", type=Path, default=None, metavar="VIDEO",
                        help="estimate the clock offset (--offset) between this video and the telemetry by matching "
                             "the video's image motion against the track's speed and turns")


def run(args: argparse.Namespace) -> int:
    from core.errors import TelemetryError
    from geo.telemetry import read_telemetry
    from geo.telemetry.summary import format_summary, summarise

    try:
        track = read_telemetry(args.file)
        summary = summarise(track)
    except TelemetryError:
        raise
    except (ValueError, OSError, UnicodeError, csv.Error) as exc:  # a reader bug must still be one line
        raise TelemetryError(f"{args.file}: cannot read telemetry: {exc}") from exc
    estimate = None
    if args.video is not None:
        from services.sync import estimate_clock_offset

        estimate = estimate_clock_offset(args.video, track)
        summary["clock_offset"] = estimate.as_dict()
    if args.json:
        text = json.dumps(summary, indent=2)
    else:
        text = format_summary(summary)
        if estimate is not None:
            lines = estimate.describe()
            width = max(len(k) for k, _ in lines)
            text += f"\n\nagainst {args.video}:\n" + "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)
    try:
        print(text)
    except BrokenPipeError:  # piped into `head`: the reader has all it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's documented recipe
    return 0
