"""Fine-tuning a detector on a project's reviewed frames, with a replay of other data.

The reviewed frames come as an ISBDA folder written by
:func:`engine.export_coco.export_reviewed_frames` with ``negatives=True``: the accepted,
relabelled, redrawn and added detections are the targets; the rejected ones
(``negative_boxes``) are explicit negatives: they are never targets, their boxes join
the proposals of the box head (so the sampler can pick them as background) and an extra
loss (``loss_negative``) pushes the box classifier to call each of them background;
the detections nobody decided on (``ignore_boxes``) are neither: the model gives the
anchors and proposals on them no label (:mod:`engine.msnet.unlabelled`), as
``damagemap train`` does on the same folder. Frames a reviewer never looked at are not in the
folder, so the fine-tune cannot see them.

Each batch mixes reviewed frames with replay frames (synthetic flyovers or an ISBDA
folder) so the model does not forget what it knew. What is trained depends on the
device (:func:`resolve_scope`): on a GPU everything; on a CPU, by default, the box and
mask heads alone, on the cached outputs of the frozen backbone, FPN and RPN (``roi``:
about ten times cheaper a step), or on request the FPN, RPN and RoI heads with the
backbone's last stage (``last``).

Every step draws its batch, its flips and torch's random numbers from ``(seed, step)``
alone, and a checkpoint holds the weights, the optimizer's momentum and the step, so a
run cancelled and resumed ends with the same weights as one that never stopped.
:func:`finetune` is a generator of :class:`FinetuneProgress` (the command line drives a
progress bar with it, the app a dialog); a ``threading.Event`` cancels it between steps,
and a Ctrl+C inside it writes the checkpoint of the last whole step before it stops
(:class:`FinetuneInterrupted`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from core.errors import InputError, ModelError

#: what :func:`trainable_scope` trains: ``roi`` (the box and mask heads only: the
#: backbone, FPN and RPN are frozen, so their outputs are computed once per frame and
#: each step costs a small fraction of a full one), ``heads`` (FPN, RPN, RoI heads),
#: ``last`` (the heads and the backbone's last stage), ``all``; ``auto``: ``all`` on
#: CUDA, else ``roi`` (see :func:`resolve_scope`)
SCOPES = ("auto", "roi", "heads", "last", "all")
CHECKPOINT_NAME = "checkpoint.pt"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class FinetuneConfig:
    """Everything a fine-tune depends on (written into the model card).

    ``steps`` is the schedule (the run stops there); ``time_budget_s`` may stop it
    earlier (then it is no longer reproducible step for step). ``replay_fraction`` is
    the share of each batch drawn from ``replay`` folders (their ``replay_split``),
    rounded; every batch holds at least one reviewed frame.
    """

    base_weights: str
    data: str
    out: str
    split: str = "train"
    replay: list[str] = field(default_factory=list)
    replay_split: str = "train"
    replay_fraction: float = 0.5
    steps: int = 200
    time_budget_s: float | None = None
    batch_size: int = 2
    lr: float = 0.003
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 10
    grad_clip: float = 10.0
    scope: str = "auto"
    negative_weight: float = 1.0
    hflip: float = 0.5
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 25
    #: RoIs sampled per image for the box head (a quarter positives, which the mask
    #: head sees too): fewer than in training from scratch, halving a CPU step
    roi_batch_size: int | None = 64
    resume: bool = False
    #: what the reviewed frames are (project, run, frames, counts): the model card's
    #: ``fine_tuned_on``
    card: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise InputError(f"fine-tune scope must be one of {', '.join(SCOPES)}; got {self.scope!r}")
        if self.steps < 1:
            raise InputError(f"fine-tune steps must be >= 1; got {self.steps!r}")
        if self.batch_size < 1:
            raise InputError(f"fine-tune batch size must be >= 1; got {self.batch_size!r}")
        if not 0.0 <= self.replay_fraction < 1.0:
            raise InputError(f"the replay fraction must be in [0, 1); got {self.replay_fraction!r}")
        if self.time_budget_s is not None and not self.time_budget_s > 0:
            raise InputError(f"the time budget must be positive; got {self.time_budget_s!r}")


class FinetuneInterrupted(KeyboardInterrupt):
    """Ctrl+C stopped :func:`finetune` inside a step: ``checkpoint`` holds the run at
    ``step`` (the last whole step), so ``resume`` continues from there."""

    def __init__(self, step: int, checkpoint: Path) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step = step
        self.checkpoint = checkpoint


@dataclass(frozen=True, slots=True)
class FinetuneProgress:
    """Once before the first step (``state`` ``"starting"``: the model and the frames
    read, ``step`` the step it starts or goes on from), after each step (``"running"``),
    and once at the end: ``"finished"`` (weights written to ``weights``) or
    ``"cancelled"`` (checkpoint written; resume it).

    ``eta_s`` is the time left: the steps to come at the pace of the steps done, without
    the time spent computing each frame's trunk outputs once (``roi`` scope), plus that
    time for each frame the steps to come still need (``features_pending``): the first
    steps, which compute them, take ten or thirty times longer than the later ones, and
    the mean of the steps so far said 20 minutes where 5 were left."""

    step: int
    steps: int
    elapsed_s: float
    eta_s: float | None
    losses: dict[str, float]
    state: str = "running"
    weights: Path | None = None
    summary: dict[str, Any] | None = None
    #: of ``elapsed_s``, the time spent before the fine-tune was resumed (0 when it was not)
    resumed_s: float = 0.0
    #: the step this sitting began at (a resumed fine-tune's checkpoint; 0 otherwise)
    start_step: int = 0
    #: frames whose frozen trunk outputs the planned steps still need (``roi`` scope), and
    #: those computed so far in this sitting: the steps that compute them are the slow ones
    features_pending: int = 0
    features_done: int = 0

    @property
    def fraction(self) -> float:
        return self.step / self.steps if self.steps else 1.0


# ------------------------------------------------------------------ what is trained


def resolve_scope(scope: str, device: torch.device) -> str:
    """``auto``: everything on a GPU; on a CPU the box and mask heads (``roi``): a
    full step through the FPN and the backbone's last stage took 16 s on a busy 2-core
    CPU, a ``roi`` step 1.5 s, and a fine-tune must fit in minutes."""
    if scope == "auto":
        return "all" if device.type == "cuda" else "roi"
    return scope


def trainable_scope(model: torch.nn.Module, scope: str) -> list[str]:
    """Set ``requires_grad`` for ``scope`` (see :data:`SCOPES`, not ``auto``); the names
    of the parameters left trainable."""
    for parameter in model.parameters():
        parameter.requires_grad_(scope == "all")
    if scope == "roi":
        model.roi_heads.requires_grad_(True)
    elif scope != "all":
        for name, module in model.named_children():
            if name in ("rpn", "roi_heads"):
                module.requires_grad_(True)
        backbone = model.backbone
        backbone.fpn.requires_grad_(True)
        if scope == "last":
            body = backbone.body
            stage_ends = sorted(int(k) for k in getattr(body, "return_layers", {}) if str(k).isdigit())
            children = list(body.named_children())
            if len(stage_ends) >= 2 and all(n.isdigit() for n, _ in children):
                first = stage_ends[-2] + 1
                for child_name, child in children:
                    if int(child_name) >= first:
                        child.requires_grad_(True)
            elif children:  # ResNet: layer1..layer4; the last one
                children[-1][1].requires_grad_(True)
    close_look = getattr(model, "close_look_head", None)
    if close_look is not None:  # its own classifier, not trained by the detection losses
        close_look.requires_grad_(False)
    return [name for name, p in model.named_parameters() if p.requires_grad]


def _freeze_norms(model: torch.nn.Module) -> None:
    """Batch norm statistics stay those of the base model (batches of 2 cannot estimate them)."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()


