"""The detector side of an analysis: batches in, typed host results out.

What the analysis asks of a model is the torchvision detection contract in eval mode
(:class:`Detector`: a list of ``[3, H, W]`` images in, one dict per image out). A model
that also returns its FPN maps (:class:`FeatureDetector`, MSNet) gets its scores refined
by the SRN. :class:`BatchDetector` runs the model on a batch (in several threads at
once on a CPU), streams the SRN in frame order, and brings each frame's results to the
host as a :class:`DetectorOutput`, the only thing that crosses to the writer thread.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import Tensor

from core.types import Frame
from engine.convert import MASK_THRESHOLD
from engine.msnet.paste import MaskCrop
from engine.msnet.working_size import model_working_short_side, working_image

if TYPE_CHECKING:  # pragma: no cover
    from engine.analysis.plan import AnalysisPlan


class Detector(Protocol):
    """A detection model in eval mode, torchvision's contract: ``model(images)`` with
    ``images`` a list of ``FloatTensor[3, H, W]`` in ``[0, 1]`` gives one dict per
    image with ``boxes`` (``[x1, y1, x2, y2]`` pixels), ``labels``, ``scores`` and
    optionally ``masks`` (``[N, 1, H, W]`` probabilities)."""

    def __call__(self, images: list[Tensor]) -> list[dict[str, Tensor]]: ...


@runtime_checkable
class FeatureDetector(Protocol):
    """A detector that also returns the FPN maps of the same pass (MSNet), which the
    SRN needs; with ``mask_crops`` each output holds its masks as crops of the frame
    (:class:`engine.msnet.paste.MaskCrop`) instead of full-frame ``masks``."""

    def detect_with_features(
        self, images: list[Tensor], *, mask_crops: bool = False, output_sizes: list[tuple[int, int]] | None = None
    ) -> tuple[list[dict[str, Any]], Mapping[str, Tensor], list[tuple[int, int]]]: ...


def supports_features(model: object) -> bool:
    """Whether ``model`` returns its FPN maps with its detections (then the SRN can run)."""
    return isinstance(model, FeatureDetector)


# ------------------------------------------------------------------------ the model


def default_batch_size(device: torch.device) -> int:
    """Frames per detector call: batches keep a GPU busy; on a CPU one frame at a time
    keeps every activation small, which measured faster (0.54 s vs 0.63 s per 720p
    frame with the default model on 2 cores)."""
    return 4 if device.type == "cuda" else 1


def default_frames_in_flight(device: torch.device) -> int:
    """Detector calls at once: two on a multi-core CPU, so one frame's single-threaded
    stretches (proposal filtering, NMS, mask pasting) overlap the other's convolutions
    (0.48 -> 0.41 s per 720p frame on 2 cores); one on a GPU, which is asynchronous."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if device.type == "cuda" or cores < 2 else 2


