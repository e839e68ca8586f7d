"""Analysing a project's video: one request type and one generator for both clients.

The command line drives a progress bar with :func:`analyse`; the desktop app runs
:func:`analyse_project` in a worker thread and cancels it with a ``threading.Event``.
Both describe the run with an :class:`AnalysisRequest`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.settings import MAX_TILES, MIN_INPUT_SIZE, detector_overrides
from core.store import ProjectStore

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from engine.analyze import AnalysisPlan, AnalysisProgress
    from geo.telemetry import Track


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """What to analyse and how.

    Attributes
    ----------
    device
        ``"auto"`` (CUDA when present, else the CPU), ``"cpu"`` or ``"cuda[:N]"``.
    weights
        MSNet ``.safetensors``; ``None``: the shipped model.
    stride, fps
        Every ``stride``-th frame, or about ``fps`` frames per second of video; neither
        means every frame. At most one is given.
    srn, srn_weights
        Refine scores across frames with the SRN (``srn`` ``None``: the weights' own
        setting; ``srn_weights`` ``None``: the shipped SRN).
    batch_size
        Frames per model call; ``None``: 4 on a GPU, 1 on a CPU.
    score_threshold
        Detections scoring below it are not stored; ``None``:
        ``engine.analyze.DEFAULT_SCORE_THRESHOLD``.
    new_run
        Start a new run even when one with the same model and settings exists.
    input_size
        Short side (pixels) the model sees, over the weights' own (``None``); a run made
        at another size is another run.
    building_gate
        The building gate ``S`` in [0, 1) over the weights' own (``None``): the share of a
        damage candidate that must lie inside a building the model found. Another run, too.
    flip_check
        The mirror check over the weights' own setting (``False``: theirs): each frame is
        also seen mirrored and a detection's score is its mean over the two views. Another
        run, too.
    sharpness_ceiling
        Frames sharper than this are softened down to it before the model sees them, over
        the weights' own (``None``: theirs; 0: frames as they come). Another run, too.
    close_look
        The close look on or off over the weights' own setting (``None``: theirs): each
        detection seen again in a full-resolution crop. Another run, too.
    tiles
        The tiled look's grid over the weights' own (``None``: theirs; 1: off): each frame
        also seen in N x N overlapping tiles, for small damage. Another run, too.
    """

    device: str = "auto"
    weights: Path | None = None
    stride: int | None = None
    fps: float | None = None
    srn: bool | None = None
    srn_weights: Path | None = None
    batch_size: int | None = None
    score_threshold: float | None = None
    new_run: bool = False
    input_size: int | None = None
    building_gate: float | None = None
    flip_check: bool = False
    close_look: bool | None = None
    sharpness_ceiling: float | None = None
    tiles: int | None = None

    def __post_init__(self) -> None:
        if self.stride is not None and self.fps is not None:
            raise InputError(f"analyse every N-th frame or F frames per second, not both; got stride {self.stride!r} "
                             f"and fps {self.fps!r}")
        if self.stride is not None and self.stride < 1:
            raise InputError(f"the frame stride must be >= 1; got {self.stride!r}")
        if self.fps is not None and not (math.isfinite(self.fps) and self.fps > 0):
            raise InputError(f"the analysis rate must be a positive number of frames per second; got {self.fps!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise InputError(f"the batch size must be >= 1; got {self.batch_size!r}")
        if self.score_threshold is not None and not 0.0 <= self.score_threshold <= 1.0:
            raise InputError(f"the score threshold must be in [0, 1]; got {self.score_threshold!r}")
        if self.input_size is not None and self.input_size < MIN_INPUT_SIZE:
            raise InputError(f"the input size must be >= {MIN_INPUT_SIZE} pixels; got {self.input_size!r}")
        if self.building_gate is not None and not 0.0 <= self.building_gate < 1.0:
            raise InputError(f"the building gate must be in [0, 1); got {self.building_gate!r}")
        ceiling = self.sharpness_ceiling
        if ceiling is not None and not (math.isfinite(ceiling) and ceiling >= 0):
            raise InputError(f"the sharpness ceiling must be a number >= 0 (0: frames as they come); got {ceiling!r}")
        if self.tiles is not None and not 1 <= self.tiles <= MAX_TILES:
            raise InputError(f"the tiled look takes 1 (off) to {MAX_TILES} tiles a side; got {self.tiles!r}")

    def inference(self) -> dict[str, Any]:
        """The detector's test-time settings this request sets over the weights' own."""
        return detector_overrides(input_size=self.input_size, building_gate=self.building_gate,
                                  flip_check=self.flip_check, close_look=self.close_look,
                                  sharpness_ceiling=self.sharpness_ceiling, tiles=self.tiles)


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A detector ready to analyse with, and what identifies it in a run's record."""

    model: torch.nn.Module
    info: Mapping[str, Any]
    device: torch.device


