"""Improving a project's detector from its reviews, and comparing runs (Qt-free).

:func:`finetune_project` is what ``damagemap finetune`` and the app's dialog both run:

1. the reviewed frames of a run (the latest run with reviews by default) are split into
   frames to train on and frames held out to measure with (every ``holdout_every``-th);
2. both are exported from the video as ISBDA data (:mod:`engine.export_coco`):
   accepted, relabelled, redrawn and added detections as targets, rejected ones as
   explicit negatives, the undecided ones of those frames as regions to ignore; frames
   nobody reviewed are not exported;
3. a replay set is made (a tiny synthetic flyover, made once per project, or an ISBDA
   folder the user gives) so the model does not forget;
4. :func:`engine.finetune.finetune` trains the run's detector on them, in a new version
   folder of ``PROJECT.models/`` (:mod:`services.models`), with a checkpoint to resume.

The result is ``model.safetensors`` with its model card; analyse with it (``damagemap
analyze --weights``) and compare the two runs with :func:`compare_runs`: detections,
sites, and mask AP on the held-out reviewed frames.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DamagemapError, InputError
from core.review import decode_state
from core.store import ProjectStore
from core.types import DamageLevel, Detection, Origin
from services.models import ModelVersion, find_model, list_models, models_dir, new_version, run_weights

if TYPE_CHECKING:  # pragma: no cover
    from engine.finetune import FinetuneConfig, FinetuneProgress

PLAN_NAME = "plan.json"
REPLAY_FOLDER = "replay-synth"
#: the synthetic replay flyover: small frames, a few seconds, every frame annotated
REPLAY_SIZE = (320, 192)
REPLAY_SECONDS = 4.0
REPLAY_FPS = 4.0
DEFAULT_STEPS = 200


@dataclass(frozen=True, slots=True)
class FinetuneRequest:
    """How to fine-tune.

    Attributes
    ----------
    run_id
        The run whose reviews are used; ``None``: the latest run with reviews.
    steps, minutes
        The schedule in steps, and a time limit; ``None`` both: 200 steps; minutes
        alone: as many steps as fit.
    replay
        An ISBDA folder (its ``train`` split) to replay; ``None``: a synthetic flyover.
    holdout_every
        Every k-th reviewed frame is held out to measure with (0: none held out).
    base_weights
        The detector to start from; ``None``: the one the run was analysed with.
    resume
        Continue the latest unfinished version (or ``name``) from its checkpoint, as it
        was planned: of the rest, only ``steps`` (the steps in all) and ``minutes`` (at
        most that much more time) apply.
    """

    run_id: int | None = None
    steps: int | None = None
    minutes: float | None = None
    replay: Path | None = None
    replay_fraction: float = 0.5
    holdout_every: int = 5
    device: str = "auto"
    seed: int = 0
    batch_size: int = 2
    lr: float = 0.003
    scope: str = "auto"
    base_weights: Path | None = None
    name: str | None = None
    resume: bool = False

    def __post_init__(self) -> None:
        if self.steps is not None and self.steps < 1:
            raise InputError(f"the number of fine-tune steps must be >= 1; got {self.steps!r}")
        if self.minutes is not None and not self.minutes > 0:
            raise InputError(f"the fine-tune time limit must be a positive number of minutes; got {self.minutes!r}")
        if self.holdout_every < 0 or self.holdout_every == 1:
            raise InputError(f"hold out every k-th reviewed frame with k >= 2 (0: none); got {self.holdout_every!r}")
        if self.batch_size < 1:
            raise InputError(f"the batch size must be >= 1; got {self.batch_size!r}")


@dataclass(frozen=True, slots=True)
class FinetunePlan:
    """What :func:`finetune_project` is about to do."""

    version: ModelVersion
    run_id: int
    train_frames: list[int]
    heldout_frames: list[int]
    config: FinetuneConfig
    resumed: bool
    #: the step it starts at: a resumed one's checkpoint (a progress bar starts there)
    start_step: int = 0


# ------------------------------------------------------------------ reviewed frames


def reviewed_frames(store: ProjectStore, run_id: int) -> list[int]:
    """Frames of a run with at least one reviewed detection (sorted)."""
    from engine.export_coco import reviewed_frame_indices

    return reviewed_frame_indices([store.detections(run_id)])


def review_run(store: ProjectStore, run_id: int | None = None) -> int:
    """``run_id`` checked, or the latest run with reviewed detections."""
    runs = store.runs()
    if not runs:
        raise InputError(f"{store.path}: the project has no analysis run yet; run 'damagemap analyze' first")
    if run_id is not None:
        store.run(run_id)  # StoreError naming the project when there is no such run
        return run_id
    for run in reversed(runs):
        if reviewed_frames(store, run.id):
            return run.id
    raise InputError(f"{store.path}: no run has reviewed detections; accept or reject some detections first")


def split_frames(frames: Sequence[int], holdout_every: int) -> tuple[list[int], list[int]]:
    """``(train, held out)``: every ``holdout_every``-th frame (the k-th, 2k-th, ...) is
    held out; all are trained on when ``holdout_every`` is 0."""
    frames = sorted(frames)
    if holdout_every <= 0:
        return frames, []
    held = frames[holdout_every - 1 :: holdout_every]
    chosen = set(held)
    return [f for f in frames if f not in chosen], held


def shipped_weights() -> Path:
    """The shipped detector (what an analysis without ``--weights`` runs)."""
    from engine.weights import DEFAULT_MSNET_WEIGHTS

    return Path(DEFAULT_MSNET_WEIGHTS)


def _another_installs_shipped_model(weights: Path) -> bool:
    """``weights`` names the shipped model of another install (the project analysed on
    another machine, or before damagemap moved): ``resources/models/default/msnet.safetensors``."""
    return weights.parts[-4:] == shipped_weights().parts[-4:]


def missing_run_weights(store: ProjectStore, run_id: int) -> Path | None:
    """The weights the run recorded, where that file is no longer there (its version
    folder deleted or moved); ``None`` where they are, where none were recorded, and
    where they were another install's shipped model (this one's is the same model)."""
    weights = run_weights(store, run_id)
    if weights is None or weights.is_file() or _another_installs_shipped_model(weights):
        return None
    return weights


def base_weights(store: ProjectStore, run_id: int) -> Path:
    """The detector the run was analysed with (the shipped one where the run recorded
    none).

    Where the run's weights file is gone, this refuses rather than start from the
    shipped model: the user means to improve the model the run used (``ft-001``
    further), and a new version made from another model would read as that."""
    missing = missing_run_weights(store, run_id)
    if missing is not None:
        from services.models import describe_weights

        raise InputError(
            f"{missing}: run {run_id} was analysed with {describe_weights(missing)}, whose weights are no longer "
            "there (deleted or moved), so it cannot be fine-tuned further. Put the file back, name the model to "
            "start from with --weights FILE, or start from the shipped model with --weights shipped (in the app, "
            "a new fine-tune starts from the shipped model, saying so)")
    weights = run_weights(store, run_id)
    return weights if weights is not None and weights.is_file() else shipped_weights()


def synthetic_replay(folder: Path, *, seed: int = 0) -> Path:
    """A tiny synthetic flyover as replay data (rendered once, then reused)."""
    from engine.synth import render_flyover

    if not (folder / "annotations" / "instances_train.json").is_file():
        render_flyover(folder, seconds=REPLAY_SECONDS, fps=REPLAY_FPS, size=REPLAY_SIZE, seed=1000 + seed,
                       annotate_every=1, split="train", flight_dir=folder / "flight")
    return folder


def _device(name: str) -> str:
    """``auto``: CUDA when present, else the CPU; others checked as for an analysis."""
    import torch

    from engine.analyze import resolve_device

    if name.strip().lower() == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(resolve_device(name))


def plan_finetune(store: ProjectStore, request: FinetuneRequest) -> FinetunePlan:
    """Export the reviewed frames into a new version folder and configure the fine-tune
    (or, with ``resume``, read back an unfinished version's plan)."""
    from engine.finetune import FinetuneConfig

    project = store.path
    if request.resume:
        version = find_model(project, request.name, finished=False) if request.name else _latest_unfinished(project)
        if version.finished:  # resuming it would train it again and rewrite its card
            raise InputError(f"{version.folder}: {version.name} is finished; nothing to resume (fine-tune again for "
                             "a new version)")
        return _resumed_plan(version, request)

    run_id = review_run(store, request.run_id)
    frames = reviewed_frames(store, run_id)
    if not frames:
        raise InputError(f"{project}: run {run_id} has no reviewed detections; accept or reject some first")
    train, held = split_frames(frames, request.holdout_every)
    if not train:
        raise InputError(f"{project}: run {run_id} has {len(frames)} reviewed frame(s), all held out to measure with; "
                         "review more frames or hold out none (--holdout-every 0; in the app, Hold out: none)")
    base = Path(request.base_weights) if request.base_weights is not None else base_weights(store, run_id)
    if not base.is_file():
        raise InputError(f"{base}: the base model's weights are not found")
    if request.replay is not None and not (Path(request.replay) / "annotations" / "instances_train.json").is_file():
        raise InputError(f"{request.replay}: not an ISBDA folder (expected annotations/instances_train.json)")
    device = _device(request.device)  # refused (a GPU asked of a machine without one) before a version exists
    version = new_version(project)
    try:
        return _new_plan(store, request, version, run_id, frames, train, held, base, device)
    except BaseException:
        # nothing of it can be resumed or used: not left to be listed as a fine-tune that stopped
        shutil.rmtree(version.folder, ignore_errors=True)
        raise


def _new_plan(store: ProjectStore, request: FinetuneRequest, version: ModelVersion, run_id: int, frames: list[int],
              train: list[int], held: list[int], base: Path, device: str) -> FinetunePlan:
    """:func:`plan_finetune`'s new version: the reviewed frames exported into it, its
    replay data, its config and plan written."""
    from engine.export_coco import export_reviewed_frames
    from engine.finetune import FinetuneConfig

    project = store.path
    data = version.folder / "data"
    exported = export_reviewed_frames(store, data, run_id=run_id, split="train", frame_indices=train, negatives=True)
    if held:
        export_reviewed_frames(store, data, run_id=run_id, split="heldout", frame_indices=held, negatives=True)
    document = json.loads(exported.annotations_path.read_text(encoding="utf-8"))
    replay = [str(request.replay)] if request.replay is not None else [
        str(synthetic_replay(models_dir(project) / REPLAY_FOLDER, seed=request.seed))]
    minutes = request.minutes
    steps = request.steps or (1_000_000 if minutes is not None else DEFAULT_STEPS)
    card = {
        "project": str(project),
        "video": str(store.video_path),
        "run_id": run_id,
        "reviewed_frames": frames,
        "train_frames": train,
        "heldout_frames": held,
        "positives": len(document["annotations"]),
        "negatives": len(document.get("negatives", [])),
        "unreviewed_ignored": len(document.get("unreviewed", [])),
        "replay": replay,
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    config = FinetuneConfig(
        base_weights=str(base), data=str(data), out=str(version.folder), replay=replay,
        replay_fraction=request.replay_fraction, steps=steps,
        time_budget_s=None if minutes is None else minutes * 60.0, batch_size=request.batch_size, lr=request.lr,
        scope=request.scope, seed=request.seed, device=device, card=card,
    )
    plan = FinetunePlan(version, run_id, train, held, config, False)
    (version.folder / PLAN_NAME).write_text(json.dumps({
        "run_id": run_id, "train_frames": train, "heldout_frames": held,
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "resume"},
    }, indent=2), encoding="utf-8")
    return plan


def _resumed_plan(version: ModelVersion, request: FinetuneRequest) -> FinetunePlan:
    """An unfinished version's plan read back, to go on from its checkpoint.

    It goes on as it was planned (its frames, replay, learning rate, ...), but for the
    request's ``steps`` (the steps in all it now stops at, kept in its plan: the learning
    rate is constant after the warm-up, so the steps already done stay the same) and
    ``minutes`` (at most that much more time in this sitting, as a batch scheduler's
    next slot or the dialog's time limit allows; the plan's own limit otherwise)."""
    from engine.checkpoint import checkpoint_elapsed_s, checkpoint_step
    from engine.finetune import CHECKPOINT_NAME, FinetuneConfig

    plan_file = version.folder / PLAN_NAME
    saved = json.loads(plan_file.read_text(encoding="utf-8"))
    if request.steps is not None and request.steps != saved["config"].get("steps"):
        saved["config"]["steps"] = request.steps
        plan_file.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    values = {**saved["config"], "resume": True}
    if request.minutes is not None:
        values["time_budget_s"] = checkpoint_elapsed_s(version.folder / CHECKPOINT_NAME) + request.minutes * 60.0
    return FinetunePlan(version, int(saved["run_id"]), list(saved["train_frames"]), list(saved["heldout_frames"]),
                        FinetuneConfig(**values), True, checkpoint_step(version.folder / CHECKPOINT_NAME) or 0)


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where a resumed fine-tune goes on from: its version, the step its checkpoint
    holds (``None``: unreadable) and the steps planned (``None``: as many as fit its
    time limit)."""

    version: ModelVersion
    step: int | None
    steps: int | None


def resume_point(project: Path) -> ResumePoint | None:
    """What a resume without a version's name continues (``damagemap finetune
    --resume``, the dialog's Resume); ``None`` where no unfinished version can be
    resumed (those that stopped before their first checkpoint cannot)."""
    from engine.checkpoint import checkpoint_step
    from engine.finetune import CHECKPOINT_NAME

    try:
        version = _latest_unfinished(Path(project))
    except InputError:
        return None
    try:
        steps = json.loads((version.folder / PLAN_NAME).read_text(encoding="utf-8"))["config"]["steps"]
    except (OSError, ValueError, KeyError, TypeError):
        steps = None
    return ResumePoint(version, checkpoint_step(version.folder / CHECKPOINT_NAME),
                       steps if isinstance(steps, int) and steps < 1_000_000 else None)


def _latest_unfinished(project: Path) -> ModelVersion:
    """The latest version with a plan and a checkpoint and no weights yet; the
    :class:`InputError` names the unfinished ones that stopped before their first
    checkpoint (killed, or stopped by an older damagemap), which cannot be resumed."""
    unresumable = []
    for version in reversed(list_models(project)):
        if version.finished or not (version.folder / PLAN_NAME).is_file():
            continue
        if (version.folder / "checkpoint.pt").is_file():
            return version
        unresumable.append(version.name)
    why = (f" ({', '.join(reversed(unresumable))} stopped before writing a checkpoint: fine-tune again)"
           if unresumable else "")
    raise InputError(f"{models_dir(project)}: no unfinished fine-tune to resume{why}")


def format_time_left(seconds: float | None) -> str:
    """``about 1 min 15 s left``; ``None``: not known yet."""
    if seconds is None:
        return "estimating the time left..."
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"about {seconds // 3600} h {seconds % 3600 // 60:02d} min left"
    if seconds >= 60:
        return f"about {seconds // 60} min {seconds % 60:02d} s left"
    return f"about {seconds} s left"


def time_left_text(progress: FinetuneProgress) -> str:
    """The time left of a fine-tune, and why its first steps are slow while they are
    (what the command's bar and the dialog show).

    On a CPU the first pass computes each frame's backbone outputs once (tens of seconds
    a frame on a busy CPU), the later steps reuse them (a second or two): the time left
    (:attr:`engine.finetune.FinetuneProgress.eta_s`) counts both, and the text says which
    part is going on."""
    left = format_time_left(progress.eta_s)
    if progress.features_pending:
        total = progress.features_done + progress.features_pending
        first = (f"computing each frame's features once ({progress.features_done} of {total} frames): "
                 "the first steps are slow")
        return first if progress.eta_s is None else f"{left}; {first}"
    return left


def run_plan(plan: FinetunePlan, *, cancel: threading.Event | None = None) -> Iterator[FinetuneProgress]:
    """Run a planned fine-tune (:func:`engine.finetune.finetune`).

    A new version whose fine-tune fails before it wrote a checkpoint (a replay folder
    with an image missing or a broken annotation file, base weights that do not load)
    is removed, as one refused while it is planned: nothing of it could be resumed, and
    listed it would read as a fine-tune that stopped."""
    from engine.finetune import CHECKPOINT_NAME, WEIGHTS_NAME
    from engine.finetune import finetune as run

    try:
        yield from run(plan.config, cancel=cancel)
    except Exception:
        folder = plan.version.folder
        if not plan.resumed and not (folder / CHECKPOINT_NAME).exists() and not (folder / WEIGHTS_NAME).exists():
            shutil.rmtree(folder, ignore_errors=True)
        raise


def finetune(store: ProjectStore, request: FinetuneRequest, *, plan: FinetunePlan | None = None,
             cancel: threading.Event | None = None) -> Iterator[FinetuneProgress]:
    """Plan (unless given) and run the fine-tune; yields after every step and once at
    the end (``state`` ``"finished"`` with the weights, or ``"cancelled"``)."""
    plan = plan or plan_finetune(store, request)
    yield from run_plan(plan, cancel=cancel)


def finetune_project(project_path: Path, request: FinetuneRequest, *,
                     cancel: threading.Event | None = None) -> Iterator[FinetuneProgress]:
    """:func:`finetune` on a connection of its own (for a worker thread); the store is
    closed before the training starts."""
    with ProjectStore.open(project_path) as store:
        plan = plan_finetune(store, request)
    yield from run_plan(plan, cancel=cancel)


# ------------------------------------------------------------------ comparing runs


def original_detection(detection: Detection, history: Sequence[Any]) -> Detection:
    """A detection as the model gave it: each field a reviewer changed taken back to its
    value before the first edit that touched it (``history``: the detection's
    :class:`core.store.EditRecord` s, oldest first)."""
    original: dict[str, Any] = {}
    for record in history:
        for key, value in decode_state(record.before).items():
            original.setdefault(key, value)
    fields = {k: v for k, v in original.items() if k not in ("deleted",) and hasattr(detection, k)}
    return dataclasses.replace(detection, **fields)


def model_output(store: ProjectStore, run_id: int) -> list[Detection]:
    """The run's detections as its model made them: review edits taken back, deleted
    ones back in, the ones a reviewer added left out."""
    by_detection: dict[int, list[Any]] = {}
    for record in store.edit_history(run_id):
        by_detection.setdefault(record.detection_id, []).append(record)
    out = []
    for det in store.detections(run_id, include_deleted=True):
        if det.origin is Origin.ADDED:
            continue
        history = by_detection.get(det.id) if det.id is not None else None
        out.append(original_detection(det, history) if history else det)
    return out


def ground_truth(store: ProjectStore, run_id: int, frames: Sequence[int]) -> dict[str, Any]:
    """The reviewed detections of ``frames`` as COCO ground truth (image id = frame + 1):
    what a reviewer vouches for (accepted, relabelled, redrawn, added).

    The detections nobody decided on there are COCO crowd regions (``iscrowd`` 1) of
    every level: a model's detection on one is neither right nor wrong, as the fine-tune
    treats them ("don't know"); scored as false alarms, they marked down the model that
    finds the damage the reviewer did not get to, and more so the more it finds. Rejected
    detections stay what they are: no damage there."""
    from engine.export_coco import CATEGORIES, annotation_for

    chosen = set(frames)
    images = [{"id": f + 1, "frame_index": f} for f in sorted(chosen)]
    annotations: list[dict[str, Any]] = []
    for det in store.detections(run_id):
        rejected = det.reviewed and not det.confirmed
        if det.frame_index not in chosen or rejected:
            continue
        levels = [det.level] if det.confirmed else list(DamageLevel)
        for level in levels:
            annotation = annotation_for(dataclasses.replace(det, level=level), len(annotations) + 1,
                                        det.frame_index + 1)
            if det.mask is not None:
                annotation["segmentation"] = _rle(det)
            annotation["iscrowd"] = 0 if det.confirmed else 1
            annotations.append(annotation)
    if images:
        from engine.video import probe_video

        info = probe_video(store.video_path)
        for image in images:
            image.update(width=info.width_px, height=info.height_px)
    return {"images": images, "annotations": annotations, "categories": CATEGORIES}


def _rle(det: Detection) -> dict[str, Any]:
    from pycocotools import mask as mask_utils  # type: ignore[import-untyped]

    assert det.mask is not None
    coco = det.mask.to_coco()
    rle = mask_utils.frPyObjects(coco, coco["size"][0], coco["size"][1])
    rle["counts"] = rle["counts"].decode("ascii")
    return dict(rle)


def results_for(detections: Sequence[Detection], frames: Sequence[int]) -> list[dict[str, Any]]:
    """COCO results of a run's model output on ``frames`` (image id = frame + 1)."""
    chosen = set(frames)
    results = []
    for det in detections:
        if det.frame_index not in chosen:
            continue
        x1, y1, x2, y2 = det.box_xyxy_px
        result: dict[str, Any] = {"image_id": det.frame_index + 1, "category_id": int(det.level),
                                  "bbox": [x1, y1, x2 - x1, y2 - y1], "score": float(det.final_score)}
        if det.mask is not None:
            result["segmentation"] = _rle(det)
        results.append(result)
    return results


@dataclass
class RunSummary:
    """One run of a comparison."""

    run_id: int
    model: str
    frames: int
    detections: int
    by_level: dict[str, int]
    reviewed: int
    sites: int | None
    mask_ap: float | None
    box_ap: float | None
    notes: list[str] = field(default_factory=list)


@dataclass
class RunComparison:
    """Two runs side by side, measured on the same reviewed frames."""

    runs: list[RunSummary]
    truth_run: int | None
    frames: list[int]
    held_out: bool
    note: str

    def table(self) -> str:
        def cell(value: float | int | None, percent: bool = False) -> str:
            if value is None:
                return "-"
            return f"{value * 100:.1f}" if percent else str(value)

        rows: list[tuple[str, list[str]]] = [
            ("run", [str(r.run_id) for r in self.runs]),
            ("model", [r.model for r in self.runs]),
            ("frames analysed", [str(r.frames) for r in self.runs]),
            ("detections", [str(r.detections) for r in self.runs]),
        ]
        for level in ("Slight", "Severe", "Debris"):
            rows.append((f"  {level}", [str(r.by_level.get(level, 0)) for r in self.runs]))
        rows += [
            ("reviewed", [str(r.reviewed) for r in self.runs]),
            ("sites", [cell(r.sites) for r in self.runs]),
            ("mask AP (%)", [cell(r.mask_ap, True) for r in self.runs]),
            ("box AP (%)", [cell(r.box_ap, True) for r in self.runs]),
        ]
        width = max(len(name) for name, _ in rows)
        columns = [[values[i] for _, values in rows] for i in range(len(self.runs))]
        col_width = max([len(v) for col in columns for v in col] + [8])
        lines = [f"{name:<{width}}  " + "  ".join(f"{col[i]:>{col_width}}" for col in columns)
                 for i, (name, _) in enumerate(rows)]
        lines.append(self.note)
        for run in self.runs:
            lines.extend(f"run {run.run_id}: {n}" for n in run.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def heldout_frames_of(store: ProjectStore, run_ids: Sequence[int]) -> tuple[str, int, list[int]] | None:
    """``(model, reviewed run, held-out frames)`` from the model card of the first of the
    runs analysed with a model fine-tuned on this project; ``None`` when neither was."""
    from engine.weights import read_config

    from services.models import describe_weights

    for run_id in run_ids:
        weights = run_weights(store, run_id)
        if weights is None or not weights.is_file():
            continue
        try:
            card = read_config(weights)
        except DamagemapError:
            continue
        tuned = card.get("fine_tuned_on")
        if isinstance(tuned, dict) and Path(str(tuned.get("project"))).resolve() == Path(store.path).resolve():
            return describe_weights(weights), int(tuned["run_id"]), [int(f) for f in tuned.get("heldout_frames", [])]
    return None


def compare_runs(store: ProjectStore, run_a: int, run_b: int, *, sites: bool = True) -> RunComparison:
    """Counts, sites and AP of two runs on the reviewed frames held out from fine-tuning.

    The held-out frames and their truth come from the model card of the fine-tuned
    model one of the runs used; when neither used one, every reviewed frame of the
    first run with reviews is used (and the note says they were not held out).
    """
    from engine.evaluate import evaluate_results
    from services.models import describe_weights

    ids = [run_a, run_b]
    for run_id in ids:
        store.run(run_id)
    found = heldout_frames_of(store, ids)
    held_out = found is not None and bool(found[2])
    if found is not None and found[2]:
        _, truth_run, frames = found
        note = f"AP on {len(frames)} reviewed frame(s) of run {truth_run} held out from fine-tuning"
    else:
        why = (f"{found[0]} was trained on every reviewed frame" if found is not None
               else "neither run used a model fine-tuned on this project")
        truth_run_or_none = next((r for r in ids if reviewed_frames(store, r)), None)
        if truth_run_or_none is None:
            truth_run, frames = 0, []
            note = "no AP: neither run has reviewed frames"
        else:
            truth_run = truth_run_or_none
            frames = reviewed_frames(store, truth_run)
            note = f"AP on the {len(frames)} reviewed frame(s) of run {truth_run}, not held out ({why})"
    common = set(frames)
    for run_id in ids:
        common &= set(store.analysed_frames(run_id))
    if frames and len(common) < len(frames):
        note += f"; {len(frames) - len(common)} of them not analysed by both runs, left out"
    frames = sorted(common)
    truth = ground_truth(store, truth_run, frames) if frames else None
    summaries = []
    for run_id in ids:
        detections = store.detections(run_id)
        levels: dict[str, int] = {}
        for det in detections:
            levels[det.level.label] = levels.get(det.level.label, 0) + 1
        notes: list[str] = []
        site_count = None
        if sites:
            try:
                from services.maps import damage_map

                site_count = len(damage_map(store, run_id).fused)
            except DamagemapError as exc:
                notes.append(f"no sites: {exc}")
        mask_ap = box_ap = None
        if truth is not None:
            metrics = evaluate_results(truth, results_for(model_output(store, run_id), frames))
            mask_ap, box_ap = max(0.0, metrics["segm"]["AP"]), max(0.0, metrics["bbox"]["AP"])
            if run_id == truth_run:
                # the truth is this run's own detections as reviewed: those accepted match
                # themselves exactly, and damage it missed counts only where a reviewer drew it
                notes.append("its AP is measured against its own reviewed detections (the truth): it reads high "
                             "beside the other run's; compare them on frames reviewed in the other run, or on a "
                             "labelled set (damagemap evaluate)")
        summaries.append(RunSummary(
            run_id, describe_weights(run_weights(store, run_id)), len(store.analysed_frames(run_id)), len(detections),
            levels, sum(1 for d in detections if d.reviewed), site_count, mask_ap, box_ap, notes,
        ))
    return RunComparison(summaries, truth_run if frames else None, frames, held_out, note)


__all__ = [
    "FinetunePlan",
    "FinetuneRequest",
    "ResumePoint",
    "RunComparison",
    "RunSummary",
    "compare_runs",
    "finetune",
    "finetune_project",
    "format_time_left",
    "ground_truth",
    "model_output",
    "original_detection",
    "plan_finetune",
    "resume_point",
    "review_run",
    "missing_run_weights",
    "reviewed_frames",
    "run_plan",
    "shipped_weights",
    "split_frames",
    "synthetic_replay",
    "time_left_text",
]
