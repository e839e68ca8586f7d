"""The threads of an analysis: decoding ahead, and writing each frame to the store.

:class:`_Prefetcher` decodes the selected frames into a bounded queue; :class:`_Writer`
turns each frame's :class:`~engine.analysis.detector.DetectorOutput` into detections
(:func:`engine.convert.to_detections`) and commits it with the SRN scores it completes
for the previous frame, in one transaction. Queues are bounded and every put gives up
when its consumer has stopped, so no thread waits forever.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from core.errors import VideoError
from core.store import ProjectStore
from core.types import Detection, Frame, Origin
from engine.analysis.detector import DetectorOutput
from engine.convert import to_detections
from engine.frame_quality import with_quality
from engine.video import VideoReader

_log = logging.getLogger("engine.analyze")

#: Ends a queue: no more items.
_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(q: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put unless ``stop`` is set; never blocks forever on a consumer that has gone."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class _Prefetcher(threading.Thread):
    """Decodes the frames to analyse ahead of the model into a bounded queue.

    A frame that cannot be decoded (a recording cut short when the battery died lists
    frames its file no longer holds; a corrupt stretch) is left out and kept in
    :attr:`unreadable` with why, rather than end the analysis: no later attempt would
    decode it either. A video that cannot be opened is handed on as a failure."""

    def __init__(self, video_path: Path, indices: Sequence[int], depth: int) -> None:
        super().__init__(name="damagemap-prefetch", daemon=True)
        self.video_path = video_path
        self.indices = list(indices)
        self.frames: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        #: frame index -> why it could not be decoded
        self.unreadable: dict[int, str] = {}
        #: frames decoded and handed on
        self.delivered = 0

    def run(self) -> None:
        try:
            with VideoReader(self.video_path) as reader:
                for index in self.indices:
                    try:
                        frame = reader.frame_at(index)
                    except VideoError as exc:
                        self.unreadable[index] = str(exc)
                        continue
                    # measured here, beside the model's thread: 0.4 ms a 720p frame
                    if not _put(self.frames, with_quality(frame), self.stop):
                        return
                    self.delivered += 1
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            _put(self.frames, _Failure(exc), self.stop)
            return
        _put(self.frames, _END, self.stop)


@dataclass(slots=True)
class _FrameResult:
    frame: Frame
    output: DetectorOutput
    write: bool  # False for warm-up frames (already stored)
    refined_prev: tuple[int, Tensor] | None  # (frame index, scores by row) completed by this frame


@dataclass(slots=True)
class _FinalScores:
    frame_index: int
    scores: Tensor  # by row of the frame's DetectorOutput


#: Row of a frame's :class:`DetectorOutput` -> the id of the detection stored for it.
RowIds = dict[int, int]

#: How far a re-run detector's score may drift from the stored one and still be the same
#: detection (mixed precision and other batch sizes move scores by less than this).
SCORE_MATCH_TOLERANCE = 1e-3


def match_rows(scores: Sequence[float], stored: Sequence[Detection]) -> RowIds:
    """Rows of a re-run frame matched to the detections stored for them.

    A warm-up frame's detector output is computed again, so its rows must find their
    stored detections: by the detector's own score, which review never changes (a
    relabel or a redrawn outline keeps it), each row taking the first unmatched stored
    model detection within :data:`SCORE_MATCH_TOLERANCE`, in id order. Detections a
    reviewer added have no row.
    """
    candidates = [d for d in stored if d.origin is not Origin.ADDED and d.id is not None]
    taken: set[int] = set()
    rows: RowIds = {}
    for row, score in enumerate(scores):
        for det in candidates:
            if det.id not in taken and abs(det.score - float(score)) <= SCORE_MATCH_TOLERANCE:
                assert det.id is not None
                rows[row] = det.id
                taken.add(det.id)
                break
    return rows


class _Writer(threading.Thread):
    """Turns results into detections and commits them, one transaction per frame.

    Each frame's rows are remembered with the ids they were stored under, so the SRN
    scores that arrive with the next frame (by row) reach the right detections by id.
    """

    def __init__(self, store: ProjectStore, run_id: int, depth: int) -> None:
        super().__init__(name="damagemap-writer", daemon=True)
        self.store = store
        self.run_id = run_id
        self.items: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.stored: queue.Queue[tuple[Frame, tuple[Detection, ...]]] = queue.Queue()  # after commit
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self._ids: dict[int, RowIds] = {}  # frame index -> its rows' ids, latest two frames

    def run(self) -> None:
        try:
            while True:
                item = self.items.get()
                if item is _END:
                    return
                if isinstance(item, _FinalScores):
                    self.store.update_refined_scores(self.run_id, self._refined_by_id(item.frame_index, item.scores))
                else:
                    assert isinstance(item, _FrameResult)
                    self._handle(item)
        except BaseException as exc:  # noqa: BLE001 - re-raised by analyze_video
            self.error = exc
            self.stop.set()

    def _handle(self, item: _FrameResult) -> None:
        index = item.frame.index
        refined = {} if item.refined_prev is None else self._refined_by_id(*item.refined_prev)
        if not item.write:
            stored = self.store.detections(self.run_id, frame_index=index, include_deleted=True)
            self._remember(index, match_rows(item.output.scores.tolist(), stored))
            if refined:
                self.store.update_refined_scores(self.run_id, refined)
            return
        detections = to_detections(item.output.as_mapping(), index)
        if len(detections) != len(item.output):  # the output is filtered to storable rows
            raise RuntimeError(
                f"frame {index}: {len(item.output)} detector rows gave {len(detections)} detections"
            )
        ids = self.store.write_frame(self.run_id, item.frame, detections, refined_scores=refined)
        self._remember(index, dict(enumerate(ids)))
        stored = tuple(dataclasses.replace(d, id=i) for d, i in zip(detections, ids))
        self.stored.put((item.frame, stored))

    def _remember(self, index: int, ids: RowIds) -> None:
        self._ids[index] = ids
        while len(self._ids) > 2:
            del self._ids[next(iter(self._ids))]

    def _refined_by_id(self, index: int, scores: Tensor) -> dict[int, float]:
        """The SRN's scores of a frame's rows, keyed by the stored detections' ids."""
        ids = self._ids.get(index, {})
        values = scores.tolist()
        return {ids[row]: min(1.0, max(0.0, float(v))) for row, v in enumerate(values) if row in ids}
