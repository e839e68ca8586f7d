#!/usr/bin/env bash
# A fifth training stage of the shipped detector on a GPU, in one call of about 9 minutes,
# for a machine with a CUDA GPU, PyTorch, OpenCV and NumPy, the packs of bench/gpu_kit.sh
# in .gpu/, and no network:
#
#   1. the CPUs render 16 new training flights (seeds 41-48 flown 70-120 m up, half of
#      them with more light roofs; seeds 51-58 at the usual 28-70 m) and the held-out
#      flights 103 (28-70 m) and 104 (70-120 m), as the model card's stage 4 and
#      MEASUREMENTS.md ("The tiled look") render them;
#   2. the GPU trains on them from the shipped weights (its close look and test-time
#      settings carried over), the shipped recipe at a lower learning rate: lr 0.003
#      after 30 warm-up steps on a cosine down to 0.0002 over STEPS steps, stopped early
#      if the time runs short;
#   3. the close look is fitted again on the new detector's detections (as reproduce.sh
#      fits it, on the new flights), on the GPU;
#   4. the shipped and the new detector, and the two averaged (python -m
#      engine.weight_average, as the shipped detector was made: the new detector as
#      trained, with the shipped close look), are scored on flights 103 and 104 (the
#      paper's protocol) on the GPU, in one table.
#
# $OUT gets gpu_train.log (everything printed), the new detector (msnet.json, and
# msnet.safetensors in parts under the 16 MiB a file may have to come back: cat
# msnet.safetensors.part-* > msnet.safetensors), its log.jsonl, and the evaluations
# (evaluations.tar.gz). It is a candidate, not a
# release: before shipping, measure it here as the model card does (sites on unseen
# flights, the real frames), measure its int8 ranges again (python -m engine.msnet.int8)
# and give it the shipped msnet.json's "footage" heights, widened to the 28-120 m it saw.
# Environment: OUT (./gpu-out), PYTHON (python3), DEVICE (cuda), STEPS (1500),
# SECONDS_TOTAL (540), SCORE_SECONDS (130: kept for scoring), REFIT_SECONDS (90: kept for
# the close look), FLIGHT_SECONDS (30),
# WORKERS (6: data loader processes), SITE (.gpu/site.tar.xz; none: the installed
# packages), GPU_WORK (/tmp/damagemap-gpu-train). A dry run on a CPU, with the venv:
#   DEVICE=cpu STEPS=4 FLIGHT_SECONDS=2 WORKERS=0 SITE=none PYTHON=python bash bench/gpu_train.sh
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
PY=${PYTHON:-python3}
STEPS=${STEPS:-1500}
DEVICE=${DEVICE:-cuda}
TOTAL=${SECONDS_TOTAL:-540}
SCORE_SECONDS=${SCORE_SECONDS:-130}
REFIT_SECONDS=${REFIT_SECONDS:-90}
FLIGHT_SECONDS=${FLIGHT_SECONDS:-30}
WORKERS=${WORKERS:-6}
SITE=${SITE:-.gpu/site.tar.xz}
WORK=${GPU_WORK:-/tmp/damagemap-gpu-train}
SHIPPED=resources/models/default/msnet.safetensors
LOG=gpu_train.log
source bench/_gpu_common.sh

say "1. rendering the flights on the CPUs"
flight=(--seconds "$FLIGHT_SECONDS" --fps 4 --size 960x540 --annotate-every 2)
renders=()
for seed in 41 42 43 44 45 46 47 48; do
  roofs=(); [ $((seed % 2)) = 1 ] && roofs=(--light-roofs 0.45)
  render "$WORK/train-s$seed" --seed $seed --split train --altitude 70,120 "${roofs[@]}" "${flight[@]}" &
  renders+=($!)
done
for seed in 51 52 53 54 55 56 57 58; do
  render "$WORK/train-s$seed" --seed $seed --split train "${flight[@]}" &
  renders+=($!)
done
render "$WORK/val-s103" --seed 103 --split val "${flight[@]}" &
renders+=($!)
render "$WORK/val-s104" --seed 104 --split val --altitude 70,120 "${flight[@]}" &
renders+=($!)
wait "${renders[@]}"
trains=()
for seed in 41 42 43 44 45 46 47 48 51 52 53 54 55 56 57 58; do
  [ -f "$WORK/train-s$seed/annotations/done" ] && trains+=("$WORK/train-s$seed") || tail -3 "$WORK/train-s$seed.log"
done
echo "training flights: ${#trains[@]}"

