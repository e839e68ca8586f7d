"""``damagemap finetune PROJECT``: improve the project's detector from its reviews.

Argument parsing over :mod:`services.finetune` and :mod:`services.models`:

- ``damagemap finetune P`` fine-tunes the detector of the latest reviewed run on its
  reviewed frames (``--minutes``, ``--steps``), into ``P.models/ft-NNN``; Ctrl+C stops
  it with a checkpoint and ``--resume`` continues it;
- ``--list`` shows the project's model versions and which run used which model;
- ``--compare RUN_A RUN_B`` prints two runs side by side (counts, sites, AP on the
  reviewed frames held out from fine-tuning);
- ``--export FILE.safetensors [--model ft-NNN]`` writes a version as a standalone
  weights file with its model card, for ``damagemap analyze --weights`` anywhere.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", type=Path, help="project file (.dmproj)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--compare", nargs=2, type=int, metavar=("RUN_A", "RUN_B"),
                      help="compare two runs: detections, sites, AP on held-out reviewed frames")
    what.add_argument("--export", type=Path, metavar="FILE", default=None,
                      help="write a fine-tuned model (--model, default the latest) to FILE (.safetensors, added when "
                           "FILE has no extension) and its card beside it (.json)")
    what.add_argument("--list", action="store_true", help="list the project's model versions and runs")
    parser.add_argument("--model", default=None, metavar="NAME", help="model version for --export (e.g. ft-002)")
    parser.add_argument("--run", type=int, default=None, help="the run whose reviews to use (default: the latest reviewed)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="time limit (default: none; 200 steps); with --resume, at most this many more minutes")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default 200, or as many as fit --minutes); with --resume, the steps "
                             "in all")
    parser.add_argument("--weights", default=None, metavar="FILE",
                        help="the model to fine-tune (default: the one the run was analysed with); 'shipped': the "
                             "shipped model")
    parser.add_argument("--replay", type=Path, default=None,
                        help="ISBDA folder to replay so the model does not forget (default: a small synthetic flyover)")
    parser.add_argument("--holdout-every", type=int, default=5, metavar="K",
                        help="hold out every K-th reviewed frame to measure with (0: none; default 5)")
    parser.add_argument("--scope", default="auto", choices=("auto", "roi", "heads", "last", "all"),
                        help="what to train (default auto: everything on a GPU, the box and mask heads on a CPU)")
    parser.add_argument("--device", default="auto", help="auto (CUDA if present), cpu or cuda[:N]")
    parser.add_argument("--batch-size", type=int, default=2, help="frames per step (default 2)")
    parser.add_argument("--lr", type=float, default=0.003, help="learning rate (default 0.003)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same weights)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the latest unfinished fine-tune (--model: another) with the options it was "
                             "started with; --steps and --minutes may change")
    parser.add_argument("--no-sites", action="store_true", help="--compare without building the damage maps")
    parser.add_argument("--json", action="store_true", help="--compare and --list as JSON")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from services.project import open_project

    if args.export is not None:
        return _export(args)
    if args.list:
        with open_project(args.project) as store:
            return _list(args, store)
    if args.compare:
        with open_project(args.project) as store:
            return _compare(args, store)
    return _finetune(args)


def _analyse_again(project: Path, run_id: int, weights: Path) -> str:
    """The command that analyses the project's video with ``weights`` as run ``run_id``
    was analysed (its frames: ``--compare`` then sets like against like)."""
    import shlex

    from core.errors import DamagemapError
    from services.project import open_project

    with open_project(project) as store:
        video = store.video_path
        try:
            settings = store.run(run_id).settings
        except (DamagemapError, KeyError, LookupError):  # the run is gone: the video's every frame
            settings = {}
    frames = (["--fps", f"{settings['fps']:g}"] if settings.get("fps") else
              ["--every", str(settings["stride"])] if settings.get("stride") else [])
    words = ["damagemap", "analyze", str(video), "--project", str(project), *frames, "--weights", str(weights)]
    return " ".join(shlex.quote(word) for word in words)


def _request(args: argparse.Namespace):  # noqa: ANN202 - services.finetune.FinetuneRequest
    from app.commands import _flags
    from core.errors import InputError
    from services.finetune import FinetuneRequest, shipped_weights

    _flags.at_least("--run", args.run)
    _flags.at_least("--steps", args.steps)
    _flags.positive("--minutes", args.minutes, "of minutes")
    _flags.at_least("--batch-size", args.batch_size)
    _flags.at_least("--threads", args.threads)
    _flags.positive("--lr", args.lr)
    if args.holdout_every < 0 or args.holdout_every == 1:
        raise InputError(f"--holdout-every must be 0 (none held out) or >= 2; got {args.holdout_every!r}")
    if args.resume:
        _refuse_replanning(args)
    if args.replay is not None and not args.replay.is_dir():
        raise InputError(f"{args.replay}: --replay must be an ISBDA folder")
    base = None
    if args.weights is not None:
        base = shipped_weights() if args.weights.strip().lower() == "shipped" else Path(args.weights)
        if not base.is_file():
            raise InputError(f"{base}: --weights names no weights file")
    return FinetuneRequest(
        run_id=args.run, steps=args.steps, minutes=args.minutes, replay=args.replay, holdout_every=args.holdout_every,
        device=args.device, seed=args.seed, batch_size=args.batch_size, lr=args.lr, scope=args.scope,
        base_weights=base, resume=args.resume, name=args.model if args.resume else None,
    )


#: what a version's plan fixes, by flag: a resumed fine-tune goes on with the values it
#: was started with (``--steps`` and ``--minutes`` alone apply to it)
_PLANNED = (("--run", "run"), ("--weights", "weights"), ("--replay", "replay"), ("--holdout-every", "holdout_every"),
            ("--scope", "scope"), ("--device", "device"), ("--batch-size", "batch_size"), ("--lr", "lr"), ("--seed", "seed"))


def _refuse_replanning(args: argparse.Namespace) -> None:
    """``--resume`` with an option of the plan: refused, naming it, rather than ignored
    (the fine-tune would go on with the values it was started with)."""
    from core.errors import InputError

    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    given = [flag for flag, name in _PLANNED if getattr(args, name) != defaults.get_default(name)]
    if given:
        raise InputError(f"{', '.join(given)}: --resume goes on with the options the fine-tune was started with "
                         "(its plan.json); only --steps (the steps in all) and --minutes (at most that much more "
                         "time) change it. Leave them out, or fine-tune again for a new version")


def _finetune(args: argparse.Namespace) -> int:
    from services.finetune import plan_finetune
    from services.models import describe_weights
    from services.project import open_project

    request = _request(args)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    with open_project(args.project) as store:
        plan = plan_finetune(store, request)
    tuned = plan.config.card
    if plan.resumed:
        of = f" of {plan.config.steps}" if plan.config.steps < 1_000_000 else ""
        print(f"resuming {plan.version.name} ({plan.version.folder}) from step {plan.start_step}{of}", file=sys.stderr)
    else:
        print(f"{plan.version.name}: fine-tuning {describe_weights(Path(plan.config.base_weights))} on {len(plan.train_frames)} "
              f"reviewed frames of run {plan.run_id} ({tuned.get('positives')} kept, {tuned.get('negatives')} rejected "
              f"detections), {len(plan.heldout_frames)} held out; replay {', '.join(plan.config.replay)}; "
              f"{plan.config.device}", file=sys.stderr)
    from services.finetune import run_plan

    cancel = threading.Event()
    bar = _bar(plan.config, disable=args.quiet, initial=plan.start_step)
    last = None
    steps = run_plan(plan, cancel=cancel)
    try:
        for last in steps:
            bar.n = last.step
            bar.set_postfix_str(_bar_text(last), refresh=False)
            bar.update(0)
    except KeyboardInterrupt as stopped:
        bar.close()
        _interrupted(args, plan, steps, cancel, stopped, last)
        return 130
    bar.close()
    if last is None or last.weights is None:
        print("cancelled; resume with --resume", file=sys.stderr)
        return 1
    summary = last.summary or {}
    print(f"{plan.version.name}: {last.step} steps in {last.elapsed_s:.0f} s (scope {summary.get('scope')}); "
          f"weights {last.weights}")
    print(f"analyse with it:  {_analyse_again(args.project, plan.run_id, last.weights)}")
    print(f"then compare:     damagemap finetune {args.project} --compare {plan.run_id} NEW_RUN")
    print("a fine-tuned model is often more cautious than the one it started from: look at the new run's sites "
          "with a lower score threshold too (0.3) before relying on it (docs/finetune.md)")
    return 0


def _interrupted(args: argparse.Namespace, plan, steps, cancel: threading.Event,  # noqa: ANN001 - FinetunePlan
                 stopped: KeyboardInterrupt, last) -> None:  # noqa: ANN001 - FinetuneProgress | None
    """After Ctrl+C: the checkpoint written at the last whole step, and how to go on.

    Inside a step, the fine-tune wrote it as it stopped (:class:`FinetuneInterrupted`);
    between two steps (the progress bar's turn) it is told to cancel and writes it at
    its next check, as the app's Cancel does."""
    from engine.finetune import CHECKPOINT_NAME

    if last is not None and last.weights is not None:
        print(f"interrupted after the fine-tune finished: weights {last.weights}", file=sys.stderr)
        return
    step = getattr(stopped, "step", None)
    if step is None:
        cancel.set()
        for progress in steps:  # nothing left when the interrupt came before the first step
            step = progress.step
    checkpoint = plan.version.folder / CHECKPOINT_NAME
    again = f"damagemap finetune {args.project} --resume" + (f" --model {plan.version.name}" if args.model else "")
    if step is not None:
        print(f"interrupted at step {step}: checkpoint {checkpoint} written; run '{again}' to continue from it",
              file=sys.stderr)
    elif checkpoint.is_file():
        print(f"interrupted before the first step; run '{again}' to continue from {checkpoint}", file=sys.stderr)
    else:
        print(f"interrupted before the first step: nothing to resume; {plan.version.name} holds no checkpoint "
              "(fine-tune again)", file=sys.stderr)


def _bar(config, *, disable: bool, initial: int = 0):  # noqa: ANN001, ANN202 - FinetuneConfig, tqdm
    """The fine-tune's bar, from ``initial`` (the step a resumed one goes on from). It
    shows the fine-tune's own time left (:func:`services.finetune.time_left_text`), not
    tqdm's: the first steps, slow while each frame's features are computed once, made
    tqdm's rate say 20 minutes where 5 were left."""
    from tqdm import tqdm

    timed = config.time_budget_s is not None and config.steps >= 1_000_000
    shape = "{desc}: {n_fmt} steps [{elapsed}{postfix}]" if timed else \
        "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"
    return tqdm(total=None if timed else config.steps, initial=initial, unit="step", desc="fine-tuning",
                dynamic_ncols=True, disable=disable, file=sys.stderr, bar_format=shape)


def _bar_text(progress) -> str:  # noqa: ANN001 - engine.finetune.FinetuneProgress
    """The bar's words after its count: the time left (and why the first steps are slow), the loss."""
    from services.finetune import time_left_text

    loss = progress.losses.get("loss")
    return time_left_text(progress) + ("" if loss is None else f"; loss {loss:.3f}")


def _compare(args: argparse.Namespace, store) -> int:  # noqa: ANN001 - ProjectStore
    import json

    from services.finetune import compare_runs

    comparison = compare_runs(store, args.compare[0], args.compare[1], sites=not args.no_sites)
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2, default=str))
    else:
        print(comparison.table())
    first, second = (set(store.analysed_frames(run)) for run in args.compare)
    if first != second:  # counts of detections and sites then compare unlike things
        print(f"note: the runs analysed other frames ({len(first)} and {len(second)}, {len(first & second)} in "
              "both): their counts are not like for like; analyse at the same rate (--fps, --every) to compare",
              file=sys.stderr)
    return 0


