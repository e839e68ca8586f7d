"""``damagemap analyze VIDEO [--project P]``: run MSNet over a video into a project.

Argument parsing over :mod:`services.project` and :mod:`services.analysis`. Creates the
project when it does not exist (by default beside the video, ``flight.mp4`` ->
``flight.dmproj``, as the app does; with the telemetry given by ``--track`` or found
beside the video), resumes an interrupted run with the same settings, and starts a separate run
when the settings differ. Progress bar with frames/s and ETA; a summary at the end.

Several videos, or a folder of them, make a survey (:mod:`services.survey`): ``--project``
is then the survey's folder, each video a flight with its own project in it.
``--workers N`` / ``--ray ADDRESS`` analyse on Ray workers (:mod:`services.cluster`).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

from app.commands._resume import run_again


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", type=Path, nargs="+",
                        help="drone video (MP4, MOV, ...); several, or a folder of them, make a survey")
    parser.add_argument("--project", "-p", type=Path, default=None,
                        help="project file (.dmproj), created when it does not exist; default: beside the video "
                             "(flight.mp4 -> flight.dmproj, as the app does); with several videos or a folder, the "
                             "survey's folder (required); a survey's folder with one video adds it as a flight")
    parser.add_argument("--track", type=Path, default=None,
                        help="telemetry (GPX, DJI SRT, CSV flight log, MISB KLV); default: same name beside the "
                             "video, else the GPS "
                             "track inside the video (GoPro, Insta360)")
    from app.commands import _georeferencing
    from app.commands.survey import add_analysis_arguments

    add_analysis_arguments(parser)
    _georeferencing.add_group(parser, "kept in the project, so the check before the first frame, the app and "
                                      "every export use them; with several videos, each flight's (numbers only: "
                                      "'damagemap survey georeference' reads each flight's own)")


def run(args: argparse.Namespace) -> int:
    from app.commands import _georeferencing
    from app.commands.survey import analysis_request, cluster_options
    from engine.video import probe_video
    from services import analysis
    from services.project import open_or_create_project

    from app.commands._paths import refuse_overlong_name
    from core.survey import SURVEY_FILE

    if args.project is not None:
        refuse_overlong_name(args.project, "--project")
    if len(args.video) > 1 or args.video[0].is_dir() or (args.project is not None
                                                         and (args.project / SURVEY_FILE).is_file()):
        return _run_survey(args)  # (one video into a survey's folder: a flight of it)
    args.video = args.video[0]
    _refuse_a_project_for_its_video(args.video)
    request = analysis_request(args)
    _georeferencing.check(args)
    options = cluster_options(args)
    # A bad video or model fails before a project is created.
    info = probe_video(args.video)
    beside_video = args.project is None
    if beside_video:
        from services.project import default_project_path

        args.project = default_project_path(args.video)
        refuse_overlong_name(args.project, "the project beside the video (give --project PATH)")
        print(f"project: {args.project} (beside the video; --project names another)", file=sys.stderr)
    _check_paths(args, beside_video=beside_video)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    model = analysis.load_model(request)

    with open_or_create_project(args.video, args.project, telemetry_path=args.track) as store:
        _keep_georeferencing(store, args)
        plan = analysis.plan(store, request, model=model, check_placement=True)
        _refuse_a_second_writer(store, plan.run_id)
        print(
            f"{args.video.name}: {info.width_px}x{info.height_px}, {info.frame_count} frames, "
            f"{info.duration_s:.1f} s; analysing {plan.frames_total} frames on {plan.device} "
            f"(run {plan.run_id}, SRN {plan.settings['srn_status']})",
            file=sys.stderr,
        )
        if store.telemetry_path is not None:
            if Path(store.telemetry_path) == Path(args.video).absolute():
                print("telemetry: the GPS track inside the video (no telemetry file beside it)", file=sys.stderr)
            else:
                print(f"telemetry: {store.telemetry_path}", file=sys.stderr)
        else:  # said now, not first at export, while the frames are analysed all the same
            print(f"telemetry: none found beside {args.video.name} or inside it: the frames are analysed, but the "
                  "map needs the drone's track (put its SRT, GPX or flight log CSV beside the video with the same "
                  "name and analyse again, or give it with --track FILE now or export --telemetry FILE later)",
                  file=sys.stderr)
        for note in plan.notes:
            print(note, file=sys.stderr)
        if not plan.todo and not plan.warmup:
            print(f"run {plan.run_id} is complete already; use --new-run to analyse again", file=sys.stderr)
            return _summary(store, plan.run_id, 0, 0.0)
        cancel = threading.Event()
        started = time.perf_counter()
        count = 0
        bar = _progress_bar(plan, disable=args.quiet)
        try:
            if options is not None:
                from services.cluster import analyse_on_ray

                runs = analyse_on_ray(store, request, options, analysis_plan=plan, cancel=cancel)
            else:
                runs = analysis.analyse(store, request, analysis_plan=plan, cancel=cancel)
            for progress in runs:
                count += 1
                # The postfix first, so the bar drawn by update() shows this frame, not the one before.
                bar.set_postfix(frame=progress.frame_index, found=len(progress.detections), refresh=False)
                bar.update(1)
        except KeyboardInterrupt:
            bar.close()
            print(
                f"interrupted: {count} frames stored in this session, in run {plan.run_id}; {run_again(args)} "
                "to resume it",
                file=sys.stderr,
            )
            return 130
        bar.close()
        status = _summary(store, plan.run_id, count, time.perf_counter() - started)
        _keep_earlier_decisions(store, plan.run_id)
    return status


def _keep_georeferencing(store, args: argparse.Namespace) -> None:  # noqa: ANN001 - ProjectStore
    """Store the georeferencing flags given (and what ``auto`` read) in the project,
    saying what was kept."""
    from app.commands import _georeferencing

    flags = _georeferencing.given(args)
    if not flags:
        return
    before = store.project_settings()
    settings = _georeferencing.settings_with_flags(store, args)
    settings, _ = _georeferencing.read_from_video(store, args, settings,
                                                  say=lambda line: print(line, file=sys.stderr))
    store.set_project_settings(settings)
    kept = _georeferencing.kept(args, before, settings)  # an 'auto' that read nothing (said above) kept nothing
    if kept:
        print(f"{', '.join(kept)}: kept in the project for its map, the app and every export", file=sys.stderr)


def _run_survey(args: argparse.Namespace) -> int:
    """Several videos or a folder: each a flight of the survey in ``--project``."""
    from app.commands import _georeferencing
    from app.commands.survey import analyse_and_report, analysis_request, cluster_options
    from core.errors import DamagemapError, InputError
    from core.survey import SURVEY_FILE, Survey
    from services import survey as surveys

    _georeferencing.refuse_auto_for_a_survey(args)
    videos = surveys.videos_in(args.video)
    if args.project is None or args.project.suffix.lower() == ".dmproj" or args.project.is_file():
        given = "" if args.project is None else f"--project {str(args.project)!r}: "
        raise InputError(f"{given}with several videos give a folder for the survey (--project FOLDER, created "
                         "when missing); each video becomes a flight with its own project in it")
    if args.track is not None and len(videos) > 1:
        raise InputError("--track names one video's telemetry; with several videos each one's is found beside it "
                         "(or add them one by one with 'damagemap survey add --track')")
    analysis_request(args)  # the flags checked before anything is created
    cluster_options(args)
    _georeferencing.check(args)
    exists = (args.project / SURVEY_FILE).is_file()
    survey = Survey.open(args.project) if exists else surveys.create_survey(args.project)
    known = {Path(f.video).resolve(): f.name for f in survey.flights}
    names = []
    left_out: list[str] = []
    for video in videos:
        if video.resolve() not in known:
            try:
                known[video.resolve()] = surveys.add_flight(survey, video, telemetry=args.track).name
            except DamagemapError as exc:
                if len(videos) == 1:
                    raise
                # a clip cut off by a flat battery must not hold up the card's other flights
                line = f"{video}: not added: {exc}"
                print(line, file=sys.stderr)
                left_out.append(line)
                continue
        names.append(known[video.resolve()])
    if not names:
        raise InputError(f"none of the {len(videos)} videos could be added to the survey (each is named above)")
    _georeferencing.keep_in_flights(args, survey, names, say=lambda line: print(line, file=sys.stderr))
    print(f"survey {args.project}: {len(names)} flights to analyse; see "
          f"`damagemap survey info {_from_here(args.project)}`", file=sys.stderr)
    return analyse_and_report(args, survey, names, left_out)


def _refuse_a_project_for_its_video(path: Path) -> None:
    """A project given where its video goes (to resume it): said so, with the command that
    resumes it, not "not a readable video"."""
    import shlex

    from core.errors import DamagemapError, InputError
    from core.store import ProjectStore

    if path.suffix.lower() != ".dmproj" or not path.is_file():
        return
    try:
        with ProjectStore.open(path, read_only=True) as store:
            video = store.video_path
    except DamagemapError:
        return  # not a project after all: the video check says what it is
    raise InputError(f"{str(path)!r} is a project, not a video: analyse (or resume) its video with "
                     f"damagemap analyze {shlex.quote(str(video))} --project {shlex.quote(str(path))}")


def _refuse_a_second_writer(store, run_id: int) -> None:  # noqa: ANN001 - ProjectStore
    """Another damagemap analysing the same run now: said before any frame is analysed."""
    from core.errors import InputError
    from core.store import analysed_elsewhere_message

    writer = None if store.run(run_id).finished else store.active_writer(run_id)
    if writer is not None:
        raise InputError(f"{str(store.path)!r}: {analysed_elsewhere_message(run_id, writer)} (or, if it was stopped "
                         "on another machine, run the same command again in two minutes)")


def _missing_folder_problem(folder: Path) -> str:
    """Why ``folder`` (which is not a folder) cannot hold a project: it is a file, or a
    file stands where one of its parents should be (``flight.gpx/p.dmproj``), or it does
    not exist."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if candidate.is_dir():
                break
            if candidate == folder:
                return f"{str(folder)!r} is a file, not a folder"
            return f"{str(candidate)!r} is a file, not a folder, so {str(folder)!r} cannot exist"
    return f"the folder {str(folder)!r} does not exist"


