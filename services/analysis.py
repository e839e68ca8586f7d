"""Analysing a project's video: one request type and one generator for both clients.

The command line drives a progress bar with :func:`analyse`; the desktop app runs
:func:`analyse_project` in a worker thread and cancels it with a ``threading.Event``.
Both describe the run with an :class:`AnalysisRequest`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InputError, VideoError
from core.settings import HOVER_EVERY_S, MAX_TILES, MIN_INPUT_SIZE, detector_overrides
from core.store import ProjectStore, RunInfo

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from engine.analyze import AnalysisPlan, AnalysisProgress
    from engine.video import VideoInfo
    from geo.telemetry import Track
    from services.maps import GeometryRunner


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
    hover_every_s
        While the drone holds one view (it hovers, and the telemetry places the frames),
        analyse one frame every this many seconds of it (``None``:
        :data:`core.settings.HOVER_EVERY_S`; 0: every frame the rate selects). The same
        run either way: analysing again with a smaller value adds the frames left out.
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
    hover_every_s: float | None = None

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
        every = self.hover_every_s
        if every is not None and not (math.isfinite(every) and every >= 0):
            raise InputError("a hover's frames are analysed one every S seconds, S >= 0 (0: every frame); "
                             f"got {every!r}")

    @property
    def hover_every(self) -> float:
        """Seconds between the frames analysed of one view (0: every frame)."""
        return HOVER_EVERY_S if self.hover_every_s is None else float(self.hover_every_s)

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


def load_model(request: AnalysisRequest, *, cpu_hint: str | None = None) -> LoadedModel:
    """The request's device and detector (:class:`core.errors.ModelError` naming the
    weights when they do not load), before any project is touched; SRN weights named in
    the request are checked too (:func:`_check_srn_weights`). ``cpu_hint``: what the
    calling command offers to make a CPU analysis faster, said with the notice that no
    GPU was found (``None``: ``analyze``'s own flags)."""
    from engine.analyze import load_detector
    from engine.device import ANALYSIS_CPU_HINT, resolve_device

    device = resolve_device(request.device, cpu_hint=cpu_hint or ANALYSIS_CPU_HINT)
    model, info = load_detector(request.weights, device, request.inference())
    if request.srn_weights is not None and request.srn is not False:
        _check_srn_weights(Path(request.srn_weights), model, info, device)
    return LoadedModel(model, info, device)


def _check_srn_weights(path: Path, model: torch.nn.Module, info: Mapping[str, Any], device: torch.device) -> None:
    """SRN weights asked for by name must be usable: :class:`core.errors.ModelError`
    naming the file when they are missing or do not load for this detector. Only the
    shipped SRN, when it is missing, is skipped with a note (:func:`engine.analysis.plan.load_refiner`)."""
    from core.errors import ModelError
    from engine.analysis.plan import load_refiner

    if not path.is_file():
        problem = "is a folder, not SRN weights" if path.is_dir() else "SRN weights not found"
        raise ModelError(f"{path}: {problem}")
    refiner, note = load_refiner(model, device, path, info)
    if refiner is None:
        reason = note.removeprefix("skipped: ").removeprefix(f"{path}: ")  # named once, first
        raise ModelError(f"{path}: cannot be used as SRN weights: {reason}")


def plan(
    store: ProjectStore, request: AnalysisRequest, *, model: LoadedModel | torch.nn.Module | None = None,
    check_placement: bool = False, geometry: GeometryRunner | None = None,
) -> AnalysisPlan:
    """Pick (or start) the run and list the frames still to analyse.

    ``model`` is a :class:`LoadedModel`, a ready torch module (tests, the app's
    injected model) or ``None`` to load the request's weights. ``check_placement``: note
    what the telemetry would keep off the map (:func:`services.maps.placement_check`),
    before the time is spent; the app's map panel says it as soon as the video is opened
    (:func:`services.maps.track_preview`). The frames that only repeat a view the drone
    held are left out (``request.hover_every_s``), which needs the frames placed first:
    ``geometry`` runs that placing (default: here; the app's analysis runs on a pooled
    ``QThread``, where pyproj crashes, and hands it to its job thread, see
    ``app.workers.FunctionJob``). The run records the frames left out and what decided
    them (:data:`LEFT_OUT_KEY`), so that planning it again (to resume it, or a run
    already finished) does not place them or read their images again.
    """
    from engine.analyze import DEFAULT_SCORE_THRESHOLD, plan_analysis
    from services.maps import PlacementCheck, placement_check

    threshold = DEFAULT_SCORE_THRESHOLD if request.score_threshold is None else request.score_threshold
    if isinstance(model, LoadedModel):
        given: dict[str, Any] = dict(model=model.model, model_info=model.info, device=model.device)
    elif model is not None:
        given = dict(model=model, device=request.device)
    else:
        given = dict(weights=request.weights, device=request.device, inference=request.inference())
    device = model.device if isinstance(model, LoadedModel) else request.device

    @functools.cache
    def track() -> Track | None:  # read once, when first needed
        return _telemetry_or_none(store)

    checked: list[PlacementCheck] = []

    @functools.cache
    def basis() -> str | None:  # what decides the frames left out, read once
        return _left_out_basis(store, request.hover_every)

    def repeats(selected: Sequence[int], video: VideoInfo, run: RunInfo | None) -> set[int]:
        from geo.views import frames_a_view_repeats

        if store.telemetry_path is None:
            return set()
        recorded = _recorded_left_out(run, basis())
        if recorded is not None:
            return recorded
        check = placement_check(store, selected, track=track(), video=video.as_dict(), geometry=geometry)
        checked.append(check)
        times = {i: float(video.pts_s[i]) for i in selected}
        still = check.still_frames if _images_pay_off(video, device) else frozenset()
        views = {**check.views, **_views_held_while_hovering(store.video_path, selected, still)}
        return frames_a_view_repeats(views, times, every_s=request.hover_every)

    planned = plan_analysis(
        store, stride=request.stride, fps=request.fps, srn=request.srn, srn_weights=request.srn_weights,
        score_threshold=threshold, new_run=request.new_run, skip=repeats if request.hover_every > 0 else None,
        **given,
    )
    if request.hover_every > 0 and store.telemetry_path is not None:
        _record_left_out(store, planned.run_id, request.hover_every, basis(), planned.skipped)
    if planned.skipped:
        planned.notes.append(
            f"{len(planned.skipped)} of the {len(planned.selected) + len(planned.skipped)} frames the rate selects "
            f"only repeat a view the drone held (it hovered): one frame every {request.hover_every:g} s of a hover "
            "is analysed (--hover-every S sets it, 0: every frame; in the app, the analysis dialog's While "
            "hovering)")
    if planned.todo:  # said before the time is spent; the map says it again
        from services.footage import telemetry_height_caution
        from services.sync import telemetry_video_match

        video = None if planned.video is None else planned.video.as_dict()
        if not check_placement:
            check = PlacementCheck()
        elif checked:  # the same problem; the hovering frames still to analyse
            check = replace(checked[0], hovering_frames=checked[0].hovering_frames - set(planned.skipped))
        else:
            check = placement_check(store, planned.selected, track=track(), video=video, geometry=geometry)
        if check.problem is not None:
            planned.notes.append(f"the map cannot be made yet (the frames are analysed all the same): {check.problem}")
        if check.hovering_caution is not None:
            planned.notes.append(f"caution: {check.hovering_caution}")
        caution = telemetry_height_caution(store, planned.run_id, track=track())
        if caution is not None:
            planned.notes.append(f"caution: {caution}")
        loaded = track()
        pitch = None if loaded is None or not check_placement else _assumed_pitch_note(store, loaded)
        if loaded is not None and pitch is not None:
            planned.notes.append(f"caution: {loaded.name}: {pitch}")
        if loaded is not None and loaded.cut_off is not None:
            planned.notes.append(f"caution: {loaded.name}: {loaded.cut_off}")
        match = None if loaded is None or video is None else telemetry_video_match(loaded, video)
        if match is not None and match.caution is not None and not (match.refused and check.problem is not None):
            planned.notes.append(f"caution: {match.caution}")  # a refusal above says it already
    return planned


def _assumed_pitch_note(store: ProjectStore, track: Track) -> str | None:
    """The telemetry's missing camera pitch, unless the project gives one (``--pitch``, or
    one read with ``--camera auto``): said before the first frame, as the map will say it."""
    from geo.telemetry.summary import camera_pitch_note

    if store.project_settings().camera_pitch_deg is not None:
        return None
    return camera_pitch_note(track)


#: The key of a run's settings under which it records the frames its plan left out of the
#: hovers (``"frames"``), with the interval (``"every_s"``) and a digest of what decided
#: them (``"basis"``: the interval, the telemetry file's bytes, the project's placing
#: settings). A later plan of the run with the same basis takes them as they are.
LEFT_OUT_KEY = "hover_left_out"


def planned_frame_count(settings: Mapping[str, Any], pts_s: Sequence[float]) -> int | None:
    """How many frames the run with these ``settings`` analyses in a video with these
    frame times: the frames its rate selects, less those it recorded as left out of the
    hovers (:data:`LEFT_OUT_KEY`). ``None`` when the settings do not say its rate (a run
    of an older version): what a window following another process's analysis counts to."""
    from engine.video import select_frame_indices

    fps, stride = settings.get("fps"), settings.get("stride")
    try:
        selected = select_frame_indices(pts_s, fps=float(fps)) if fps else \
            select_frame_indices(pts_s, stride=int(stride or 1)) if stride or "fps" in settings else None
    except (TypeError, ValueError):
        return None
    if selected is None:
        return None
    record = settings.get(LEFT_OUT_KEY)
    left_out = record.get("frames") if isinstance(record, dict) else None
    if isinstance(left_out, list):
        return len(set(selected) - {i for i in left_out if isinstance(i, int)})
    return len(selected)


def _left_out_basis(store: ProjectStore, every_s: float) -> str | None:
    """A digest of what decides the frames a plan leaves out of the hovers, besides the
    run's frames: ``every_s``, the telemetry file's bytes and the settings that place
    the frames (the map's score slider places nothing). ``None`` when the telemetry
    cannot be read (the plan reads it and says why)."""
    try:
        telemetry = hashlib.sha256(Path(str(store.telemetry_path)).read_bytes()).hexdigest()
    except OSError:
        return None
    placing = store.project_settings().to_mapping()
    placing.pop("min_score", None)
    text = json.dumps({"every_s": every_s, "telemetry": telemetry, "settings": placing}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _recorded_left_out(run: RunInfo | None, basis: str | None) -> set[int] | None:
    """The frames ``run`` recorded as left out of its hovers when its record was made on
    ``basis``; ``None`` otherwise (no run yet, another basis, no record or a damaged one)."""
    record = None if run is None or basis is None else run.settings.get(LEFT_OUT_KEY)
    if not isinstance(record, dict) or record.get("basis") != basis:
        return None
    frames = record.get("frames")
    if not isinstance(frames, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in frames):
        return None
    return set(frames)


def _record_left_out(store: ProjectStore, run_id: int, every_s: float, basis: str | None,
                     left_out: Sequence[int]) -> None:
    """Record in the run the frames its plan left out of the hovers
    (:data:`LEFT_OUT_KEY`), unless it holds that record already or the project is only
    read."""
    if basis is None or store.read_only:
        return
    settings = store.run(run_id).settings
    record = {"every_s": every_s, "basis": basis, "frames": sorted(int(i) for i in left_out)}
    if settings.get(LEFT_OUT_KEY) != record:
        store.update_run_settings(run_id, {**settings, LEFT_OUT_KEY: record})


#: The tallest frames (lines) whose hovers are thinned by their images. Decoding a hover
#: once more for :func:`_views_held_while_hovering` costs a tenth of its analysis at 2
#: frames/s at 720p and 1080p on a 2-core AMD EPYC (`python bench/hover_image_check.py`:
#: 60 and 97 ms a second of video against 627 and 739), where it saves up to three
#: quarters; at 4K a third on a rendered flight (353 against 1,045 ms) and up to four
#: fifths on a crisp video of a real photo (585 against 720-1,000 ms): no sure gain there.
IMAGE_CHECK_MAX_LINES = 1080


def _images_pay_off(video: VideoInfo, device: torch.device | str) -> bool:
    """Whether reading a hover's images (:func:`_views_held_while_hovering`) costs less
    than the frames it may leave out would: on the CPU, for frames up to
    :data:`IMAGE_CHECK_MAX_LINES`. A GPU's detector takes less time than that decoding."""
    from engine.device import resolve_device

    return (resolve_device(device).type == "cpu"
            and min(video.width_px, video.height_px) <= IMAGE_CHECK_MAX_LINES)


def _views_held_while_hovering(video_path: str | Path, selected: Sequence[int],
                                hovering: Collection[int]) -> dict[int, int]:
    """The views of the frames a hover leaves unplaced (the telemetry gives no heading, or
    the map cannot be made yet), read from their images (``engine.motion.held_views``):
    where the camera looked is unknown, but a frame whose image holds an earlier one's
    repeats its view all the same.
    Numbered below zero, apart from the map's views; none when the video cannot be read
    (the analysis says why)."""
    from engine.motion import video_held_views

    if not hovering:
        return {}
    stretches: list[list[int]] = []
    still = False
    for index in sorted(selected):  # a frame the hover does not hold breaks the stretch
        if index in hovering:
            if not still:
                stretches.append([])
            stretches[-1].append(index)
        still = index in hovering
    try:
        held = video_held_views(video_path, stretches)
    except VideoError:
        return {}
    return {index: -1 - first for index, first in held.items()}


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
    geometry: GeometryRunner | None = None,
    planned: Callable[[AnalysisPlan], None] | None = None,
) -> Iterator[AnalysisProgress]:
    """Analyse the project's video into ``store``, yielding after each stored frame.

    Every frame reported is committed; after ``cancel`` is set the run stops at the
    next frame, and the same request later resumes it. ``geometry``: see :func:`plan`.
    ``planned`` is called with the plan before the first frame (its notes: what was
    left out, resumed or skipped, for whoever started the run).
    """
    from engine.analyze import analyze_video

    if analysis_plan is None:
        analysis_plan = plan(store, request, model=model, geometry=geometry)
    if planned is not None:
        planned(analysis_plan)
    yield from analyze_video(store, analysis_plan, batch_size=request.batch_size, cancel=cancel)


def analyse_project(
    project_path: Path,
    request: AnalysisRequest,
    *,
    model: torch.nn.Module | None = None,
    cancel: threading.Event | None = None,
    geometry: GeometryRunner | None = None,
    planned: Callable[[AnalysisPlan], None] | None = None,
) -> Iterator[AnalysisProgress]:
    """:func:`analyse` on a connection of its own (for a worker thread: SQLite
    connections stay on the thread that opened them)."""
    with ProjectStore.open(project_path) as store:
        yield from analyse(store, request, model=model, cancel=cancel, geometry=geometry, planned=planned)


__all__ = ["AnalysisRequest", "LoadedModel", "analyse", "analyse_project", "load_model", "plan", "planned_frame_count"]
