"""``damagemap survey ...``: many flights, one map.

    damagemap survey create SURVEY                      a folder with survey.json
    damagemap survey add SURVEY VIDEO|FOLDER|PROJECT ... one project per flight (taken where it is, if any)
    damagemap survey remove SURVEY FLIGHT               out of the survey (its project stays)
    damagemap survey relink SURVEY FLIGHT PATH          where a flight's project or video is now
    damagemap survey analyse SURVEY [--workers N | --ray ADDRESS]
    damagemap survey georeference SURVEY [--flight NAME]   camera and heights a log lacks, from each video
    damagemap survey info SURVEY                        flights, coverage, sites
    damagemap survey decide SURVEY SITE accept|reject|slight|severe|debris
    damagemap survey export SURVEY --to DIR [--footprints FILE] [--event NAME --glide ID ...]
                                                        sites, coverage, maps, graded buildings

Argument parsing over :mod:`services.survey`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.commands import _flags
from app.commands._resume import run_again
from core.sites import counted

DECISIONS = ("accept", "reject", "slight", "severe", "debris")


#: The survey's folder, as each action names it.
SURVEY_HELP = "the survey's folder (its survey.json and its flights' projects)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="survey_command", metavar="ACTION", required=True)

    create = sub.add_parser("create", help="create an empty survey folder")
    create.add_argument("survey", type=Path, help="survey folder (created)")
    create.add_argument("--name", default=None, help="the survey's name (default: the folder's)")

    add = sub.add_parser("add", help="add flights: videos, or folders of videos (telemetry found beside each)")
    add.add_argument("survey", type=Path, help=SURVEY_HELP)
    add.add_argument("videos", type=Path, nargs="+", metavar="VIDEO",
                     help="video files, folders of videos, or flights' projects (.dmproj); a video's project "
                          "beside it (as `damagemap analyze` makes it) comes with it, its analysis and reviews "
                          "taken where it is")
    add.add_argument("--track", type=Path, default=None, help="telemetry of the (one) video added")
    add.add_argument("--name", default=None, help="the flight's name (one video; default: from its file name)")
    add.add_argument("--date", default=None, help="the flight's date, ISO (default: the video's creation time)")
    add.add_argument("--drone", default=None, help="which drone flew it (free text)")

    relink = sub.add_parser("relink", help="give where a flight's project or video is now (moved, renamed, or the "
                                           "survey moved without it); a renamed video is matched by content")
    relink.add_argument("survey", type=Path, help=SURVEY_HELP)
    relink.add_argument("flight", help="the flight's name (see 'survey info')")
    relink.add_argument("project", type=Path, metavar="PATH",
                        help="the flight's project (.dmproj) where it is now, its video (under any name: matched "
                             "by the size, frame count and length its project, or else the survey, recorded), or a "
                             "folder holding it")

    remove = sub.add_parser("remove", help="take a flight out of the survey (its project stays on disk)")
    remove.add_argument("survey", type=Path, help=SURVEY_HELP)
    remove.add_argument("flight", help="the flight's name (see 'survey info')")

    analyse = sub.add_parser("analyse", aliases=["analyze"], help="analyse the flights (resumes where it stopped)")
    analyse.add_argument("survey", type=Path, help=SURVEY_HELP)
    analyse.add_argument("--flight", action="append", default=None, help="only this flight (repeatable)")
    add_analysis_arguments(analyse)
    from app.commands import _georeferencing

    _georeferencing.add_group(analyse, "numbers only, kept in each flight's project before its first frame "
                                       "('survey georeference' reads each flight's own)")

    georeference = sub.add_parser(
        "georeference", help="read from each flight's video what its telemetry lacks (camera pitch and heading for "
                             "a GPX or DJI Mini SRT, the ground for absolute altitudes, the height for none) and "
                             "keep it in the flight's project")
    georeference.add_argument("survey", type=Path, help=SURVEY_HELP)
    georeference.add_argument("--flight", action="append", default=None, help="only this flight (repeatable)")
    georeference.add_argument("--again", action="store_true",
                              help="read again where the flight's project already has a value")

    info = sub.add_parser("info", help="flights, their coverage, and the survey's sites")
    info.add_argument("survey", type=Path, help=SURVEY_HELP)
    info.add_argument("--json", action="store_true", help="machine-readable")

    decide = sub.add_parser("decide", help="accept, reject or relabel survey sites in every flight")
    decide.add_argument("survey", type=Path, help=SURVEY_HELP)
    decide.add_argument("sites", type=int, nargs="+", metavar="site",
                        help="site numbers (see 'survey info'); several are decided alike")
    decide.add_argument("decision", choices=DECISIONS,
                        help="accept or reject every sighting of the sites, or relabel them all slight, severe or "
                             "debris (the Sites panel's A, X, 1, 2, 3)")

    export = sub.add_parser("export", help="write the survey's sites and coverage")
    export.add_argument("survey", type=Path, help=SURVEY_HELP)
    export.add_argument("--to", "--out", dest="to", type=Path, default=None, metavar="DIR",
                        help="output folder; default: export/ inside the survey's folder, as the app's Export "
                             "Survey Map…")
    export.add_argument("--formats", default=None,
                        help="comma-separated: geojson, gpkg, csv, kml, kmz (KML with its icon and the sites' "
                             "close-ups inside, for a phone offline), html (the offline map), print (the "
                             "print map and site atlas, PNG and PDF), buildings (the graded footprints), readme "
                             "(provenance, files, damage scale), zip (all of them in one); default all")
    export.add_argument("--footprints", type=Path, default=None, metavar="FILE",
                        help="building footprints to grade from the survey's sites (GeoJSON, GeoPackage, "
                             "shapefile, OSM); default: those set on a flight's project, if any")
    export.add_argument("--basemap", type=Path, default=None, metavar="FILE",
                        help="offline basemap under the offline and print maps (a GeoTIFF orthophoto or "
                             "MBTiles); default: the one set on a flight's project, if any")
    export.add_argument("--no-thumbnails", action="store_true",
                        help="leave the close-ups out of the offline map, the site atlas and the KMZ: no "
                             "flight's video is read (faster, smaller files)")
    event = export.add_argument_group(
        "event and producer", "named on the print map, its atlas and the README, as on a flight's relief package; "
                              "a value that changes what the survey names is kept in it (survey.json) once the "
                              "export succeeded, for its later exports (here and in the app); an empty value "
                              "clears one; what is not given comes from a flight's project")
    event.add_argument("--event", default=None, metavar="NAME", help='event name, e.g. "Hurricane Michael"')
    event.add_argument("--glide", default=None, metavar="ID", help="GLIDE number, e.g. TC-2018-000166-USA")
    event.add_argument("--analyst", default=None, metavar="NAME", help="who made the analysis")
    event.add_argument("--organisation", "--organization", default=None, metavar="NAME",
                       help="the producing organisation")
    event.add_argument("--contact", default=None, metavar="TEXT",
                       help='how a field team reaches the producer, e.g. "+33 6 12 34 56 78, maps@example.org, '
                            'radio channel 5"')
    event.add_argument("--area", default=None, metavar="CODE", help="area of interest code (default AOI01)")
    event.add_argument("--product-version", type=int, default=None, metavar="N", help="product version, 1-99")
    for listed in sub._choices_actions:  # each action's --help says what it does, as the list of actions does
        sub.choices[listed.dest].description = listed.help


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """The analysis flags of ``damagemap analyze`` and ``survey analyse``, and where to run."""
    rate = parser.add_mutually_exclusive_group()
    rate.add_argument("--every", type=int, metavar="N", default=None, help="analyse every N-th frame")
    rate.add_argument("--fps", type=float, metavar="F", default=None, help="analyse about F frames per second of video")
    parser.add_argument("--hover-every", type=float, metavar="S", default=None, dest="hover_every",
                        help="while the drone holds one view (it hovers), analyse one frame every S seconds of it, "
                             "not every frame the rate selects: the map counts a hover as one look (needs telemetry "
                             "that shows the drone still; without its heading, only frames whose image repeats the "
                             "view's are left out, on the CPU and up to 1080 lines; a hover shorter than S: its "
                             "first frame; default: 2; 0: every frame; again with a smaller S, the same "
                             "run gets the frames left out)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda[:N] (default: auto)")
    parser.add_argument("--weights", type=Path, default=None, help="MSNet .safetensors (default: the shipped model)")
    parser.add_argument(
        "--srn", action=argparse.BooleanOptionalAction, default=None,
        help="refine scores across frames with the Score Refinement Network (default: the weights' own; off for the "
             "shipped model, whose sites were more often right without it)",
    )
    parser.add_argument("--srn-weights", type=Path, default=None,
                        help="SRN .safetensors (default: the shipped SRN); implies --srn")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="frames per model call (default: 4 on a GPU, 1 on a CPU)")
    parser.add_argument("--score-threshold", type=float, default=None,
                        help="store detections scoring at least this (default: 0.2)")
    _flags.add_detector_settings(parser)
    parser.add_argument("--new-run", action="store_true",
                        help="start a new run even if one with the same settings exists (in a survey: each flight's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the model (default: torch's; on a busy machine 1 can be faster)")
    add_cluster_arguments(parser)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers`` / ``--ray``: analyse on Ray workers (the cluster extra)."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="analyse on N local Ray workers (pip install 'damagemap[cluster]')")
    parser.add_argument("--ray", default=None, metavar="ADDRESS",
                        help="analyse on the Ray cluster at ADDRESS (auto, HOST:6379 or ray://HOST:10001)")
    parser.add_argument("--ray-token-file", type=Path, default=None, metavar="FILE",
                        help="the cluster's authentication token (`ray get-auth-token` on the head prints it); "
                             "default: RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH when set")
    parser.add_argument("--segment-frames", type=int, default=32, metavar="N",
                        help="frames per Ray task: what a worker that dies loses at most (default: 32)")


def cluster_options(args: argparse.Namespace):  # noqa: ANN201 - services.cluster.ClusterOptions | None
    """The Ray options the flags ask for; ``None`` for the plain single-process run."""
    from app.commands import _flags
    from core.errors import InputError

    token_file = getattr(args, "ray_token_file", None)
    _flags.at_least("--workers", args.workers)
    _flags.at_least("--segment-frames", args.segment_frames)
    if args.workers is None and args.ray is None:
        if token_file is not None:
            raise InputError(f"{token_file}: --ray-token-file goes with --ray ADDRESS")
        return None
    from services.cluster import ClusterOptions

    return ClusterOptions(address=args.ray, workers=args.workers, segment_frames=args.segment_frames,
                          threads_per_worker=args.threads or 1, token_file=token_file)


def run(args: argparse.Namespace) -> int:
    return {"create": _create, "add": _add, "remove": _remove, "analyse": _analyse, "analyze": _analyse, "info": _info,
            "decide": _decide, "export": _export, "georeference": _georeference,
            "relink": _relink}[args.survey_command](args)


def _relink(args: argparse.Namespace) -> int:
    from core.survey import Survey
    from services.survey import relink_flight, shown_path

    survey = Survey.open(args.survey)
    done = relink_flight(survey, args.flight, args.project)
    flight = done.flight
    print(f"flight {flight.name}: its project is {shown_path(survey.project_path(flight))} ({flight.project} "
          "from the survey's folder)")
    for matched in done.matched:
        print(f"flight {flight.name}: {matched}")
    return 0


def _georeference(args: argparse.Namespace) -> int:
    from core.survey import Survey
    from services.survey import georeference_flights

    survey = Survey.open(args.survey)
    failed = 0
    read: list[str] = []
    for result in georeference_flights(survey, args.flight, again=args.again):
        if result.problem is not None:
            failed += 1
            print(f"flight {result.flight.name}: not read: {result.problem}", file=sys.stderr)
            continue
        if result.read:
            read.append(result.flight.name)
        print(f"flight {result.flight.name}:")
        for line in result.lines:
            print(f"  {line}")
    said = (f"what was read is kept in the project of flight{'s' if len(read) > 1 else ''} {', '.join(read)}; "
            "the survey's map and exports use it" if read else "nothing read from a video, nothing changed")
    print(f"survey {survey.name!r}: {said}" + (f" ({failed} flight(s) not read)" if failed else ""))
    return 1 if failed else 0


def _remove(args: argparse.Namespace) -> int:
    from core.survey import Survey
    from services.survey import remove_flight, shown_path

    survey = Survey.open(args.survey)
    flight = remove_flight(survey, args.flight)
    print(f"flight {flight.name} taken out of survey {survey.name!r}; its project stays at "
          f"{shown_path(survey.project_path(flight))} (`damagemap survey add {args.survey} {flight.video} --name {flight.name}` "
          "brings it back)")
    return 0


def _create(args: argparse.Namespace) -> int:
    from app.commands._paths import refuse_overlong_name
    from services.survey import create_survey

    refuse_overlong_name(Path(args.survey), "the survey folder")
    survey = create_survey(args.survey, args.name)
    print(f"survey {survey.name!r} created in {args.survey}; add flights with "
          f"`damagemap survey add {args.survey} VIDEO ...`")
    return 0


def _add(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from core.survey import Survey
    from services.survey import add_flight, flight_of_video, flight_source, project_contents, shown_path, videos_in

    survey = Survey.open(args.survey)
    videos = videos_in(args.videos)
    if len(videos) > 1 and (args.track is not None or args.name is not None):
        raise InputError(f"--track and --name name one flight; {len(videos)} videos were given")
    for video in videos:
        source = flight_source(video, "cli", survey=args.survey)  # a file refused is said with this command's words
        known = flight_of_video(survey, source.video) if len(videos) > 1 else None
        if known is not None:  # a folder given again with new videos in it: the others are kept
            print(f"flight {known}: {video.name} is in the survey already")
            continue
        record = add_flight(survey, video, telemetry=args.track, name=args.name, date=args.date, drone=args.drone)
        track = record.telemetry or (f"none found (give it with 'damagemap export {shown_path(survey.project_path(record))} "
                                     "--telemetry FILE --save')")
        print(f"flight {record.name}: {Path(record.video).name}, {record.date or 'date unknown'}; telemetry {track}")
        taken = project_contents(survey, record)
        if taken is not None:  # its analysis and reviews came with it: `survey analyse` resumes it
            print(f"  {taken.text()}")
    print(f"survey {survey.name!r}: {counted(len(survey.flights), 'flight')}")
    return 0


def analysis_request(args: argparse.Namespace):  # noqa: ANN201 - services.analysis.AnalysisRequest
    """The analysis flags of ``analyze`` and ``survey analyse`` as a request, checked with
    the flags' names in the messages (the request checks the values again for the app)."""
    from app.commands import _flags
    from services.analysis import AnalysisRequest

    _flags.at_least("--every", args.every)
    _flags.positive("--fps", args.fps, "of frames per second")
    _flags.at_least("--batch-size", args.batch_size)
    _flags.at_least("--threads", args.threads)
    _flags.fraction("--score-threshold", args.score_threshold)
    _flags.finite("--hover-every", args.hover_every)
    _flags.at_least("--hover-every", args.hover_every, 0)
    _flags.detector_settings(args)
    if args.srn is False and args.srn_weights is not None:
        from core.errors import InputError

        raise InputError(f"--no-srn and --srn-weights {args.srn_weights} contradict each other; drop one")
    return AnalysisRequest(
        device=args.device, weights=args.weights, stride=args.every, fps=args.fps, srn=args.srn,
        srn_weights=args.srn_weights, batch_size=args.batch_size, score_threshold=args.score_threshold,
        new_run=args.new_run, input_size=args.input_size, building_gate=args.building_gate,
        flip_check=args.flip_check, close_look=args.close_look, sharpness_ceiling=args.sharpness_ceiling,
        tiles=args.tiles, hover_every_s=args.hover_every,
    )


