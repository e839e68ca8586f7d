"""An analysis cut into segments that separate processes (or machines) can run.

A run's frames still to analyse (:attr:`AnalysisPlan.todo`) are cut by
:func:`split_segments` into runs of consecutive selected frames. Each
:class:`Segment` also reads the selected frame just before and just after it: the SRN
refines a frame's scores against both its neighbours (mean of the two pairs), so with
that one frame of overlap on each side every stored frame gets exactly the refined
scores an uninterrupted single-process run gives it, and no frame depends on another
segment's result.

:func:`analyse_segment` runs one segment through the same detector code as
:func:`engine.analysis.run.analyze_video` and returns :class:`SegmentFrame` results
whose detections carry their final refined scores: writing one
(:meth:`core.store.ProjectStore.write_frame`) is one self-contained transaction, so
whoever writes them (the driver of a cluster run) can write them in any order, and a
run cut short anywhere resumes from what the store holds.

Nothing here knows about Ray: :mod:`services.cluster` ships segments to workers.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.types import Detection, Frame
from engine.analysis.detector import BatchDetector, DetectorOutput, _retained_memory, _score_floor
from engine.convert import to_detections
from engine.frame_quality import with_quality
from engine.video import VideoReader

#: Selected frames read on each side of a segment for the SRN (it pairs a frame with
#: its two neighbours only, so one is enough for results equal to a single run).
SRN_OVERLAP = 1
#: Default upper bound of a segment's length: a worker that dies loses at most this
#: many frames, and the overlap (two frames analysed twice) stays a few per cent.
DEFAULT_SEGMENT_FRAMES = 32


@dataclass(frozen=True, slots=True)
class Segment:
    """Frames one worker analyses: ``frames`` are stored, ``before`` and ``after`` only
    give the SRN its context (they are analysed, never stored by this segment)."""

    number: int
    frames: tuple[int, ...]
    before: tuple[int, ...] = ()
    after: tuple[int, ...] = ()

    @property
    def reads(self) -> tuple[int, ...]:
        """Every frame the segment decodes and runs the detector on, in order."""
        return self.before + self.frames + self.after

    @property
    def last_of_run(self) -> bool:
        """No selected frame follows: the SRN's last pair is flushed here."""
        return not self.after


@dataclass(frozen=True, slots=True)
class SegmentFrame:
    """One analysed frame ready to store: its metadata (no pixels) and its detections,
    refined scores set where the SRN ran."""

    frame: Frame
    detections: tuple[Detection, ...]


def split_segments(
    selected: Sequence[int],
    todo: Sequence[int],
    *,
    workers: int = 1,
    max_frames: int = DEFAULT_SEGMENT_FRAMES,
    overlap: int = SRN_OVERLAP,
) -> list[Segment]:
    """Cut ``todo`` (a subset of ``selected``, both ascending) into segments.

    Each segment is a run of frames consecutive in ``selected`` (a frame already stored
    ends a segment), at most ``max_frames`` long and, when there is little to do, short
    enough that every one of ``workers`` gets a segment. ``overlap`` selected frames are
    read on each side (stored or not): 1 for the SRN, 0 without it.
    """
    if max_frames < 1:
        raise ValueError(f"max_frames must be >= 1; got {max_frames!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers!r}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0; got {overlap!r}")
    position = {frame: k for k, frame in enumerate(selected)}
    missing = [f for f in todo if f not in position]
    if missing:
        raise ValueError(f"frames {missing[:5]} to analyse are not among the selected frames")
    length = max(1, min(max_frames, math.ceil(len(todo) / workers))) if todo else max_frames
    runs: list[list[int]] = []
    for frame in sorted(todo):
        if runs and position[frame] == position[runs[-1][-1]] + 1 and len(runs[-1]) < length:
            runs[-1].append(frame)
        else:
            runs.append([frame])
    segments = []
    for number, run in enumerate(runs):
        first, last = position[run[0]], position[run[-1]]
        segments.append(Segment(
            number=number,
            frames=tuple(run),
            before=tuple(selected[max(0, first - overlap):first]),
            after=tuple(selected[last + 1:last + 1 + overlap]),
        ))
    return segments


@dataclass(slots=True)
class _Models:
    """What :class:`BatchDetector` reads off a plan."""

    model: torch.nn.Module
    device: torch.device
    refiner: Any | None


def models_on(model: torch.nn.Module, refiner: Any | None, device: torch.device) -> tuple[torch.nn.Module, Any | None]:
    """The detector and the SRN refiner on ``device`` (copies when they live elsewhere,
    so a model shipped to another process can be moved off or onto a GPU)."""
    if next(model.parameters(), torch.empty(0)).device != device:
        model = copy.deepcopy(model).to(device)
    if refiner is not None and getattr(refiner, "device", device) != device:
        refiner = copy.copy(refiner)
        refiner.device = device
        refiner.encoder = copy.deepcopy(refiner.encoder).to(device)
    return model, refiner


def analyse_segment(
    video_path: str | Path,
    segment: Segment,
    *,
    model: torch.nn.Module,
    refiner: Any | None,
    device: torch.device,
    score_threshold: float,
    batch_size: int = 1,
) -> list[SegmentFrame]:
    """Run the detector (and the SRN) over ``segment.reads``; the results of
    ``segment.frames``, in order, each with its final refined scores."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size!r}")
    model.eval()
    detector = BatchDetector(_Models(model, device, refiner), score_threshold)  # type: ignore[arg-type]
    keep = set(segment.frames)
    outputs: dict[int, tuple[Frame, DetectorOutput]] = {}
    refined: dict[int, torch.Tensor] = {}

    def finish(batch: list[Frame]) -> None:
        for frame, (output, done) in zip(batch, detector.finish(detector.infer(batch))):
            if frame.index in keep:
                # the image is dropped, what it measured kept
                outputs[frame.index] = (Frame(frame.index, frame.pts_s, frame.width_px, frame.height_px,
                                              quality=frame.quality), output)
            if done is not None:
                refined[done[0]] = done[1]

    with _score_floor(model, score_threshold), _retained_memory(device), VideoReader(video_path) as reader:
        batch: list[Frame] = []
        for frame in reader.iter_frames(list(segment.reads)):
            batch.append(with_quality(frame) if frame.index in keep else frame)  # measured as it is decoded
            if len(batch) == batch_size:
                finish(batch)
                batch = []
        if batch:
            finish(batch)
        if segment.last_of_run:
            final = detector.flush()
            if final is not None:
                refined[final[0]] = final[1]

    results = []
    for index in segment.frames:
        frame, output = outputs[index]
        detections = to_detections(output.as_mapping(), index)
        if len(detections) != len(output):
            raise RuntimeError(f"frame {index}: {len(output)} detector rows gave {len(detections)} detections")
        scores = refined.get(index)
        if scores is not None:
            values = scores.tolist()
            detections = [dataclasses.replace(d, refined_score=min(1.0, max(0.0, float(values[row]))))
                          for row, d in enumerate(detections)]
        results.append(SegmentFrame(frame, tuple(detections)))
    return results


__all__ = [
    "DEFAULT_SEGMENT_FRAMES",
    "SRN_OVERLAP",
    "Segment",
    "SegmentFrame",
    "analyse_segment",
    "models_on",
    "split_segments",
]
