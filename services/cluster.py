"""Analysing on several processes or machines with Ray (the ``cluster`` extra).

``pip install "damagemap[cluster]"`` adds `Ray <https://www.ray.io>`_. Without an
address a Ray instance is started on this machine with ``workers`` CPUs (one worker
per CPU by default; one per GPU with ``device="cuda"``); with ``address`` the run joins
an existing cluster (``ray start --head`` on one machine, ``ray start --address ...``
on the others; every worker must read the video at the same path).

Ray's token authentication (``RAY_AUTH_MODE=token``; on by default for clusters that
``ray start --head`` starts where a token exists, e.g. ``~/.ray/auth_token``) needs the
driver to send the cluster's token. Ray reads it from ``RAY_AUTH_TOKEN``, else the file
named by ``RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``, but a driver given an
explicit address only sends it with ``RAY_AUTH_MODE=token``. :class:`ClusterOptions`
``token_file`` (or either token variable) switches that on (:func:`token_environment`);
a refused token is one :class:`ClusterError` line saying what to set.

How a run goes (:func:`analyse_on_ray`):

1. The driver plans the run as a single-process analysis would
   (:func:`services.analysis.plan`): same run identity, same frames, so a run started
   here resumes on one process and the other way round.
2. The frames still to analyse are cut into segments
   (:func:`engine.analysis.segments.split_segments`; one frame of overlap each side
   keeps the SRN's scores those of an uninterrupted run). Each segment is a Ray task;
   the model goes once into Ray's object store.
3. Only the driver writes: each finished segment's frames are stored one transaction
   per frame (detections with their final refined scores). A frame already in the store
   is never written again, so every frame is stored exactly once.
4. A worker that dies loses its segment only: Ray runs it again (``max_retries``), and
   when that fails too the run ends with :class:`ClusterError` after storing every
   other segment; the same command resumes from the store.

Scheduling, queues and transport are Ray's (tasks, ``ray.wait``); nothing here
re-implements them.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DamagemapError, InputError, first_line
from core.store import ProjectStore
from services.analysis import AnalysisRequest, LoadedModel, plan

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from engine.analysis.segments import Segment, SegmentFrame
    from engine.analyze import AnalysisPlan, AnalysisProgress


class ClusterError(DamagemapError):
    """Ray is missing or unreachable, or segments were lost (the run can be resumed)."""


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """Where and how wide to run.

    Attributes
    ----------
    address
        ``None``: this machine (a local Ray instance, started here unless one is
        running in this process); otherwise a Ray cluster's address (``"auto"``,
        ``"HOST:6379"`` or ``"ray://HOST:10001"``).
    workers
        Segments analysed at once on a local instance; ``None``: one per CPU (one per
        GPU for a CUDA device). Ignored with ``address`` (the cluster's size decides).
    threads_per_worker
        Torch CPU threads per worker (each task reserves as many Ray CPUs).
    segment_frames
        Longest segment, in analysed frames (what a dying worker can lose).
    max_retries
        Times Ray runs a segment again whose worker died.
    token_file
        A file holding the cluster's authentication token (``ray get-auth-token`` on
        the head writes it); only with ``address``.
    """

    address: str | None = None
    workers: int | None = None
    threads_per_worker: int = 1
    segment_frames: int = 32
    max_retries: int = 2
    token_file: Path | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise InputError(f"the number of workers must be >= 1; got {self.workers!r}")
        if self.threads_per_worker < 1:
            raise InputError(f"threads per worker must be >= 1; got {self.threads_per_worker!r}")
        if self.segment_frames < 1:
            raise InputError(f"a segment must hold >= 1 frame; got {self.segment_frames!r}")
        if self.max_retries < 0:
            raise InputError(f"max_retries must be >= 0; got {self.max_retries!r}")
        if self.token_file is not None:
            if self.address is None:
                raise InputError(f"{self.token_file}: a Ray token file is for a cluster: give its address too")
            try:
                token = Path(self.token_file).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(f"{self.token_file}: cannot read the Ray token file ({exc.__class__.__name__})") from None
            if not token:
                raise InputError(f"{self.token_file}: the Ray token file is empty (ray get-auth-token on the head prints it)")


TOKEN_HELP = ("run `ray get-auth-token` on the head node and give damagemap the token: "
              "--ray-token-file FILE, or the RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH environment variable")


def token_environment(options: ClusterOptions, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The Ray authentication variables a driver joining ``options.address`` needs,
    given the current ``environ`` (default: ``os.environ``): ``{}`` when nothing changes.

    ``options.token_file`` -> ``RAY_AUTH_TOKEN_PATH`` and ``RAY_AUTH_MODE=token`` (and
    ``RAY_AUTH_TOKEN`` emptied, which Ray would read first). A token in the environment
    (``RAY_AUTH_TOKEN`` / ``RAY_AUTH_TOKEN_PATH``) -> ``RAY_AUTH_MODE=token`` unless
    ``RAY_AUTH_MODE`` is set already. A local instance (no address) is left to Ray.
    """
    env = os.environ if environ is None else environ
    if options.address is None:
        return {}
    if options.token_file is not None:
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(Path(options.token_file).resolve()),
                "RAY_AUTH_TOKEN": ""}
    if "RAY_AUTH_MODE" not in env and (env.get("RAY_AUTH_TOKEN") or env.get("RAY_AUTH_TOKEN_PATH")):
        return {"RAY_AUTH_MODE": "token"}
    return {}


