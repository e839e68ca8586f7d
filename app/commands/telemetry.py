"""``damagemap telemetry FILE [--json] [--video VIDEO]``: summarise a telemetry file, and
with ``--video`` estimate the clock offset between it and the video from the video's
own motion."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from geo.pitch import FlowView


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a GPX track, DJI .SRT subtitle file, CSV flight log or MISB KLV file, "
                                            "or a video with its GPS inside (GoPro, Insta360)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--video", type=Path, default=None, metavar="VIDEO",
                        help="estimate the clock offset (--offset) between this video and the telemetry by matching "
                             "the video's image motion against the track's speed and turns; for a track "
                             "without gimbal pitch (GPX, DJI Mini SRTs) also the camera's pitch, field of view and "
                             "heading offset (--camera auto), for absolute altitudes only the ground's elevation "
                             "(--ground-elevation auto), and for no altitude the drone's height (--flight-height auto)")
    parser.add_argument("--ground-elevation", type=float, default=None, metavar="M",
                        help="with --video: elevation (m) of the ground, for telemetry with absolute altitude only "
                             "(GPX, some DJI SRTs) that does not start at take-off, when you know it")


def run(args: argparse.Namespace) -> int:
    from core.errors import InputError, TelemetryError
    from geo.local import BeyondUtm
    from geo.telemetry import read_telemetry
    from geo.telemetry.summary import format_summary, summarise

    if args.ground_elevation is not None and args.video is None:  # it places nothing without the video
        raise InputError("--ground-elevation is used with --video (reading the camera's heights against the "
                         "video); give the video too")
    try:
        track = read_telemetry(args.file)
        summary = summarise(track)
    except TelemetryError:
        raise
    except BeyondUtm as exc:  # read, but not to be mapped
        raise TelemetryError(f"{args.file}: {exc}") from None
    except (ValueError, OSError, UnicodeError, csv.Error) as exc:  # a reader bug must still be one line
        raise TelemetryError(f"{args.file}: cannot read telemetry: {exc}") from exc
    estimate = None
    if args.video is not None:
        from services.sync import estimate_sync

        report = estimate_sync(args.video, track, ground_elevation_m=args.ground_elevation)
        estimate = report.offset
        summary["clock_offset"] = estimate.as_dict()
        caution = None if report.video_match is None else report.video_match.caution
        if caution is not None:  # a DJI SRT that may be another video's
            summary["video_caution"] = caution
        if report.height is not None and report.flight_height_m is not None:
            summary["flight_height_from_video"] = {
                "height_m": report.flight_height_m, "sigma_m": round(report.height.sigma_m, 1),
                "frame_pairs": report.height.samples,
            }
        if report.height is not None and report.ground_elevation_m is not None:
            summary["ground_from_video"] = {
                "elevation_m": report.ground_elevation_m, "sigma_m": round(report.height.sigma_m, 1),
                "height_at_first_fix_m": round(report.height.offset_m, 1), "frame_pairs": report.height.samples,
            }
        if report.view is not None:
            summary["camera_from_video"] = camera_summary(report.view)
    if args.json:
        text = json.dumps(summary, indent=2)
    else:
        text = format_summary(summary)
        if estimate is not None:
            lines = estimate.describe()
            if summary.get("video_caution"):
                lines.insert(0, ("caution", summary["video_caution"]))
            ground = summary.get("ground_from_video")
            if ground:
                lines.append(("ground elevation", f"{ground['elevation_m']:.1f} +-{ground['sigma_m']:.0f} m, the drone "
                                                  f"{ground['height_at_first_fix_m']:.0f} m above it at the first fix "
                                                  "(from the ground's flow; the track's altitudes are absolute; give "
                                                  f"--ground-elevation {ground['elevation_m']:.0f} or auto)"))
            flown = summary.get("flight_height_from_video")
            if flown:
                lines.append(("flight height", f"{flown['height_m']:.0f} +-{flown['sigma_m']:.0f} m above the ground "
                                               "(from the ground's flow; the track has no altitude; give "
                                               f"--flight-height {flown['height_m']:.0f} or auto)"))
            camera = summary.get("camera_from_video")
            if camera:
                lines.append(("camera pitch", f"{camera['pitch_deg']:.1f} +-{camera['pitch_sigma_deg']:.1f} deg "
                                              "(from the ground's flow; the track has none)"))
                lines.append(("camera FOV", f"{camera['hfov_deg']:.1f} +-{camera['hfov_sigma_deg']:.1f} deg "
                                            f"({field_of_view_advice(camera)})"))
                lines.append(("heading offset", f"{camera['heading_offset_deg']:+.1f} +-{camera['heading_sigma_deg']:.1f} deg "
                                                "from the direction of travel"))
            width = max(len(k) for k, _ in lines)
            text += f"\n\nagainst {args.video}:\n" + "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)
    try:
        print(text)
    except BrokenPipeError:  # piped into `head`: the reader has all it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's documented recipe
    return 0


def camera_summary(view: FlowView) -> dict[str, Any]:
    """The camera read from the video, as ``--json`` gives it under ``camera_from_video``."""
    return {
        "pitch_deg": round(view.pitch_deg, 1), "pitch_sigma_deg": round(view.pitch_sigma_deg, 1),
        "hfov_deg": round(view.hfov_deg, 1), "hfov_sigma_deg": round(view.hfov_sigma_deg, 1),
        "heading_offset_deg": round(view.yaw_offset_deg, 1), "heading_sigma_deg": round(view.yaw_sigma_deg, 1),
        "frame_pairs": view.samples, "hfov_source": view.hfov_source, "hfov_advised": view.hfov_beats_default(),
    }


def field_of_view_advice(camera: Mapping[str, Any]) -> str:
    """What to do with the field of view read from the video (``camera_from_video``):
    where it came from when it was held; ``--hfov`` only when the reading pins the camera
    down better than the map's default (``geo.pitch.FlowView.hfov_beats_default``);
    otherwise that the video could not, and where the camera's own is found."""
    from geo.camera import DEFAULT_HFOV_DEG
    from geo.pitch import ADVISE_HFOV_MAX_SIGMA_DEG, ESTIMATED_FOV_SOURCE

    if camera["hfov_source"] != ESTIMATED_FOV_SOURCE:
        return str(camera["hfov_source"])
    if camera["hfov_advised"]:
        return f"give --hfov {camera['hfov_deg']:.0f}"
    spec_sheet = "--hfov DEG, or the drone's name, e.g. --hfov mini-2"
    if camera["hfov_sigma_deg"] > ADVISE_HFOV_MAX_SIGMA_DEG:
        return (f"the video could not pin it down closer than the map's default {DEFAULT_HFOV_DEG:g} deg; give the "
                f"camera's own from its spec sheet: {spec_sheet}")
    return (f"the map's default {DEFAULT_HFOV_DEG:g} deg lies within it: the video does not tell them apart; the "
            f"camera's spec sheet does: {spec_sheet}")
