"""The paper's comparison (its Table 2) at equal steps over several seeds: damage-only
Mask R-CNN, Mask R-CNN co-trained with building boxes, and MSNet, each trained with
``damagemap train`` from the same initialisation on the same data, then scored with
``damagemap evaluate`` (the paper's protocol) on every held-out set. Prints mean +- sd
over the seeds, and each seed's figure, per model and held-out set.

    python bench/ablation.py --train D/train-s21 D/train-s22 --val D/val-s101 D/val-s103 \\
        --init mnv2_imagenet.safetensors --steps 200 --seeds 1 2 3 --jobs 2 --out runs/ablation
    python bench/ablation.py --val D/val-s101 D/val-s103 --out runs/ablation --table-only

Cells already trained or evaluated in ``--out`` are kept (``ARCH-sSEED/model.safetensors``,
``ARCH-sSEED/eval-VALNAME.json``), so an interrupted run picks up where it stopped.
Training settings are the shipped model's (MobileNetV2-FPN, light heads, short side 360,
cosine schedule from lr 0.01); ``--steps`` sets the budget every model gets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import cpu_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARCHS = ("maskrcnn", "maskrcnn-cotrain", "msnet")
NAMES = {"maskrcnn": "Mask R-CNN, damage only", "maskrcnn-cotrain": "Mask R-CNN + buildings (co-trained)",
         "msnet": "MSNet (HRPN, II, S = 0.1)"}
METRICS = ("AP", "AP25", "AP50", "APS", "APM", "APL")


def train_arguments(args: argparse.Namespace, arch: str, seed: int, out: Path) -> list[str]:
    command = ["train", "--data", *map(str, args.train), "--val-split", "none", "--arch", arch,
               "--backbone", "mobilenet_v2", "--heads", "light", "--min-size", "360", "--max-size", "640",
               "--no-multiscale", "--anchor-sizes", "16,32,64,128,256", "--photometric", "0.8",
               "--batch-size", "2", "--lr", "0.01", "--lr-after-drop", "0.0005", "--lr-schedule", "cosine",
               "--warmup-steps", "20", "--roi-batch", "128", "--max-steps", str(args.steps),
               "--checkpoint-every-steps", "50", "--workers", "0", "--threads", "1", "--seed", str(seed),
               "--out", str(out), "--quiet"]
    if args.init is not None:
        command += ["--init", str(args.init)]
    if args.time_budget is not None:
        command += ["--time-budget", f"{args.time_budget:g}"]
    if (out / "checkpoint.pt").exists():
        command.append("--resume")
    return command


def damagemap(arguments: list[str], log: Path, threads: int | None = None) -> None:
    """Run one ``damagemap`` command, its output appended to ``log``; ``threads`` caps the
    CPU threads it may use, so that models scored at once do not crowd the CPUs."""
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    with log.open("a") as sink:
        subprocess.run([sys.executable, "-m", "app.cli", *arguments], check=True, cwd=ROOT, stdout=sink,
                       stderr=subprocess.STDOUT, env=env)


def run_cell(args: argparse.Namespace, arch: str, seed: int) -> None:
    """Train one model (unless it is there) and evaluate it on every held-out set."""
    cell = args.out / f"{arch}-s{seed}"
    cell.mkdir(parents=True, exist_ok=True)
    log = cell / "bench.log"
    if not (cell / "model.safetensors").exists():
        damagemap(train_arguments(args, arch, seed, cell), log)
    for val in args.val:
        result = cell / f"eval-{val.name}.json"
        if not result.exists():
            damagemap(["evaluate", "--data", str(val), "--split", args.val_split, "--weights",
                       str(cell / "model.safetensors"), "--batch-size", "4", "--json", str(result)], log,
                      threads=max(1, (os.cpu_count() or 1) // max(1, args.jobs)))
    print(f"done {arch} seed {seed}", flush=True)


def run_summaries(out: Path) -> list[dict]:
    """The ``summary`` of every model trained in ``out`` (its ``model.json``)."""
    return [json.loads(path.read_text()).get("summary", {}) for path in out.glob("*-s*/model.json")]


def mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} +- {statistics.stdev(values):.1f}"


def table(out: Path, vals: list[str], archs: list[str], seeds: list[int], kind: str) -> list[str]:
    """Markdown rows: per held-out set and model, mean +- sd of each metric (percent)."""
    lines = ["| held-out | model | seeds | " + " | ".join(METRICS) + " | per seed (AP) |",
             "|---|---|---|" + "---|" * (len(METRICS) + 1)]
    for val in vals:
        for arch in archs:
            scores: dict[str, list[float]] = {m: [] for m in METRICS}
            per_seed = []
            for seed in seeds:
                path = out / f"{arch}-s{seed}" / f"eval-{val}.json"
                if not path.exists():
                    continue
                metrics = json.loads(path.read_text())["metrics"][kind]
                for m in METRICS:
                    if metrics[m] >= 0:
                        scores[m].append(100 * metrics[m])
                per_seed.append(f"{100 * metrics['AP']:.1f}")
            lines.append(f"| {val} | {NAMES[arch]} | {len(per_seed)} | "
                         + " | ".join(mean_sd(scores[m]) for m in METRICS) + f" | {' / '.join(per_seed) or '-'} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", nargs="+", type=Path, default=[], help="ISBDA-format training folders")
    parser.add_argument("--val", nargs="+", type=Path, required=True, help="held-out folders, each scored")
    parser.add_argument("--val-split", default="val")
    parser.add_argument("--init", type=Path, help="initial backbone weights (as damagemap train --init)")
    parser.add_argument("--steps", type=int, default=200, help="training steps for every model (default 200)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--archs", nargs="+", choices=ARCHS, default=list(ARCHS))
    parser.add_argument("--jobs", type=int, default=1, help="models trained at once, one thread each")
    parser.add_argument("--time-budget", type=float, default=None, metavar="MIN",
                        help="minutes each model may train: one stopped early is scored at the step it reached "
                             "(the table lists the steps trained)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--table-only", action="store_true", help="print the table of what --out holds")
    args = parser.parse_args(argv)
    if not args.table_only:
        if not args.train:
            parser.error("--train is needed unless --table-only")
        cells = [(arch, seed) for seed in args.seeds for arch in args.archs]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for future in [pool.submit(run_cell, args, arch, seed) for arch, seed in cells]:
                future.result()
    vals = [v.name for v in args.val]
    summaries = run_summaries(args.out)
    steps = sorted({summary.get("steps", "?") for summary in summaries}, key=str)
    devices = sorted({str(summary["device"]) for summary in summaries if summary.get("device")})
    trained_on = f"trained on {', '.join(devices)}; " if devices else ""
    print(f"\n{len(args.seeds)} seeds, steps trained: {', '.join(map(str, steps)) or 'none yet'}; "
          f"{trained_on}CPU: {cpu_name()}")
    for kind in ("segm", "bbox"):
        print(f"\n{'mask' if kind == 'segm' else 'box'} (percent, mean +- sd over seeds)")
        print("\n".join(table(args.out, vals, args.archs, args.seeds, kind)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