def _check_paths(args: argparse.Namespace, *, beside_video: bool = False) -> None:
    """What can be checked before the model loads: a folder given as the project, the project's
    folder (missing, a file, or one that cannot be written: a read-only card), a project
    there that cannot be opened (damaged, another application's file), and the
    telemetry given with ``--track`` (read in full: a file that is not telemetry fails now,
    not at export after the whole video was analysed). ``beside_video``: the project is
    the default one beside the video, not one the user named."""
    from core.errors import InputError, TelemetryError

    if args.project.is_dir():
        raise InputError(
            f"--project {str(args.project)!r} is a folder; give a project file such as "
            f"{str(args.project / (args.video.stem + '.dmproj'))!r}"
        )
    folder = args.project.absolute().parent
    if not args.project.exists() and not folder.is_dir():
        raise InputError(f"--project {str(args.project)!r}: {_missing_folder_problem(folder)}")
    if not args.project.exists() and not os.access(folder, os.W_OK):
        # SQLite would only say "unable to open database file".
        where = "beside the video" if beside_video else "there"
        raise InputError(
            f"{folder} is read-only (cannot be written to): the project {args.project.name!r} cannot be created "
            f"{where}; give --project PATH in a folder you can write to"
        )
    if args.project.is_file():
        from core.store import ProjectStore

        with ProjectStore.open(args.project, read_only=True):  # its one-line refusal, before the model's notes
            pass
    if args.track is not None:
        import csv

        from geo.telemetry import read_telemetry

        if args.track.is_dir():
            raise TelemetryError(f"--track {str(args.track)!r} is a folder; give the telemetry file (GPX, DJI SRT, "
                                 "CSV flight log) inside it")
        try:  # a missing file, or a named pipe that would block the read, is named as such
            read_telemetry(args.track)
        except TelemetryError:
            raise
        except (ValueError, OSError, UnicodeError, csv.Error) as exc:
            raise TelemetryError(f"{str(args.track)!r}: cannot read telemetry: {exc}") from exc


