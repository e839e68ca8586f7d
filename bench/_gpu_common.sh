# Sourced by bench/gpu_run.sh and bench/gpu_train.sh, from the repository root, with OUT,
# LOG (its file name under OUT), PY, TOTAL (seconds), SITE and WORK set: everything
# printed goes to $OUT/$LOG too; the clock (say, left, at_least); the GPU kit's packages
# (bench/gpu_kit.sh) on the path; what the machine is; and render, a flight of
# damagemap synth in the background-safe form both use.
mkdir -p "$OUT" "$WORK"
exec > >(tee "$OUT/$LOG") 2>&1
START=$SECONDS
say() { echo; echo "== $((SECONDS - START)) s: $*"; }
left() { echo $((TOTAL - (SECONDS - START))); }
at_least() { [ "$2" -ge "$1" ] && echo "$2" || echo "$1"; }  # MIN SECONDS: a time limit (timeout 0 means none)

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

render() {  # folder, then damagemap synth's arguments; a folder rendered before is kept
  local folder=$1; shift
  [ -f "$folder/annotations/done" ] && return
  OMP_NUM_THREADS=1 $PY -m app.cli synth "$folder" --no-orthophoto "$@" > "$folder.log" 2>&1 \
    && touch "$folder/annotations/done"
}
