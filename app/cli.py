"""The ``damagemap`` command line: one client of the pipeline (the GUI is the other).

Each subcommand lives in its own module under ``app.commands`` and provides
``add_arguments(parser)`` and ``run(args) -> int``. Modules import heavy packages
(torch, Qt, geopandas) inside ``run`` so ``damagemap --help`` stays fast and headless.
A :class:`core.errors.DamagemapError` becomes one line on stderr and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from core.errors import DamagemapError

#: subcommand -> (module under app.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "generate a flyover, analyse it with the default model, export and show it"),
    "synth": ("synth", "render a synthetic drone flyover with ground truth"),
    "telemetry": ("telemetry", "summarise a telemetry file (GPX, DJI SRT, CSV flight log)"),
    "analyze": ("analyze", "run MSNet (+SRN) over a video into a project"),
    "info": ("info", "show what a project holds"),
    "export": ("export", "export a project's damage map (GeoJSON, GPKG, KML, CSV, HTML)"),
    "train": ("train", "train MSNet or a baseline on ISBDA-format data"),
    "evaluate": ("evaluate", "evaluate weights or a COCO results file with the paper's protocol"),
    "predict": ("predict", "draw damage predictions on images"),
    "train-srn": ("train_srn", "train the Score Refinement Network on videos, no labels needed"),
    "gui": ("gui", "open the desktop application"),
}


def _load(module_name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"app.commands.{module_name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="damagemap",
        description="Turn post-disaster drone video into a georeferenced building-damage map.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = _load(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != f"app.commands.{module_name}":
                raise
            continue  # command not built yet
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    try:
        return int(args._run(args) or 0)
    except DamagemapError as exc:
        print(f"damagemap {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"damagemap {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