def _analyse(args: argparse.Namespace) -> int:
    from app.commands import _georeferencing
    from core.survey import Survey

    analysis_request(args)  # the flags checked before the survey is read
    cluster_options(args)
    _georeferencing.refuse_auto_for_a_survey(args)
    _georeferencing.check(args)
    survey = Survey.open(args.survey)
    names = [f.name for f in survey.flights if args.flight is None or f.name in args.flight]
    _georeferencing.keep_in_flights(args, survey, names, say=lambda line: print(line, file=sys.stderr))
    return analyse_and_report(args, survey, args.flight)


def analyse_and_report(args: argparse.Namespace, survey, flights: list[str] | None,  # noqa: ANN001 - Survey
                       left_out: list[str] | None = None) -> int:
    """Analyse the survey's flights (those named, or all) with the analysis flags of
    ``args``, a progress bar per flight; then carry the survey's decisions to them. A
    flight that cannot be analysed is named and the others go on; ``left_out`` (lines
    on videos that could not even be added) is said again at the end, and either makes
    the exit status 2."""
    from tqdm import tqdm

    from core.errors import DamagemapError
    from services.survey import analyse_survey, apply_decisions

    request = analysis_request(args)
    options = cluster_options(args)
    if args.threads is not None and options is None:
        import torch

        torch.set_num_threads(args.threads)
    bars: dict[str, tqdm] = {}
    planned: dict[str, tuple[object, int]] = {}  # flight name -> (flight, its run)

    def close_bars() -> None:
        """Close the bars of the flights done: flights are analysed one after the other,
        and a bar left open would be drawn again below the next one (in a log, where
        stderr is not a terminal, every flight's bar printed again after the last)."""
        for bar in bars.values():
            bar.close()  # a bar closed already is left as it is

    def on_plan(flight, plan) -> None:  # noqa: ANN001 - FlightRecord, AnalysisPlan
        close_bars()  # the flight before has ended
        planned[flight.name] = (flight, plan.run_id)
        where = f"Ray ({options.address or 'local'})" if options is not None else str(plan.device)
        print(f"flight {flight.name}: {counted(plan.frames_total, 'frame')}, {plan.frames_done} stored already; "
              f"on {where}",
              file=sys.stderr)
        for note in plan.notes:
            if note.startswith("caution: "):  # a flight flown unlike the detector's footage
                print(f"flight {flight.name}: {note}", file=sys.stderr)
        bars[flight.name] = tqdm(total=plan.frames_total, initial=plan.frames_done, unit="frame", desc=flight.name,
                                 dynamic_ncols=True, disable=args.quiet, file=sys.stderr)

    count = 0
    failed: list[str] = list(left_out or [])

    def on_failure(flight, exc) -> None:  # noqa: ANN001 - FlightRecord, DamagemapError
        if flight.name in bars:
            bars[flight.name].close()
        line = f"flight {flight.name}: not analysed: {exc}"
        print(line, file=sys.stderr)
        failed.append(line)

    try:
        for item in analyse_survey(survey, request, flights=flights, cluster=options, on_plan=on_plan,
                                   on_failure=on_failure):
            bars[item.flight].update(1)
            count += 1
    except KeyboardInterrupt:
        print(f"interrupted: {counted(count, 'frame')} stored; {run_again(args)} to resume", file=sys.stderr)
        return 130
    finally:
        close_bars()
    print(f"survey {survey.name!r}: {counted(count, 'frame')} analysed in {counted(len(bars), 'flight')}")
    try:
        kept = apply_decisions(survey)
    except DamagemapError as exc:
        print(f"survey decisions not applied: {exc}", file=sys.stderr)
        kept = 0
    if kept:
        print(f"kept the survey's decisions on {counted(kept, 'sighting')} of the flights")
    not_whole = _videos_not_whole(survey, planned)
    if failed:
        print(f"{len(failed)} left out of the analysis (the others are analysed):", file=sys.stderr)
        for line in failed:
            print(f"  {line}", file=sys.stderr)
    if not_whole:
        print(f"{len(not_whole)} analysed as far as {'its video goes' if len(not_whole) == 1 else 'their videos go'} "
              "(not whole):", file=sys.stderr)
        for line in not_whole:
            print(f"  {line}", file=sys.stderr)
    return 2 if failed or not_whole else 0


