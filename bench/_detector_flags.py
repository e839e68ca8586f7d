"""The detector's test-time flags of ``damagemap analyze``/``predict``, for bench scripts
that run those commands: added to a parser, turned back into arguments, and described."""

from __future__ import annotations

import argparse


def add_detector_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-size", type=int, default=None, help="the detector's short side (default: its own)")
    parser.add_argument("--building-gate", type=float, default=None,
                        help="the detector's building gate S (default: its own)")
    parser.add_argument("--sharpness-ceiling", type=float, default=None,
                        help="soften frames sharper than this (default: the detector's own; 0: as they come)")
    parser.add_argument("--flip-check", action="store_true", help="the detector's mirror check (default: off)")
    parser.add_argument("--tiles", type=int, default=None, help="the detector's tiled look, N x N tiles (default: its own)")
    parser.add_argument("--close-look", action=argparse.BooleanOptionalAction, default=None,
                        help="the detector's close look (default: the weights' own)")
    parser.add_argument("--score-threshold", type=float, default=None,
                        help="store detections scoring at least this (default: the command's own, 0.2)")


def detector_arguments(args: argparse.Namespace) -> list[str]:
    """The ``damagemap`` arguments for the flags given (none for those left out)."""
    out = ["--input-size", str(args.input_size)] if args.input_size else []
    if args.building_gate is not None:
        out += ["--building-gate", str(args.building_gate)]
    if args.sharpness_ceiling is not None:
        out += ["--sharpness-ceiling", f"{args.sharpness_ceiling:g}"]
    if args.close_look is not None:
        out.append("--close-look" if args.close_look else "--no-close-look")
    if args.tiles is not None:
        out += ["--tiles", str(args.tiles)]
    if args.score_threshold is not None:
        out += ["--score-threshold", f"{args.score_threshold:g}"]
    return out + (["--flip-check"] if args.flip_check else [])


def describe(args: argparse.Namespace) -> str:
    """e.g. ``input 480 px, building gate 0.5, mirror check`` (``its own settings`` when none)."""
    parts = [f"input {args.input_size} px"] if args.input_size else []
    if args.building_gate is not None:
        parts.append(f"building gate {args.building_gate:g}")
    if args.sharpness_ceiling is not None:
        parts.append(f"sharpness ceiling {args.sharpness_ceiling:g}" if args.sharpness_ceiling else "frames as they come")
    if args.flip_check:
        parts.append("mirror check")
    if args.close_look is not None:
        parts.append("close look" if args.close_look else "no close look")
    if args.tiles is not None:
        parts.append(f"tiles {args.tiles} x {args.tiles}" if args.tiles > 1 else "no tiles")
    if args.score_threshold is not None:
        parts.append(f"detections >= {args.score_threshold:g} stored")
    return ", ".join(parts) or "its own settings"