def load_model(request: AnalysisRequest) -> LoadedModel:
    """The request's device and detector (:class:`core.errors.ModelError` naming the
    weights when they do not load), before any project is touched."""
    from engine.analyze import load_detector
    from engine.device import ANALYSIS_CPU_HINT, resolve_device

    device = resolve_device(request.device, cpu_hint=ANALYSIS_CPU_HINT)
    model, info = load_detector(request.weights, device, request.inference())
    return LoadedModel(model, info, device)


def plan(
    store: ProjectStore, request: AnalysisRequest, *, model: LoadedModel | torch.nn.Module | None = None,
    check_placement: bool = False,
) -> AnalysisPlan:
    """Pick (or start) the run and list the frames still to analyse.

    ``model`` is a :class:`LoadedModel`, a ready torch module (tests, the app's
    injected model) or ``None`` to load the request's weights. ``check_placement``: try
    the telemetry on the frames first (:func:`services.maps.placement_check`) and note
    what would keep them off the map. The command line asks for it; the app's analysis
    does not (it runs on a pooled ``QThread``, where pyproj crashes, see
    ``app.workers.FunctionJob``; its map panel says the same as soon as the video is
    opened, :func:`services.maps.track_preview`).
    """
    from engine.analyze import DEFAULT_SCORE_THRESHOLD, plan_analysis

    threshold = DEFAULT_SCORE_THRESHOLD if request.score_threshold is None else request.score_threshold
    if isinstance(model, LoadedModel):
        given: dict[str, Any] = dict(model=model.model, model_info=model.info, device=model.device)
    elif model is not None:
        given = dict(model=model, device=request.device)
    else:
        given = dict(weights=request.weights, device=request.device, inference=request.inference())
    planned = plan_analysis(
        store, stride=request.stride, fps=request.fps, srn=request.srn, srn_weights=request.srn_weights,
        score_threshold=threshold, new_run=request.new_run, **given,
    )
    if planned.todo:  # said before the time is spent; the map says it again
        from services.footage import telemetry_height_caution
        from services.maps import PlacementCheck, placement_check

        track = _telemetry_or_none(store)  # read once for both checks
        video = None if planned.video is None else planned.video.as_dict()
        check = (placement_check(store, planned.selected, track=track, video=video) if check_placement
                 else PlacementCheck())
        if check.problem is not None:
            planned.notes.append(f"the map cannot be made yet (the frames are analysed all the same): {check.problem}")
        if check.hovering_caution is not None:
            planned.notes.append(f"caution: {check.hovering_caution}")
        caution = telemetry_height_caution(store, planned.run_id, track=track)
        if caution is not None:
            planned.notes.append(f"caution: {caution}")
    return planned


def _telemetry_or_none(store: ProjectStore) -> Track | None:
    """The project's telemetry, or ``None`` when it has none or it cannot be read (the
    checks that get ``None`` read it themselves and say why)."""
    from core.errors import DamagemapError
    from geo.telemetry import read_telemetry

    if store.telemetry_path is None:
        return None
    try:
        return read_telemetry(Path(store.telemetry_path))
    except DamagemapError:
        return None


def analyse(
    store: ProjectStore,
    request: AnalysisRequest,
    *,
    analysis_plan: AnalysisPlan | None = None,
    model: LoadedModel | torch.nn.Module | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[AnalysisProgress]:
    """Analyse the project's video into ``store``, yielding after each stored frame.

    Every frame reported is committed; after ``cancel`` is set the run stops at the
    next frame, and the same request later resumes it.
    """
    from engine.analyze import analyze_video

    if analysis_plan is None:
        analysis_plan = plan(store, request, model=model)
    yield from analyze_video(store, analysis_plan, batch_size=request.batch_size, cancel=cancel)


def analyse_project(
    project_path: Path,
    request: AnalysisRequest,
    *,
    model: torch.nn.Module | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[AnalysisProgress]:
    """:func:`analyse` on a connection of its own (for a worker thread: SQLite
    connections stay on the thread that opened them)."""
    with ProjectStore.open(project_path) as store:
        yield from analyse(store, request, model=model, cancel=cancel)


__all__ = ["AnalysisRequest", "LoadedModel", "analyse", "analyse_project", "load_model", "plan"]