def _videos_not_whole(survey, planned: dict[str, tuple[object, int]]) -> list[str]:  # noqa: ANN001 - Survey
    """A line for each analysed flight whose video had frames that could not be decoded
    (a recording cut short): analysed as far as the file allows, but not whole."""
    from core.errors import DamagemapError
    from core.store import ProjectStore
    from services.maps import unreadable_frames_note

    lines = []
    for name, (flight, run_id) in planned.items():
        try:
            with ProjectStore.open(survey.project_path(flight), read_only=True) as store:
                note = unreadable_frames_note(store.run(run_id).settings)
        except DamagemapError:
            continue  # a flight that failed is named already
        if note:
            lines.append(f"flight {name}: {note}")
    return lines


def _info(args: argparse.Namespace) -> int:
    from core.errors import DamagemapError
    from core.survey import Survey
    from services.survey import (
        flight_statuses,
        frames_without_telemetry,
        note_survey_in_flights,
        refresh_video_identities,
        review_decisions,
        sites_to_review,
        survey_map,
    )

    survey = Survey.open(args.survey)
    note_survey_in_flights(survey)  # a project that joined before projects noted their survey
    refresh_video_identities(survey)  # a flight's project analysed on its own since
    flights = []
    for status in flight_statuses(survey):
        flight = status.record
        flights.append({"name": flight.name, "date": flight.date, "drone": flight.drone, "video": flight.video,
                        "project": status.project_shown, "problem": status.problem,
                        "frames_analysed": status.frames_analysed, "frames_no_look": status.frames_no_look,
                        "analysis_complete": status.complete, "video_not_whole": status.video_not_whole,
                        "video_missing": status.video is not None and not status.video.is_file()})
    built = None
    try:
        built = survey_map(survey)
    except DamagemapError as exc:
        note = str(exc)
    else:
        note = "; ".join(built.notes)
    coverage = {c.flight: c for c in built.coverage} if built else {}
    mapped = {f.name for f in built.flights} if built else set()
    no_telemetry = frames_without_telemetry(built) if built else {}
    to_review = sites_to_review(built) if built else {}
    sites = built.sites if built else []
    decisions = review_decisions(survey)
    own = {name: len(records) for name, records in decisions.flights.items() if records}
    sources = {"survey": len(decisions.survey_in_force), "flights": own,
               "survey_taken_back": len(decisions.survey_taken_back)}
    if args.json:
        print(json.dumps({
            "name": survey.name, "flights": [
                dict(f, coverage_m2=round(coverage[f["name"]].area_m2, 1) if f["name"] in coverage else None,
                     frames_no_telemetry=len(no_telemetry.get(f["name"], ())) if f["name"] in mapped else None,
                     sites=coverage[f["name"]].sites if f["name"] in coverage else None,
                     sites_to_review=to_review.get(f["name"])) for f in flights],
            "sites": [{"id": s.id, "level": s.level.label, "confidence": s.confidence, "lon_deg": s.lon_deg,
                       "lat_deg": s.lat_deg, "flights": list(s.flights), "dates": list(s.dates),
                       "flight_sites": {e.flight: e.flight_site_id for e in s.evidence},
                       "not_found_by": list(s.not_found_by), "observations": s.observation_count,
                       "reviewed": s.reviewed} for s in sites],
            "decisions": decisions.count, "decision_sources": sources, "notes": note,
        }, indent=2))
        return 0
    print(f"survey {survey.name!r}: {counted(len(flights), 'flight')}, {counted(len(sites), 'site')}, "
          f"{_decisions_text(decisions.count, sources)}")
    for f in flights:
        if f["problem"] is not None:  # its project missing (the survey moved without it) or unreadable
            print(f"  {f['name']:<16} {f['date'] or 'date unknown':<26} {f['problem']}")
            continue
        c = coverage.get(f["name"])
        seen = (f", {c.area_m2 / 1e4:.2f} ha seen, {counted(c.sites, 'site')}, {to_review.get(f['name'], 0)} to review"
                if c else "")
        if not f["frames_analysed"]:
            print(f"  {f['name']:<16} {f['date'] or 'date unknown':<26} not analysed yet")
            continue
        state = "complete" if f["analysis_complete"] else "not complete"
        if f["analysis_complete"] and f["video_not_whole"]:
            state = "finished, the video not whole"
        if f["frames_no_look"]:
            state += f"; {f['frames_no_look']} too dark or blurred to count"
        if no_telemetry.get(f["name"]):  # its log cut short or with a gap: the note names the frames
            state += f"; {len(no_telemetry[f['name']])} with no usable telemetry, not on the map"
        if f["video_missing"]:  # renamed or moved: the note says where it looked and the relink
            state += "; its video not found: see its note"
        if f["name"] not in mapped:  # its telemetry cannot place it yet: the note says why and what to give
            seen = ", not on the survey's map: see its note"
        print(f"  {f['name']:<16} {f['date'] or 'date unknown':<26} {f['frames_analysed']:>6} frame{'' if f['frames_analysed'] == 1 else 's'} ({state}){seen}")
    for s in sites:
        print(f"  site {s.id:>4}: {s.level.label:<7} conf {s.confidence:.2f}  {s.lat_deg:.6f}, {s.lon_deg:.6f}  "
              f"flights {', '.join(f'{e.flight} #{e.flight_site_id}' for e in s.evidence)}  "
              f"dates {','.join(d[:10] for d in s.dates)}"
              f"{'  not found by ' + ','.join(s.not_found_by) if s.not_found_by else ''}"
              f"{'  reviewed' if s.reviewed else ''}")
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _decisions_text(count: int, sources: dict) -> str:
    """How many review decisions count and where they were made: "3 decisions (1 by survey
    decide, 2 in the flights' review: monday 1, tuesday 1)"."""
    parts = []
    if sources["survey"]:
        parts.append(f"{sources['survey']} by survey decide")
    own = sources["flights"]
    if own:
        total = sum(own.values())
        parts.append(f"{total} in the flights' review: " + ", ".join(f"{name} {n}" for name, n in own.items()))
    text = counted(count, "decision") + (f" ({', '.join(parts)})" if parts else "")
    back = sources["survey_taken_back"]
    if back:
        text += f"; {counted(back, 'survey decision')} taken back in the flights (see the notes)"
    return text


