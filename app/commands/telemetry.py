"""``damagemap telemetry FILE [--json]``: summarise a telemetry file."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a GPX track, DJI .SRT subtitle file or CSV flight log")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from core.errors import TelemetryError
    from geo.telemetry import read_telemetry
    from geo.telemetry.summary import format_summary, summarise

    try:
        summary = summarise(read_telemetry(args.file))
    except TelemetryError:
        raise
    except (ValueError, OSError, UnicodeError, csv.Error) as exc:  # a reader bug must still be one line
        raise TelemetryError(f"{args.file}: cannot read telemetry: {exc}") from exc
    text = json.dumps(summary, indent=2) if args.json else format_summary(summary)
    try:
        print(text)
    except BrokenPipeError:  # piped into `head`: the reader has all it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's documented recipe
    return 0
