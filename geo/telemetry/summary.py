"""A plain-data summary of a track, for ``damagemap telemetry`` and the GUI."""

from __future__ import annotations

import datetime as dt

import numpy as np

from geo.antimeridian import central_longitude
from geo.telemetry.track import TimeBase, Track


def _utc(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clock(t: float, *, utc: bool) -> str:
    """A wall-clock time as written: ISO 8601 with ``Z`` on a UTC clock (a GoPro's GPS),
    with no zone on a drone's local clock, which says nothing of its zone."""
    return _utc(t) if utc else _utc(t).removesuffix("Z")


def summarise(track: Track) -> dict:
    """Format, samples, time span, bounding box, altitude ranges, gaps, GPS jumps, the
    fields present and notes. JSON-ready."""
    from geo.local import LocalFrame
    from geo.telemetry.jumps import flag_jumps

    lonlat = track.lonlat()
    local = LocalFrame.around(central_longitude(lonlat[:, 0]), float(np.median(lonlat[:, 1])))
    east, north = local.to_local(lonlat[:, 0], lonlat[:, 1])
    jumps = flag_jumps(track.times_s(), east, north)
    gaps = track.gaps()
    min_lon, min_lat, max_lon, max_lat = track.bbox()
    absolute = track.time_base is TimeBase.UTC
    rel = track.altitude_range("rel")
    abs_ = track.altitude_range("abs")
    fields = [name for name, attr in (
        ("relative altitude", "alt_rel_m"), ("absolute altitude", "alt_abs_m"), ("heading", "yaw_deg"),
        ("gimbal pitch", "gimbal_pitch_deg"), ("gimbal yaw", "gimbal_yaw_deg"), ("focal length", "focal_length_mm"),
        ("GPS accuracy", "h_accuracy_m"), ("vertical GPS accuracy", "v_accuracy_m"),
    ) if track.has(attr)]
    path_length = float(np.sum(np.hypot(np.diff(east[~jumps]), np.diff(north[~jumps])))) if len(east) > 1 else 0.0
    return {
        "file": str(track.path) if track.path else None,
        "format": track.format,
        "format_detail": track.format_detail,
        "time_base": track.time_base.value,
        "samples": len(track),
        "start": _utc(track.start_s) if absolute else round(track.start_s, 3),
        "end": _utc(track.end_s) if absolute else round(track.end_s, 3),
        "duration_s": round(track.duration_s, 3),
        "median_step_s": round(track.median_step_s(), 4),
        "wall_clock_start": (None if track.wall_clock_start_utc is None
                             else _clock(track.wall_clock_start_utc, utc=track.wall_clock_is_utc)),
        "wall_clock_utc": track.wall_clock_is_utc,
        "recordings": [{"start": _utc(a) if absolute else round(a, 3), "length_s": round(b - a, 1)}
                       for a, b in track.recordings],
        "bbox": {"min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat},
        "path_length_m": round(path_length, 1),
        "altitude_rel_m": None if rel is None else [round(rel[0], 2), round(rel[1], 2)],
        "altitude_abs_m": None if abs_ is None else [round(abs_[0], 2), round(abs_[1], 2)],
        "altitude_sources": altitude_sources(track),
        "camera_height": camera_height_source(track),
        "home": None if track.home is None else {"lat": track.home[0], "lon": track.home[1],
                                                 "altitude_m": track.home[2]},
        "gaps": {"count": len(gaps), "longest_s": round(max((g.duration_s for g in gaps), default=0.0), 3),
                 "threshold_s": round(track.max_gap_s(), 3)},
        "gps_jumps": int(jumps.sum()),
        "fields": fields,
        "crs": local.crs,
        "coordinate_order": track.coordinate_order,
        "notes": (_single_fix_notes(track) + _jump_notes(jumps) + list(track.notes) + _height_notes(track, east, north, jumps)
                  + _camera_notes(track) + _heading_notes(track, east, north, jumps)),
    }


#: What an altitude is measured from where the reader does not say (by ``Track.format``).
_ABSOLUTE_ALTITUDE = {
    "gpx": "<ele>: elevation as the GPS receiver wrote it (GPX states no datum; usually above sea level)",
    "misb-klv": "tag 15, sensor true altitude: above mean sea level",
}


def altitude_sources(track: Track) -> dict[str, str]:
    """``{"rel": ..., "abs": ...}``: what each altitude of the track was read from and what
    it is measured from, for the altitudes it has."""
    said = dict(track.altitude_sources)
    out = {}
    if track.has("alt_rel_m"):
        out["rel"] = said.get("rel", "height above the take-off point" + _as_named(track))
    if track.has("alt_abs_m"):
        out["abs"] = said.get("abs", _ABSOLUTE_ALTITUDE.get(track.format, "absolute altitude" + _as_named(track)))
    return out


def _as_named(track: Track) -> str:
    return ", as its column is named (format, above)" if track.format == "csv" else ", as the file writes it"


def camera_height_source(track: Track) -> str:
    """Which altitude the map takes for the camera's height above the ground plane (the
    take-off's elevation), as :func:`geo.sync.align_track` does, and what changes it."""
    from geo.telemetry.altitude_check import PLAUSIBLE_TAKEOFF_OFFSET_M
    from geo.telemetry.srt import ZERO_UNSTATED

    if track.has("alt_rel_m"):
        return ("the height above take-off (--ground-elevation M uses the absolute altitude minus M instead, where "
                f"the take-off it implies lies within {PLAUSIBLE_TAKEOFF_OFFSET_M:g} m of M and the camera above it)"
                if track.has("alt_abs_m") else "the height above take-off")
    if track.has("alt_abs_m"):
        text = ("the absolute altitude minus the first sample's (the log taken to start on the ground), or minus "
                "--ground-elevation M")
        if dict(track.altitude_sources).get("abs") in ZERO_UNSTATED:
            text += " (the altitude itself, as a height above take-off, where minus M puts the camera below the ground)"
        return text
    return "none in the file: --flight-height M (or auto, read from the video)"


def _single_fix_notes(track: Track) -> list[str]:
    if len(track) > 1:
        return []
    return ["one fix only: a single position, no path and no time span; the map needs a track that follows the "
            "flight through the video (the drone's full flight log, or the SRT it wrote beside the video)"]


def _jump_notes(jumps: np.ndarray) -> list[str]:
    """A track whose every sample is a GPS jump has no position the map can use."""
    if len(jumps) and bool(jumps.all()):
        return [f"every one of the {len(jumps)} samples is flagged as a GPS jump (farther from its neighbours than a "
                "drone flies in the time between them): the map has no position to place anything with; is this "
                "the flight's own track?"]
    return []


def _height_notes(track: Track, east_m: np.ndarray, north_m: np.ndarray, jumps: np.ndarray) -> list[str]:
    """What the map will need for a track whose heights have no ground under them."""
    from geo.telemetry.takeoff import started_in_the_air

    from geo.telemetry.altitude_check import implausible_takeoff_note

    if track.has("alt_rel_m"):
        takeoff = implausible_takeoff_note(track)
        return [] if takeoff is None else [takeoff]
    if track.has("alt_abs_m"):
        absolute = track.altitudes("abs")
        reason = started_in_the_air(track.times_s(), east_m, north_m, absolute - absolute[np.isfinite(absolute)][0],
                                    jumps)
        if reason is not None:
            return [f"absolute altitudes only, and the log starts {reason}: the map needs the ground's elevation "
                    "(analyze or export --ground-elevation M, or auto to read it from the video)"]
        return ["absolute altitudes only: the map takes heights above the first fix; for a clip started in the air, "
                "give the ground's elevation (analyze or export --ground-elevation M, or auto to read it from the "
                "video)"]
    return ["no altitude: the map needs the drone's height above the ground (analyze or export --flight-height M, or "
            "auto to read it from the video)"]


def _heading_notes(track: Track, east_m: np.ndarray, north_m: np.ndarray, jumps: np.ndarray) -> list[str]:
    """How long a track without headings shows the drone hovering: frames filmed then are
    not placed (``geo.sync``: where a hovering drone looked is unknown)."""
    from geo.sync import still

    if track.has("yaw_deg") or track.has("gimbal_yaw_deg") or len(track) < 2:
        return []
    t = track.times_s()[~jumps]
    if len(t) < 2 or t[-1] - t[0] < 1.0:  # a log of a moment: nothing to say of hovering
        return []
    grid = np.arange(t[0], t[-1], 0.5)
    held = still(grid, t, east_m[~jumps], north_m[~jumps])
    if not held.any():
        return []
    # A CSV already is a flight log: asking for one would send the user back to the file they gave.
    remedy = ("this CSV has no heading column, the drone's own flight log (e.g. Airdata's CSV export) has one"
              if track.format == "csv" else "the drone's flight log as a CSV (e.g. from Airdata) holds its heading")
    return [f"no heading: the camera's heading is read from the direction of travel, so frames filmed while the "
            f"drone hovers are not placed (it is still for {0.5 * held.sum():.0f} of the log's {t[-1] - t[0]:.0f} "
            f"s) unless the camera's turns are read from the video (--camera auto); {remedy}"]


def camera_pitch_note(track: Track) -> str | None:
    """What the map will assume for a track that does not say where the camera looked
    (``None`` where it does): ``telemetry`` says it, and ``analyze`` before its first frame."""
    if track.has("gimbal_pitch_deg"):
        return None
    return ("no gimbal pitch: the map assumes the camera looks 45 deg down; give the pitch (analyze or export "
            "--pitch DEG) or have it read from the video (--camera auto; in the app, Georeferencing… > Camera pitch)")


def _camera_notes(track: Track) -> list[str]:
    note = camera_pitch_note(track)
    return [] if note is None else [note]


def _home_text(home: dict) -> str:
    altitude = "" if home["altitude_m"] is None else f", altitude {home['altitude_m']:.2f} m as written"
    return f"lat {home['lat']:.6f}, lon {home['lon']:.6f}{altitude}"


def format_summary(summary: dict) -> str:
    """The summary as aligned human-readable lines."""
    unit = "" if summary["time_base"] == "utc" else " s"
    clock = {"utc": "UTC", "video": "video time", "log": "log time (no date)"}[summary["time_base"]]
    bbox = summary["bbox"]

    def alt(key: str, kind: str) -> str:
        value = summary[key]
        source = summary.get("altitude_sources", {}).get(kind)
        return "none" if value is None else f"{value[0]:.1f} to {value[1]:.1f} m" + (f" ({source})" if source else "")

    lines = [
        ("file", summary["file"]),
        ("format", f"{summary['format']}: {summary['format_detail']}"),
        ("samples", f"{summary['samples']} (median step {summary['median_step_s']:.3f} s)" if summary["samples"] > 1
         else f"{summary['samples']} (one fix)"),
        ("time span", f"{summary['start']}{unit} to {summary['end']}{unit} ({summary['duration_s']:.1f} s, {clock})"),
    ]
    if summary["wall_clock_start"]:
        if summary["wall_clock_utc"]:  # a GoPro's GPS clock
            lines.append(("GPS clock", f"{summary['wall_clock_start']} at video start (UTC)"))
        else:
            lines.append(("drone clock", f"{summary['wall_clock_start']} at video start (local time as written)"))
    if summary.get("recordings"):
        lines.append(("video recorded", "; ".join(f"{r['start']}{unit} for {r['length_s']:.1f} s"
                                                 for r in summary["recordings"])))
    lines += [
        ("bounding box", f"lon {bbox['min_lon']:.6f} to {bbox['max_lon']:.6f}"
                         + (" (across 180 degrees)" if bbox["min_lon"] > bbox["max_lon"] else "")
                         + f", lat {bbox['min_lat']:.6f} to {bbox['max_lat']:.6f}"),
        *([("coordinate order", {"lat,lon": "latitude, longitude", "lon,lat": "longitude, latitude"}
                                    [summary["coordinate_order"]] + " (as written in GPS(..))")]
          if summary.get("coordinate_order") else []),
        ("path length", f"{summary['path_length_m']:.0f} m ({summary['crs']})"),
        *([("home (take-off)", _home_text(summary["home"]))] if summary.get("home") else []),
        ("altitude (take-off)", alt("altitude_rel_m", "rel")),
        ("altitude (absolute)", alt("altitude_abs_m", "abs")),
        ("camera height from", summary.get("camera_height") or "-"),
        ("gaps", f"{summary['gaps']['count']} longer than {summary['gaps']['threshold_s']:.1f} s"
                 + (f", longest {summary['gaps']['longest_s']:.1f} s" if summary["gaps"]["count"] else "")),
        ("GPS jumps", f"{summary['gps_jumps']} flagged"),
        ("fields", ", ".join(summary["fields"]) or "position only"),
    ]
    width = max(len(k) for k, _ in lines)
    text = [f"{k.ljust(width)}  {v}" for k, v in lines]
    text += [f"{'note'.ljust(width)}  {n}" for n in summary["notes"]]
    return "\n".join(text)