def _list(args: argparse.Namespace, store) -> int:  # noqa: ANN001 - ProjectStore
    import json

    from services.models import describe_weights, list_models, run_weights

    versions = []
    for version in list_models(args.project):
        tuned = version.card().get("fine_tuned_on", {}) if version.finished else {}
        versions.append({"name": version.name, "finished": version.finished,
                         "weights": str(version.weights) if version.finished else None,
                         "run_id": tuned.get("run_id"), "train_frames": len(tuned.get("train_frames", [])),
                         "heldout_frames": len(tuned.get("heldout_frames", [])),
                         **({} if version.finished else _unfinished(version.folder))})
    runs = [{"run": r.id, "model": describe_weights(run_weights(store, r.id)), "frames": r.frames_done,
             "finished": r.finished} for r in store.runs()]
    if args.json:
        print(json.dumps({"models": versions, "runs": runs}, indent=2))
        return 0
    print("models:" if versions else "models: none yet (damagemap finetune PROJECT)")
    for v in versions:
        if v["finished"]:
            state = f"from run {v['run_id']}, {v['train_frames']} frames trained, {v['heldout_frames']} held out"
        elif v["step"] is not None:
            of = f" of {v['steps']}" if v["steps"] else ""
            state = f"unfinished at step {v['step']}{of} (--resume)"
        elif v["checkpoint"] is not None:
            state = "unfinished; its checkpoint cannot be read (fine-tune again)"
        else:
            state = "unfinished, stopped before its first checkpoint: cannot be resumed (fine-tune again)"
        print(f"  {v['name']}: {state}  {v['weights'] or v['checkpoint'] or v['folder']}")
    print("runs:")
    for r in runs:
        print(f"  run {r['run']}: {r['model']}, {r['frames']} frames{'' if r['finished'] else ' (incomplete)'}")
    return 0


