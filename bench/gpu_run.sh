#!/usr/bin/env bash
# The GPU checks as one call of about 9 minutes, for a machine with a CUDA GPU, PyTorch,
# OpenCV and NumPy, the packs of bench/gpu_kit.sh in .gpu/, and no network:
#
#   1. the CUDA checks, tests/test_cuda.py (the GPU against the CPU: the shipped detector
#      on the real ISBDA frame, a whole analysis with the SRN, mixed-precision training and
#      its resume, SRN training); CHECKS=0 leaves them out (they passed on an H200);
#   2. the pipeline's speed there: first `damagemap evaluate --device cuda` on flight 103
#      (60 frames of 960x540) under cProfile (where the host's time goes: a GPU run that
#      waits on the CPU shows it here), then bench/bench_pipeline.py --srn --device cuda
#      on a 20 s 1280x720 flyover at 2 frames/s, 2 repeats, and in the same repeats with the mirror
#      check (--flip-check), its (3r) row; every timed pass prints as it ends, so a cut
#      run still tells how fast it went;
#   3. the paper's ablation (bench/ablation.py) at the shipped model's budget: Mask R-CNN,
#      co-trained Mask R-CNN and MSNet, 1,350 steps each from the ImageNet initialisation,
#      seeds 1-3, trained on flights 21-28 and scored on flight 103 (docs/ablation.md),
#      nine models at once on the one GPU, each stopped early (and scored where it
#      stopped) when the time runs short; ABLATION=0 leaves it out, and renders only what
#      the speed needs, so that nothing else loads the CPUs while it is measured.
#
# The flights are rendered on the CPUs while step 1 runs. Each step has its own time
# limit, and what a step finished is kept: $OUT gets gpu_run.log (everything printed),
# test_cuda.xml, evaluate.prof (the profile) and ablation.tar.gz (each model's evaluations
# and logs). Environment: OUT (default ./gpu-out), PYTHON (python3), DEVICE (cuda), STEPS
# (1350), SECONDS_TOTAL (540), CHECKS (1), ABLATION (1), SPEED_SECONDS (150: the most step 2 may take),
# SCORE_SECONDS (90: kept for scoring the nine models), FLIGHT_SECONDS (30), BENCH_SECONDS
# (20), SITE (.gpu/site.tar.xz; none: the installed packages), GPU_WORK
# (/tmp/damagemap-gpu). A dry run on a CPU, with the venv:
#   DEVICE=cpu STEPS=4 FLIGHT_SECONDS=2 BENCH_SECONDS=4 SITE=none PYTHON=python bash bench/gpu_run.sh
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
PY=${PYTHON:-python3}
STEPS=${STEPS:-1350}
DEVICE=${DEVICE:-cuda}
TOTAL=${SECONDS_TOTAL:-540}
CHECKS=${CHECKS:-1}
ABLATION=${ABLATION:-1}
SPEED_SECONDS=${SPEED_SECONDS:-150}
SCORE_SECONDS=${SCORE_SECONDS:-90}
FLIGHT_SECONDS=${FLIGHT_SECONDS:-30}
BENCH_SECONDS=${BENCH_SECONDS:-20}
SITE=${SITE:-.gpu/site.tar.xz}
WORK=${GPU_WORK:-/tmp/damagemap-gpu}
LOG=gpu_run.log
source bench/_gpu_common.sh

# damagemap train --init loads the float16 tensors into the float32 model as they are
imagenet=.gpu/mnv2_imagenet_f16.safetensors
[ -f "$imagenet" ] || echo "no $imagenet: step 3 will not run (bench/gpu_kit.sh makes it)"
TRAIN_SEEDS="21 22 23 24 25 26 27 28"
[ "$ABLATION" = 1 ] || TRAIN_SEEDS=""  # nothing rendered beside the speed bench

say "rendering the flights on the CPUs, in the background"
flight=(--seconds "$FLIGHT_SECONDS" --fps 4 --size 960x540 --annotate-every 2)
renders=()
for seed in $TRAIN_SEEDS; do
  render "$WORK/train-s$seed" --seed $seed --split train "${flight[@]}" &
  renders+=($!)
