"""Analysing a project's video: MSNet on every selected frame, SRN across neighbours.

:func:`analyze_video` is a Qt-free generator: the CLI drives a progress bar with it and
the GUI runs it in a worker thread. Three threads keep the model busy:

- a *prefetch* thread decodes the selected frames ahead into a bounded queue;
- the caller's thread batches them, runs the detector (CUDA with mixed precision and
  channels-last when there is a GPU), thresholds the masks on the device and brings a
  batch's results to the host in one synchronisation; it also streams the SRN, which
  needs the FPN maps of the same pass;
- a *writer* thread turns tensors into detections (:func:`engine.convert.to_detections`,
  the run-length encoding is CPU work) and commits each frame to the project store.

Each frame is committed in one transaction together with the SRN scores it completes
for the previous frame, so a run cancelled or killed at any instant resumes exactly
where it stopped: the frames already stored are skipped, and the SRN state is rebuilt
by re-running the detector on the last two stored frames (results not written again).
A run is identified by its model and the settings that change its results (frame
selection, score threshold, SRN on/off): analysing again with other settings starts a
separate run and keeps the first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.errors import ModelError
from core.store import ProjectStore
from core.types import Detection, Frame, Origin
from engine.convert import MASK_THRESHOLD, to_detections
from engine.msnet.paste import MaskCrop
from engine.video import VideoReader, select_frame_indices

_log = logging.getLogger(__name__)

#: Detections below this score are not stored (the SRN's lower bound C0 in the paper:
#: scores under it are never refined up, so they could never be shown).
DEFAULT_SCORE_THRESHOLD = 0.2
#: Settings that change a run's results; a run with other values is another run.
RUN_IDENTITY_KEYS = ("stride", "fps", "score_threshold", "srn")

_CPU_NOTICE_GIVEN = False


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


@dataclass(slots=True)
class AnalysisPlan:
    """What :func:`analyze_video` is about to do (see :func:`plan_analysis`)."""

    run_id: int
    resumed: bool
    selected: list[int]
    todo: list[int]
    warmup: list[int]
    device: torch.device
    model: torch.nn.Module
    model_info: dict[str, Any]
    settings: dict[str, Any]
    refiner: Any | None
    notes: list[str]

    @property
    def frames_total(self) -> int:
        return len(self.selected)

    @property
    def frames_done(self) -> int:
        return len(self.selected) - len(self.todo)


# --------------------------------------------------------------------------- setup


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when present, else the CPU (said once per process)."""
    global _CPU_NOTICE_GIVEN
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if not _CPU_NOTICE_GIVEN:
            _CPU_NOTICE_GIVEN = True
            _log.warning("no CUDA GPU found: analysing on the CPU (slow; analyse fewer frames with --fps or --every)")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"device {device!r} asked for, but no CUDA GPU is available; use --device cpu or auto")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ModelError(f"device: expected 'auto', 'cpu' or 'cuda[:N]'; got {device!r}") from None