def _decide(args: argparse.Namespace) -> int:
    from core.survey import Survey
    from core.errors import InputError
    from core.types import DamageLevel, ReviewState
    from core.sites import number_ranges
    from services.survey import decide, survey_map

    decision = {"accept": ReviewState.ACCEPTED, "reject": ReviewState.REJECTED, "slight": DamageLevel.SLIGHT,
                "severe": DamageLevel.SEVERE, "debris": DamageLevel.DEBRIS}[args.decision]
    survey = Survey.open(args.survey)
    built = survey_map(survey)
    missing = [n for n in args.sites if built.site(n) is None]
    if missing:  # none decided when one is wrong
        raise InputError(f"survey {survey.name!r} has no site {', '.join(map(str, missing))} "
                         f"(its sites: {number_ranges(s.id for s in built.sites) or 'none'}; a rejected site's "
                         "number is not given again)")
    for number in dict.fromkeys(args.sites):
        flights = len(built.site(number).flights)
        count = decide(survey, number, decision, built=built)
        print(f"site {number}: {args.decision} on {counted(count, 'sighting')} in {counted(flights, 'flight')}; "
              "kept for flights added later")
    changed = _other_sites_changed(built, survey_map(survey), set(args.sites))
    if changed:  # the next decide goes by the map as it is now
        print(f"note: this decision changed other sites: {'; '.join(changed)}; list them again with "
              "`survey info` before deciding more", file=sys.stderr)
    return 0