# ------------------------------------------------------------------ negatives


def _box_iou(a: Tensor, b: Tensor) -> Tensor:
    from torchvision.ops import box_iou

    if len(a) == 0 or len(b) == 0:
        return a.new_zeros((len(a), len(b)))
    return box_iou(a, b)


class ReviewedRegions:
    """Hooks on the box head for the rejected regions while training.

    Targets carry ``negative_boxes`` (the model resizes them with the image). Before the
    box head the rejected boxes are added as proposals; after it, ``loss_negative`` is
    the cross entropy of the box classifier on each rejected box against the background
    class. Rejected boxes that overlap a target (IoU >= 0.5) are left out: the reviewer
    kept something there. (The unreviewed regions, ``ignore_boxes``, need no hook: the
    model's RPN and box head give the anchors and proposals on them no label,
    :mod:`engine.msnet.unlabelled`, as in training from scratch.)
    """

    def __init__(self, model: torch.nn.Module, weight: float = 1.0) -> None:
        self.model = model
        self.weight = weight
        self._negatives: list[Tensor] | None = None
        self._handles: list[Any] = []

    def __enter__(self) -> ReviewedRegions:
        heads = self.model.roi_heads
        self._handles = [heads.register_forward_pre_hook(self._before), heads.register_forward_hook(self._after)]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _before(self, module: torch.nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        self._negatives = None
        if not module.training or len(args) < 4 or args[3] is None:
            return None
        features, proposals, image_shapes, targets = args[:4]
        negatives: list[Tensor] = []
        new_proposals: list[Tensor] = []
        for boxes, target in zip(proposals, targets):
            gt = target["boxes"]
            negative = target.get("negative_boxes")
            if negative is not None and len(negative) and len(gt):
                negative = negative[_box_iou(negative, gt).max(dim=1).values < 0.5]
            if negative is None:
                negative = boxes.new_zeros((0, 4))
            negatives.append(negative.detach())
            new_proposals.append(torch.cat([boxes, negative.detach()]) if len(negative) else boxes)
        self._negatives = negatives
        return (features, new_proposals, image_shapes, targets, *args[4:])

    def _after(self, module: torch.nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        negatives, self._negatives = self._negatives, None
        if not module.training or negatives is None or not any(len(n) for n in negatives):
            return None
        features, _, image_shapes = args[:3]
        pooled = module.box_roi_pool(features, negatives, image_shapes)
        logits, _ = module.box_predictor(module.box_head(pooled))
        background = torch.zeros(len(logits), dtype=torch.int64, device=logits.device)
        detections, losses = output
        losses = dict(losses)
        losses["loss_negative"] = self.weight * torch.nn.functional.cross_entropy(logits, background)
        return detections, losses


# ------------------------------------------------------------------ data


class _Source:
    """One ISBDA split, its items decoded once and kept (a fine-tune sees few frames)."""

    def __init__(self, root: str, split: str, *, name: str) -> None:
        from engine.data import ISBDADataset

        self.name = name
        self.dataset = ISBDADataset(root, split)
        self._cache: dict[int, tuple[Tensor, dict[str, Tensor]]] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def item(self, index: int) -> tuple[Tensor, dict[str, Tensor]]:
        if index not in self._cache:
            self._cache[index] = self.dataset[index]
        return self._cache[index]

    def label(self, index: int) -> str:
        info = self.dataset.images[index]
        if "frame_index" in info:
            return f"{self.name}:frame{int(info['frame_index'])}"
        return f"{self.name}:{info['file_name']}"


def _shuffled(seed: int, tag: int, cycle: int, count: int) -> np.ndarray:
    return np.random.default_rng([int(seed), tag, int(cycle)]).permutation(count)


def batch_split(config: FinetuneConfig, has_replay: bool) -> tuple[int, int]:
    """``(reviewed, replay)`` items in each batch; at least one reviewed frame."""
    replay = round(config.batch_size * config.replay_fraction) if has_replay else 0
    reviewed = max(1, config.batch_size - replay)
    return reviewed, config.batch_size - reviewed if has_replay else 0


def _draw_batch(config: FinetuneConfig, sources: list[_Source], step: int) -> list[tuple[int, int, bool]]:
    """``(source, index, flip)`` of each batch item, a function of ``(seed, step)`` alone:
    the reviewed frames are visited in a new random order every pass over them, so each
    is seen equally often; the replay frames likewise."""
    reviewed, replay = sources[0], sources[1:]
    offsets = np.cumsum([0] + [len(s) for s in replay])
    n_reviewed, n_replay = batch_split(config, offsets[-1] > 0)
    batch: list[tuple[int, int]] = []
    for tag, per_step, count in ((0, n_reviewed, len(reviewed)), (1, n_replay, int(offsets[-1]))):
        for j in range(per_step):
            draw = step * per_step + j
            flat = int(_shuffled(config.seed, tag, draw // count, count)[draw % count])
            if tag == 0:
                batch.append((0, flat))
            else:
                source = int(np.searchsorted(offsets, flat, side="right"))
                batch.append((source, flat - int(offsets[source - 1])))
    flips = np.random.default_rng([int(config.seed), 2, int(step)]).random(len(batch)) < config.hflip
    return [(source, index, bool(flip)) for (source, index), flip in zip(batch, flips)]


def _prepare(image: Tensor, target: dict[str, Tensor], flip: bool, device: torch.device) -> tuple[Tensor, dict[str, Tensor]]:
    from engine.data.transforms import RandomHorizontalFlip

    if flip:
        image, target = RandomHorizontalFlip(1.0)(image, target)
    return image.to(device), {key: value.to(device) for key, value in target.items()}


# ------------------------------------------------------------------ frozen trunk


class _FrozenTrunk:
    """For the ``roi`` scope: each frame's FPN maps (float16), proposals and resized
    target, computed once with the frozen backbone, FPN and RPN (in eval mode: the
    proposals an analysis would give the box head)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self._cache: dict[tuple[int, int, bool], tuple[dict[str, Tensor], Tensor, tuple[int, int], dict[str, Tensor]]] = {}
        #: the time spent computing them (the slow part of the first steps)
        self.seconds = 0.0

    def __contains__(self, key: tuple[int, int, bool]) -> bool:
        return key in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    @torch.no_grad()
    def __call__(self, key: tuple[int, int, bool], image: Tensor, target: dict[str, Tensor]
                 ) -> tuple[dict[str, Tensor], Tensor, tuple[int, int], dict[str, Tensor]]:
        if key not in self._cache:
            began = time.monotonic()
            model = self.model
            heads_training = model.roi_heads.training
            model.eval()
            image_list, targets = model.transformed([image], [target])
            features = model.backbone(image_list.tensors)
            proposals = model.rpn(image_list, features, None)[0][0]
            model.roi_heads.train(heads_training)
            self._cache[key] = ({k: v.half() for k, v in features.items()}, proposals,
                                tuple(image_list.image_sizes[0]), targets[0])
            self.seconds += time.monotonic() - began
        features, proposals, image_size, resized = self._cache[key]
        return {k: v.float() for k, v in features.items()}, proposals, image_size, resized


def _roi_losses(model: torch.nn.Module, trunk: _FrozenTrunk, batch: list[tuple[tuple[int, int, bool], Tensor, dict[str, Tensor]]]
                ) -> dict[str, Tensor]:
    """The box and mask heads' losses, averaged over the batch, on cached trunk outputs."""
    totals: dict[str, Tensor] = {}
    for key, image, target in batch:
        features, proposals, image_size, resized = trunk(key, image, target)
        _, losses = model.roi_heads(features, [proposals], [image_size], [resized])
        for name, value in losses.items():
            totals[name] = totals.get(name, 0) + value / len(batch)  # type: ignore[operator]
    return totals


# ------------------------------------------------------------------ the time left

#: how many steps ahead :func:`_planned_keys` looks for the frames still to compute (a
#: time-limited fine-tune plans a million steps; by then every frame has been drawn)
PLAN_AHEAD = 2000


def _planned_keys(config: FinetuneConfig, sources: list[_Source], start: int) -> set[tuple[int, int, bool]]:
    """The ``(source, index, flip)`` items the steps from ``start`` draw (at most
    :data:`PLAN_AHEAD` of them): the frames whose trunk outputs they need."""
    stop = min(config.steps, start + PLAN_AHEAD)
    return {item for step in range(start, stop) for item in _draw_batch(config, sources, step)}


def time_left(config: FinetuneConfig, step: int, done_here: int, spent_here_s: float,
              trunk: _FrozenTrunk | None, pending: int) -> float | None:
    """Seconds left of the fine-tune at ``step``, ``done_here`` steps and ``spent_here_s``
    seconds into this sitting; ``None`` before its first step (see
    :class:`FinetuneProgress`)."""
    if not done_here:
        return None
    features_s = trunk.seconds if trunk is not None else 0.0
    per_step = max(0.0, spent_here_s - features_s) / done_here
    per_frame = features_s / len(trunk) if trunk is not None and len(trunk) else 0.0
    return per_step * (config.steps - step) + per_frame * pending


# ------------------------------------------------------------------ the loop


def _learning_rate(config: FinetuneConfig, step: int) -> float:
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return config.lr * (0.1 + 0.9 * step / config.warmup_steps)
    return config.lr


def _save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, step: int,
                     elapsed_s: float, config: FinetuneConfig) -> None:
    from engine.checkpoint import save_checkpoint

    save_checkpoint(path, model, optimizer, step=step, elapsed_s=elapsed_s, config=dataclasses.asdict(config))


def load_base(config: FinetuneConfig, device: torch.device) -> tuple[torch.nn.Module, dict[str, Any]]:
    from engine.weights import load_model

    return load_model(config.base_weights, device=device)


def finetune(config: FinetuneConfig, *, cancel: threading.Event | None = None) -> Iterator[FinetuneProgress]:
    """Fine-tune ``config.base_weights`` on ``config.data``; yields after every step.

    The last item says ``"finished"`` (``out/model.safetensors`` and its model card
    written) or ``"cancelled"`` (``out/checkpoint.pt`` written; run again with
    ``resume=True``). A checkpoint is also written every ``checkpoint_every`` steps.

    Raises
    ------
    InputError
        The data folder holds no reviewed frame, or there is nothing to resume.
    ModelError
        The base weights do not load; the loss diverged.
    FinetuneInterrupted
        Ctrl+C once training began (``out/checkpoint.pt`` written at the last whole
        step). A Ctrl+C while the caller holds an item does not reach the generator:
        set ``cancel`` and take the next item, which is ``"cancelled"``.
    """
    from engine.checkpoint import held_interrupts, read_checkpoint, restore
    from engine.train import check_finite
    from engine.weights import save_model

    device = torch.device(config.device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / CHECKPOINT_NAME
    # A checkpoint that cannot be resumed fails now, before the frames and the model are read.
    resumed = read_checkpoint(checkpoint_path, command="finetune") if config.resume else None

    sources = [_Source(config.data, config.split, name="review")]
    if len(sources[0]) == 0:
        raise InputError(f"{config.data}: no reviewed frames to fine-tune on; review some detections first")
    for index, folder in enumerate(config.replay):
        sources.append(_Source(folder, config.replay_split, name=f"replay{index}"))

    model, base_card = load_base(config, device)
    if config.roi_batch_size:
        model.roi_heads.fg_bg_sampler.batch_size_per_image = config.roi_batch_size
    scope = resolve_scope(config.scope, device)
    trainable = trainable_scope(model, scope)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)

    step, elapsed_before = 0, 0.0
    if resumed is not None:
        step = restore(resumed, model, optimizer, path=checkpoint_path, command="finetune")
        elapsed_before = float(resumed.get("elapsed_s", 0.0))
        del resumed
    start_step = step

    model.train()
    _freeze_norms(model)
    trunk = _FrozenTrunk(model) if scope == "roi" else None
    to_compute = _planned_keys(config, sources, step) if trunk is not None else set()
    started = time.monotonic()
    last: dict[str, float] = {}
    seen: set[str] = set()
    state_name = "finished"

    def progress(eta: float | None, state: str = "running", elapsed_s: float | None = None,
                 **more: Any) -> FinetuneProgress:
        elapsed_s = elapsed_before + time.monotonic() - started if elapsed_s is None else elapsed_s
        return FinetuneProgress(step, config.steps, elapsed_s, eta, last, state,
                                resumed_s=elapsed_before, start_step=start_step, features_pending=len(to_compute),
                                features_done=len(trunk) if trunk is not None else 0, **more)

    try:
        with ReviewedRegions(model, config.negative_weight):
            yield progress(None, "starting")
            while step < config.steps:
                if cancel is not None and cancel.is_set():
                    state_name = "cancelled"
                    break
                spent = elapsed_before + time.monotonic() - started
                if config.time_budget_s is not None and spent >= config.time_budget_s:
                    break
                for group in optimizer.param_groups:
                    group["lr"] = _learning_rate(config, step)
                torch.manual_seed(config.seed * 1_000_003 + step)
                images, targets, keys = [], [], []
                for source_index, index, flip in _draw_batch(config, sources, step):
                    source = sources[source_index]
                    image, target = _prepare(*source.item(index), flip, device)
                    images.append(image)
                    targets.append(target)
                    keys.append((source_index, index, flip))
                    seen.add(source.label(index))
                if trunk is not None:
                    losses = _roi_losses(model, trunk, list(zip(keys, images, targets)))
                else:
                    losses = model(images, targets)
                check_finite(losses, step)
                total = sum(losses.values())
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                if config.grad_clip:
                    torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
                with held_interrupts():  # a Ctrl+C waits for the whole update: the checkpoint holds one step
                    optimizer.step()
                    step += 1
                last = {name: round(float(v.detach()), 4) for name, v in losses.items()}
                last["loss"] = round(float(total.detach()), 4)
                elapsed = elapsed_before + time.monotonic() - started
                if config.checkpoint_every and step % config.checkpoint_every == 0 and step < config.steps:
                    _save_checkpoint(checkpoint_path, model, optimizer, step=step, elapsed_s=elapsed, config=config)
                if trunk is not None:
                    to_compute = {key for key in to_compute if key not in trunk}
                eta = time_left(config, step, step - start_step, time.monotonic() - started, trunk, len(to_compute))
                if config.time_budget_s is not None and eta is not None:
                    eta = min(eta, max(0.0, config.time_budget_s - elapsed))
                yield progress(eta, elapsed_s=elapsed)

        elapsed = elapsed_before + time.monotonic() - started
        if state_name == "cancelled":
            _save_checkpoint(checkpoint_path, model, optimizer, step=step, elapsed_s=elapsed, config=config)
            yield progress(None, "cancelled", elapsed)
            return
        summary = {
            "steps": step,
            "elapsed_s": round(elapsed, 1),
            "last_losses": last,
            "scope": scope,
            "trainable_tensors": len(trainable),
            "reviewed_frames": len(sources[0]),
            "replay_frames": sum(len(s) for s in sources[1:]),
            "frames_seen_this_session": sorted(seen),
        }
        model.eval()
        weights = save_model(model, out / WEIGHTS_NAME, {
            "fine_tuned_on": config.card, "base_model": _base_summary(base_card),
            "finetune": {k: v for k, v in dataclasses.asdict(config).items() if k != "card"}, "summary": summary,
        })
        _save_checkpoint(checkpoint_path, model, optimizer, step=step, elapsed_s=elapsed, config=config)
    except KeyboardInterrupt:
        # as the app's Cancel does: the checkpoint of the last whole step, so --resume goes on from it
        _save_checkpoint(checkpoint_path, model, optimizer, step=step,
                         elapsed_s=elapsed_before + time.monotonic() - started, config=config)
        raise FinetuneInterrupted(step, checkpoint_path) from None
    yield progress(0.0, "finished", elapsed, weights=weights, summary=summary)


def _base_summary(card: dict[str, Any]) -> dict[str, Any]:
    keep = {k: card[k] for k in ("training", "summary", "finetune", "base_model") if k in card}
    if "training" in keep and isinstance(keep["training"], dict):
        keep["training"] = {k: keep["training"][k] for k in ("data", "steps", "max_steps", "seed") if k in keep["training"]}
    return keep


def run_to_end(config: FinetuneConfig, *, cancel: threading.Event | None = None) -> FinetuneProgress:
    """:func:`finetune` without progress: its last item."""
    last: FinetuneProgress | None = None
    for last in finetune(config, cancel=cancel):
        pass
    if last is None:  # pragma: no cover - finetune always yields its end
        raise ModelError("fine-tune ended without a result")
    return last


__all__ = [
    "CHECKPOINT_NAME",
    "FinetuneConfig",
    "FinetuneInterrupted",
    "FinetuneProgress",
    "ReviewedRegions",
    "SCOPES",
    "WEIGHTS_NAME",
    "finetune",
    "resolve_scope",
    "run_to_end",
    "time_left",
    "trainable_scope",
]
