"""The analysis run: frames through the detector into the store, as a generator.

:func:`analyze_video` drives the threads of :mod:`engine.analysis.threads` and the
:class:`~engine.analysis.detector.BatchDetector`, and yields an
:class:`AnalysisProgress` after each frame is committed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from core.errors import VideoError
from core.store import UNREADABLE_FRAMES_KEY, ProjectStore
from core.types import Detection, Frame
from engine.analysis.detector import (
    BatchDetector,
    _Inferred,
    _retained_memory,
    _score_floor,
    _threads_per_call,
    default_batch_size,
    default_frames_in_flight,
)
from engine.analysis.plan import AnalysisPlan
from engine.analysis.threads import _END, _Failure, _FinalScores, _FrameResult, _Prefetcher, _put, _Writer

_log = logging.getLogger("engine.analyze")


@dataclass(frozen=True, slots=True)
class AnalysisProgress:
    """Yielded after each frame is stored.

    ``frames_done``/``frames_total`` count the run's selected frames (resumed ones
    included); ``frames_per_s`` and ``eta_s`` are measured on this session's frames.
    ``detections`` are the frame's stored detections, ids set.
    """

    run_id: int
    frame_index: int
    pts_s: float
    frames_done: int
    frames_total: int
    frames_per_s: float
    eta_s: float | None
    detections: tuple[Detection, ...] = field(repr=False, default=())


def analyze_video(
    store: ProjectStore,
    plan: AnalysisPlan,
    *,
    batch_size: int | None = None,
    cancel: threading.Event | None = None,
    frames_in_flight: int | None = None,
) -> Iterator[AnalysisProgress]:
    """Analyse the project's video into the store as ``plan`` says, yielding after each
    stored frame.

    Parameters
    ----------
    store
        The open project; its video is analysed.
    plan
        What to do (:func:`engine.analysis.plan.plan_analysis`: the model, the run, the
        frames still to analyse).
    batch_size
        Frames per detector call; default :func:`default_batch_size`.
    cancel
        Set it to stop: every frame reported so far is stored (frames still in the
        detector are dropped) and a later plan with the same settings resumes.
    frames_in_flight
        Detector calls running at once; default :func:`default_frames_in_flight`.

    Yields
    ------
    AnalysisProgress
        After each frame is committed.
    """
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size!r}")
    if frames_in_flight is not None and frames_in_flight < 1:
        raise ValueError(f"frames_in_flight must be >= 1; got {frames_in_flight!r}")
    for note in plan.notes:
        _log.info("%s", note)
    run_id = plan.run_id
    if not plan.todo and not plan.warmup:
        if not store.run(run_id).finished:
            store.finish_run(run_id)
        return

    batch_size = batch_size or default_batch_size(plan.device)
    in_flight = frames_in_flight or default_frames_in_flight(plan.device)
    threshold = plan.settings["score_threshold"]
    detector = BatchDetector(plan, threshold)
    depth = max(2, 2 * batch_size * in_flight)
    prefetch = _Prefetcher(store.video_path, plan.warmup + plan.todo, depth)
    writer = _Writer(store, run_id, depth)
    pending: deque[Future[_Inferred]] = deque()
    warm = set(plan.warmup)
    # Warm-up frames rebuild the SRN state only. All but the last were final before
    # the interruption (each frame's write carries its predecessor's final scores).
    already_final = set(plan.warmup[:-1])
    done, total = plan.frames_done, plan.frames_total
    session_done = 0
    started = time.perf_counter()
    ended = completed = False

    def progress(frame: Frame, detections: tuple[Detection, ...]) -> AnalysisProgress:
        nonlocal done, session_done
        done += 1
        session_done += 1
        elapsed = max(time.perf_counter() - started, 1e-9)
        rate = session_done / elapsed
        return AnalysisProgress(
            run_id=run_id, frame_index=frame.index, pts_s=frame.pts_s, frames_done=done, frames_total=total,
            frames_per_s=rate, eta_s=(total - done) / rate if rate > 0 else None, detections=detections,
        )

    def drain() -> Iterator[AnalysisProgress]:
        while True:
            try:
                frame, detections = writer.stored.get_nowait()
            except queue.Empty:
                return
            yield progress(frame, detections)

    def next_batch() -> list[Frame]:
        nonlocal ended
        batch: list[Frame] = []
        while len(batch) < batch_size:
            item = prefetch.frames.get()
            if item is _END:
                ended = True
                break
            if isinstance(item, _Failure):
                raise item.error
            batch.append(item)
        return batch

    def hand_over(inferred: _Inferred) -> int | None:
        """The oldest batch, finished in frame order, to the writer: how many frames it
        will store (``None`` if the writer has stopped)."""
        count = 0
        for frame, (output, refined_prev) in zip(inferred.frames, detector.finish(inferred)):
            if refined_prev is not None and refined_prev[0] in already_final:
                refined_prev = None
            write = frame.index not in warm
            if not _put(writer.items, _FrameResult(frame, output, write, refined_prev), writer.stop):
                return None
            count += write
        return count

    def committed(count: int) -> Iterator[AnalysisProgress]:
        """Progress for the next ``count`` frames, as the writer commits them.

        Waiting here (the detector threads keep working meanwhile) means a caller who
        sets ``cancel`` on a progress report stops the run before anything else is
        handed to the writer.
        """
        for _ in range(count):
            while True:
                try:
                    frame, detections = writer.stored.get(timeout=0.1)
                    break
                except queue.Empty:
                    if writer.error is not None or not writer.is_alive():
                        return
            yield progress(frame, detections)

    prefetch.start()
    writer.start()
    resources = contextlib.ExitStack()
    # The thread count first: the detector threads take it when they start.
    resources.enter_context(_threads_per_call(plan.device, in_flight))
    workers = resources.enter_context(ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="damagemap-detect"))
    try:
        with _score_floor(plan.model, threshold), _retained_memory(plan.device):
            while not (ended and not pending):
                if cancel is not None and cancel.is_set():
                    break
                if not ended:
                    batch = next_batch()
                    if batch:
                        pending.append(workers.submit(detector.infer, batch))
                if pending and (ended or len(pending) >= in_flight):
                    count = hand_over(pending.popleft().result())
                    if count is None:
                        break
                    yield from committed(count)
                if writer.error is not None:
                    break
            completed = ended and not pending and writer.error is None
            if completed:
                final = detector.flush()
                if final is not None:
                    _put(writer.items, _FinalScores(*final), writer.stop)
    finally:
        for future in pending:
            future.cancel()
        resources.close()  # waits for the detector threads, then restores the thread count
        prefetch.stop.set()
        _put(writer.items, _END, writer.stop)
        writer.join()
        prefetch.join()
    if writer.error is not None:
        raise writer.error
    yield from drain()
    if completed and prefetch.unreadable:
        if not prefetch.delivered and not plan.frames_done:  # not one frame: no video, not a few frames lost
            raise VideoError(next(iter(prefetch.unreadable.values())))
        _keep_unreadable(store, run_id, prefetch.unreadable)
    if completed:
        store.finish_run(run_id)


def _keep_unreadable(store: ProjectStore, run_id: int, unreadable: dict[int, str]) -> None:
    """Record in the run the frames left out because they could not be decoded (with
    those of an earlier session of it), and say so in the log."""
    settings = dict(store.run(run_id).settings)
    earlier = settings.get(UNREADABLE_FRAMES_KEY) or {}
    frames = sorted({*map(int, earlier.get("frames", ())), *unreadable})
    reason = earlier.get("reason") or unreadable[min(unreadable)]
    settings[UNREADABLE_FRAMES_KEY] = {"frames": frames, "reason": reason}
    store.update_run_settings(run_id, settings)
    _log.warning("%d selected frames could not be decoded and are left out: %s", len(unreadable), reason)


__all__ = ["AnalysisProgress", "analyze_video"]