def _other_sites_changed(before, after, decided: set[int]) -> list[str]:  # noqa: ANN001 - SurveyMaps
    """What a decision did to the sites it was not taken on (``decided``): a site of
    ``before`` whose number ``after`` no longer has joined the site nearest its place, or
    left the map; a number ``after`` gives that ``before`` did not is a site parted off; a
    site that keeps its number but lost a flight's site (left out with a rejected place of
    that flight, or joined to another site) says which, so the flights' counts add up."""
    from core.sites import distance_m

    numbers = {s.id for s in after.sites}
    now = {s.id: s for s in after.sites}
    out = []
    for site in before.sites:
        if site.id in decided:
            continue
        if site.id in numbers:
            lost = [f for f in site.flights if f not in now[site.id].flights]
            if lost:
                out.append(f"site {site.id} ({now[site.id].level.label}) lost {', '.join(lost)}'s sighting, now "
                           f"seen by {', '.join(now[site.id].flights)}")
            continue
        what = f"site {site.id} ({site.level.label}, {', '.join(site.flights)})"
        nearest = min(after.sites, default=None,
                      key=lambda s: distance_m(s.lon_deg, s.lat_deg, site.lon_deg, site.lat_deg))
        if nearest is not None and distance_m(nearest.lon_deg, nearest.lat_deg, site.lon_deg, site.lat_deg) <= 15.0:
            out.append(f"{what} joined site {nearest.id}, now {nearest.level.label}")
        else:
            out.append(f"{what} left the map")
    earlier = {s.id for s in before.sites}
    out += [f"site {s.id} ({s.level.label}) parted off" for s in after.sites if s.id not in earlier]
    return out


