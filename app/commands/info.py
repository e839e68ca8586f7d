"""``damagemap info PROJECT [--json]``: what a project holds.

Video and telemetry, each run with its model and settings, frames analysed (count and
index ranges), detections per damage level and review progress.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from app.commands._settings_text import settings_lines


def _steps_text(run: dict[str, Any]) -> str:
    """What Edit > Undo and Redo offer when the project is opened."""
    undo, redo = run["undo_steps"], run["redo_steps"]
    text = f"{undo} edit{'s' if undo != 1 else ''} to undo"
    return text + (f", {redo} to redo" if redo else "")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, help="project file (.dmproj)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--sites", action="store_true",
                        help="also count the damage sites of the latest run at the project's score threshold, as "
                             "the exports keep them (builds its map: seconds on a long flight)")


def frame_ranges(indices: Iterable[int], step: int | None = None) -> list[tuple[int, int]]:
    """Compress sorted frame indices into inclusive ``(first, last)`` ranges.

    ``step`` is the spacing that counts as contiguous (a strided run is one range);
    by default the most common gap between neighbours (the wider of two as common), or one
    frame more where that gap makes a quarter of them or more (frames picked at 2 fps of
    a 5 fps video are 2 and 3 apart in turn).
    """
    values = sorted(indices)
    if not values:
        return []
    if step is None:
        gaps = [b - a for a, b in zip(values, values[1:])]
        common = max((gaps.count(g), g) for g in set(gaps))[1] if gaps else 1
        step = common + 1 if gaps.count(common + 1) >= len(gaps) / 4 else common
    ranges = [[values[0], values[0]]]
    for value in values[1:]:
        if value - ranges[-1][1] <= step:
            ranges[-1][1] = value
        else:
            ranges.append([value, value])
    return [(a, b) for a, b in ranges]


def describe_project(store) -> dict[str, Any]:  # noqa: ANN001 - core.store.ProjectStore
    """Everything ``info`` shows, as plain JSON-ready values."""
    from core.frame_quality import unusable_frames
    from core.types import ReviewState
    from services.project import review_history_steps

    video = store.video_path
    telemetry = store.telemetry_path
    runs = []
    for run in store.runs():
        frames = store.analysed_frames(run.id)
        ranges = frame_ranges(frames)
        unusable = unusable_frames(store.frame_qualities(run.id))
        levels = store.level_counts(run.id)
        review = store.review_counts(run.id)
        total = sum(review.values())
        undo_redo = review_history_steps(store, run.id)
        runs.append(
            {
                "id": run.id,
                "created_utc": run.created_utc,
                "finished_utc": run.finished_utc,
                "finished": run.finished,
                "model": run.model,
                "settings": run.settings,
                "frames_analysed": len(frames),
                "frame_ranges": [list(r) for r in ranges],
                # per range, the narrowest and widest step between its analysed frames
                "frame_spacing": frame_spacing(ranges, frames),
                "time_range_s": [min(frames.values()), max(frames.values())] if frames else None,
                # frame index -> why it did not count as a look (core.frame_quality)
                "frames_unusable": {str(i): why for i, why in unusable.items()},
                "detections": {level.label: count for level, count in levels.items()},
                "detections_total": sum(levels.values()),
                "review": {state.value: count for state, count in review.items()},
                "reviewed_fraction": (total - review[ReviewState.PENDING]) / total if total else None,
                "edits": store.edit_count(run.id),
                "undo_steps": undo_redo[0],
                "redo_steps": undo_redo[1],
            }
        )
    return {
        "project": str(store.path),
        "read_only": store.read_only,
        "video": {"path": str(video), "exists": video.exists(), "camera": _video_camera(video)},
        "telemetry": None if telemetry is None else {"path": str(telemetry), "exists": telemetry.exists()},
        "settings": store.settings(),
        "files": _product_files(store),
        "runs": runs,
    }


def _product_files(store) -> dict[str, dict[str, Any]]:  # noqa: ANN001 - core.store.ProjectStore
    """The footprints and basemap the exports use (found beside a project moved with
    them, not at the absolute path stored), by settings key, and whether they are there."""
    from services.package import BASEMAP_KEY, FOOTPRINTS_KEY, product_sources

    footprints, basemap = product_sources(store)
    return {key: {"path": str(path), "exists": path.exists()}
            for key, path in ((FOOTPRINTS_KEY, footprints), (BASEMAP_KEY, basemap)) if path is not None}


def _video_camera(video: Path) -> str | None:
    """The camera the video's metadata names ("DJI Mavic 3"), if any and readable."""
    from core.errors import VideoError
    from engine.video_metadata import video_camera

    try:
        camera = video_camera(video)
    except VideoError:
        return None  # missing or unreadable: the video line says so
    return camera.describe() if camera is not None else None


