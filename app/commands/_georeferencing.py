"""The flags that set how a project's detections are placed on the ground.

``damagemap analyze`` stores them in the project before the first frame (so its check of
the telemetry uses them, and the app and every export after it); ``damagemap export``
uses them for that export and stores them with ``--save``. Both read the same flags
here: the clock offset, the camera's field of view and pitch, and the heights for
telemetry that does not give the drone's height above the ground, each a number or
``auto`` (read from the video's motion, :mod:`services.sync`).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from core.settings import ProjectSettings


def number_or_auto(text: str, unit: str) -> float | str:
    """An option's value: ``"auto"`` (any case), or a number of ``unit``."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {unit} or 'auto'; got {text!r}") from None


def offset(text: str) -> float | str:
    return number_or_auto(text, "seconds")


def ground_elevation(text: str) -> float | str:
    return number_or_auto(text, "metres")


def flight_height(text: str) -> float | str:
    value = ground_elevation(text)
    if value != "auto" and not (isinstance(value, float) and math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected metres above the ground (> 0) or 'auto'; got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser | Any, *, default: str) -> None:
    """The georeferencing flags; ``default`` ends each help text (what applies when the
    flag is not given)."""
    parser.add_argument("--offset", type=offset, default=None, metavar="S",
                        help="seconds added to telemetry times after alignment, or 'auto' to estimate them from "
                             f"the video's motion (default: {default})")
    parser.add_argument("--camera", choices=["auto"], default=None,
                        help="auto: for telemetry without gimbal pitch (GPX), read the camera's pitch, heading "
                             "offset and (unless --hfov) field of view from the video's motion")
    parser.add_argument("--pitch", type=float, default=None, metavar="DEG",
                        help="the camera's pitch in degrees (-90 straight down, -30 for a shallow oblique view), "
                             "for telemetry without gimbal pitch (GPX, DJI Mini SRTs); default: "
                             f"{default}, else -45 assumed")
    parser.add_argument("--hfov", default=None, metavar="DEG",
                        help="horizontal field of view in degrees, or a preset such as mavic-2-pro "
                             f"(default: {default})")
    parser.add_argument("--ground-elevation", type=ground_elevation, default=None, metavar="M",
                        help="elevation (m) of the ground, for telemetry with absolute altitude only (GPX, some "
                             "DJI SRTs) that does not start at take-off, or 'auto' to read the drone's height from "
                             f"the video's motion (default: {default})")
    parser.add_argument("--flight-height", type=flight_height, default=None, metavar="M",
                        help="the drone's height (m) above the ground, taken as constant, for telemetry with no "
                             "altitude at all (some Mavic 2 SRTs), or 'auto' to read it from the video's motion "
                             f"(default: {default})")


def add_group(parser: argparse.ArgumentParser, kept: str) -> None:
    """The georeferencing flags as a group of their own; ``kept`` says where they go."""
    group = parser.add_argument_group(
        "georeferencing", f"how the detections are placed on the ground, for telemetry that does not say it all; "
                          f"{kept}")
    add_arguments(group, default="the project's setting")