done
render "$WORK/val-s103" --seed 103 --split val "${flight[@]}" &
val_render=$!
render "$WORK/bench" --seed 0 --seconds $BENCH_SECONDS --fps 2 --size 1280x720 --annotate-every 1000 &
bench_render=$!

say "1. CUDA checks"
if [ "$CHECKS" = 1 ]; then
  check_limit=$(( $(left) * 2 / 5 ))
  [ "$ABLATION" = 1 ] || check_limit=$(( $(left) - SPEED_SECONDS ))  # all but the speed's share
  DAMAGEMAP_TEST_DEVICE=${DAMAGEMAP_TEST_DEVICE:-$DEVICE} timeout "$(at_least 10 $check_limit)" \
    $PY -m pytest -v -p no:cacheprovider -n 0 -rs tests/test_cuda.py --junitxml="$OUT/test_cuda.xml"
  echo "CUDA checks exit status: $?"
else
  echo "left out (CHECKS=0)"
fi

say "2. speed: whole pipeline on the $DEVICE"
wait $bench_render $val_render
speed_end=$(( SECONDS - START + SPEED_SECONDS ))
if [ -f "$WORK/bench/annotations/done" ]; then
  # the detector's host work, profiled where it runs in the main thread (damagemap evaluate;
  # the analysis runs it in worker threads, which cProfile does not see)
  if [ -f "$WORK/val-s103/annotations/done" ]; then
    timeout $(( SPEED_SECONDS / 2 )) $PY -m cProfile -o "$OUT/evaluate.prof" -m app.cli evaluate \
      --data "$WORK/val-s103" --device "$DEVICE" --batch-size 4
    echo "profiled evaluation exit status: $?"
    [ -f "$OUT/evaluate.prof" ] && $PY -c "import pstats, sys; pstats.Stats(sys.argv[1]).sort_stats('tottime').print_stats(30)" \
      "$OUT/evaluate.prof" | tail -n 45
  fi
  timeout "$(at_least 10 $(( speed_end - (SECONDS - START) )))" $PY bench/bench_pipeline.py --video "$WORK/bench/flight.mp4" --fps 2 --srn \
    --device "$DEVICE" --repeats 2 --reference '{"flip_check": true}'
  echo "bench exit status: $?"
else
  tail -3 "$WORK/bench.log"
fi

say "3. ablation at $STEPS steps, 3 seeds"
wait "${renders[@]}"
trains=()
for seed in $TRAIN_SEEDS; do
  [ -f "$WORK/train-s$seed/annotations/done" ] && trains+=("$WORK/train-s$seed") || tail -3 "$WORK/train-s$seed.log"
done
if [ "$ABLATION" != 1 ]; then
  echo "left out (ABLATION=0)"
elif [ $(( $(left) - SCORE_SECONDS )) -lt 60 ]; then
  echo "no time left for the ablation"
elif [ -f "$imagenet" ] && [ -f "$WORK/val-s103/annotations/done" ] && [ ${#trains[@]} -gt 0 ]; then
  echo "training flights: ${#trains[@]}; time left: $(left) s"
  # each model trains until $STEPS or its share of the time, leaving SCORE_SECONDS to score
  # the nine models; a model stopped early is scored where it stopped
  budget=$(( $(left) - SCORE_SECONDS ))
  timeout $(( $(left) - 5 )) $PY bench/ablation.py --train "${trains[@]}" --val "$WORK/val-s103" \
    --init "$imagenet" --steps "$STEPS" --time-budget "$(awk -v s=$budget 'BEGIN {printf "%.2f", s / 60}')" \
    --seeds 1 2 3 --jobs 9 --out "$WORK/ablation"
  echo "ablation exit status: $?"
  tar -C "$WORK" -czf "$OUT/ablation.tar.gz" --exclude='*.safetensors' --exclude='*.pt' ablation
fi

say "done"
