"""Checks of numeric command-line flags, each refusal naming the flag as the user typed it.

The commands call these before any work (no model loaded, no project created or
opened), so ``--min-score 7`` is refused as ``--min-score must be in [0, 1]; got 7.0``
and not with the name of the setting or request field it would have become. The
settings and requests check their values again for the app, in their own words.
Every check lets ``None`` (flag not given) through.
"""

from __future__ import annotations

import argparse
import math

from core.errors import InputError
from core.settings import MAX_INPUT_SIZE, MAX_TILES, MIN_INPUT_SIZE, detector_overrides


def finite(flag: str, value: float | None) -> None:
    """``value`` is a finite number (not nan, not inf)."""
    if value is not None and not math.isfinite(value):
        raise InputError(f"{flag} must be a finite number; got {value!r}")


def positive(flag: str, value: float | None, unit: str = "") -> None:
    """``value`` is finite and above 0; ``unit`` (e.g. ``"of minutes"``) ends the phrase."""
    if value is not None and not (math.isfinite(value) and value > 0):
        described = f"a positive, finite number {unit}".rstrip()
        raise InputError(f"{flag} must be {described}; got {value!r}")


def at_least(flag: str, value: int | None, minimum: int = 1) -> None:
    """``value`` is at least ``minimum`` (a count, a size)."""
    if value is not None and value < minimum:
        raise InputError(f"{flag} must be >= {minimum}; got {value!r}")


def fraction(flag: str, value: float | None) -> None:
    """``value`` is a score or fraction in [0, 1] (nan refused)."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise InputError(f"{flag} must be in [0, 1]; got {value!r}")


def between(flag: str, value: float | None, low: float, high: float, unit: str = "", *,
            inclusive: bool = True) -> None:
    """``value`` lies in [low, high], or in (low, high) when not ``inclusive`` (nan refused);
    ``unit`` follows the bounds."""
    if value is None:
        return
    inside = low <= value <= high if inclusive else low < value < high
    if not inside:
        unit = f" {unit}" if unit else ""
        bounds = f"from {low:g} to {high:g}{unit}" if inclusive else f"between {low:g} and {high:g}{unit}"
        raise InputError(f"{flag} must be {bounds}; got {value!r}")


def add_detector_settings(parser: argparse.ArgumentParser) -> None:
    """``--input-size PX``, ``--building-gate S``, ``--flip-check``, ``--tiles N`` and ``--[no-]close-look``:
    how the detector runs, over the weights' own."""
    parser.add_argument(
        "--input-size", type=int, metavar="PX", default=None,
        help="short side in pixels each frame is resized to for the model (default: the weights' own, 360 for the "
             "shipped model); larger finds smaller, farther damage (footage flown high) but raises more false "
             "alarms, misses some large damage and costs about (PX/360)^2 the time",
    )
    parser.add_argument(
        "--building-gate", type=float, metavar="S", default=None,
        help="share of a damage candidate that must lie inside a building the model found, in [0, 1) (default: "
             "the weights' own, 0.1 for the shipped model); higher drops candidates off buildings (fallen trees, "
             "bright ground) and fewer false alarms on real footage, but misses some damage at roof edges and "
             "debris beside houses",
    )
    parser.add_argument(
        "--flip-check", action="store_true",
        help="also run each frame mirrored left to right and average a detection's score over the two views "
             "(0 where a view misses it): damage is found in both, many false alarms on real footage are not and "
             "fall to half their score; about 1.8x the analysis time",
    )
    parser.add_argument(
        "--tiles", type=int, metavar="N", default=None,
        help=f"also look at each frame in an N x N grid of overlapping tiles, each at the model's input size, and "
             f"add the small damage they find (up to {MAX_TILES}; 1: off; default: the weights' own, off for the "
             f"shipped model): finds more of the damage only a few pixels across (footage flown high), with more false "
             f"alarms; N*N + 1 passes of the detector a frame (2: about 4x the analysis time)",
    )
    parser.add_argument(
        "--sharpness-ceiling", type=float, metavar="V", default=None,
        help="soften frames sharper than V (variance of the Laplacian of the grey frame at the model's input size) "
             "down to V before the model sees them (default: the weights' own, 200 for the shipped model, trained on "
             "soft rendered flights: crisp real footage raises false alarms on fine texture); 0: frames as they come",
    )
    parser.add_argument(
        "--close-look", action=argparse.BooleanOptionalAction, default=None,
        help="look at each detection again in a full-resolution crop and lower the scores of those that do not "
             "look like damage there (default: the weights' own; weights without a close-look head refuse it)",
    )


def detector_settings(args: argparse.Namespace) -> dict[str, float | bool]:
    """The detector's test-time settings the flags of :func:`add_detector_settings` ask for, checked."""
    at_least("--input-size", args.input_size, MIN_INPUT_SIZE)
    if args.input_size is not None and args.input_size > MAX_INPUT_SIZE:
        raise InputError(f"--input-size must be <= {MAX_INPUT_SIZE} (a 4K frame's short side is 2160); "
                         f"got {args.input_size!r}")
    if args.building_gate is not None and not 0.0 <= args.building_gate < 1.0:
        raise InputError(f"--building-gate must be in [0, 1); got {args.building_gate!r}")
    ceiling = args.sharpness_ceiling
    if ceiling is not None and not (math.isfinite(ceiling) and ceiling >= 0):
        raise InputError(f"--sharpness-ceiling must be a number >= 0 (0: frames as they come); got {ceiling!r}")
    if args.tiles is not None and not 1 <= args.tiles <= MAX_TILES:
        raise InputError(f"--tiles must be a whole number from 1 (off) to {MAX_TILES}; got {args.tiles!r}")
    return detector_overrides(input_size=args.input_size, building_gate=args.building_gate, flip_check=args.flip_check,
                              close_look=args.close_look, sharpness_ceiling=ceiling, tiles=args.tiles)