def _unfinished(folder: Path) -> dict:
    """What ``--list`` says of an unfinished version: its checkpoint and the step it
    holds (``None`` both when it stopped before writing one: nothing to resume), and
    the steps planned (``None`` under a time limit)."""
    import json

    from engine.checkpoint import checkpoint_step
    from engine.finetune import CHECKPOINT_NAME
    from services.finetune import PLAN_NAME

    checkpoint = folder / CHECKPOINT_NAME
    try:
        steps = int(json.loads((folder / PLAN_NAME).read_text(encoding="utf-8"))["config"]["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        steps = None
    return {"folder": str(folder), "checkpoint": str(checkpoint) if checkpoint.is_file() else None,
            "step": checkpoint_step(checkpoint) if checkpoint.is_file() else None,
            "steps": steps if steps is not None and steps < 1_000_000 else None}


def _export(args: argparse.Namespace) -> int:
    from services.models import export_model, find_model

    version = find_model(args.project, args.model)
    if not args.export.suffix:  # "--export improved" as the help says: improved.safetensors
        args.export = args.export.with_name(args.export.name + ".safetensors")
    if args.export.suffix == ".safetensors":  # made as predict --out and train --out are; export_model refuses others
        args.export.parent.mkdir(parents=True, exist_ok=True)
    target = export_model(version.weights, args.export)
    print(f"{version.name} -> {target} (+ {target.with_suffix('.json').name}); "
          f"use it with: damagemap analyze VIDEO --project P --weights {target}")
    return 0
