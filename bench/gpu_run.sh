#!/usr/bin/env bash
# The GPU checks as one call of about 9 minutes, for a machine with a CUDA GPU, PyTorch,
# OpenCV and NumPy, the packs of bench/gpu_kit.sh in .gpu/, and no network:
#
#   1. the CUDA checks, tests/test_cuda.py (the GPU against the CPU: the shipped detector
#      on the real ISBDA frame, a whole analysis with the SRN, mixed-precision training and
#      its resume, SRN training);
#   2. the paper's ablation (bench/ablation.py) at the shipped model's budget: Mask R-CNN,
#      co-trained Mask R-CNN and MSNet, 1,350 steps each from the ImageNet initialisation,
#      seeds 1-3, trained on flights 21-28 and scored on flight 103 (docs/ablation.md),
#      nine models at once on the one GPU, each stopped early (and scored where it
#      stopped) if the time runs short;
#   3. the pipeline's speed there: bench/bench_pipeline.py --srn --device cuda on a 60 s
#      1280x720 flyover analysed at 2 frames/s (120 frames; the video is rendered at
#      2 frames/s to save time, so decoding has 120 frames to read instead of 600), and
#      in the same repeats with the mirror check (--flip-check), its (3r) row.
#
# The flights are rendered on the CPUs while step 1 runs. Each step has its own time
# limit, and what a step finished is kept: $OUT gets gpu_run.log (everything printed),
# test_cuda.xml, and ablation.tar.gz (each model's evaluations and logs). Environment:
# OUT (default ./gpu-out), PYTHON (python3), DEVICE (cuda), STEPS (1350), SECONDS_TOTAL
# (540), RESERVE (170: seconds kept for scoring the models and the speed bench),
# FLIGHT_SECONDS (30), BENCH_SECONDS (60), SITE (.gpu/site.tar.xz; none: the installed
# packages), GPU_WORK (/tmp/damagemap-gpu). A dry run on a CPU, with the venv:
#   DEVICE=cpu STEPS=4 FLIGHT_SECONDS=2 BENCH_SECONDS=4 SITE=none PYTHON=python bash bench/gpu_run.sh
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
PY=${PYTHON:-python3}
STEPS=${STEPS:-1350}
DEVICE=${DEVICE:-cuda}
TOTAL=${SECONDS_TOTAL:-540}
RESERVE=${RESERVE:-170}
FLIGHT_SECONDS=${FLIGHT_SECONDS:-30}
BENCH_SECONDS=${BENCH_SECONDS:-60}
SITE=${SITE:-.gpu/site.tar.xz}
WORK=${GPU_WORK:-/tmp/damagemap-gpu}
mkdir -p "$OUT" "$WORK"
exec > >(tee "$OUT/gpu_run.log") 2>&1
START=$SECONDS
say() { echo; echo "== $((SECONDS - START)) s: $*"; }
left() { echo $((TOTAL - (SECONDS - START))); }

export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
if [ -f "$SITE" ]; then
  $PY -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')" "$SITE" "$WORK/site" \
    && export PYTHONPATH=$PWD:$WORK/site
fi
say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
nproc
$PY -c "import torch, torchvision, cv2, numpy, av, pyproj, shapely, pycocotools
print('python', __import__('sys').version.split()[0], '| torch', torch.__version__, '| torchvision', torchvision.__version__,
      '| CUDA', torch.cuda.is_available() and torch.cuda.get_device_name(0))" || { echo "packages missing"; exit 1; }

# damagemap train --init loads the float16 tensors into the float32 model as they are
imagenet=.gpu/mnv2_imagenet_f16.safetensors
[ -f "$imagenet" ] || echo "no $imagenet: step 2 will not run (bench/gpu_kit.sh makes it)"
TRAIN_SEEDS="21 22 23 24 25 26 27 28"

say "rendering the flights on the CPUs, in the background"
render() {  # folder, then damagemap synth's arguments
  local folder=$1; shift
  [ -f "$folder/annotations/done" ] && return
  OMP_NUM_THREADS=1 $PY -m app.cli synth "$folder" --no-orthophoto "$@" > "$folder.log" 2>&1 \
    && touch "$folder/annotations/done"
}
renders=()
for seed in $TRAIN_SEEDS; do
  render "$WORK/train-s$seed" --seed $seed --split train --seconds $FLIGHT_SECONDS --fps 4 --size 960x540 --annotate-every 2 &
  renders+=($!)
done
render "$WORK/val-s103" --seed 103 --split val --seconds $FLIGHT_SECONDS --fps 4 --size 960x540 --annotate-every 2 &
renders+=($!)
render "$WORK/bench" --seed 0 --seconds $BENCH_SECONDS --fps 2 --size 1280x720 --annotate-every 1000 &
bench_render=$!

say "1. CUDA checks"
DAMAGEMAP_TEST_DEVICE=${DAMAGEMAP_TEST_DEVICE:-$DEVICE} timeout $(( $(left) * 2 / 5 )) \
  $PY -m pytest -v -p no:cacheprovider -n 0 -rs tests/test_cuda.py --junitxml="$OUT/test_cuda.xml"
echo "CUDA checks exit status: $?"

say "2. ablation at $STEPS steps, 3 seeds"
wait "${renders[@]}"
trains=()
for seed in $TRAIN_SEEDS; do
  [ -f "$WORK/train-s$seed/annotations/done" ] && trains+=("$WORK/train-s$seed") || tail -3 "$WORK/train-s$seed.log"
done
if [ $(( $(left) - RESERVE )) -lt 60 ]; then
  echo "no time left for the ablation"
elif [ -f "$imagenet" ] && [ -f "$WORK/val-s103/annotations/done" ] && [ ${#trains[@]} -gt 0 ]; then
  echo "training flights: ${#trains[@]}; time left: $(left) s"
  # each model trains until $STEPS or its share of the time, leaving RESERVE seconds to score
  # the nine models and run the speed bench; a model stopped early is scored where it stopped
  budget=$(( $(left) - RESERVE ))
  timeout $(( $(left) - 100 )) $PY bench/ablation.py --train "${trains[@]}" --val "$WORK/val-s103" \
    --init "$imagenet" --steps "$STEPS" --time-budget "$(awk -v s=$budget 'BEGIN {printf "%.2f", s / 60}')" \
    --seeds 1 2 3 --jobs 9 --out "$WORK/ablation"
  echo "ablation exit status: $?"
  tar -C "$WORK" -czf "$OUT/ablation.tar.gz" --exclude='*.safetensors' --exclude='*.pt' ablation
fi

say "3. speed: whole pipeline on the $DEVICE"
wait $bench_render
if [ -f "$WORK/bench/annotations/done" ]; then
  timeout $(( $(left) - 5 )) $PY bench/bench_pipeline.py --video "$WORK/bench/flight.mp4" --fps 2 --srn \
    --device "$DEVICE" --repeats 3 --reference '{"flip_check": true}'
  echo "bench exit status: $?"
else
  tail -3 "$WORK/bench.log"
fi

say "done"