def _model_name(model: dict) -> str:
    config = model.get("config") or {}
    name = "/".join(str(config[k]) for k in ("arch", "backbone") if config.get(k))
    weights = model.get("weights")
    where = Path(weights).name if weights else model.get("class", "given model")
    inference = model.get("inference") or {}
    size = inference.get("input_size") or config.get("min_size")
    if isinstance(size, list):  # trained at several sizes: it runs at the largest
        size = max(size)
    gate = inference.get("gate_threshold")
    settings = (f", input {size} px" if size else "") + (f", building gate {gate:g}" if gate is not None else "") + (
        ", mirror check" if inference.get("flip_check") else "") + (
        f", {inference['tiles']} x {inference['tiles']} tiles" if (inference.get("tiles") or 1) > 1 else "") + (
        ", close look" if inference.get("close_look") else "") + (
        f", sharpness ceiling {inference['sharpness_ceiling']:g}" if inference.get("sharpness_ceiling") else "")
    scale = inference.get("max_frame_scale")
    if scale and size and (inference.get("tiles") or 1) == 1:
        settings += f", frames over {round(scale * size)} lines shrunk to it"
    return f"{name or 'model'} ({where}{settings})"


def frame_spacing(ranges: Iterable[Sequence[int]], indices: Iterable[int]) -> list[list[int]]:
    """For each of ``ranges``, the narrowest and widest gap between the ``indices`` in it
    (``[1, 1]``: every frame; a single frame's range too)."""
    values = sorted(set(indices))
    out = []
    for a, b in ranges:
        inside = [v for v in values if a <= v <= b]
        gaps = [y - x for x, y in zip(inside, inside[1:])] or [1]
        out.append([min(gaps), max(gaps)])
    return out


def _ranges_text(ranges: Sequence[Sequence[int]], spacing: Sequence[Sequence[int]] | None = None) -> str:
    """``1-11 every 2-3, 41``: the ranges of frame indices, each with its spacing
    (:func:`frame_spacing`) where it skips frames (a range alone would read as every frame
    in it), numbered from 1 as the window's transport numbers frames (``--json`` keeps the
    indices, from 0)."""
    from core.types import frame_number

    parts = []
    for k, (a, b) in enumerate(ranges):
        low, high = spacing[k] if spacing is not None and k < len(spacing) else (1, 1)
        every = "" if high <= 1 else f" every {low}" if low == high else f" every {low}-{high}"
        parts.append(f"{frame_number(a)}" if a == b else f"{frame_number(a)}-{frame_number(b)}{every}")
    return ", ".join(parts[:8]) + (f", ... ({len(parts)} ranges)" if len(parts) > 8 else "")


def _indices_text(indices: Sequence[int]) -> str:
    """Frame indices as :func:`_ranges_text` words them."""
    ranges = frame_ranges(indices)
    return _ranges_text(ranges, frame_spacing(ranges, indices))