say "2. training $STEPS steps from the shipped weights on the $DEVICE"
if [ ${#trains[@]} -gt 0 ] && [ $(( $(left) - SCORE_SECONDS - REFIT_SECONDS )) -ge 60 ]; then
  budget=$(( $(left) - SCORE_SECONDS - REFIT_SECONDS - 20 ))  # 20 s for loading and saving
  timeout $(( $(left) - SCORE_SECONDS - REFIT_SECONDS + 10 )) $PY -m app.cli train --data "${trains[@]}" --val-split none \
    --arch msnet --backbone mobilenet_v2 --heads light --min-size 360 --max-size 640 --no-multiscale \
    --anchor-sizes 16,32,64,128,256 --init "$SHIPPED" --photometric 0.8 --batch-size 2 --lr 0.003 \
    --lr-after-drop 0.0002 --lr-schedule cosine --schedule-steps "$STEPS" --warmup-steps 30 --roi-batch 128 \
    --max-steps "$STEPS" --checkpoint-every-steps 100 --workers "$WORKERS" --seed 11 --device "$DEVICE" \
    --time-budget "$(awk -v s=$budget 'BEGIN {printf "%.2f", s / 60}')" --save-compact --out "$WORK/stage5" --quiet
  echo "training exit status: $?"
else
  echo "no flights or no time left to train"
fi

say "3. the close look fitted again on the new detector's detections, on the $DEVICE"
# as reproduce.sh fits it (every third annotated frame, crops from the video frame and the
# still), on the new flights; the detector is copied unchanged
candidate=$WORK/stage5/model.safetensors
if [ -f "$candidate" ]; then
  close_look=()
  for folder in "${trains[@]}"; do close_look+=("$folder:train:3"); done
  timeout "$(at_least 5 $(( $(left) - SCORE_SECONDS )))" $PY -m engine.msnet.close_look_fit --weights "$candidate" \
    --data "${close_look[@]}" --frames both --val "$WORK/val-s103:val" --out "$WORK/stage5-fitted/model.safetensors" \
    --device "$DEVICE"
  echo "close look exit status: $?"
  [ -f "$WORK/stage5-fitted/model.safetensors" ] && candidate=$WORK/stage5-fitted/model.safetensors
fi
echo "candidate: $candidate"

say "4. the shipped, the new and the averaged detector on flights 103 and 104"
averaged=$WORK/averaged/model.safetensors
[ -f "$WORK/stage5/model.safetensors" ] && $PY -m engine.weight_average "$SHIPPED" "$WORK/stage5/model.safetensors" \
  --out "$averaged"
for val in val-s103 val-s104; do
  [ -f "$WORK/$val/annotations/done" ] || continue
  timeout "$(at_least 5 $(( $(left) / 3 )))" $PY -m app.cli evaluate --data "$WORK/$val" --split val --weights "$SHIPPED" \
    --device "$DEVICE" --batch-size 4 --json "$WORK/eval-shipped-$val.json"
  [ -f "$candidate" ] && timeout "$(at_least 5 $(( $(left) / 2 )))" $PY -m app.cli evaluate --data "$WORK/$val" \
    --split val --weights "$candidate" --device "$DEVICE" --batch-size 4 \
    --json "$WORK/eval-stage5-$val.json"
  [ -f "$averaged" ] && timeout "$(at_least 5 $(( $(left) - 5 )))" $PY -m app.cli evaluate --data "$WORK/$val" \
    --split val --weights "$averaged" --device "$DEVICE" --batch-size 4 --json "$WORK/eval-averaged-$val.json"
done
if [ -f "$candidate" ]; then
  # a file comes back from a lent machine only under 16 MiB: the weights in 15 MB parts
  # (cat msnet.safetensors.part-* > msnet.safetensors)
  split -b 15000000 "$candidate" "$OUT/msnet.safetensors.part-"
  cp "${candidate%.safetensors}.json" "$OUT/msnet.json"
  cp "$WORK/stage5/log.jsonl" "$OUT/log.jsonl" 2>/dev/null
  tar -C "$WORK" -czf "$OUT/evaluations.tar.gz" $(cd "$WORK" && ls eval-*.json 2>/dev/null)
fi
$PY - "$WORK" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
print("| held-out | model | mask AP | AP small | box AP |\n|---|---|---|---|---|")
for path in sorted(out.glob("eval-*.json")):
    model, val = path.stem.split("-", 2)[1:]
    m = json.loads(path.read_text())["metrics"]
    print(f"| {val} | {model} | {100 * m['segm']['AP']:.1f} | {100 * m['segm']['APS']:.1f} | {100 * m['bbox']['AP']:.1f} |")
PY
say "done"
