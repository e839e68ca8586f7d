"""Opening a project: the one way both clients find, create and check a project store.

A project belongs to one video. Opening a video reuses its project (beside it by
default) or creates one, with the telemetry given or found beside the video; opening a
project checks its video is still where the project says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from core.errors import InputError, ProjectExistsError, TelemetryError
from core.store import PROJECT_SUFFIX, ProjectStore

#: Suffixes opened as videos (anything else is taken for a project file).
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".mts", ".ts", ".webm")
#: The flight logs the app reads (:mod:`geo.telemetry`), by suffix: given where a project
#: or a video is asked for, they are named as what they are.
TELEMETRY_SUFFIXES = (".srt", ".gpx", ".csv", ".klv")

#: Who reads a message: the window (its menus) or the command line (its commands and flags).
Client = Literal["window", "cli"]


class MissingVideoError(InputError):
    """A project's video is not where the project says (moved, renamed, other disk)."""

    def __init__(self, project_path: Path, video_path: Path) -> None:
        super().__init__(
            f"{project_path}: its video {video_path} is missing; locate it to go on "
            "(the project keeps every result and edit)"
        )
        self.project_path = project_path
        self.video_path = video_path


def default_project_path(video_path: Path) -> Path:
    """``flight.mp4`` -> ``flight.dmproj`` beside it."""
    return Path(video_path).with_suffix(PROJECT_SUFFIX)


def default_export_dir(project_path: Path) -> Path:
    """``flight.dmproj`` -> ``flight_export`` beside it: where the app's Export dialog and
    ``damagemap export`` without ``--to`` write."""
    project_path = Path(project_path)
    return project_path.with_name(project_path.stem + "_export")


