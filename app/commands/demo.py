"""``damagemap demo``: synthetic flyover -> analysis -> maps -> the desktop app.

Each step is guarded: when a part is missing (no default model shipped, no display, ...)
the step is skipped with the reason and the demo goes on with what it can do. Running
it again reuses the flyover, the finished analysis and the maps in ``--out`` (the model
is not even loaded when the analysis is complete), and never overwrites maps it did not
write itself: a ``maps`` folder holding files changed or added since the demo wrote it
is left as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_STAMP = "demo.json"
_PROJECT = "demo.dmproj"
#: Beside the project: the analysis the demo finished (its settings and run).
_ANALYSIS_STAMP = "demo-analysis.json"
#: Inside the maps folder: the files the demo wrote (size, time) and the project state they show.
_MAPS_STAMP = ".demo-maps.json"


#: What the demo offers to make its analysis lighter on a machine without a GPU (its own
#: flag, not ``analyze``'s --fps and --every).
CPU_HINT = "analyse fewer frames with a lower --analysis-fps"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("damagemap-demo"), metavar="DIR",
                        help="folder for the flyover, project and maps (default: ./damagemap-demo)")
    parser.add_argument("--seconds", type=float, default=20.0, help="flyover length (default: 20)")
    parser.add_argument("--size", default="1280x720", metavar="WxH", help="video size (default: 1280x720)")
    parser.add_argument("--seed", type=int, default=0, help="scene and flight seed (default: 0)")
    parser.add_argument("--analysis-fps", type=float, default=2.0, metavar="F",
                        help="frames analysed per second of video (default: 2)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--weights", type=Path, default=None, help="MSNet weights (default: the shipped model)")
    parser.add_argument("--no-gui", action="store_true", help="do not open the window (headless)")


class _Steps:
    """Runs named steps, printing what happened to each, and remembers the skips and
    the failures (a step whose action raised, as against one skipped for want of an
    earlier step's result)."""

    def __init__(self) -> None:
        self.skipped: list[str] = []
        self.failed: list[str] = []

    def run(self, name: str, action: Callable[[], Any], *, needs: bool = True, why_not: str = "") -> Any:
        from core.errors import DamagemapError

        if not needs:
            self._skip(name, why_not)
            return None
        print(f"== {name}", file=sys.stderr)
        started = time.perf_counter()
        try:
            result = action()
        except (DamagemapError, ImportError, OSError) as exc:
            self._skip(name, f"{type(exc).__name__}: {exc}")
            self.failed.append(name)
            return None
        print(f"   done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return result

    def _skip(self, name: str, reason: str) -> None:
        self.skipped.append(f"{name}: {reason}")
        print(f"== {name}: SKIPPED - {reason}", file=sys.stderr)


def _parse_size(text: str) -> tuple[int, int]:
    from core.errors import InputError

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError(f"--size: expected WIDTHxHEIGHT such as 1280x720; got {text!r}") from None
    return width, height


def _render(out: Path, seconds: float, size: tuple[int, int], seed: int) -> Path:
    """The flyover video, rendered unless the one in ``out`` was made with these settings."""
    from engine.synth import render_flyover

    stamp = {"seconds": seconds, "size": list(size), "seed": seed, "fps": 10.0}
    video = out / "flyover" / "flight.mp4"
    stamp_path = out / _STAMP
    if video.is_file() and stamp_path.is_file() and json.loads(stamp_path.read_text()) == stamp:
        print(f"   reusing {video}", file=sys.stderr)
        return video
    # A new flyover invalidates the demo's old project (only files the demo wrote).
    for suffix in ("", "-wal", "-shm"):
        (out / (_PROJECT + suffix)).unlink(missing_ok=True)
    (out / _ANALYSIS_STAMP).unlink(missing_ok=True)
    from app.commands.synth import frame_progress

    paths = render_flyover(out / "flyover", seconds=seconds, fps=10.0, size=size, seed=seed,
                           progress=frame_progress("   rendering"))
    stamp_path.write_text(json.dumps(stamp))
    print(f"   {paths.frame_count} frames -> {paths.video}", file=sys.stderr)
    return paths.video


def _hfov_from_camera(video: Path) -> float | None:
    camera = video.parent / "camera.json"
    try:
        return float(json.loads(camera.read_text())["intrinsics"]["hfov_deg"])
    except (OSError, KeyError, TypeError, ValueError):
        return None


def _analysis_key(args: argparse.Namespace) -> dict[str, Any]:
    weights = None if args.weights is None else str(Path(args.weights).absolute())
    return {"fps": args.analysis_fps, "weights": weights}


def _finished_analysis(out: Path, project: Path, args: argparse.Namespace) -> int | None:
    """The run of an earlier demo with these settings, if it is complete in the project."""
    from core.errors import DamagemapError
    from core.store import ProjectStore

    stamp_path = out / _ANALYSIS_STAMP
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("key") != _analysis_key(args) or not project.is_file():
        return None
    try:
        with ProjectStore.open(project, read_only=True) as store:
            run_id = int(stamp["run_id"])
            return run_id if store.run(run_id).finished else None
    except (DamagemapError, KeyError, TypeError, ValueError):
        return None


def _analyse(video: Path, project: Path, args: argparse.Namespace) -> Path:
    from dataclasses import replace

    from services import analysis
    from services.project import open_or_create_project

    out = project.parent
    finished = _finished_analysis(out, project, args)
    if finished is not None:
        print(f"   reusing run {finished} of {project} (complete)", file=sys.stderr)
        return project
    (out / _ANALYSIS_STAMP).unlink(missing_ok=True)
    request = analysis.AnalysisRequest(device=args.device, weights=args.weights, fps=args.analysis_fps)
    model = analysis.load_model(request, cpu_hint=CPU_HINT)  # a missing model is said before the project exists
    with open_or_create_project(video, project) as store:
        plan = analysis.plan(store, request, model=model, check_placement=True)
        for note in plan.notes:
            print(f"   {note}", file=sys.stderr)
        count = sum(1 for _ in analysis.analyse(store, request, analysis_plan=plan))
        print(f"   run {plan.run_id}: {count} frames analysed now, {plan.frames_total} in all", file=sys.stderr)
        hfov = _hfov_from_camera(video)
        settings = store.project_settings()
        if hfov is not None and settings.hfov_deg is None:
            store.set_project_settings(replace(settings, hfov_deg=hfov))
        if store.run(plan.run_id).finished:
            (out / _ANALYSIS_STAMP).write_text(json.dumps({"key": _analysis_key(args), "run_id": plan.run_id}))
    return project


def _project_state(store) -> dict[str, Any]:  # noqa: ANN001 - ProjectStore
    """What the maps show: the latest run, its review history and site edits, the settings."""
    run_id = store.latest_run_id()
    if run_id is None:
        return {"run_id": None}
    return {
        "run_id": run_id, "run_created": store.run(run_id).created_utc, "edits": store.edit_count(run_id), "site_groups": store.site_groups_version(run_id),
        "site_decisions": len(store.site_decisions(run_id)), "settings": store.settings(),
        "telemetry": str(store.telemetry_path),
    }


def _files_in(folder: Path) -> dict[str, list[int]]:
    return {
        p.name: [p.stat().st_size, p.stat().st_mtime_ns]
        for p in sorted(folder.iterdir()) if p.is_file() and p.name != _MAPS_STAMP
    }


def _not_the_demos(maps: Path, written: dict[str, Any] | None) -> str:
    """What in ``maps`` is not as the demo wrote it (``written``: its record of the files,
    ``None`` where it kept none), in words: "holds files the demo did not write (notes.txt)"."""
    if written is None:  # every entry is someone else's
        return f"holds files the demo did not write ({_names(p.name for p in maps.iterdir() if p.name != _MAPS_STAMP)})"
    found = _files_in(maps)
    parts = []
    if others := [name for name in found if name not in written]:
        parts.append(f"holds files the demo did not write ({_names(others)})")
    if changed := [name for name in found if name in written and found[name] != written[name]]:
        parts.append(f"holds maps changed since the demo wrote them ({_names(changed)})")
    if gone := [name for name in written if name not in found]:
        parts.append(f"lacks maps the demo wrote ({_names(gone)})")
    return " and ".join(parts)


def _names(names: Iterable[str], shown: int = 3) -> str:
    """``names`` sorted, the first ``shown`` named: "a.csv, b.kml and 4 more"."""
    names = sorted(names)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _export(project: Path, maps: Path) -> Path | None:
    """The demo's maps: written when missing or out of date; never over files the demo
    did not write (a user's own export into the same folder)."""
    from core.store import ProjectStore
    from services.demo_flight import keep_scene_layers
    from services.export import ExportRequest, export_project

    with ProjectStore.open(project) as store:
        keep_scene_layers(store)  # the flyover's footprints and nadir orthophoto
        state = json.loads(json.dumps(_project_state(store)))
        if maps.is_dir() and any(maps.iterdir()):
            try:
                stamp = json.loads((maps / _MAPS_STAMP).read_text())
            except (OSError, ValueError):
                stamp = None
            written = stamp.get("files") if isinstance(stamp, dict) else None
            if not isinstance(written, dict) or written != _files_in(maps):
                print(f"   {maps} {_not_the_demos(maps, written)}: left as they are; "
                      f"to make the demo's maps: damagemap export {project} --to OTHER_FOLDER", file=sys.stderr)
                return None
            if stamp.get("project") == state:
                print(f"   reusing the maps in {maps} (the project has not changed)", file=sys.stderr)
                return maps
            (maps / _MAPS_STAMP).unlink()
        result = export_project(store, ExportRequest(maps))
    assert result.damage_map is not None
    (maps / _MAPS_STAMP).write_text(json.dumps({"files": _files_in(maps), "project": state}))
    print(f"   {len(result.damage_map.sites)} damage sites, {len(result.written)} files in {maps}", file=sys.stderr)
    return maps


def _open_gui(project: Path) -> int:
    from app.main_window import launch  # lazy: Qt only when the window is wanted

    return launch(project)


def _check_writable(folder: Path) -> None:
    """Refuse a folder the demo cannot write into (a read-only card, a share) at once,
    with one line: each step would fail on it, one after another."""
    import tempfile

    from core.errors import InputError

    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputError(f"--out {str(folder)!r}: the folder is not writable ({exc.strerror or exc}); "
                         "give --out a folder you can write to") from None


def run(args: argparse.Namespace) -> int:
    from app.commands import _flags

    _flags.positive("--seconds", args.seconds, "of seconds")  # before anything is made
    _flags.positive("--analysis-fps", args.analysis_fps, "of frames per second")
    size = _parse_size(args.size)
    out = args.out.absolute()
    out.mkdir(parents=True, exist_ok=True)
    _check_writable(out)
    project = out / _PROJECT
    steps = _Steps()
    started = time.perf_counter()

    video = steps.run(f"1/4 synthetic flyover ({args.seconds:g} s, {size[0]}x{size[1]})",
                      lambda: _render(out, args.seconds, size, args.seed))
    analysed = steps.run(
        f"2/4 analysis at {args.analysis_fps:g} frames/s", lambda: _analyse(video, project, args),
        needs=video is not None, why_not="no flyover video",
    )
    maps = steps.run(
        "3/4 damage maps", lambda: _export(project, out / "maps"),
        needs=analysed is not None, why_not="no analysis to map",
    )
    total = time.perf_counter() - started
    print(f"\ndemo finished in {total:.0f} s in {out}")
    if maps is not None:
        html = sorted(Path(maps).glob("*.html"))
        print(f"  maps: {maps}" + (f" (open {html[0]} in a browser)" if html else ""))
    if analysed is not None:
        print(f"  project: {project} (damagemap info {project})")
    for skipped in steps.skipped:
        print(f"  skipped {skipped}")

    if args.no_gui:  # a script (or CI) running the demo learns that a step failed
        return 1 if steps.failed else 0
    if not project.exists():
        print("  not opening the window: there is no project to show", file=sys.stderr)
        return 1 if steps.skipped else 0
    from app.commands.gui import DisplayError, check_display

    try:
        check_display()  # no display, or missing xcb libraries: say so instead of Qt's abort
    except DisplayError as exc:
        why_not = str(exc) if "--no-gui" in str(exc) else f"{exc}; or use --no-gui"
        steps.run("4/4 desktop app", lambda: None, needs=False, why_not=why_not)
        return 0
    status = steps.run("4/4 desktop app", lambda: _open_gui(project))
    return int(status or 0)