def _apply_token_environment(changes: dict[str, str]) -> None:
    """Set ``changes`` in this process's environment (Ray's workers started here
    inherit it) and make Ray read its configuration and token again (it caches both)."""
    if not changes:
        return
    for name, value in changes.items():
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    try:  # what Ray's own ``ray start`` does when it switches token mode on
        raylet: Any = importlib.import_module("ray._raylet")
        raylet.Config.initialize("")
        raylet.AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):  # pragma: no cover - a Ray without token authentication
        pass


def is_auth_failure(exc: BaseException) -> bool:
    """Whether Ray refused the connection for its token (the reason may sit deep in the
    chain of causes, as text: ``InvalidAuthToken``, ``AuthenticationError``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = f"{type(current).__name__} {current}"
        if "AuthenticationError" in text or "InvalidAuthToken" in text or "Unauthenticated" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


def ray_module() -> Any:
    """The ``ray`` package, or :class:`ClusterError` saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ClusterError(
            'Ray is not installed: pip install "damagemap[cluster]" (or pip install ray) to analyse on workers'
        ) from None


def local_workers(options: ClusterOptions, device: str = "cpu") -> int:
    """Workers a local instance gets: ``options.workers``, else one per GPU (CUDA) or
    per ``threads_per_worker`` CPUs available to this process."""
    if options.workers is not None:
        return options.workers
    if device.startswith("cuda"):
        import torch

        return max(1, torch.cuda.device_count())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // options.threads_per_worker)


