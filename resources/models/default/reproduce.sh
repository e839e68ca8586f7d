#!/usr/bin/env bash
# Rebuilds the shipped default models from nothing: renders the synthetic flyovers,
# trains the detector (MSNet, MobileNetV3-FPN, 146 steps) and its SRN (120 steps), and
# stores both the way they are shipped (--save-compact). See MODEL_CARD.md.
#
#   bash resources/models/default/reproduce.sh OUT_DIR      # about 1 hour on a 2-core CPU
#
# The results land in OUT_DIR/default/ (msnet.safetensors/.json, srn.safetensors/.json).
# Training is seeded, but float results differ between machines and thread counts, so
# expect metrics near, not equal to, the model card's.
set -euo pipefail
out=${1:?usage: reproduce.sh OUT_DIR}
mkdir -p "$out"

for seed in 1 2 3; do
  [ -d "$out/train-seed$seed" ] || damagemap synth "$out/train-seed$seed" --seed "$seed" --split train \
    --seconds 40 --fps 10 --size 640x360 --annotate-every 5
done
[ -d "$out/val-seed101" ] || damagemap synth "$out/val-seed101" --seed 101 --split val \
  --seconds 40 --fps 10 --size 640x360 --annotate-every 5

damagemap train --data "$out/train-seed1" "$out/train-seed2" "$out/train-seed3" \
  --val-data "$out/val-seed101" --val-split val --arch msnet \
  --backbone mobilenet_v3 --heads light --min-size 360 --max-size 640 --no-multiscale \
  --anchor-sizes 16,32,64,128,256 --batch-size 2 --lr 0.02 --warmup-steps 50 --roi-batch 128 \
  --max-steps 146 --eval-every 1000 --workers 0 --threads 1 --seed 0 --save-compact \
  --out "$out/msnet"

for seed in 201 202; do
  [ -d "$out/train$seed" ] || damagemap synth "$out/train$seed" --seed "$seed" --split train \
    --seconds 24 --fps 10 --size 640x360 --annotate-every 1000
done
mkdir -p "$out/default"
cp "$out/msnet/model.safetensors" "$out/default/msnet.safetensors"
cp "$out/msnet/model.json" "$out/default/msnet.json"
damagemap train-srn "$out/train201/flight.mp4" "$out/train202/flight.mp4" \
  --weights "$out/default/msnet.safetensors" --out "$out/default/srn.safetensors" \
  --steps 120 --batch-size 2 --short-side 352 --sample-fps 2.5 --locations 64 \
  --feature-cache-mb 4096 --device cpu --save-compact

echo "default models written to $out/default"