def _keep_earlier_decisions(store, run_id: int) -> None:  # noqa: ANN001 - ProjectStore
    """A finished new run gets the site decisions made on the same damage in earlier runs."""
    from core.errors import DamagemapError
    from services.sites import keep_earlier_outcome

    if not store.run(run_id).finished:
        return
    try:
        outcome = keep_earlier_outcome(store, run_id)
    except DamagemapError as exc:
        print(f"earlier site decisions not applied: {exc}", file=sys.stderr)
        return
    if outcome.sightings:
        print(f"kept earlier site decisions on {outcome.sightings} detections (the same damage: seen in the same "
              "frames, or within reach of a decided site)")
    for disputed in outcome.disputed:
        print(f"left for review: {disputed.text()}")


def _progress_bar(plan, *, disable: bool):  # noqa: ANN001, ANN202 - AnalysisPlan, tqdm
    from tqdm import tqdm

    return tqdm(
        total=plan.frames_total, initial=plan.frames_done, unit="frame", desc="analysing",
        dynamic_ncols=True, disable=disable, file=sys.stderr,
    )


def _summary(store, run_id: int, frames: int, seconds: float) -> int:  # noqa: ANN001 - ProjectStore
    """Print what the run holds; the exit status: 2 when frames of the video could not be
    decoded (the run is as complete as the file allows, but the file is not whole), else 0."""
    from services.maps import frames_missing, unreadable_frames, unreadable_frames_note, video_not_whole

    run = store.run(run_id)
    levels = store.level_counts(run_id)
    left_out = len(unreadable_frames(run.settings))
    rate = f", {frames / seconds:.2f} frames/s" if frames and seconds > 0 else ""
    if not run.finished:
        state = ""
    elif left_out:
        state = f" (finished, {left_out} selected frame{'' if left_out == 1 else 's'} left out)"
    elif frames_missing(run.settings):
        state = " (finished, the video cut short)"
    else:
        state = " (complete)"
    print(f"run {run_id}: {run.frames_done} frames analysed{state}; "
          f"this session {frames} frames in {seconds:.1f} s{rate}")
    unreadable = unreadable_frames_note(run.settings)
    if unreadable:
        print(unreadable)
    print("detections: " + ", ".join(f"{level.label} {count}" for level, count in levels.items()))
    print(f"project: {store.path}  (see `damagemap info {_from_here(store.path)}`)")
    return 2 if video_not_whole(run.settings) else 0


def _from_here(path: Path) -> str:
    """``path`` as the user would type it from the current folder: relative when it is
    inside it, absolute otherwise, quoted for the shell when it needs it (spaces)."""
    import shlex

    try:
        relative = Path(os.path.relpath(path))
    except ValueError:  # another drive on Windows
        relative = path
    return shlex.quote(str(path if relative.parts[:1] == ("..",) else relative))

