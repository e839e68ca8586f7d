"""Planning an analysis: the device, the detector and the SRN, the run, the frames to do.

:func:`plan_analysis` loads what the run needs and decides which run it belongs to: a
run is identified by its model and the settings that change its results
(:data:`RUN_IDENTITY_KEYS`); analysing again with the same ones resumes it, with other
ones starts another run and keeps the first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.errors import ModelError, VideoError
from core.store import ProjectStore, RunInfo
from engine.analysis.detector import supports_features
from engine.device import ANALYSIS_CPU_HINT, resolve_device
from engine.msnet.inference import inference_settings_of
from engine.video import VIDEO_KEY, VideoInfo, VideoReader, select_frame_indices, video_change, video_record


#: Detections below this score are not stored (the SRN's lower bound C0 in the paper:
#: scores under it are never refined up, so they could never be shown).
DEFAULT_SCORE_THRESHOLD = 0.2
#: Settings that change a run's results; a run with other values is another run.
RUN_IDENTITY_KEYS = ("stride", "fps", "score_threshold", "srn")


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
    #: the video as read for the plan (size, times, creation time): what later checks
    #: need without reading the file again
    video: VideoInfo | None = None
    #: frames the rate selected that ``skip`` left out (see :func:`plan_analysis`)
    skipped: list[int] = field(default_factory=list)

    @property
    def frames_total(self) -> int:
        return len(self.selected)

    @property
    def frames_done(self) -> int:
        return len(self.selected) - len(self.todo)

# --------------------------------------------------------------------------- setup


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
    weights: str | Path | None, device: torch.device, inference: Mapping[str, Any] | None = None
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The detector and what identifies it in a run's record (path, hash, config, and
    test-time settings, ``inference`` overriding the config's: see
    :func:`engine.weights.load_model`), its batch norms folded for analysis
    (:mod:`engine.msnet.fold`: not to be trained or saved)."""
    from engine.msnet.fold import fold_batch_norms
    from engine.weights import load_model

    path = Path(weights) if weights is not None else default_weights()
    if weights is None and not path.is_file():
        raise ModelError(
            f"{path}: the default model is not installed; pass your own with --weights FILE.safetensors"
        )
    model, config = load_model(path, device=device, inference=inference)
    fold_batch_norms(model)  # analysis only: the same function, fewer passes over memory
    info = {
        "weights": str(path.resolve()),
        "sha256": _sha256(path),
        "config": config.get("model", {}),
        "class_names": config.get("class_names"),
    }
    if "inference" in config:
        # Test-time settings change results: a run made with others is another run.
        info["inference"] = config["inference"]
    return model, _json_plain(info)


def _describe_injected(model: torch.nn.Module, model_info: Mapping[str, Any] | None) -> dict[str, Any]:
    if model_info is not None:
        return _json_plain(dict(model_info))
    return _json_plain({"weights": None, "class": type(model).__name__, "config": getattr(model, "build_config", None)})


def load_refiner(
    model: torch.nn.Module, device: torch.device, srn_weights: str | Path | None,
    detector_info: Mapping[str, Any] | None = None,
) -> tuple[Any | None, str]:
    """The SRN refiner, or ``None`` and why not (the run goes on without it).

    An SRN encodes its own detector's FPN features: one trained on another backbone is
    skipped, and one trained on other weights of the same backbone is used with a note.
    """
    if not supports_features(model):
        return None, "skipped: the detector does not return its FPN features (detect_with_features)"
    try:
        from engine.msnet.inference import srn_in_bfloat16
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
    mismatch = _srn_detector_mismatch(path, detector_info)
    if mismatch and mismatch.startswith("skipped"):
        return None, mismatch
    try:
        # On the CPU encode the RoI-pooled features, not whole FPN maps: the paper's
        # order costs ~100 GFLOP per frame there.
        refiner = ScoreRefiner.from_weights(path, device=device, encode_rois_first=device.type == "cpu",
                                            cpu_bfloat16=srn_in_bfloat16(model))
    except ModelError as exc:
        return None, f"skipped: {exc}"
    return refiner, f"on ({path})" + (f"; {mismatch}" if mismatch else "")


def srn_by_default(model: torch.nn.Module) -> bool:
    """Whether analyses with ``model`` refine scores with the SRN unless told: its
    weights' own setting (``"srn"`` in the config's ``"inference"`` object), else yes."""
    settings = inference_settings_of(model)
    return True if settings is None else settings.srn


def _srn_detector_mismatch(srn_path: Path, detector_info: Mapping[str, Any] | None) -> str | None:
    """Why ``srn_path`` does not belong to the detector, or ``None`` when it may."""
    if not detector_info:
        return None
    try:
        from core.model_files import config_path_for

        trained = json.loads(config_path_for(srn_path).read_text(encoding="utf-8")).get("training", {})
    except (OSError, ValueError):
        return None
    backbone = (detector_info.get("config") or {}).get("backbone")
    if trained.get("detector_backbone") and backbone and trained["detector_backbone"] != backbone:
        return (f"skipped: {srn_path.name} was trained on a {trained['detector_backbone']} detector, this one is "
                f"{backbone}; train one for it with damagemap train-srn")
    sha = detector_info.get("sha256")
    if trained.get("detector_sha256") and sha and sha not in (trained.get("detector_sha256"),
                                                             trained.get("trained_on_detector_sha256")):
        return f"trained for other detector weights ({trained.get('detector_weights')}); refined scores may be off"
    return None