class RaySession:
    """A connection to Ray for the length of a ``with`` block: joins the instance this
    process already has, or starts (and afterwards stops) one."""

    def __init__(self, options: ClusterOptions, device: str = "cpu") -> None:
        self.options = options
        self.device = device
        self.ray = ray_module()
        self._started = False

    def __enter__(self) -> RaySession:
        ray = self.ray
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                          logging_level="error", configure_logging=True)
            if self.options.address is None:
                workers = local_workers(self.options, self.device)
                kwargs["num_cpus"] = workers * self.options.threads_per_worker
            _apply_token_environment(token_environment(self.options))
            try:
                # "local": always a new instance of our own, never a cluster some
                # `ray start` left on this machine (which Ray would otherwise join).
                ray.init(address=self.options.address or "local", **kwargs)
            except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
                where = self.options.address or "this machine"
                if self.options.address is not None and is_auth_failure(exc):
                    raise ClusterError(f"the Ray cluster at {where} refused this driver's authentication token "
                                       f"(missing or wrong): {TOKEN_HELP}") from None
                raise ClusterError(f"cannot start or reach Ray on {where}: {first_line(exc)}") from None
            self._started = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._started:
            self.ray.shutdown()

    def workers(self) -> int:
        """Segments that can run at once now (the cluster's CPUs or GPUs over a task's)."""
        resources = self.ray.cluster_resources()
        if self.device.startswith("cuda"):
            return max(1, int(resources.get("GPU", 0)))
        return max(1, int(resources.get("CPU", 1)) // self.options.threads_per_worker)


def _segment_task(
    video_path: str, segment: Segment, model: torch.nn.Module, refiner: Any | None, device: str,
    score_threshold: float, batch_size: int, threads: int,
) -> list[SegmentFrame]:
    """One segment on a Ray worker (the function Ray runs; plain arguments only)."""
    import torch

    from engine.analysis.segments import analyse_segment, models_on

    torch.set_num_threads(threads)
    target = torch.device(device if not device.startswith("cuda") or torch.cuda.is_available() else "cpu")
    model, refiner = models_on(model, refiner, target)
    return analyse_segment(video_path, segment, model=model, refiner=refiner, device=target,
                           score_threshold=score_threshold, batch_size=batch_size)


def analyse_on_ray(
    store: ProjectStore,
    request: AnalysisRequest,
    options: ClusterOptions | None = None,
    *,
    analysis_plan: AnalysisPlan | None = None,
    model: LoadedModel | torch.nn.Module | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[AnalysisProgress]:
    """Analyse the project's video on Ray workers into ``store``, yielding after each
    stored frame (segments arrive in the order they finish).

    Raises
    ------
    ClusterError
        Ray is not installed or not reachable, or segments were lost after their
        retries (every other frame is stored; the same call resumes).
    """
    options = options or ClusterOptions()
    ray_module()  # say it is missing before the model loads
    if analysis_plan is None:
        analysis_plan = plan(store, request, model=model)
    with RaySession(options, request.device if analysis_plan.device.type == "cuda" else "cpu") as session:
        yield from _run(store, request, options, analysis_plan, session, cancel)


def _run(
    store: ProjectStore, request: AnalysisRequest, options: ClusterOptions, analysis_plan: AnalysisPlan,
    session: RaySession, cancel: threading.Event | None,
) -> Iterator[AnalysisProgress]:
    import torch

    from engine.analysis.run import AnalysisProgress
    from engine.analysis.segments import SRN_OVERLAP, models_on, split_segments

    ray, run_id = session.ray, analysis_plan.run_id
    if not analysis_plan.todo:
        if not store.run(run_id).finished:
            store.finish_run(run_id)
        return
    device = analysis_plan.device
    segments = split_segments(
        analysis_plan.selected, analysis_plan.todo, workers=session.workers(), max_frames=options.segment_frames,
        overlap=SRN_OVERLAP if analysis_plan.refiner is not None else 0,
    )
    cpu = torch.device("cpu")
    model, refiner = models_on(analysis_plan.model, analysis_plan.refiner, cpu)
    model_ref, refiner_ref = ray.put(model), ray.put(refiner)
    task = ray.remote(_segment_task).options(
        num_cpus=options.threads_per_worker, num_gpus=1 if device.type == "cuda" else 0,
        max_retries=options.max_retries, retry_exceptions=False,
    )
    threshold = float(analysis_plan.settings["score_threshold"])
    batch_size = request.batch_size or (4 if device.type == "cuda" else 1)
    pending = {
        task.remote(str(store.video_path), segment, model_ref, refiner_ref, str(device), threshold, batch_size,
                    options.threads_per_worker): segment
        for segment in segments
    }
    done, total = analysis_plan.frames_done, analysis_plan.frames_total
    session_done, started = 0, time.perf_counter()
    lost: list[tuple[Segment, str]] = []
    try:
        while pending:
            if cancel is not None and cancel.is_set():
                break
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
            for ref in ready:
                segment = pending.pop(ref)
                try:
                    results: list[SegmentFrame] = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    lost.append((segment, _reason(exc)))
                    continue
                stored = store.analysed_frames(run_id)
                for result in results:
                    if result.frame.index in stored:  # written by an earlier driver of this run
                        continue
                    ids = store.write_frame(run_id, result.frame, result.detections)
                    done += 1
                    session_done += 1
                    rate = session_done / max(time.perf_counter() - started, 1e-9)
                    yield AnalysisProgress(
                        run_id=run_id, frame_index=result.frame.index, pts_s=result.frame.pts_s, frames_done=done,
                        frames_total=total, frames_per_s=rate, eta_s=(total - done) / rate if rate > 0 else None,
                        detections=tuple(_with_ids(result.detections, ids)),
                    )
    finally:
        for ref in pending:
            ray.cancel(ref)
    if lost:
        frames = sum(len(segment.frames) for segment, _ in lost)
        raise ClusterError(
            f"{Path(store.path).name}: {len(lost)} segment(s), {frames} frames, were lost ({lost[0][1]}); "
            f"the other frames are stored: run the same analysis again to resume"
        )
    if not pending and set(store.analysed_frames(run_id)) >= set(analysis_plan.selected):
        store.finish_run(run_id)


def _reason(exc: BaseException) -> str:
    """One line for a lost segment: the worker's own error (a video it cannot read),
    or what Ray says (a worker that died)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and str(cause).strip():
        return f"{type(cause).__name__}: {str(cause).strip().splitlines()[0]}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _with_ids(detections: tuple[Any, ...], ids: list[int]) -> Iterator[Any]:
    import dataclasses

    for detection, detection_id in zip(detections, ids):
        yield dataclasses.replace(detection, id=detection_id)


__all__ = ["TOKEN_HELP", "ClusterError", "ClusterOptions", "RaySession", "analyse_on_ray", "is_auth_failure",
           "local_workers", "ray_module", "token_environment"]
