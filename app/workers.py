"""Heavy work off the GUI thread: analysis, map building, export.

Each job is a plain function or generator that opens its own connection to the project
(SQLite connections stay on the thread that made them) and calls the Qt-free ``engine``
or ``geo`` function; superqt's workers (napari's ``thread_worker``) run it on the
thread pool and deliver ``yielded``/``returned``/``errored`` on the GUI thread.
:class:`AnalysisJob` adds cancel: it sets the ``threading.Event`` that
:func:`engine.analyze.analyze_video` checks after each frame, so a cancel ends the run
cleanly with every finished frame stored; a cancel is not an error.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from superqt.utils import GeneratorWorker


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """What the analysis dialog asks for.

    ``fps`` is the analysis frame rate (``None``: every frame); ``weights`` ``None``
    means the shipped default model. ``time_offset_s`` and ``hfov_deg`` are stored in the
    project for georeferencing, not passed to the detector.
    """

    device: str = "auto"
    weights: str | None = None
    fps: float | None = None
    srn: bool = True
    batch_size: int | None = None  # engine.analyze.default_batch_size
    time_offset_s: float = 0.0
    hfov_deg: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
            from engine.weights import DEFAULT_MSNET_WEIGHTS

            if not Path(DEFAULT_MSNET_WEIGHTS).is_file():
                errors.append(
                    f"The default model is not installed ({DEFAULT_MSNET_WEIGHTS}); choose weights in the dialog"
                )
    if not has_telemetry:
        warnings.append("No telemetry: damage will be found on the frames but not placed on the map")
    return errors, warnings


def iter_analysis(
    project_path: Path, options: AnalysisOptions, cancel: threading.Event, model: Any = None
) -> Iterator[Any]:
    """Run :func:`engine.analyze.analyze_video` on a fresh store connection."""
    from core.store import ProjectStore
    from engine.analyze import analyze_video

    kwargs: dict[str, Any] = dict(
        weights=options.weights, device=options.device, fps=options.fps, srn=options.srn,
        batch_size=options.batch_size, cancel=cancel,
    )
    if model is not None:
        kwargs["model"] = model
    with ProjectStore.open(project_path) as store:
        try:
            yield from analyze_video(store, **kwargs)
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
    progress(object)
        An :class:`engine.analyze.AnalysisProgress` after each stored frame.
    finished(bool)
        The run ended; ``True`` when it was cancelled.
    failed(object)
        The exception that stopped the run (``finished`` follows).
    """

    progress = Signal(object)
    finished = Signal(bool)
    failed = Signal(object)

    def __init__(self, project_path: Path, options: AnalysisOptions, *, model: Any = None, parent: QObject | None = None):
        super().__init__(parent)
        self.options = options
        self._cancel = threading.Event()
        self._worker = GeneratorWorker(iter_analysis, Path(project_path), options, self._cancel, model)
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
    """

    done = Signal(object)
    failed = Signal(object)
    finished = Signal()
    _result = Signal(object, object)  # (value, error) from the job thread, queued to ours

    def __init__(self, func: Callable[..., Any], *args: Any, parent: QObject | None = None, **kwargs: Any) -> None:
        super().__init__(parent)
        self._call = (func, args, kwargs)
        self._running = False
        self._result.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def is_running(self) -> bool:
        return self._running

    def start(self) -> None:
        self._running = True
        _job_executor().submit(self._run)

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


_EXECUTOR: Any = None


def _job_executor():
    """The single long-lived job thread (created on first use, a daemon)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        from concurrent.futures import ThreadPoolExecutor

        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="damagemap-jobs")
    return _EXECUTOR


def wait_for_jobs(timeout_s: float = 30.0) -> bool:
    """Block until queued map/export jobs are done (tests, window close)."""
    if _EXECUTOR is None:
        return True
    future = _EXECUTOR.submit(lambda: None)
    try:
        future.result(timeout=timeout_s)
    except Exception:  # noqa: BLE001
        return False
    return True


# ---------------------------------------------------------------------- map and export


def read_track_job(telemetry_path: Path) -> Any:
    """The flight track alone (the map panel before any analysis)."""
    from geo.telemetry import read_telemetry

    return read_telemetry(Path(telemetry_path))


def build_map_job(
    project_path: Path, run_id: int | None, hfov_deg: float | None, offset_s: float
) -> Any:
    """Build the project's :class:`geo.mapping.DamageMap` on a fresh connection."""
    from core.store import ProjectStore
    from engine.video import probe_video
    from geo.mapping import build_damage_map

    with ProjectStore.open(project_path) as store:
        info = probe_video(store.video_path)
        return build_damage_map(
            store, run_id, video_info=info.as_dict(), hfov_deg=hfov_deg, offset_s=offset_s
        )


def export_job(
    project_path: Path, run_id: int | None, hfov_deg: float | None, offset_s: float, choice: Any
) -> list[Path]:
    """Write what the export dialog asked for; returns the files written."""
    from core.store import ProjectStore
    from engine.export_coco import export_reviewed_frames

    written: list[Path] = []
    out_dir = Path(choice.out_dir)
    if choice.formats:
        from geo.export import export_map

        from engine.thumbnails import jpeg_thumbnails

        damage_map = build_map_job(project_path, run_id, hfov_deg, offset_s)
        thumbnail = None
        if "html" in choice.formats:
            with ProjectStore.open(project_path) as store:
                video_path = store.video_path
            thumbnail = jpeg_thumbnails(video_path, [site.best_frame for site in damage_map.sites]).get
        written += [Path(p) for p in export_map(damage_map, out_dir, formats=list(choice.formats), thumbnail=thumbnail)]
    if choice.coco:
        with ProjectStore.open(project_path) as store:
            result = export_reviewed_frames(
                store, out_dir / "training", run_id=run_id, include_pending=choice.coco_include_pending
            )
        written.append(result.annotations_path)
    return written
