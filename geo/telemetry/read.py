"""Choosing the reader for a telemetry file by its suffix, else by its content."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from core.errors import TelemetryError
from geo.telemetry._text import regular_file
from geo.telemetry.csvlog import read_csv_log
from geo.telemetry.embedded import VIDEO_SUFFIXES, read_embedded
from geo.telemetry.gpx import read_gpx
from geo.telemetry.klv import read_klv
from geo.telemetry.srt import read_srt
from geo.telemetry.track import Track

Reader = Callable[[Path], Track]

_BY_SUFFIX: dict[str, Reader] = {".srt": read_srt, ".gpx": read_gpx, ".csv": read_csv_log, ".klv": read_klv,
                                  **dict.fromkeys(VIDEO_SUFFIXES, read_embedded)}

#: What the readers take, as a refusal names it.
SUPPORTED = ("supported: GPX, DJI SRT, CSV flight logs, MISB KLV (.klv), and the GPS a GoPro or Insta360 camera "
             "records inside its video")

#: Telemetry found beside a video, best first: per-frame SRT, then GPX, then a log.
BESIDE_SUFFIXES = (".srt", ".gpx", ".csv")

_MISB_UL = bytes.fromhex("060e2b34")
_IMAGE_MAGIC = {b"\xff\xd8\xff": "a JPEG image", b"\x89PNG": "a PNG image", b"II*\x00": "a TIFF image",
                b"MM\x00*": "a TIFF image"}
_SRT_HINT = re.compile(rb"-->|GPS\s*\(|\[latitude|FrameCnt|SrtCnt")


def _sniff(path: Path) -> Reader:
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise TelemetryError(f"{path}: cannot read telemetry: {exc.strerror or exc}") from None
    if not head:
        raise TelemetryError(f"{path}: the telemetry file is empty")
    if _MISB_UL in head[:64]:
        return read_klv
    for magic, what in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            raise TelemetryError(f"{path}: is {what}, not telemetry ({SUPPORTED})")
    if head[:1] == b"G" and len(head) > 376 and head[188:189] == b"G" and head[376:377] == b"G":  # MPEG-TS
        raise TelemetryError(
            f"{path}: is an MPEG transport stream; extract its KLV metadata first "
            "(ffmpeg -i VIDEO.ts -map 0:d -c copy -f data VIDEO.klv) and give that"
        )
    if head[4:8] == b"ftyp":  # MP4/MOV: the telemetry the camera wrote inside it
        return read_embedded
    if head.startswith(b"\x1aE\xdf\xa3"):
        raise TelemetryError(f"{path}: is a video file; give its telemetry (.SRT/.gpx/.csv) instead")
    if b"\x00" in head and path.suffix.lower() == ".txt":
        raise TelemetryError(
            f"{path}: is a DJI flight record (.txt), which DJI encrypts and cannot be read; export it as CSV "
            "(Airdata, PhantomHelp or FlightReader) or use the video's .SRT"
        )
    if b"\x00" in head:
        raise TelemetryError(f"{path}: binary data, not a telemetry file ({SUPPORTED})")
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"{", b"["):  # no supported format is JSON; the likeliest mix-up is a map's GeoJSON
        if re.search(rb'"type"\s*:\s*"(FeatureCollection|Feature)"', head):
            raise TelemetryError(
                f"{path}: looks like GeoJSON (map features such as building footprints), not a flight track "
                f"({SUPPORTED})"
            )
        raise TelemetryError(f"{path}: is JSON, not a telemetry file ({SUPPORTED})")
    if text.startswith(b"<?xml") or b"<gpx" in head:
        return read_gpx
    if _SRT_HINT.search(head):
        return read_srt
    first_line = text.split(b"\n", 1)[0]
    if first_line.count(b",") >= 2 or first_line.count(b";") >= 2 or first_line.count(b"\t") >= 2:
        return read_csv_log
    raise TelemetryError(
        f"{path}: unrecognised telemetry format ({SUPPORTED})"
    )


def read_telemetry(path: str | Path) -> Track:
    """Read any supported telemetry file.

    The suffix picks the reader (``.SRT``, ``.gpx``, ``.csv``, ``.klv``, any case; a video,
    ``.MP4``/``.MOV``/``.360``/``.insv``, for the telemetry the camera wrote inside it); other
    files are recognised by their content.

    Raises
    ------
    TelemetryError
        Naming the file: missing, unsupported, or unreadable as what it claims to be.
    """
    path = Path(path)
    regular_file(path, "telemetry file")
    reader = _BY_SUFFIX.get(path.suffix.lower())
    if reader is None:
        reader = _sniff(path)
    track = reader(path)
    times = track.times_s()
    if len(times) > 1 and float(times.max() - times.min()) == 0.0:  # a path with no time to put it on the video's
        raise TelemetryError(f"{path}: all {len(times)} points carry one and the same time, so the flight cannot "
                             "be put on the video's clock (a track whose times were lost in editing, or "
                             "written by a tool that stamps the export's time on every point)")
    return track


def find_telemetry_beside(video_path: str | Path) -> Path | None:
    """The telemetry file next to a video with the same stem (``DJI_0001.MP4`` ->
    ``DJI_0001.SRT``), any suffix case; SRT before GPX before CSV. ``None`` if none."""
    video_path = Path(video_path)
    folder = video_path.parent
    if not folder.is_dir():
        return None
    candidates = {}
    for entry in folder.iterdir():
        if entry.is_file() and entry.stem == video_path.stem and entry.suffix.lower() in BESIDE_SUFFIXES:
            candidates.setdefault(entry.suffix.lower(), entry)
    for suffix in BESIDE_SUFFIXES:
        if suffix in candidates:
            return candidates[suffix]
    return None
