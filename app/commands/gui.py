"""``damagemap gui [VIDEO_OR_PROJECT]``: open the desktop application."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="a drone video (its project is created or reused beside it) or a .dmproj project",
    )


def run(args: argparse.Namespace) -> int:
    from app.main_window import launch  # lazy: Qt only when the window is wanted

    return launch(args.path)