def default_weights() -> Path:
    from engine.weights import DEFAULT_MSNET_WEIGHTS

    return Path(DEFAULT_MSNET_WEIGHTS)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _json_plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def load_detector(
    weights: str | Path | None, device: torch.device
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The detector and what identifies it in a run's record (path, hash, config)."""
    from engine.weights import load_model

    path = Path(weights) if weights is not None else default_weights()
    if weights is None and not path.is_file():
        raise ModelError(
            f"{path}: the default model is not installed; pass your own with --weights FILE.safetensors"
        )
    model, config = load_model(path, device=device)
    info = {
        "weights": str(path.resolve()),
        "sha256": _sha256(path),
        "config": config.get("model", {}),
        "class_names": config.get("class_names"),
    }
    return model, _json_plain(info)


def _describe_injected(model: torch.nn.Module, model_info: Mapping[str, Any] | None) -> dict[str, Any]:
    if model_info is not None:
        return _json_plain(dict(model_info))
    return _json_plain({"weights": None, "class": type(model).__name__, "config": getattr(model, "build_config", None)})


def load_refiner(
    model: torch.nn.Module, device: torch.device, srn_weights: str | Path | None
) -> tuple[Any | None, str]:
    """The SRN refiner, or ``None`` and why not (the run goes on without it)."""
    if not hasattr(model, "detect_with_features"):
        return None, "skipped: the detector does not return its FPN features (detect_with_features)"
    try:
        from engine.srn import ScoreRefiner
    except ImportError as exc:
        return None, f"skipped: the SRN module is not available ({exc})"
    if srn_weights is None:
        from engine.weights import DEFAULT_MODEL_DIR

        path = Path(DEFAULT_MODEL_DIR) / "srn.safetensors"
    else:
        path = Path(srn_weights)
    if not path.is_file():
        return None, f"skipped: no SRN weights at {path}"
    try:
        # On the CPU encode the RoI-pooled features, not whole FPN maps: the paper's
        # order costs ~100 GFLOP per frame there.
        refiner = ScoreRefiner.from_weights(path, device=device, encode_rois_first=device.type == "cpu")
    except ModelError as exc:
        return None, f"skipped: {exc}"
    return refiner, f"on ({path})"


def plan_analysis(
    store: ProjectStore,
    *,
    weights: str | Path | None = None,
    model: torch.nn.Module | None = None,
    model_info: Mapping[str, Any] | None = None,
    device: str | torch.device = "auto",
    stride: int | None = None,
    fps: float | None = None,
    srn: bool = True,
    srn_weights: str | Path | None = None,
    refiner: Any | None = None,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    new_run: bool = False,
    reader: VideoReader | None = None,
) -> AnalysisPlan:
    """Load the model, pick (or start) the run, and list the frames still to analyse.

    Preflight for :func:`analyze_video`; a GUI may call it first to show what will
    happen. Arguments are :func:`analyze_video`'s.
    """
    target = resolve_device(device)
    if model is None:
        model, info = load_detector(weights, target)
    else:
        info = _describe_injected(model, model_info)
        model = model.to(target)
    model.eval()
    # Channels-last convolutions: tensor cores on a GPU, and oneDNN's faster kernels on a
    # CPU (the 60 s flyover: 57.7 -> 52.6-54.9 s on 2 cores).
    model = model.to(memory_format=torch.channels_last)

    notes: list[str] = []
    if not srn:
        refiner, srn_note = None, "off"
    elif refiner is not None:
        srn_note = "on (given)"
    else:
        refiner, srn_note = load_refiner(model, target, srn_weights)
    if srn and refiner is None:
        notes.append(f"SRN {srn_note}")

    own_reader = reader is None
    reader = reader or VideoReader(store.video_path)
    try:
        selected = select_frame_indices(reader.pts_s, stride=stride or 1, fps=fps)
    finally:
        if own_reader:
            reader.close()
    settings = {
        "stride": None if fps is not None else (stride or 1),
        "fps": fps,
        "score_threshold": float(score_threshold),
        "srn": bool(srn),
        "srn_status": srn_note,
        "device": str(target),
    }

    run_id, resumed = None, False
    if not new_run:
        for run in reversed(store.runs()):
            if run.model == info and all(run.settings.get(k) == settings[k] for k in RUN_IDENTITY_KEYS):
                run_id, resumed = run.id, True
                break
    if run_id is None:
        run_id = store.start_run(model=info, settings=settings)
    done = store.analysed_frames(run_id)
    todo = [i for i in selected if i not in done]
    finished_before = [i for i in selected if i in done]
    warmup = finished_before[-2:] if refiner is not None and finished_before else []
    if store.run(run_id).finished:
        warmup = []
    if resumed and done:
        notes.append(f"resuming run {run_id}: {len(finished_before)} of {len(selected)} frames already stored")
    return AnalysisPlan(
        run_id=run_id,
        resumed=resumed,
        selected=selected,
        todo=todo,
        warmup=warmup,
        device=target,
        model=model,
        model_info=info,
        settings=settings,
        refiner=refiner,
        notes=notes,
    )


# ------------------------------------------------------------------------- threads

_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put unless ``stop`` is set; never blocks forever on a consumer that has gone."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class _Prefetcher(threading.Thread):
    """Decodes the frames to analyse ahead of the model into a bounded queue."""

    def __init__(self, video_path: Path, indices: Sequence[int], depth: int) -> None:
        super().__init__(name="damagemap-prefetch", daemon=True)
        self.video_path = video_path
        self.indices = list(indices)
        self.frames: queue.Queue = queue.Queue(maxsize=depth)
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with VideoReader(self.video_path) as reader:
                for frame in reader.iter_frames(self.indices):
                    if not _put(self.frames, frame, self.stop):
                        return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            _put(self.frames, _Failure(exc), self.stop)
            return
        _put(self.frames, _END, self.stop)


@dataclass(slots=True)
class _FrameResult:
    frame: Frame
    output: dict[str, Tensor]  # host tensors, filtered
    write: bool  # False for warm-up frames (already stored)
    refined_prev: tuple[int, Tensor] | None  # (frame index, scores) completed by this frame


@dataclass(slots=True)
class _FinalScores:
    frame_index: int
    scores: Tensor


class _Writer(threading.Thread):
    """Turns results into detections and commits them, one transaction per frame."""

    def __init__(self, store: ProjectStore, run_id: int, depth: int) -> None:
        super().__init__(name="damagemap-writer", daemon=True)
        self.store = store
        self.run_id = run_id
        self.items: queue.Queue = queue.Queue(maxsize=depth)
        self.stored: queue.Queue = queue.Queue()  # (Frame, tuple[Detection]) after commit
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self._ids: dict[int, list[int]] = {}  # frame index -> model detection ids, latest two

    def run(self) -> None:
        try:
            while True:
                item = self.items.get()
                if item is _END:
                    return
                if isinstance(item, _FinalScores):
                    self.store.update_refined_scores(self.run_id, self._refined_by_id(item.frame_index, item.scores))
                else:
                    self._handle(item)
        except BaseException as exc:  # noqa: BLE001 - re-raised by analyze_video
            self.error = exc
            self.stop.set()

    def _handle(self, item: _FrameResult) -> None:
        index = item.frame.index
        refined = {} if item.refined_prev is None else self._refined_by_id(*item.refined_prev)
        if not item.write:
            stored = self.store.detections(self.run_id, frame_index=index, include_deleted=True)
            self._remember(index, [d.id for d in stored if d.origin is not Origin.ADDED])
            if refined:
                self.store.update_refined_scores(self.run_id, refined)
            return
        detections = to_detections(item.output, index)
        ids = self.store.write_frame(self.run_id, item.frame, detections, refined_scores=refined)
        self._remember(index, ids)
        stored = tuple(dataclasses.replace(d, id=i) for d, i in zip(detections, ids))
        self.stored.put((item.frame, stored))

    def _remember(self, index: int, ids: list[int]) -> None:
        self._ids[index] = ids
        while len(self._ids) > 2:
            del self._ids[next(iter(self._ids))]

    def _refined_by_id(self, index: int, scores: Tensor) -> dict[int, float]:
        ids = self._ids.get(index, [])
        values = scores.tolist()
        if len(ids) != len(values):
            _log.warning(
                "SRN: frame %d has %d stored detections but %d refined scores; its scores are left unrefined",
                index, len(ids), len(values),
            )
            return {}
        return {i: min(1.0, max(0.0, float(v))) for i, v in zip(ids, values)}


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


def _to_host(outputs: list[dict[str, Any]], frame_sizes: Sequence[tuple[int, int]]) -> list[dict[str, Any]]:
    """A batch's results on the host, each mask as a crop of the frame.

    Full-frame masks are mostly zeros: what crosses to the host (and is run-length
    encoded) is each mask's crop, all of a batch's crops in one buffer. MSNet hands
    over crops already (its boxes' windows); other detectors' full-frame masks are cut
    to their bounding crops first (one more synchronisation, for the row and column
    occupancy).
    """
    staged: list[dict[str, Tensor]] = []
    for out in outputs:
        entry = {k: v for k, v in out.items() if k not in ("masks", "mask_crops")}
        if "masks" in out and "mask_crops" not in out:
            masks = out["masks"][:, 0]  # bool [N, H, W]
            entry["_rows"], entry["_cols"] = masks.any(dim=2), masks.any(dim=1)
        staged.append(entry)
    host = _transfer(staged)

    crops_per_output: list[list[MaskCrop] | None] = []
    for out, entry in zip(outputs, host):
        if "mask_crops" in out:
            crops_per_output.append(out["mask_crops"])
        elif "masks" in out:
            crops_per_output.append(_bounding_crops(out["masks"][:, 0], entry.pop("_rows"), entry.pop("_cols")))
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
    for entry, crops, size in zip(host, crops_per_output, frame_sizes):
        if crops is None:
            continue
        entry["mask_crops"] = [(crop.x0, crop.y0, next(arrays).reshape(crop.values.shape)) for crop in crops]
        entry["mask_size"] = size
    return host


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
    """One detector call's results, still on the device (see :meth:`_Detector.infer`)."""

    frames: list[Frame]
    outputs: list[dict[str, Any]]
    features: Any
    image_sizes: list[tuple[int, int]] | None


class _Detector:
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
        """The detector on ``frames``; may run in several threads at once."""
        pixels = torch.stack([torch.from_numpy(f.image) for f in frames])  # uint8 [B, H, W, 3]
        if self.device.type == "cuda":
            pixels = pixels.pin_memory().to(self.device, non_blocking=True)
        # uint8 travels (4x less than float); scaling happens on the device.
        images = list(pixels.permute(0, 3, 1, 2).float().div_(255.0).unbind(0))
        with torch.inference_mode(), self._autocast():
            if hasattr(self.model, "detect_with_features"):
                outputs, features, image_sizes = self.model.detect_with_features(images, mask_crops=True)
            else:
                outputs, features, image_sizes = self.model(images), None, None
            outputs = [_filter_output(o, self.score_threshold) for o in outputs]
        if self.sequence is None:
            features = image_sizes = None  # let the FPN maps go now
        return _Inferred(frames, outputs, features, image_sizes)

    def finish(self, inferred: _Inferred) -> list[tuple[dict[str, Any], tuple[int, Tensor] | None]]:
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


# ------------------------------------------------------------------------- the run


def analyze_video(
    store: ProjectStore,
    *,
    weights: str | Path | None = None,
    device: str | torch.device = "auto",
    stride: int | None = None,
    fps: float | None = None,
    srn: bool = True,
    batch_size: int | None = None,
    cancel: threading.Event | None = None,
    model: torch.nn.Module | None = None,
    model_info: Mapping[str, Any] | None = None,
    srn_weights: str | Path | None = None,
    refiner: Any | None = None,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    new_run: bool = False,
    plan: AnalysisPlan | None = None,
    frames_in_flight: int | None = None,
) -> Iterator[AnalysisProgress]:
    """Analyse the project's video into the store, yielding after each stored frame.

    Parameters
    ----------
    store
        The open project; its video is analysed.
    weights
        MSNet ``.safetensors`` (JSON config beside it); default: the shipped model.
    device
        ``"auto"`` (CUDA if present, else CPU, said once), ``"cpu"`` or ``"cuda[:N]"``.
    stride, fps
        Analyse every ``stride``-th frame, or about ``fps`` frames per second of video
        (by timestamps); neither means every frame.
    srn
        Refine scores across consecutive analysed frames with the SRN; skipped, with a
        note in the run's settings, when its module or weights are missing.
    batch_size
        Frames per detector call; default :func:`default_batch_size`.
    cancel
        Set it to stop: every frame reported so far is stored (frames still in the
        detector are dropped) and a later call with the same settings resumes.
    model, model_info
        An already built detector (tests, GUI) and what to record for it, instead of
        ``weights``.
    srn_weights, refiner
        Other SRN weights, or a ready :class:`engine.srn.ScoreRefiner`.
    score_threshold
        Detections below it are not stored.
    new_run
        Start a new run even when one with the same model and settings exists.
    plan
        The result of :func:`plan_analysis`, if the caller made it already.
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
    if plan is None:
        plan = plan_analysis(
            store, weights=weights, model=model, model_info=model_info, device=device, stride=stride, fps=fps,
            srn=srn, srn_weights=srn_weights, refiner=refiner, score_threshold=score_threshold, new_run=new_run,
        )
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
    detector = _Detector(plan, threshold)
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
    if completed:
        store.finish_run(run_id)


__all__ = [
    "AnalysisPlan",
    "AnalysisProgress",
    "DEFAULT_SCORE_THRESHOLD",
    "analyze_video",
    "default_batch_size",
    "default_frames_in_flight",
    "load_detector",
    "load_refiner",
    "plan_analysis",
    "resolve_device",
]