def _product_changes(args: argparse.Namespace) -> dict[str, object]:
    """The event and producer given on the command line (``None``: not given), as
    ``damagemap export`` takes them."""
    return {"event": args.event, "glide": args.glide, "analyst": args.analyst,
            "organisation": args.organisation, "contact": args.contact, "area": args.area,
            "version": args.product_version}


def _export(args: argparse.Namespace) -> int:
    from app.commands import _flags
    from core.survey import Survey, SurveyError
    from services.survey import (
        check_survey_product,
        default_export_dir,
        export_survey,
        keep_survey_product,
        survey_map,
        survey_title,
    )

    _flags.between("--product-version", args.product_version, 1, 99)
    formats = None if args.formats is None else [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    survey = Survey.open(args.survey)
    changes = _product_changes(args)
    survey.product = check_survey_product(survey, **changes)  # this export's; kept once it succeeded
    built = survey_map(survey)
    for path in export_survey(built, args.to or default_export_dir(survey), formats=formats, title=survey_title(survey),
                              survey=survey, footprints=args.footprints, basemap=args.basemap,
                              videos={} if args.no_thumbnails else None):
        print(path)
    for note in built.notes:
        print(f"note: {note}", file=sys.stderr)
    counts = ", ".join(f"{level.label} {n}" for level, n in built.level_counts().items())
    print(f"{counted(len(built.sites), 'site')} ({counts}) from {counted(len(built.coverage), 'flight')}", file=sys.stderr)
    given = [name for name, value in changes.items() if value is not None]
    if given:
        try:
            kept = keep_survey_product(survey, **changes)
        except SurveyError as exc:  # a survey on a share that cannot be written still exports
            print(f"{_flags_text(given)} made this export only: {exc}", file=sys.stderr)
            return 0
        if kept:
            print(f"kept {_flags_text(kept)} in the survey ({survey.manifest_path}): its later exports, here and in "
                  "the app, name them", file=sys.stderr)
        unchanged = [name for name in given if name not in kept]
        if unchanged:
            print(f"{_flags_text(unchanged)}: as the survey names {'it' if len(unchanged) == 1 else 'them'} "
                  "already, nothing to keep", file=sys.stderr)
    return 0


def _flags_text(fields: list[str]) -> str:
    """``--event, --product-version``: the flags that give the event fields ``fields``."""
    return ", ".join(f"--{'product-version' if name == 'version' else name}" for name in fields)
