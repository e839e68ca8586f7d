"""Heavy work off the GUI thread: analysis, map building, export.

Each job is a plain function or generator that opens its own connection to the project
(SQLite connections stay on the thread that made them) and calls the Qt-free
``services`` function the command line calls too; superqt's workers (napari's ``thread_worker``) run it on the
thread pool and deliver ``yielded``/``returned``/``errored`` on the GUI thread.
:class:`AnalysisJob` adds cancel: it sets the ``threading.Event`` that
:func:`services.analysis.analyse` checks after each frame, so a cancel ends the run
cleanly with every finished frame stored; a cancel is not an error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QObject, Qt, Signal
from superqt.utils import GeneratorWorker

if TYPE_CHECKING:  # pragma: no cover
    from app.dialogs.export_dialog import ExportChoice
    from geo.mapping import DamageMap
    from services.analysis import AnalysisRequest

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """What the analysis dialog asks for.

    ``fps`` is the analysis frame rate (``None``: every frame); ``weights`` ``None``
    means the shipped default model. ``time_offset_s`` and ``hfov_deg`` are stored in the
    project for georeferencing, not passed to the detector; ``time_offset_s`` ``None``
    keeps the project's offset.
    """

    device: str = "auto"
    weights: str | None = None
    fps: float | None = None
    srn: bool | None = None  # refine scores across frames with the SRN; None: the weights' own
    batch_size: int | None = None  # engine.analyze.default_batch_size
    input_size: int | None = None  # the detector's short side in pixels; None: the weights' own
    building_gate: float | None = None  # the detector's building gate S; None: the weights' own
    flip_check: bool = False  # the mirror check (each frame also seen mirrored); False: the weights' own
    tiles: int | None = None  # the tiled look's grid (N x N tiles, 1: off); None: the weights' own
    close_look: bool | None = None  # each detection seen again in a full-resolution crop; None: the weights' own
    sharpness_ceiling: float | None = None  # frames sharper are softened to it; None: the weights' own; 0: none
    hover_every_s: float | None = None  # a hover's frames: one every S seconds; None: the default; 0: every frame
    time_offset_s: float | None = None
    hfov_deg: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def request(self) -> AnalysisRequest:
        """What the analysis service needs (the georeferencing goes to the project settings)."""
        from services.analysis import AnalysisRequest

        return AnalysisRequest(
            device=self.device, weights=None if self.weights is None else Path(self.weights), fps=self.fps,
            srn=self.srn, batch_size=self.batch_size, input_size=self.input_size, building_gate=self.building_gate,
            flip_check=self.flip_check, close_look=self.close_look, sharpness_ceiling=self.sharpness_ceiling,
            tiles=self.tiles, hover_every_s=self.hover_every_s,
        )


def analysis_preflight(options: AnalysisOptions, *, model_given: bool, has_telemetry: bool) -> tuple[list[str], list[str]]:
    """Cheap checks before a run starts (Vorta's ``prepare()``): ``(errors, warnings)``.

    Errors stop the run before a thread starts; warnings are shown and the run goes on.
    """
    errors: list[str] = []
    warnings: list[str] = []
    if not model_given:
        if options.weights is not None:
            if not Path(options.weights).is_file():
                errors.append(f"{options.weights}: no such model file; choose a .safetensors file")
        else:
            # the shipped model's path without engine.weights, which imports torch (seconds on the GUI thread)
            from services.demo_flight import shipped_model_path

            default = shipped_model_path()
            if not default.is_file():
                errors.append(f"The default model is not installed ({default}); choose weights in the dialog")
    if not has_telemetry:
        warnings.append("No telemetry: damage will be found on the frames but not placed on the map")
    return errors, warnings


_devices: list[str] | None = None
_devices_lock = threading.Lock()


def available_devices() -> list[str]:
    """``auto`` and ``cpu`` always; ``cuda`` when torch sees a GPU.

    The first call imports torch, seconds on a laptop (more from a cold disk): the window
    asks on a thread of its own when it starts (:class:`DeviceProbe`), and the GUI thread
    reads :func:`known_devices`, which never waits for torch."""
    global _devices
    with _devices_lock:
        if _devices is None:
            found = ["auto", "cpu"]
            try:
                import torch

                if torch.cuda.is_available():
                    found.append("cuda")
            except ImportError:  # pragma: no cover - torch is a dependency
                pass
            _devices = found
        return list(_devices)


def known_devices() -> list[str] | None:
    """:func:`available_devices` once it has been asked (on any thread), else ``None``."""
    devices = _devices
    return None if devices is None else list(devices)


class DeviceProbe(QObject):
    """Asks :func:`available_devices` on a daemon thread of its own (not the job thread,
    which a map build may need meanwhile), so torch is imported off the GUI thread.

    Signals
    -------
    ready(object)
        The devices (``list[str]``), on the GUI thread.
    """

    ready = Signal(object)
    _found = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._found.connect(self.ready, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        threading.Thread(target=self._run, name="damagemap-devices", daemon=True).start()

    def _run(self) -> None:
        import sys

        try:
            devices = available_devices()
        except Exception:  # torch's import cut short: the window quit while it went on (a daemon thread)
            if sys.is_finalizing() or not threading.main_thread().is_alive():
                return  # nothing to say to a window that is gone ("operator prims::div does not exist")
            raise
        try:
            self._found.emit(devices)
        except RuntimeError:  # the window went away meanwhile
            pass


def iter_analysis(
    project_path: Path, options: AnalysisOptions, cancel: threading.Event, model: Any = None,
    planned: Callable[[Any], None] | None = None,
) -> Iterator[Any]:
    """:func:`services.analysis.analyse_project` on the worker's own store connection
    (``planned``: called with the plan before the first frame, on the worker's thread)."""
    from services.analysis import analyse_project

    try:
        yield from analyse_project(Path(project_path), options.request(), model=model, cancel=cancel,
                                   geometry=on_job_thread, planned=planned)
    except RuntimeError as exc:  # torch errors (CUDA out of memory too) are RuntimeErrors
        raise _CarriedError(exc) from exc


class _CarriedError(Exception):
    """Carries a ``RuntimeError`` out of a superqt worker.

    superqt takes a ``RuntimeError`` leaving a worker for "the worker object was
    deleted": it only warns and emits neither ``errored`` nor ``finished``, so the run
    would never end in the GUI. Wrapped, it travels like any error and is unwrapped
    before anyone sees it.
    """

    def __init__(self, original: RuntimeError) -> None:
        super().__init__(str(original))
        self.original = original


class AnalysisJob(QObject):
    """One analysis run in a worker thread.

    Signals
    -------
    planned(object)
        The run's notes (``list[str]``: frames left out, a run resumed, the SRN
        skipped, ...) before its first frame.
    progress(object)
        An :class:`engine.analyze.AnalysisProgress` after each stored frame.
    finished(bool)
        The run ended; ``True`` when it was cancelled.
    failed(object)
        The exception that stopped the run (``finished`` follows).
    """

    planned = Signal(object)
    progress = Signal(object)
    finished = Signal(bool)
    failed = Signal(object)

    def __init__(self, project_path: Path, options: AnalysisOptions, *, model: Any = None, parent: QObject | None = None):
        super().__init__(parent)
        self.options = options
        self._cancel = threading.Event()
        self._worker = GeneratorWorker(iter_analysis, Path(project_path), options, self._cancel, model,
                                       lambda plan: self.planned.emit(list(plan.notes)))  # queued to this thread
        self._worker.yielded.connect(self.progress)
        self._worker.errored.connect(self._on_errored)
        self._worker.finished.connect(self._on_finished)
        self._running = False
        self.error: BaseException | None = None

    @property
    def is_running(self) -> bool:
        return self._running

    def _on_errored(self, exc: BaseException) -> None:
        if isinstance(exc, _CarriedError):
            exc = exc.original
        self.error = exc
        self.failed.emit(exc)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def start(self) -> None:
        self._running = True
        self._worker.start()

    def cancel(self) -> None:
        """Ask the run to stop after the frame it is on."""
        self._cancel.set()

    def _on_finished(self) -> None:
        self._running = False
        self.finished.emit(self._cancel.is_set())


#: The lane of the jobs that read the project and build its map (one thread: see
#: :class:`FunctionJob`), and the lane of those that only decode the video (a review's
#: crops): a map built after a decision does not wait behind the next site's crops.
PROJECT_LANE = "project"
VIDEO_LANE = "video"


class FunctionJob(QObject):
    """A one-shot function on the project's one long-lived job thread (map, export).

    Why not the Qt thread pool: PROJ (through pyproj) segfaulted in
    ``proj_context_is_network_enabled`` when the map was built on a pooled ``QThread``
    after an analysis had run in the pool (seen with ``gdb``; apparently a per-thread PROJ
    context that did not survive the pooled thread's Python thread states). A plain
    Python thread that lives as long as the application keeps one thread state and one
    PROJ context, and it serialises map and export jobs, which both read the whole
    project (Vorta's one queue per resource).

    Signals
    -------
    done(object)
        The function's return value.
    failed(object)
        The exception it raised.
    finished()
        After ``done`` or ``failed``.
    progress(object)
        What the function reported (``progress_argument``), in order, before ``done``.
    """

    done = Signal(object)
    failed = Signal(object)
    finished = Signal()
    progress = Signal(object)
    _result = Signal(object, object)  # (value, error) from the job thread, queued to ours
    _reported = Signal(object)  # what the function reports as it goes, queued to ours

    def __init__(self, func: Callable[..., Any], *args: Any, parent: QObject | None = None, lane: str = PROJECT_LANE,
                 progress_argument: str | None = None, **kwargs: Any) -> None:
        """``progress_argument``: the keyword under which ``func`` takes a callable to
        report its progress with; what it reports is emitted as ``progress`` on the GUI
        thread."""
        super().__init__(parent)
        if progress_argument is not None:
            kwargs = {**kwargs, progress_argument: self._reported.emit}
        self._call = (func, args, kwargs)
        self._lane = lane
        self._running = False
        self._result.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._reported.connect(self._report, Qt.ConnectionType.QueuedConnection)

    def _report(self, value: Any) -> None:
        if self._running:  # not after the result (a report queued behind it)
            self.progress.emit(value)

    @property
    def is_running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        _job_executor(self._lane).submit(self._run)

    def _run(self) -> None:
        func, args, kwargs = self._call
        try:
            value, error = func(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - delivered to the GUI thread
            value, error = None, exc
        self._result.emit(value, error)

    def _deliver(self, value: Any, error: Any) -> None:
        self._running = False
        if error is not None:
            self.failed.emit(error)
        else:
            self.done.emit(value)
        self.finished.emit()


_EXECUTORS: dict[str, Any] = {}


def _job_executor(lane: str = PROJECT_LANE):
    """The long-lived job thread of ``lane`` (created on first use, a daemon)."""
    if lane not in _EXECUTORS:
        from concurrent.futures import ThreadPoolExecutor

        _EXECUTORS[lane] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"damagemap-{lane}-jobs")
    return _EXECUTORS[lane]


def on_job_thread(function: Callable[[], Any]) -> Any:
    """``function()`` run on the job thread, waited for: the map's geometry (pyproj) an
    analysis on the thread pool needs before its first frame (see :class:`FunctionJob`)."""
    return _job_executor().submit(function).result()


def wait_for_jobs(timeout_s: float = 30.0) -> bool:
    """Block until the queued jobs of every lane are done (tests, window close)."""
    futures = [executor.submit(lambda: None) for executor in list(_EXECUTORS.values())]
    try:
        for future in futures:
            future.result(timeout=timeout_s)
    except Exception:  # noqa: BLE001
        return False
    return True


# ---------------------------------------------------------------------- map and export


def read_track_job(telemetry_path: Path) -> Any:
    """The flight track alone (the map panel before any analysis)."""
    from geo.telemetry import read_telemetry

    return read_telemetry(Path(telemetry_path))


def track_preview_job(project_path: Path) -> tuple[Any, str | None, Any]:
    """The flight track and why the project's telemetry would place nothing, if it would
    (:func:`services.maps.track_preview`; the map panel before any analysis)."""
    from core.store import ProjectStore
    from services.maps import track_preview

    with ProjectStore.open(project_path, read_only=True) as store:
        return track_preview(store)


def build_map_job(project_path: Path, run_id: int | None) -> DamageMap:
    """The project's damage map (:func:`services.maps.damage_map`, cached) on a fresh
    connection."""
    from core.store import ProjectStore
    from services.maps import damage_map

    with ProjectStore.open(project_path) as store:
        return damage_map(store, run_id)


def export_job(project_path: Path, run_id: int | None, choice: ExportChoice,
               min_score: float | None = None, progress: Callable[[Any], None] | None = None) -> Any:
    """Write what the export dialog asked for (:func:`services.export.export_project`,
    as ``damagemap export`` does); returns its ``services.export.ExportResult`` (the files
    written, and the notes the window shows). The relief package's
    footprints and basemap files, and its event and producer, are stored in the project
    once this export has used them (``services.package.trying_product_sources``,
    ``trying_product_info``), never when it failed; a read-only project keeps its own.
    ``min_score``: the map's score threshold for this export only (a read-only project's,
    moved in the window and kept there, not in the project). ``progress`` is told each
    step (``services.export.ExportStep``)."""
    from core.store import ProjectStore
    from services.export import export_project
    from services.package import trying_product_info, trying_product_sources

    request = choice.request()
    package = dict(choice.options.get("package") or {})
    footprints, basemap = package.pop("footprints", None), package.pop("basemap", None)
    with ProjectStore.open(project_path) as store, \
            trying_product_sources(store, footprints=footprints, basemap=basemap), \
            trying_product_info(store, **package):
        settings = None
        if min_score is not None:
            from dataclasses import replace

            settings = replace(store.project_settings(), min_score=min_score)
        return export_project(store, request, run_id=run_id, settings=settings, progress=progress)


@dataclass(frozen=True, slots=True)
class WindowExport:
    """What the window's export wrote (``services.export.ExportResult``), and, when the
    training data asked for came out empty, the other runs whose frames are reviewed
    (run id: reviewed frames): a re-analysis is a new run, and the reviews stay with the
    run they were made on."""

    result: Any
    reviewed_elsewhere: dict[int, int]


def window_export_job(project_path: Path, run_id: int | None, choice: ExportChoice,
                      min_score: float | None = None, progress: Callable[[Any], None] | None = None) -> WindowExport:
    """:func:`export_job`, and where the reviewed frames are when the exported run has none."""
    from core.store import ProjectStore
    from services.export import reviewed_frame_counts

    result = export_job(project_path, run_id, choice, min_score, progress=progress)
    training = result.training
    if training is None or training.image_count:
        return WindowExport(result, {})
    with ProjectStore.open(project_path, read_only=True) as store:
        counts = reviewed_frame_counts(store)
    return WindowExport(result, {run: count for run, count in counts.items() if count and run != result.run_id})


def survey_map_job(folder: Path) -> Any:
    """The survey's one map of its flights (:func:`services.survey.survey_map`), read afresh;
    a flight's project that does not note its survey yet is noted first
    (:func:`services.survey.note_survey_in_flights`), and the survey's record of each
    flight's video brought to what its project analysed last
    (:func:`services.survey.refresh_video_identities`)."""
    from core.survey import Survey
    from services.survey import note_survey_in_flights, refresh_video_identities, survey_map

    survey = Survey.open(folder)
    note_survey_in_flights(survey)
    refresh_video_identities(survey)
    return survey_map(survey)


def survey_georeference_job(folder: Path) -> list[Any]:
    """Read from each flight's video what its telemetry lacks, into its project
    (:func:`services.survey.georeference_flights`, as ``damagemap survey georeference``);
    one :class:`services.survey.FlightGeoreferencing` a flight."""
    from core.survey import Survey
    from services.survey import georeference_flights

    return list(georeference_flights(Survey.open(folder)))


def survey_add_job(folder: Path, videos: list[Path]) -> tuple[list[str], list[str], list[str], list[str]]:
    """Add each video (or flight's project) as a flight (:func:`services.survey.add_flight`,
    as ``damagemap survey add`` does); returns the names added, for those that could not
    be why, for those that brought their project (analysed before) what it holds, and the
    names of those added with no telemetry (none found beside the video: not on the map
    until given)."""
    from core.errors import DamagemapError
    from core.survey import Survey
    from services.survey import add_flight, project_contents

    survey = Survey.open(folder)
    added: list[str] = []
    problems: list[str] = []
    taken: list[str] = []
    no_telemetry: list[str] = []
    for video in videos:
        try:
            record = add_flight(survey, Path(video))
        except DamagemapError as exc:
            problems.append(f"{Path(video).name}: {exc}")
            continue
        added.append(record.name)
        if not record.telemetry:
            no_telemetry.append(record.name)
        try:
            contents = project_contents(survey, record)
        except DamagemapError:  # added; what it holds is listed with the flights
            contents = None
        if contents is not None:
            taken.append(f"{record.name}: {contents.text()}")
    return added, problems, taken, no_telemetry


def survey_export_job(folder: Path, out_dir: Path, *, footprints: Path | None = None,
                      basemap: Path | None = None, project_sources: bool = True,
                      product: dict[str, Any] | None = None) -> tuple[list[Path], Any, list[str]]:
    """Every survey file into ``out_dir``, as ``damagemap survey export`` writes them (each
    flight's reviews as they stand now; ``footprints``, ``basemap`` and ``project_sources``
    as :func:`services.survey.export_survey` takes them); ``product``, the event and
    producer (:func:`services.survey.check_survey_product`'s changes), checked first, named
    by the files and, those fields that change what the survey names, kept in it once they
    are written (:func:`services.survey.keep_survey_product`: an export as filled in keeps
    nothing; a survey that cannot be written keeps its own). Returns the files written, the
    survey's map and the fields kept."""
    from core.survey import Survey, SurveyError
    from services.survey import check_survey_product, export_survey, keep_survey_product, survey_map, survey_title

    survey = Survey.open(folder)
    changes = dict(product or {})
    survey.product = check_survey_product(survey, **changes)  # this export's; kept once it is written
    built = survey_map(survey)
    written = export_survey(built, Path(out_dir), title=survey_title(survey), survey=survey,
                            footprints=footprints, basemap=basemap, project_sources=project_sources)
    kept: list[str] = []
    try:
        kept = keep_survey_product(survey, **changes)
    except SurveyError as exc:  # a survey on a share that cannot be written: the files name them still
        _log.warning("the event and producer not kept in the survey: %s", exc)
    return written, built, kept