def is_video_path(path: Path) -> bool:
    """Whether ``path`` is opened as a video (by its suffix, any case)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


_SQLITE_HEADER = b"SQLite format 3\x00"


def opens_as_video(path: Path, client: Client = "window", *, survey: Path | None = None) -> bool:
    """Whether ``path`` opens as a video (True) or as a project (False).

    A video suffix makes it a video and ``.dmproj`` a project; any other file is a
    project only if it is an SQLite file (a project saved under another name).

    Raises
    ------
    InputError
        If the file is neither, naming it and what is expected; a flight log is said
        with how ``client`` takes it (:func:`flight_log_given_text`; ``survey``: the survey
        a flight was being added to).
    """
    path = Path(path)
    _refuse_special_file(path)
    if is_video_path(path):
        return True
    if path.suffix.lower() == PROJECT_SUFFIX:
        return False
    try:
        with open(path, "rb") as stream:
            header = stream.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise InputError(f"{str(path)!r}: cannot read it ({exc.strerror or exc})") from None
    if header == _SQLITE_HEADER:
        return False
    telemetry = path.suffix.lower() in TELEMETRY_SUFFIXES
    raise InputError(
        f"{str(path)!r} is neither a video ({', '.join(VIDEO_SUFFIXES)}) nor a damagemap project "
        f"({PROJECT_SUFFIX}); open a drone video or a project"
        + (f"; {flight_log_given_text(path, client, survey=survey)}" if telemetry else "")
    )


def _refuse_special_file(path: Path) -> None:
    """An :class:`InputError` naming a named pipe, a socket or a device given as a video or
    a project: reading one waits for a writer that may never come (a pipe with no suffix
    held ``damagemap gui`` before any window for ever). A folder is left to the callers,
    which say what to give inside it; a missing file to the reader, which says so."""
    import stat

    from core.file_kind import special_file_kind

    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise InputError(f"{str(path)!r} is {special_file_kind(mode)}, not a regular file; open a drone video or a "
                         "project")


def flight_log_given_text(log: Path, client: Client, *, survey: Path | None = None) -> str:
    """How a flight log given where a video or a project is asked for goes with its video,
    in the words of the client that asked: the window opens the video, then File > Open
    Telemetry…; the command line gives the log with the video, to ``survey add`` when a
    flight was being added to ``survey``, else to ``analyze``."""
    from shlex import quote

    if client == "window":
        return "a flight log is opened with its video: open the video, then File > Open Telemetry…"
    if survey is not None:
        return (f"survey add takes a flight's video or project, with its telemetry: damagemap survey add "
                f"{quote(str(survey))} VIDEO --track {quote(str(log))} (without --track, the SRT, GPX or CSV beside the "
                "video under its name is taken)")
    return (f"a flight log goes with its video: damagemap analyze VIDEO --track {quote(str(log))}, or damagemap gui VIDEO, "
            "then File > Open Telemetry…")


def find_telemetry(video_path: Path) -> Path | None:
    """The telemetry beside a video with the same stem (SRT, then GPX, then CSV); else
    the video itself when its camera wrote a GPS track inside it (GoPro, Insta360)."""
    from geo.telemetry import find_telemetry_beside
    from geo.telemetry.embedded import has_embedded_gps

    found = find_telemetry_beside(video_path)
    if found is None and has_embedded_gps(video_path):
        return Path(video_path)
    return found


def open_or_create_project(
    video_path: Path, project_path: Path | None = None, *, telemetry_path: Path | None = None
) -> ProjectStore:
    """The project of ``video_path``: opened when it exists, created otherwise.

    Parameters
    ----------
    video_path
        The drone video. It is probed first, so a file that is not a video fails
        before any project is created.
    project_path
        The project file; default :func:`default_project_path` beside the video.
    telemetry_path
        Telemetry to attach (replacing the project's). Without it a new project, or
        one without telemetry, gets the file found beside the video, if any.

    Raises
    ------
    VideoError
        If the video cannot be read.
    TelemetryError
        If ``telemetry_path`` does not exist.
    InputError
        If the project exists and belongs to another video.
    """
    from engine.video import probe_video

    video_path = Path(video_path).absolute()
    probe_video(video_path)  # VideoError naming the file before anything is created
    project_path = Path(project_path) if project_path is not None else default_project_path(video_path)
    if telemetry_path is not None and not Path(telemetry_path).is_file():
        raise TelemetryError(f"{str(telemetry_path)!r}: telemetry file not found")
    if project_path.exists():
        store = _open_for_video(project_path, video_path)
    else:
        try:
            store = ProjectStore.create(project_path, video_path=video_path)
        except ProjectExistsError:
            # another damagemap (the window, a second analyze) created it a moment ago
            store = _open_for_video(project_path, video_path)
    try:
        if telemetry_path is not None:
            store.set_telemetry(Path(telemetry_path))
        elif store.telemetry_path is None:
            found = find_telemetry(video_path)
            if found is not None:
                store.set_telemetry(found)
    except BaseException:
        store.close()
        raise
    return store


def _open_for_video(project_path: Path, video_path: Path) -> ProjectStore:
    """Open an existing project, refused when it belongs to another video."""
    store = ProjectStore.open(project_path)
    if Path(store.video_path).resolve() != video_path.resolve():
        other = store.video_path
        store.close()
        raise InputError(
            f"project {str(project_path)!r} belongs to video {str(other)!r}, not {str(video_path)!r}; "
            "open the project itself, or choose another project file"
        )
    return store


def open_project(project_path: Path, *, video_path: Path | None = None) -> ProjectStore:
    """Open a project file whose video must exist; ``video_path`` points it at a moved
    video first.

    Raises
    ------
    MissingVideoError
        When the video is not found, so the caller can ask where it went.
    VideoError
        If ``video_path`` is not a readable video.
    """
    store = ProjectStore.open(Path(project_path))
    try:
        if video_path is not None:
            from engine.video import probe_video

            probe_video(video_path)  # VideoError naming the file if it is not a video
            store.set_video(Path(video_path).resolve())
            _follow_moved_telemetry(store)
        if not Path(store.video_path).is_file():
            raise MissingVideoError(Path(store.path), Path(store.video_path))
    except BaseException:
        store.close()
        raise
    return store


def _follow_moved_telemetry(store: ProjectStore) -> None:
    """After its video was found elsewhere: a project's telemetry that is not where it was
    is looked for beside the video, under its own name, then under the video's name (SRT,
    GPX, CSV), and kept there: a flight's folder moved whole keeps both."""
    from geo.telemetry import find_telemetry_beside

    telemetry, video = store.telemetry_path, Path(store.video_path)
    if telemetry is None or Path(telemetry).is_file():
        return
    beside = video.parent / Path(telemetry).name
    found = beside if beside.is_file() else find_telemetry_beside(video)
    if found is not None:
        store.set_telemetry(Path(found).resolve())


def review_history_steps(store: ProjectStore, run_id: int) -> tuple[int, int]:
    """``(undo, redo)``: the steps Edit > Undo and Redo offer on ``run_id`` when the
    project is opened (the review history's applies, undos and redos played back; a
    decision on a whole site, a split or a merge is one step)."""
    from core.review import replay_history

    undo, redo = replay_history(store.edit_history(run_id))
    return len(undo), len(redo)


__all__ = [
    "MissingVideoError",
    "VIDEO_SUFFIXES",
    "default_export_dir",
    "default_project_path",
    "find_telemetry",
    "is_video_path",
    "open_or_create_project",
    "open_project",
    "review_history_steps",
]