def run(args: argparse.Namespace) -> int:
    from app.commands._paths import refuse_folder
    from services.maps import unreadable_frames_note
    from core.store import ProjectStore

    refuse_folder(args.project, "the project file (.dmproj)")
    with ProjectStore.open(args.project) as store:
        report = describe_project(store)
        if args.sites:
            report["sites"] = describe_sites(store)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    missing = lambda entry: "" if entry["exists"] else "  (missing!)"  # noqa: E731
    read_only = "  (read-only: it can be viewed and exported, not changed)" if report["read_only"] else ""
    print(f"project:   {report['project']}{read_only}")
    camera = f"  (camera: {report['video']['camera']})" if report["video"]["camera"] else ""
    print(f"video:     {report['video']['path']}{missing(report['video'])}{camera}")
    telemetry = report["telemetry"]
    print(f"telemetry: {'none' if telemetry is None else telemetry['path'] + missing(telemetry)}")
    for k, line in enumerate(settings_lines(report["settings"], report["files"])):
        print(("settings:  " if k == 0 else " " * 11) + line)
    if not report["runs"]:
        print("runs:      none yet (damagemap analyze VIDEO --project PROJECT)")
    for run in report["runs"]:
        settings = run["settings"]
        selection = f"{settings['fps']} fps" if settings.get("fps") else f"every {settings.get('stride', 1)} frame(s)"
        if not run["finished"]:
            state = "incomplete (analyse again to resume)"
        else:
            from services.maps import video_not_whole

            state = "finished, the video not whole (below)" if video_not_whole(settings) else "complete"
        print(f"\nrun {run['id']} ({run['created_utc']}, {state})")
        print(f"  model:      {_model_name(run['model'])}")
        print(f"  settings:   {selection}, score >= {settings.get('score_threshold')}, "
              f"SRN {settings.get('srn_status', settings.get('srn'))}, device {settings.get('device')}")
        time_range = run["time_range_s"]
        span = f", {time_range[0]:.2f}-{time_range[1]:.2f} s" if time_range else ""
        ranges = _ranges_text(run["frame_ranges"], run.get("frame_spacing")) or "none"
        print(f"  frames:     {run['frames_analysed']} analysed (frames {ranges}{span})")
        if run["frames_unusable"]:
            reasons: dict[str, list[int]] = {}
            for index, why in run["frames_unusable"].items():
                reasons.setdefault(why, []).append(int(index))
            print("              " + "; ".join(
                f"{len(indices)} {why} ({_indices_text(indices)})"
                for why, indices in reasons.items()) + ": not counted as a look at the ground")
        unreadable = unreadable_frames_note(settings)
        if unreadable:
            print("              " + unreadable)
        left_out = settings.get("hover_left_out") or {}
        if left_out.get("frames"):  # services.analysis.LEFT_OUT_KEY
            frames = [int(i) for i in left_out["frames"]]
            print(f"              {len(frames)} left out ({_indices_text(frames)}): "
                  f"they only repeat a view the drone held while hovering (one frame every "
                  f"{left_out.get('every_s', 0):g} s of a hover analysed)")
        print(f"  detections: {run['detections_total']} (" + ", ".join(f"{k} {v}" for k, v in run["detections"].items()) + ")")
        review = run["review"]
        fraction = run["reviewed_fraction"]
        done = f"{fraction:.0%} reviewed" if fraction is not None else "nothing to review"
        print(f"  review:     {done}: {review['accepted']} accepted, {review['rejected']} rejected, "
              f"{review['pending']} pending; {_steps_text(run)}")
    sites = report.get("sites")
    if sites is not None:
        if "problem" in sites:
            print(f"\nsites:      cannot be counted: {sites['problem']}")
        else:
            more = f" (and {sites['unconfirmed']} unconfirmed)" if sites["unconfirmed"] else ""
            print(f"\nsites:      {sites['confirmed']} on the map of run {sites['run']} at score >= "
                  f"{sites['min_score']:.2f}{more}: " + ", ".join(f"{v} {k.lower()}" for k, v in sites["levels"].items()))
    return 0


def describe_sites(store) -> dict[str, Any]:  # noqa: ANN001 - core.store.ProjectStore
    """The latest run's damage sites as the exports keep them: confirmed sites by level,
    and how many more are unconfirmed; ``{"problem": ...}`` where no map can be made."""
    from core.errors import DamagemapError
    from core.types import DamageLevel
    from services.maps import damage_map, resolve_run

    try:
        run_id = resolve_run(store, None)
        built = damage_map(store, run_id)
    except DamagemapError as exc:
        return {"problem": str(exc)}
    counts = built.level_counts()
    return {"run": run_id,
            "min_score": float(store.project_settings().min_score),
            "confirmed": len(built.sites),
            "unconfirmed": len(built.with_unconfirmed().sites) - len(built.sites),
            "levels": {level.label: int(counts[level]) for level in sorted(DamageLevel, reverse=True)}}