#: The georeferencing flags, in the order they are named, as ``args`` attributes.
_NAMES = ("offset", "camera", "pitch", "hfov", "ground_elevation", "flight_height")
#: What a flag that can be ``auto`` reads from the video, as a project setting.
_READS = {"offset": "time_offset_s", "camera": "camera_pitch_deg", "ground_elevation": "ground_elevation_m",
         "flight_height": "flight_height_m"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def given(args: argparse.Namespace) -> list[str]:
    """The georeferencing flags given, as typed (``--ground-elevation``)."""
    return [_flag(name) for name in _NAMES if getattr(args, name, None) is not None]


def reading(args: argparse.Namespace) -> list[str]:
    """The georeferencing flags given as ``auto``, as typed."""
    return [_flag(name) for name in _READS if getattr(args, name, None) == "auto"]


def kept(args: argparse.Namespace, before: ProjectSettings, after: ProjectSettings) -> list[str]:
    """The flags given whose value went into the settings (``before`` -> ``after``): a
    number, or an ``auto`` that read something."""
    return [_flag(name) for name in _NAMES if getattr(args, name, None) is not None
            and (getattr(args, name) != "auto" or _read_changed(name, before, after))]


def _read_changed(name: str, before: ProjectSettings, after: ProjectSettings) -> bool:
    """Whether ``--NAME auto`` changed the settings (the camera's reading: its pitch, or
    its turns where the drone hovered under telemetry without a heading)."""
    settings = (_READS[name], "hover_turns") if name == "camera" else (_READS[name],)
    return any(getattr(after, key) != getattr(before, key) for key in settings)


def check(args: argparse.Namespace) -> None:
    """Refuse values that cannot be right, naming the flag, before any work."""
    from app.commands import _flags
    from core.errors import InputError

    _flags.finite("--offset", None if args.offset == "auto" else args.offset)
    _flags.finite("--ground-elevation", None if args.ground_elevation == "auto" else args.ground_elevation)
    _flags.between("--pitch", args.pitch, -90, 0, "degrees (negative below the horizon)")
    if args.pitch is not None and args.camera == "auto":
        raise InputError("--pitch and --camera auto both set the camera's pitch; give one")
    _flags.between("--hfov", _hfov_degrees(args.hfov), 1, 170, "degrees", inclusive=False)  # as geo.camera
    if args.hfov is not None:  # a preset name: refused now if unknown, not stored to break every map later
        from geo.camera import hfov_preset

        try:
            hfov_preset(args.hfov)
        except ValueError as exc:
            raise InputError(f"--hfov: {exc}") from None


def _hfov_degrees(text: str | None) -> float | None:
    """``--hfov`` as degrees; ``None`` when not given or a preset name (its spelling is
    checked by :func:`check`, with :func:`geo.camera.hfov_preset`)."""
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def settings_with_flags(store, args: argparse.Namespace, **changes: Any):  # noqa: ANN001, ANN202 - ProjectStore -> ProjectSettings
    """The project's settings with the numbers the flags give in their place (``auto``
    is read later, :func:`read_from_video`); ``changes``: other settings to set."""
    from core.errors import InputError

    if args.offset is not None and args.offset != "auto":
        changes["time_offset_s"] = args.offset
        changes["time_offset_sigma_s"] = None  # typed: its uncertainty is not known
    if args.hfov is not None:
        degrees = _hfov_degrees(args.hfov)
        changes["hfov_deg"] = args.hfov if degrees is None else degrees  # a preset name, known: see check()
        changes["hfov_sigma_deg"] = None  # typed: not an estimate
    if args.ground_elevation is not None and args.ground_elevation != "auto":
        changes["ground_elevation_m"] = args.ground_elevation
        changes["ground_elevation_sigma_m"] = None
    if args.flight_height is not None and args.flight_height != "auto":
        changes["flight_height_m"] = args.flight_height
        changes["flight_height_sigma_m"] = None
    if args.pitch is not None:
        changes["camera_pitch_deg"] = args.pitch
        changes["camera_pitch_sigma_deg"] = None  # typed: counts as a reading
    try:
        return replace(store.project_settings(), **changes)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def read_from_video(store, args: argparse.Namespace, settings, *, telemetry: Path | None = None,  # noqa: ANN001
                    say=print):  # noqa: ANN001, ANN202 - ProjectStore, ProjectSettings, Callable
    """What the flags set to ``auto`` ask of the video's motion (:mod:`services.sync`),
    each reading said through ``say``: ``(settings, view)``, the settings with the
    readings and their spreads in them, and the camera view read (``None`` unless
    ``--camera``, ``--ground-elevation`` or ``--flight-height`` was ``auto``).
    ``telemetry``: a file to read instead of the project's."""
    from core.errors import TelemetryError
    from geo.telemetry import read_telemetry
    from services.sync import estimate_clock_offset, georeference_from_video

    asked = reading(args)
    if not asked:
        return settings, None
    path = telemetry if telemetry is not None else store.telemetry_path
    if path is None:
        raise TelemetryError(f"{store.path}: {asked[0]} auto needs telemetry; the project has none")
    track = read_telemetry(Path(path))
    if args.offset == "auto":
        estimate = estimate_clock_offset(Path(store.video_path), track)
        for label, text in estimate.describe():
            say(f"  {label}: {text}")
        if estimate.reliable:  # how sure the offset is enters the sites' uncertainty
            settings = replace(settings, time_offset_s=estimate.offset_s,
                               time_offset_sigma_s=round(estimate.uncertainty_s, 3))
        elif estimate.ambiguous:
            say(f"  --offset auto: ambiguous, {estimate.offset_s:+.1f} s or {estimate.runner_up_s:+.1f} s match about "
                f"as well; the project's {settings.time_offset_s:+.1f} s is kept (check which against the video and "
                "give --offset S)")
        else:
            say(f"  --offset auto: no reliable offset found (confidence {estimate.confidence:.2f}); the project's "
                f"{settings.time_offset_s:+.1f} s is kept (give --offset S to set one)")
    if "auto" not in (args.camera, args.ground_elevation, args.flight_height):
        return settings, None
    read = georeference_from_video(Path(store.video_path), track, settings, camera=args.camera == "auto",
                                   ground=args.ground_elevation == "auto", flown=args.flight_height == "auto")
    for line in read.lines:
        say(f"  {line}")
    return read.settings, read.view  # the view's spreads enter the sites' error budget


def refuse_auto_for_a_survey(args: argparse.Namespace) -> None:
    """A survey's flights take the numbers given, one for all; ``auto`` is each flight's
    own reading, which ``survey georeference`` makes."""
    from core.errors import InputError

    asked = reading(args)
    if asked:
        raise InputError(f"{', '.join(asked)} auto: with several videos each flight's own is read with "
                         "'damagemap survey georeference SURVEY' (the camera and heights), or one by one with "
                         "'damagemap export FLIGHT.dmproj ... auto --save'")


def keep_in_flights(args: argparse.Namespace, survey, names: list[str], *, say=print) -> None:  # noqa: ANN001
    """Store the numbers given (:func:`refuse_auto_for_a_survey` first) in the projects of
    the survey's flights ``names``: one ground, one camera for every flight."""
    from core.store import ProjectStore

    flags = given(args)
    if not flags or not names:
        return
    for name in names:
        with ProjectStore.open(survey.project_path(survey.flight(name))) as store:
            store.set_project_settings(settings_with_flags(store, args))
    which = f"the project of flight {names[0]}" if len(names) == 1 else f"the projects of the {len(names)} flights"
    say(f"{', '.join(flags)}: kept in {which} for the survey's map, the app and every export")