@contextlib.contextmanager
def _threads_per_call(device: torch.device, in_flight: int) -> Iterator[None]:
    """Share torch's CPU threads among the calls in flight instead of oversubscribing.

    New threads take torch's thread count at their first parallel operation, so this
    must be set before the detector threads start; it is put back afterwards.
    """
    before = torch.get_num_threads()
    if device.type != "cpu" or in_flight < 2 or before < 2:
        yield
        return
    torch.set_num_threads(max(1, before // in_flight))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _retained_memory(device: torch.device) -> contextlib.AbstractContextManager:
    if device.type != "cpu":
        return contextlib.nullcontext()
    from engine.memory import retain_freed_memory

    return retain_freed_memory()


def _filter_output(output: dict[str, Any], score_threshold: float) -> dict[str, Any]:
    """Keep damage detections above the threshold; masks become booleans on the device."""
    labels, scores = output["labels"], output["scores"]
    keep = (scores >= score_threshold) & (labels >= 1) & (labels <= 3)
    filtered = {key: output[key][keep] for key in ("boxes", "labels", "scores") if key in output}
    if "masks" in output:
        filtered["masks"] = output["masks"][keep] > MASK_THRESHOLD
    if "mask_crops" in output:
        filtered["mask_crops"] = [
            MaskCrop(crop.x0, crop.y0, crop.values > MASK_THRESHOLD)
            for crop, kept in zip(output["mask_crops"], keep.tolist())
            if kept
        ]
    if "mask_scores" in output:
        filtered["mask_scores"] = output["mask_scores"][keep]
    for key in ("building_boxes", "building_scores"):
        if key in output:
            filtered[key] = output[key]
    return filtered


@contextlib.contextmanager
def _score_floor(model: torch.nn.Module, score_threshold: float) -> Iterator[None]:
    """Let the RoI heads drop what the analysis would drop, before the mask head runs.

    Exact: NMS and the per-image top-k only ever let a higher score suppress or outrank
    a lower one, so removing scores under the threshold first changes nothing above it.
    torchvision keeps ``score > score_thresh``; the floor sits just under the threshold
    so that ``score == threshold`` survives, as in :func:`_filter_output`.
    """
    heads = getattr(model, "roi_heads", None)
    before = getattr(heads, "score_thresh", None)
    if not isinstance(before, float):
        yield
        return
    heads.score_thresh = max(before, score_threshold * (1.0 - 1e-6))  # type: ignore[union-attr]
    try:
        yield
    finally:
        heads.score_thresh = before  # type: ignore[union-attr]


def _transfer(tensors: list[dict[str, Tensor]]) -> list[dict[str, Tensor]]:
    """Dicts of tensors to the host with one synchronisation (no-op on the CPU)."""
    if all(t.device.type == "cpu" for d in tensors for t in d.values()):
        return tensors
    host = [{k: v.to("cpu", non_blocking=True) for k, v in d.items()} for d in tensors]
    _synchronize(tensors)
    return host


def _synchronize(tensors: list[dict[str, Tensor]]) -> None:
    """Wait for the non-blocking copies off the device the tensors live on."""
    for d in tensors:
        for t in d.values():
            if t.device.type == "cuda":
                torch.cuda.synchronize(t.device)
                return


@dataclass(frozen=True, slots=True)
class HostMaskCrop:
    """A thresholded mask as the ``bool[h, w]`` crop of its frame at ``(x0, y0)``."""

    x0: int
    y0: int
    values: np.ndarray


@dataclass(frozen=True, slots=True)
class DetectorOutput:
    """One frame's detections on the host, filtered for the analysis.

    Row ``i`` of every field is detection ``i``: damage labels only (1..3), scores at or
    above the run's threshold, in the detector's order (by score). The SRN's refined
    scores for the frame come in the same rows.

    Attributes
    ----------
    boxes
        ``FloatTensor[N, 4]``, ``[x1, y1, x2, y2]`` frame pixels.
    labels
        ``Int64Tensor[N]``, 1 Slight, 2 Severe, 3 Debris.
    scores
        ``FloatTensor[N]`` in ``[0, 1]``.
    frame_size
        ``(H, W)`` of the frame.
    mask_crops
        One :class:`HostMaskCrop` per row, or ``None`` for a detector without masks.
    building_boxes
        ``FloatTensor[B, 4]`` building boxes (MSNet), or ``None``.
    """

    boxes: Tensor
    labels: Tensor
    scores: Tensor
    frame_size: tuple[int, int]
    mask_crops: tuple[HostMaskCrop, ...] | None = None
    building_boxes: Tensor | None = None

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def as_mapping(self) -> dict[str, Any]:
        """The output in :func:`engine.convert.to_detections`' documented form."""
        out: dict[str, Any] = {"boxes": self.boxes, "labels": self.labels, "scores": self.scores}
        if self.building_boxes is not None:
            out["building_boxes"] = self.building_boxes
        if self.mask_crops is not None:
            out["mask_crops"] = [(c.x0, c.y0, c.values) for c in self.mask_crops]
            out["mask_size"] = self.frame_size
        return out


def _to_host(outputs: list[dict[str, Any]], frame_sizes: Sequence[tuple[int, int]]) -> list[DetectorOutput]:
    """A batch's filtered results on the host, each mask as a crop of the frame.

    Full-frame masks are mostly zeros: what crosses to the host (and is run-length
    encoded) is each mask's crop, all of a batch's crops in one buffer. MSNet hands
    over crops already (its boxes' windows); other detectors' full-frame masks are cut
    to their bounding crops first (one more synchronisation, for the row and column
    occupancy).
    """
    staged: list[dict[str, Tensor]] = []
    occupancy: list[tuple[Tensor, Tensor] | None] = []  # per output: rows, columns of full masks
    for out in outputs:
        staged.append({k: out[k] for k in ("boxes", "labels", "scores", "building_boxes") if k in out})
        if "masks" in out and "mask_crops" not in out:
            masks = out["masks"][:, 0]  # bool [N, H, W]
            occupancy.append((masks.any(dim=2), masks.any(dim=1)))
        else:
            occupancy.append(None)
    host = _transfer(staged + [{"rows": r, "cols": c} for r, c in filter(None, occupancy)])
    host_occupancy = iter(host[len(staged):])

    crops_per_output: list[list[MaskCrop] | None] = []
    for out, occupied in zip(outputs, occupancy):
        if "mask_crops" in out:
            crops_per_output.append(out["mask_crops"])
        elif occupied is not None:
            found = next(host_occupancy)
            crops_per_output.append(_bounding_crops(out["masks"][:, 0], found["rows"], found["cols"]))
        else:
            crops_per_output.append(None)

    pieces = [crop.values.reshape(-1) for crops in crops_per_output if crops for crop in crops]
    if pieces:
        flat = torch.cat(pieces)
        if flat.device.type != "cpu":
            source = flat
            flat = source.to("cpu", non_blocking=True)
            _synchronize([{"crops": source}])
        arrays = iter(np.split(flat.numpy(), np.cumsum([piece.numel() for piece in pieces])[:-1]))
    results = []
    for entry, crops, size in zip(host, crops_per_output, frame_sizes):
        host_crops = None
        if crops is not None:
            host_crops = tuple(HostMaskCrop(crop.x0, crop.y0, next(arrays).reshape(crop.values.shape)) for crop in crops)
        results.append(DetectorOutput(
            boxes=entry["boxes"], labels=entry["labels"], scores=entry["scores"], frame_size=tuple(size),
            mask_crops=host_crops, building_boxes=entry.get("building_boxes"),
        ))
    return results


def _bounding_crops(masks: Tensor, rows: Tensor, cols: Tensor) -> list[MaskCrop]:
    """Each full-frame ``bool[H, W]`` mask cut to the rows and columns it occupies."""
    crops = []
    for i in range(masks.shape[0]):
        ys, xs = np.flatnonzero(rows[i].numpy()), np.flatnonzero(cols[i].numpy())
        if ys.size == 0:
            crops.append(MaskCrop(0, 0, masks[i, :0, :0]))
            continue
        y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
        crops.append(MaskCrop(x0, y0, masks[i, y0:y1, x0:x1]))
    return crops


@dataclass(slots=True)
class _Inferred:
    """One detector call's results, still on the device (see :meth:`BatchDetector.infer`)."""

    frames: list[Frame]
    outputs: list[dict[str, Any]]
    features: Any
    image_sizes: list[tuple[int, int]] | None


class BatchDetector:
    """Runs the model on a batch (:meth:`infer`, thread-safe) and finishes batches in
    order (:meth:`finish`: the streaming SRN and the copy to the host)."""

    def __init__(self, plan: AnalysisPlan, score_threshold: float) -> None:
        self.model = plan.model
        self.device = plan.device
        self.refiner = plan.refiner
        self.score_threshold = score_threshold
        self.sequence = None
        if self.refiner is not None:
            from engine.srn import SequenceRefiner

            self.sequence = SequenceRefiner(self.refiner)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def infer(self, frames: list[Frame]) -> _Inferred:
        """The detector on ``frames``; may run in several threads at once. Frames larger
        than the model can use are shrunk first (:mod:`engine.msnet.working_size`); the
        results are in the frames' own pixels all the same."""
        short_side = model_working_short_side(self.model)
        shown = [working_image(f.image, short_side) for f in frames]
        output_sizes = None
        if any(image is not f.image for image, f in zip(shown, frames)):
            output_sizes = [(f.height_px, f.width_px) for f in frames]
        pixels = torch.stack([torch.from_numpy(image) for image in shown])  # uint8 [B, H, W, 3]
        if self.device.type == "cuda":
            pixels = pixels.pin_memory().to(self.device, non_blocking=True)
        # uint8 travels (4x less than float); scaling happens on the device.
        images = list(pixels.permute(0, 3, 1, 2).float().div_(255.0).unbind(0))
        with torch.inference_mode(), self._autocast():
            if isinstance(self.model, FeatureDetector):
                extra = {} if output_sizes is None else {"output_sizes": output_sizes}  # other detectors: as before
                outputs, features, image_sizes = self.model.detect_with_features(images, mask_crops=True, **extra)
            else:
                outputs, features, image_sizes = self.model(images), None, None
            outputs = [_filter_output(o, self.score_threshold) for o in outputs]
        if self.sequence is None:
            features = image_sizes = None  # let the FPN maps go now
        return _Inferred(frames, outputs, features, image_sizes)

    def finish(self, inferred: _Inferred) -> list[tuple[DetectorOutput, tuple[int, Tensor] | None]]:
        """Host results and the SRN scores each frame completes; call in frame order."""
        frames, outputs = inferred.frames, inferred.outputs
        refined: list[tuple[int, Tensor] | None] = [None] * len(frames)
        if self.sequence is not None:
            from engine.srn import FramePredictions

            with torch.inference_mode(), self._autocast():
                for b, (frame, out) in enumerate(zip(frames, outputs)):
                    predictions = FramePredictions.from_detector(
                        out, inferred.features, inferred.image_sizes, (frame.height_px, frame.width_px), index=b
                    )
                    done = self.sequence.push(frame.index, predictions)
                    if done is not None:
                        refined[b] = (int(done.key), done.scores)
        return list(zip(_to_host(outputs, [(f.height_px, f.width_px) for f in frames]), refined))

    def flush(self) -> tuple[int, Tensor] | None:
        if self.sequence is None:
            return None
        done = self.sequence.flush()
        return None if done is None else (int(done.key), done.scores)

__all__ = [
    "BatchDetector",
    "Detector",
    "DetectorOutput",
    "FeatureDetector",
    "HostMaskCrop",
    "default_batch_size",
    "default_frames_in_flight",
    "supports_features",
]