def plan_analysis(
    store: ProjectStore,
    *,
    weights: str | Path | None = None,
    model: torch.nn.Module | None = None,
    model_info: Mapping[str, Any] | None = None,
    device: str | torch.device = "auto",
    stride: int | None = None,
    fps: float | None = None,
    srn: bool | None = None,
    srn_weights: str | Path | None = None,
    refiner: Any | None = None,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    new_run: bool = False,
    reader: VideoReader | None = None,
    inference: Mapping[str, Any] | None = None,
    skip: Callable[[Sequence[int], VideoInfo, RunInfo | None], Collection[int]] | None = None,
) -> AnalysisPlan:
    """Load the model, pick (or start) the run, and list the frames still to analyse:
    what :func:`engine.analysis.run.analyze_video` then does.

    Parameters
    ----------
    store
        The open project; its video is analysed.
    weights
        MSNet ``.safetensors`` (JSON config beside it); default: the shipped model.
    model, model_info
        An already built detector (tests, GUI) and what to record for it, instead of
        ``weights``.
    device
        ``"auto"`` (CUDA if present, else CPU, said once), ``"cpu"`` or ``"cuda[:N]"``.
    stride, fps
        Analyse every ``stride``-th frame, or about ``fps`` frames per second of video
        (by timestamps); neither means every frame.
    srn
        Refine scores across consecutive analysed frames with the SRN; ``None``: the
        detector's own setting (:func:`srn_by_default`), or on when ``srn_weights`` or
        ``refiner`` is given. Skipped, with a note in the run's settings, when the
        detector gives no features or the SRN weights are missing.
    srn_weights, refiner
        Other SRN weights, or a ready :class:`engine.srn.ScoreRefiner`.
    score_threshold
        Detections below it are not stored.
    new_run
        Start a new run even when one with the same model and settings exists.
    reader
        An open reader of the project's video (saves opening it again).
    inference
        Test-time settings over the weights' own when ``weights`` are loaded here (e.g.
        ``{"input_size": 480}``); they are part of the run's identity.
    skip
        Given the frames the rate selects, the video and the run this plan resumes
        (``None`` when it starts one), those not to analyse (the services leave out
        frames that only repeat a view the drone held, and record them in the run). Not
        part of the run's identity: the frames analysed stay a subset of the rate's, so
        a later plan that skips fewer analyses the rest into the same run.
    """
    target = resolve_device(device, cpu_hint=ANALYSIS_CPU_HINT)
    if model is None:
        model, info = load_detector(weights, target, inference)
    else:
        info = _describe_injected(model, model_info)
        model = model.to(target)
    model.eval()
    # Channels-last convolutions: tensor cores on a GPU, and oneDNN's faster kernels on a
    # CPU (the 60 s flyover: 57.7 -> 52.6-54.9 s on 2 cores).
    model = model.to(memory_format=torch.channels_last)

    notes: list[str] = []
    own_setting = srn is None
    if own_setting:
        srn = refiner is not None or srn_weights is not None or srn_by_default(model)
    if not srn:
        refiner, srn_note = None, "off (the model's own setting)" if own_setting else "off"
    elif refiner is not None:
        srn_note = "on (given)"
    else:
        refiner, srn_note = load_refiner(model, target, srn_weights, info)
    if srn and refiner is None:
        notes.append(f"SRN {srn_note}")

    own_reader = reader is None
    reader = reader or VideoReader(store.video_path)
    try:
        selected = select_frame_indices(reader.pts_s, stride=stride or 1, fps=fps)
        video = reader.info
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
        VIDEO_KEY: video_record(store.video_path, video),
    }

    def same_run(run: RunInfo) -> bool:
        return run.model == info and all(run.settings.get(k) == settings[k] for k in RUN_IDENTITY_KEYS)

    resumes = None if new_run else next((run for run in reversed(store.runs()) if same_run(run)), None)
    skipped: list[int] = []
    if skip is not None:
        left_out = set(skip(selected, video, resumes))
        skipped = [i for i in selected if i in left_out]
        selected = [i for i in selected if i not in left_out]
    resumed = resumes is not None
    if resumes is not None:
        changed = video_change(resumes.settings.get(VIDEO_KEY), settings[VIDEO_KEY])
        if changed is not None:  # its stored frames are another video's: none would match
            raise VideoError(f"{store.video_path}: not the video run {resumes.id} analysed ({changed}); analyse it "
                             "in a new run (--new-run: the decisions made carry to the same places), or into "
                             "another project, or point this one at the video it analysed")
        run_id = resumes.id
    elif new_run:
        run_id = store.start_run(model=info, settings=settings)
    else:  # looked for again as it is made: another process may have started it meanwhile
        run_id, resumed = store.start_or_join_run(model=info, settings=settings, same=same_run)
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
        video=video,
        skipped=skipped,
    )


__all__ = [
    "VIDEO_KEY",
    "AnalysisPlan",
    "DEFAULT_SCORE_THRESHOLD",
    "RUN_IDENTITY_KEYS",
    "default_weights",
    "video_change",
    "video_record",
    "load_detector",
    "load_refiner",
    "plan_analysis",
    "resolve_device",
    "srn_by_default",
]
