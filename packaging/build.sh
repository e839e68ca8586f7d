#!/usr/bin/env bash
# Build the one-folder desktop bundle with PyInstaller: packaging/build.sh [--venv DIR] [--cuda]
#
#   (no option)  make a build environment in $DAMAGEMAP_BUILD_DIR/venv with the CPU build of
#                torch (from PyTorch's CPU wheel index, TORCH_CPU_INDEX, or from a folder of
#                downloaded wheels, TORCH_CPU_WHEELS) and damagemap[packaging] in it; stops at
#                once, saying so, when that CPU build cannot be found
#   --cuda       the same with PyPI's default torch (CUDA): the bundle runs on NVIDIA GPUs too
#   --venv DIR   build from an existing environment that has damagemap installed, with the
#                torch it has (PyInstaller is installed into it when missing)
#
# DAMAGEMAP_BUILD_DIR (default packaging/build, ignored by git) holds venv/, work/ and
# dist/damagemap/, the bundle. Prints the build time and the bundle's size.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${DAMAGEMAP_BUILD_DIR:-$ROOT/packaging/build}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
PYTHON=${PYTHON:-python3.11}
VENV="" ; VARIANT=cpu
while [ $# -gt 0 ]; do
    case "$1" in
        --venv) VENV=$(cd "$2" && pwd); shift 2 ;;
        --cuda) VARIANT=cuda; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
start=$(date +%s)

if [ -z "$VENV" ]; then
    # torch and torchvision at the versions pyproject.toml pins; for the CPU bundle their
    # exact +cpu builds, found before anything is made (pip must not fall back to another
    # index's CUDA build of the same version), then everything else
    if [ "$VARIANT" = cpu ]; then
        if [ -n "${TORCH_CPU_WHEELS:-}" ]; then
            WHERE=(--wheels "$TORCH_CPU_WHEELS"); FROM=(--find-links "$TORCH_CPU_WHEELS")
        else
            WHERE=(--index "$TORCH_CPU_INDEX"); FROM=(--extra-index-url "$TORCH_CPU_INDEX")
        fi
        TORCH_PINS=$("$PYTHON" "$ROOT/packaging/cpu_torch.py" "$ROOT/pyproject.toml" "${WHERE[@]}") || exit 3
    else
        TORCH_PINS=$("$PYTHON" - "$ROOT/pyproject.toml" <<'PY'
import re, sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
pins = {re.split(r"[=<>!~ ]", d)[0]: d for d in deps}
print(pins["torch"], pins["torchvision"])
PY
)
        FROM=()
    fi
    mkdir -p "$BUILD"
    VENV="$BUILD/venv"
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    read -r -a TORCH_REQS <<< "$TORCH_PINS"
    "$VENV/bin/pip" install "${TORCH_REQS[@]}" ${FROM[@]+"${FROM[@]}"}
    "$VENV/bin/pip" install -e "$ROOT[packaging]"
else
    mkdir -p "$BUILD"
    "$VENV/bin/python" -c "import PyInstaller" 2>/dev/null || "$VENV/bin/pip" install "pyinstaller>=6.10"
fi

cd "$ROOT"
"$VENV/bin/python" -m PyInstaller packaging/damagemap.spec --noconfirm --log-level WARN \
    --distpath "$BUILD/dist" --workpath "$BUILD/work"
end=$(date +%s)

BUNDLE="$BUILD/dist/damagemap"
torch_build=$("$VENV/bin/python" -c "import torch; print(torch.__version__, 'CUDA ' + torch.version.cuda if torch.version.cuda else 'CPU only')")
cuda_mb=$(find "$BUNDLE" \( -path '*/nvidia/*' -o -name 'libtorch_cuda*' -o -name 'libc10_cuda*' \) -type f -printf '%s\n' | awk '{s+=$1} END {printf "%d", s/1048576}')
echo "bundle:     $BUNDLE/damagemap"
echo "torch:      $torch_build"
echo "build time: $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s"
echo "size:       $(du -sm "$BUNDLE" | cut -f1) MB in $(find "$BUNDLE" -type f | wc -l) files (CUDA libraries: $cuda_mb MB)"
