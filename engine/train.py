"""Training MSNet and its baselines on ISBDA-format data (the paper's schedule by default).

SGD (momentum 0.9, weight decay 1e-4), lr 0.003 dropped to 0.001 after 10 epochs, batch
8, short side 800 / long side <= 1333, with a linear warm-up and gradient clipping since
nothing is pretrained unless ``init`` names a local file. Mixed precision on CUDA;
``torchrun`` gives DistributedDataParallel (one process per GPU, rank 0 logs, evaluates
and saves). A run folder holds ``model.safetensors`` + ``model.json`` (the final
weights), ``checkpoint.pt`` (for ``resume``; tensors and plain values only, read with
``weights_only=True``) and ``log.jsonl`` (one line per logged step and per evaluation).
A new run refuses a folder that holds one (``overwrite`` replaces it).

A run stopped (``max_steps``, ``time_budget_min``, Ctrl+C) and resumed ends with the
weights of a run that never stopped: each epoch's order is drawn from ``(seed, epoch)``,
each item's augmentation from ``(seed, epoch, its place in the epoch)`` and torch's
random numbers (multi-scale sizes, the samplers of the RPNs and RoI heads) from
``(seed, step)``, and the checkpoint holds the epoch and how far into it the run got.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import math
import os
import random
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.errors import DamagemapWarning, InputError, ModelError
from engine.device import resolve_device

CHECKPOINT_NAME = "checkpoint.pt"
WEIGHTS_NAME = "model.safetensors"
LOG_NAME = "log.jsonl"
#: an earlier run's log, kept aside by a new run in a folder with no checkpoint or weights
PREVIOUS_LOG_NAME = "log.previous.jsonl"
#: what ``overwrite`` removes before the first step of a new run
RUN_FILES = (WEIGHTS_NAME, "model.json", CHECKPOINT_NAME, "checkpoint.partial", LOG_NAME)


class NonFiniteLossError(ModelError, FloatingPointError):
    """The loss became NaN or infinite; the message names the step and every loss."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl+C stopped :func:`train`: ``checkpoint`` holds the run at ``step`` (``None``:
    this process saved nothing: the run had not taken a step, or another process of a
    multi-GPU run saves)."""

    def __init__(self, step: int, checkpoint: Path | None) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step = step
        self.checkpoint = checkpoint


@dataclass
class TrainConfig:
    """Everything a training run depends on (written into the weights JSON)."""

    data: list[str]
    out: str = "runs/msnet"
    arch: str = "msnet"
    backbone: str = "resnet50"
    heads: str = "standard"
    train_split: str = "train"
    val_split: str | None = "val"
    val_data: str | None = None
    epochs: int = 100
    batch_size: int = 8
    lr: float = 0.003
    lr_after_drop: float = 0.001
    lr_drop_epoch: int = 10
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 10.0
    min_size: int = 800
    max_size: int = 1333
    multiscale: bool = True
    hflip: float = 0.5
    photometric: float = 0.0
    fine_detail: float = 0.0
    video_frames: float = 0.0  # probability of training on the video's frame instead of the still
    gate_metric: str = "ii"
    gate_threshold: float = 0.1
    anchor_sizes: tuple[int, ...] = (32, 64, 128, 256, 512)
    roi_batch_size: int = 512
    damage_positive_iou: float = 0.7  # the damage RPN's positive anchors (torchvision's)
    box_positive_iou: float = 0.5  # the box head's positive proposals (torchvision's)
    init: str | None = None
    trainable_backbone_layers: int | None = None
    lr_schedule: str = "step"
    schedule_steps: int | None = None  # cosine horizon; None: max_steps
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    workers: int = 2
    eval_every: int = 1
    eval_every_steps: int | None = None
    checkpoint_every_steps: int | None = None
    eval_batch_size: int = 2
    max_steps: int | None = None
    time_budget_min: float | None = None
    resume: bool = False
    overwrite: bool = False  # a new run in a folder that holds one replaces it (else refused)
    save_half: bool = False
    save_compact: bool = False
    threads: int | None = None
    log_every: int = 10
    extra: dict[str, Any] = field(default_factory=dict)


def _distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) under torchrun, else (0, 1, 0)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0"))


def learning_rate(config: TrainConfig, epoch: int, step: int) -> float:
    """Paper schedule (step drop after ``lr_drop_epoch`` epochs) with a linear warm-up.

    ``lr_schedule="cosine"`` decays from ``lr`` to ``lr_after_drop`` over ``max_steps``
    instead (over ``schedule_steps`` when given, so a run split into stages, each with its
    own ``max_steps``, follows one curve), which suits a run sized in steps or minutes
    rather than epochs.
    """
    horizon = config.schedule_steps or config.max_steps
    if config.lr_schedule == "cosine" and horizon:
        progress = min(1.0, step / horizon)
        base = config.lr_after_drop + 0.5 * (config.lr - config.lr_after_drop) * (1 + math.cos(math.pi * progress))
    else:
        base = config.lr if epoch < config.lr_drop_epoch else config.lr_after_drop
    if config.warmup_steps > 0 and step < config.warmup_steps:
        return base * (0.001 + 0.999 * step / config.warmup_steps)
    return base


def check_finite(losses: dict[str, torch.Tensor], step: int) -> None:
    """Raise :class:`NonFiniteLossError` (with the step and every loss) on NaN/inf."""
    total = sum(losses.values())
    if not torch.isfinite(total):
        values = {name: float(value) for name, value in losses.items()}
        raise NonFiniteLossError(f"non-finite loss at step {step}: {values}")


def build_model_for(config: TrainConfig):  # type: ignore[no-untyped-def]
    from engine.data.transforms import multiscale_sizes
    from engine.msnet import build_msnet, set_training_matches

    min_size: int | tuple[int, ...] = config.min_size
    if config.multiscale:
        min_size = multiscale_sizes(config.min_size)
    model = build_msnet(
        arch=config.arch,
        backbone=config.backbone,
        heads=config.heads,
        min_size=min_size,
        max_size=config.max_size,
        gate_metric=config.gate_metric,
        gate_threshold=config.gate_threshold,
        anchor_sizes=tuple(config.anchor_sizes),
        box_batch_size_per_image=config.roi_batch_size,
        norm="frozen_bn" if config.init else "bn",
        trainable_backbone_layers=config.trainable_backbone_layers,
    )
    set_training_matches(model, damage_positive_iou=config.damage_positive_iou,
                         box_positive_iou=config.box_positive_iou)
    return model


def _write_log(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def _save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: Any, *,
                     epoch: int, step: int, config: TrainConfig, position: int = 0,
                     order: dict[str, int] | None = None, earlier: list[dict[str, Any]] | None = None) -> None:
    """Everything ``resume`` needs, written atomically (a kill mid-write keeps the old one):
    ``epoch`` is the epoch the run is in, ``position`` how many of its items it has
    trained on, ``order`` what that epoch's order was drawn for (:func:`_order_key`),
    ``earlier`` the options it trained with before a resume changed them
    (:func:`_earlier_options`)."""
    from engine.checkpoint import save_checkpoint

    save_checkpoint(path, model, optimizer, scaler=scaler.state_dict(), epoch=epoch, step=step,
                    epoch_position=position, epoch_order=order or {}, config=dataclasses.asdict(config),
                    earlier_options=earlier or [])


def mixed_seed(*parts: object) -> int:
    """A 63-bit seed from ``parts`` (the run's seed, a purpose, an epoch, a position):
    the same in every process, on every machine and in every Python session."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def epoch_order(count: int, *, seed: int, epoch: int, rank: int = 0, world: int = 1) -> list[int]:
    """The items this process trains on in ``epoch``, in order: a shuffle of
    ``range(count)`` drawn from ``(seed, epoch)`` alone, so a resumed run draws it again;
    under ``world`` processes, every ``world``-th item from ``rank``, the shuffle padded
    with its first items to a multiple of ``world`` (as torch's DistributedSampler does)."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(mixed_seed(seed, "order", epoch))).tolist()
    if world > 1:
        per_process = math.ceil(count / world)
        order = (order * math.ceil(per_process * world / count))[: per_process * world][rank::world]
    return order


class EpochBatches:
    """The batch sampler of a run: the batches of one epoch from a given place in it
    (:meth:`start`), each item ``(index, seed)``: the dataset item, and the seed of its
    random choices (flip, distortions, video frame or still), drawn from the run's seed,
    the epoch and the item's place in the epoch. What a step trains on thus follows from
    the seed, the epoch and the step's place in it, whether or not the run was stopped
    and resumed, and however many loader processes read the items."""

    def __init__(self, count: int, batch_size: int, *, seed: int, drop_last: bool, rank: int = 0,
                 world: int = 1) -> None:
        self.count, self.batch_size, self.seed, self.drop_last = count, batch_size, seed, drop_last
        self.rank, self.world = rank, world
        self.epoch, self.position = 0, 0
        self.items = math.ceil(count / world)  # this process's items per epoch

    def start(self, epoch: int, position: int = 0) -> None:
        """The next iteration gives ``epoch``'s batches after its first ``position`` items."""
        self.epoch, self.position = epoch, position

    def done(self, position: int) -> bool:
        """Whether an epoch trained on up to ``position`` has no batch left."""
        return self.items - position < (self.batch_size if self.drop_last else 1)

    def __len__(self) -> int:
        """Batches in a whole epoch."""
        return self.items // self.batch_size if self.drop_last else math.ceil(self.items / self.batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order = epoch_order(self.count, seed=self.seed, epoch=self.epoch, rank=self.rank, world=self.world)
        first = self.position
        while not self.done(first):
            last = min(first + self.batch_size, len(order))
            yield [(order[place], mixed_seed(self.seed, "item", self.epoch, self.rank + self.world * place))
                   for place in range(first, last)]
            first = last


class SeededItems(torch.utils.data.Dataset):
    """``dataset`` read by ``(index, seed)`` (:class:`EpochBatches`): every part's random
    choices are seeded (its ``reseed``) before the item is read."""

    def __init__(self, dataset: torch.utils.data.Dataset) -> None:
        self.dataset = dataset
        joined = isinstance(dataset, torch.utils.data.ConcatDataset)
        self.parts = list(dataset.datasets) if joined else [dataset]
        self.ends = list(dataset.cumulative_sizes) if joined else [len(dataset)]  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        part = self.parts[bisect.bisect_right(self.ends, index)]
        if hasattr(part, "reseed"):
            part.reseed(seed)
        return self.dataset[index]


def _order_key(count: int, config: TrainConfig, world: int) -> dict[str, int]:
    """What an epoch's order depends on: a checkpoint resumed with other data, another
    seed or another number of processes starts its epoch afresh instead of skipping
    items of an order it was not trained on."""
    return {"images": count, "seed": config.seed, "world": world}


def planned_steps(config: TrainConfig, batches_per_epoch: int) -> int:
    """The steps a run takes: every batch of ``config.epochs`` epochs, or ``max_steps``
    where that comes first (a time budget may still end it sooner)."""
    steps = config.epochs * batches_per_epoch
    return min(steps, config.max_steps) if config.max_steps else steps


def describe_model(config: dict[str, Any]) -> str:
    """A few words on the model a training config builds, which a checkpoint must fit:
    ``msnet/mobilenet_v2 with light heads, from --init``."""
    words = f"{config.get('arch')}/{config.get('backbone')}"
    if config.get("heads", "standard") != "standard":
        words += f" with {config.get('heads')} heads"
    if config.get("init"):
        words += ", from --init"
    if config.get("trainable_backbone_layers") is not None:
        words += f", {config.get('trainable_backbone_layers')} trainable backbone stages"
    return words


def existing_run(out: Path) -> str | None:
    """What ``out`` holds of an earlier run (``"a training run (step 40)"``): its
    checkpoint or its weights; ``None`` when it holds neither."""
    from engine.checkpoint import checkpoint_step

    checkpoint, weights = out / CHECKPOINT_NAME, out / WEIGHTS_NAME
    if not checkpoint.is_file() and not weights.is_file():
        return None
    step = checkpoint_step(checkpoint) if checkpoint.is_file() else None
    if step is None:
        try:
            step = json.loads((out / "model.json").read_text(encoding="utf-8"))["summary"]["steps"]
        except (OSError, ValueError, KeyError, TypeError):
            step = None
    return f"a training run (step {step})" if isinstance(step, int) else "a training run"


def _check_out(config: TrainConfig, out: Path) -> None:
    """Refuse to start a new run over one ``out`` holds, unless ``overwrite``."""
    if config.resume and config.overwrite:
        raise InputError("--resume continues the run in --out and --overwrite replaces it: give one of them")
    from engine.weights import refuse_shipped_folder

    refuse_shipped_folder(out / WEIGHTS_NAME, f"--out {out}")
    if config.resume or config.overwrite or not out.is_dir():
        return
    held = existing_run(out)
    if held is not None:
        raise InputError(f"{out}: holds {held}; continue it with --resume, or choose another --out "
                         "(--overwrite replaces it)")


def _clear_out(config: TrainConfig, out: Path) -> None:
    """Before a new run's first step: with ``overwrite``, the earlier run's files go; a
    log left by a run that saved nothing is kept aside as ``log.previous.jsonl``, so
    the new log holds this run alone."""
    if config.resume:
        return
    if config.overwrite:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    elif (out / LOG_NAME).is_file():
        os.replace(out / LOG_NAME, out / PREVIOUS_LOG_NAME)


#: options a run resumed with other values records (model.json's ``summary`` and the
#: checkpoint keep each earlier set with the step it lasted to): a curriculum adds flights
#: at each stage (``reproduce.sh``), and the record then says what every step trained on
RECORDED_ON_RESUME = ("data", "batch_size", "lr")


def _earlier_options(config: TrainConfig, state: dict[str, Any]) -> list[dict[str, Any]]:
    """The options the run trained with before this resume, each set with the step it
    lasted to (``until_step``), when this resume changes one of :data:`RECORDED_ON_RESUME`."""
    earlier = [dict(item) for item in state.get("earlier_options") or [] if isinstance(item, dict)]
    saved = state.get("config")
    if not isinstance(saved, dict):
        return earlier
    now = dataclasses.asdict(config)

    def folders(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else [str(v) for v in value or ()]

    def same(key: str) -> bool:
        if key != "data":
            return saved[key] == now[key]
        before, after = folders(saved[key]), folders(now[key])
        return len(before) == len(after) and all(
            a == b or Path(a).resolve() == Path(b).resolve() for a, b in zip(before, after))

    if any(key in saved and not same(key) for key in RECORDED_ON_RESUME):
        earlier.append({"until_step": int(state["step"]), **{key: saved.get(key) for key in RECORDED_ON_RESUME}})
    return earlier


def _nothing_left(config: TrainConfig, state: dict[str, Any], out: Path) -> str | None:
    """Why a resumed run has no step to take (its checkpoint is at ``max_steps`` or past
    its epochs), or ``None``."""
    step, epoch = int(state["step"]), int(state.get("epoch", 0))
    if config.max_steps and step >= config.max_steps:
        return (f"{out}: the run is already at step {step} (--max-steps {config.max_steps}): nothing to train; "
                "its weights are left as they are")
    if epoch >= config.epochs:
        return (f"{out}: the run has already trained {epoch} epoch(s) (--epochs {config.epochs}): nothing to train; "
                "its weights are left as they are")
    return None


def _weights_step(out: Path) -> int | None:
    """The step the run folder's weights were written at (their ``model.json``'s summary),
    ``None`` without weights: a run stopped in its last evaluation after a resume has the
    weights of the step before, and the checkpoint of its last."""
    import json

    weights = out / WEIGHTS_NAME
    if not weights.is_file():
        return None
    try:
        steps = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))["summary"]["steps"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # weights of unknown step: written again from the checkpoint
    return steps if isinstance(steps, int) else None


def _training_items(parts: list[Any], split: str) -> None:
    """Refuse a training split whose targets would all be empty: the model would learn to
    find nothing, and the run would not say so."""
    if sum(part.instance_count for part in parts) > 0:
        return
    files = ", ".join(str(part.annotation_file) for part in parts)
    images = sum(len(part) for part in parts)
    written = sum(len(part.coco["annotations"]) for part in parts)
    why = (f"its {written} annotation(s) are crowd regions or were skipped (warned about above)" if written
           else "the file lists no annotation")
    raise InputError(f"{files}: no usable damage annotation to train on in {images} {split!r} image(s): {why}; "
                     "a model trained on it would learn to find nothing")


def train(config: TrainConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train as ``config`` says; returns a summary (steps, last losses, final metrics).

    ``config.data`` may name several dataset folders; their training splits are
    concatenated. Validation uses ``config.val_data``, else the first folder that has
    ``config.val_split``. A resumed run whose checkpoint is already at ``max_steps``
    (or past ``epochs``) trains nothing and writes nothing: its summary says why under
    ``"nothing_to_train"``; unless it was stopped before its weights were written (during
    its last evaluation): then it evaluates and writes them.

    Raises
    ------
    InputError
        The data folder lacks the training split or any usable annotation; the run
        folder holds a run and neither ``resume`` nor ``overwrite`` is set.
    NonFiniteLossError
        The loss diverged.
    TrainingInterrupted
        Ctrl+C: the checkpoint holds the run at the last whole step.
    """
    from torch.utils.data import ConcatDataset, DataLoader

    from engine.checkpoint import held_interrupts, read_checkpoint, restore
    from engine.data import ISBDADataset, collate, train_transforms
    from engine.data.isbda import annotation_path
    from engine.evaluate import evaluate_model, format_table
    from engine.weights import close_look_of, is_damagemap_weights, load_init_weights, save_model

    out = Path(config.out)
    _check_out(config, out)
    checkpoint_path = out / CHECKPOINT_NAME
    # A checkpoint that cannot be resumed fails now, before the data and the model are set up.
    resumed = read_checkpoint(checkpoint_path, command="train") if config.resume else None
    earlier = _earlier_options(config, resumed) if resumed is not None else []
    finish_only = False  # at its last step, but stopped before its weights were written
    if resumed is not None:
        reason = _nothing_left(config, resumed, out)
        if reason is not None and _weights_step(out) == int(resumed["step"]):
            return {"steps": int(resumed["step"]), "epochs_completed": int(resumed.get("epoch", 0)),
                    "nothing_to_train": reason}
        # (a Ctrl+C or a scheduler's time limit during the last evaluation: the checkpoint
        # holds the last step and no weights were written; the run evaluates and writes them)
        finish_only = reason is not None

    rank, world, local_rank = _distributed()
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
        device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        device = resolve_device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed + rank)
    random.seed(config.seed + rank)

    log_path = out / LOG_NAME
    is_main = rank == 0

    data_dirs = [config.data] if isinstance(config.data, str) else list(config.data)
    augment = train_transforms(hflip=config.hflip, photometric=config.photometric,
                               fine_detail=config.fine_detail, seed=config.seed)
    parts = [ISBDADataset(folder, config.train_split, transforms=augment, video_frames=config.video_frames,
                          seed=config.seed + 3 + number)
             for number, folder in enumerate(data_dirs)]
    train_set = parts[0] if len(parts) == 1 else ConcatDataset(parts)
    if len(train_set) == 0:
        raise InputError(f"{', '.join(data_dirs)}: no {config.train_split!r} images to train on")
    _training_items(parts, config.train_split)
    val_set = None
    if config.val_data and config.val_split and not annotation_path(config.val_data, config.val_split).is_file():
        raise InputError(f"--val-data {config.val_data}: no {config.val_split!r} split there (expected "
                         f"{annotation_path(config.val_data, config.val_split)})")
    if config.val_split:
        for folder in [config.val_data] if config.val_data else data_dirs:
            if annotation_path(folder, config.val_split).is_file():
                val_set = ISBDADataset(folder, config.val_split)
                break
    batches = EpochBatches(len(train_set), config.batch_size, seed=config.seed, rank=rank, world=world,
                           drop_last=len(train_set) >= config.batch_size * world)
    loader = DataLoader(
        SeededItems(train_set),
        batch_sampler=batches,
        collate_fn=collate,
        num_workers=config.workers,
        generator=torch.Generator().manual_seed(config.seed),
        persistent_workers=config.workers > 0,
    )

    model = build_model_for(config).to(device)
    init_report = None
    # a damagemap model trained on keeps its close look: read and fitted to this model now,
    # so a bad file fails before the first step; kept out of training, put back at the end
    carried = close_look_of(config.init, model) if config.init else None
    if config.init and not config.resume:
        with warnings.catch_warnings():  # torch's note on a pickle's protocol, before a one-line refusal
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            init_report = load_init_weights(model, config.init)
        if init_report["skipped_parts"] and is_damagemap_weights(config.init):
            # a damagemap model trained on with other --heads or --backbone: its heads start afresh
            warnings.warn(f"--init {config.init}: its {', '.join(init_report['skipped_parts'][:4])}"
                          f"{', ...' if len(init_report['skipped_parts']) > 4 else ''} do not fit this model and "
                          "start afresh; a file trained with other "
                          "--backbone or --heads builds another model: give the flags it was trained with "
                          "(its model.json's build config)", DamagemapWarning, stacklevel=2)
    out.mkdir(parents=True, exist_ok=True)  # once the data, the model and its --init are sound: none is left empty
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    order = _order_key(len(train_set), config, world)
    epoch, position, step = 0, 0, 0
    if resumed is not None:
        step = restore(resumed, model, optimizer, path=checkpoint_path, command="train",
                       config=dataclasses.asdict(config), describe=describe_model)
        scaler.load_state_dict(resumed["scaler"])
        epoch = int(resumed["epoch"])
        # the rest of the interrupted epoch, in its own order (unless the data, the seed
        # or the processes changed: then that epoch starts afresh)
        position = int(resumed.get("epoch_position", 0)) if resumed.get("epoch_order") == order else 0
        del resumed
    if is_main:
        _clear_out(config, out)

    train_model: torch.nn.Module = model
    if world > 1:
        train_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None
        )

    started = time.monotonic()
    deadline = started + config.time_budget_min * 60 if config.time_budget_min else math.inf
    metrics: dict[str, Any] | None = None
    last_losses: dict[str, float] = {}
    stop = finish_only
    kept: dict[str, torch.Tensor] = {}
    whole = True  # the model holds whole steps (no forward pass since the last update)
    bar = None
    if progress and is_main:
        from tqdm import tqdm

        # one bar over the steps the run will take (--max-steps ends most runs long
        # before --epochs would), so its count and time left are the run's own
        bar = tqdm(total=planned_steps(config, len(loader)), initial=step, unit="step", desc="training",
                   dynamic_ncols=True)
    try:
        while epoch < config.epochs and not stop:
            if batches.done(position):  # a checkpoint written at an epoch's last batch, the epoch not yet counted
                epoch, position = epoch + 1, 0
                continue
            batches.start(epoch, position)
            model.train()
            for images, targets in loader:
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(config, epoch, step)
                torch.manual_seed(mixed_seed(config.seed, "step", rank, step))  # sizes, samplers: the step's own
                # the forward pass updates batch-norm statistics: a Ctrl+C before the update puts them back
                kept, whole = {name: buffer.detach().clone() for name, buffer in model.named_buffers()}, False
                images = [image.to(device, non_blocking=True) for image in images]
                targets = [{k: v.to(device, non_blocking=True) for k, v in t.items()} for t in targets]
                with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                    losses = train_model(images, targets)
                check_finite(losses, step)
                total = sum(losses.values())
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(total).backward()
                if config.grad_clip:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
                with held_interrupts():  # a Ctrl+C waits for the whole update: the checkpoint holds one step
                    scaler.step(optimizer)
                    scaler.update()
                    step += 1
                    position += len(images)
                    whole = True
                last_losses = {name: round(float(value.detach()), 4) for name, value in losses.items()}
                last_losses["loss"] = round(float(total.detach()), 4)
                if is_main:
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(epoch=epoch + 1, loss=f"{float(total.detach()):.3f}",
                                        lr=f"{optimizer.param_groups[0]['lr']:.4g}")
                    if step % config.log_every == 0 or step == 1:
                        _write_log(log_path, {"step": step, "epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
                                              "elapsed_s": round(time.monotonic() - started, 1), **last_losses})
                if is_main and config.checkpoint_every_steps and step % config.checkpoint_every_steps == 0:
                    _save_checkpoint(checkpoint_path, model, optimizer, scaler, epoch=epoch, step=step,
                                     config=config, position=position, order=order, earlier=earlier)
                if is_main and val_set is not None and config.eval_every_steps and step % config.eval_every_steps == 0:
                    metrics = evaluate_model(model, val_set, device=str(device), batch_size=config.eval_batch_size,
                                             progress=False)
                    _write_log(log_path, {"step": step, "epoch": epoch, "eval": metrics})
                    model.train()
                if (config.max_steps and step >= config.max_steps) or time.monotonic() > deadline:
                    stop = True
                    break
            epoch_done = batches.done(position)
            if epoch_done:
                epoch, position = epoch + 1, 0
            if is_main:
                _save_checkpoint(checkpoint_path, model, optimizer, scaler, epoch=epoch, step=step, config=config,
                                 position=position, order=order, earlier=earlier)
                if val_set is not None and (stop or epoch == config.epochs
                                            or (epoch_done and epoch % config.eval_every == 0)):
                    metrics = evaluate_model(model, val_set, device=str(device), batch_size=config.eval_batch_size,
                                             progress=progress)
                    _write_log(log_path, {"step": step, "epoch": epoch, "eval": metrics})
                    if bar is not None:  # progress is on (and this is the main process)
                        when = f"after epoch {epoch}" if epoch_done else f"in epoch {epoch + 1}"
                        bar.write(format_table(metrics, title=f"{config.val_split} {when} (step {step})"))
        if finish_only and is_main and val_set is not None:
            metrics = evaluate_model(model, val_set, device=str(device), batch_size=config.eval_batch_size,
                                     progress=progress)
            _write_log(log_path, {"step": step, "epoch": epoch, "eval": metrics})
        if bar is not None:
            bar.close()

        summary = {
            "steps": step,
            "epochs_completed": epoch,
            "train_images": len(train_set),
            "elapsed_min": round((time.monotonic() - started) / 60, 2),
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
            "last_losses": last_losses,
            "val_metrics": metrics,
            "init": config.init,
            "init_report": init_report,
            **({"earlier_options": earlier} if earlier else {}),
        }
        if is_main:
            extra: dict[str, Any] = {"training": dataclasses.asdict(config), "summary": summary}
            if carried is not None:  # trained on from a damagemap model: its close look stays
                model.close_look_head = carried.head
                model.build_config = {**model.build_config, "close_look_px": carried.head.crop_px}
                extra.update(close_look={**carried.record, "carried_from": config.init}, inference=carried.inference)
            save_model(model, out / WEIGHTS_NAME, extra, half=config.save_half, compact=config.save_compact)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        saved = None
        if is_main and step > 0:
            if not whole:
                with torch.no_grad():
                    for name, buffer in model.named_buffers():
                        buffer.copy_(kept[name])
            if carried is not None:  # put back by the final save: a checkpoint fits the model it trained
                model.close_look_head = None
            _save_checkpoint(checkpoint_path, model, optimizer, scaler, epoch=epoch, step=step, config=config,
                             position=position, order=order, earlier=earlier)
            saved = checkpoint_path
        raise TrainingInterrupted(step, saved) from None
    finally:
        if world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
    return summary
