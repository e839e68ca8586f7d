#!/usr/bin/env bash
# Run the built bundle as a responder would: no Python, no venv, a fresh HOME, no network needed.
#
#   packaging/smoke_test.sh [BUNDLE_DIR]     (default: $DAMAGEMAP_BUILD_DIR/dist/damagemap)
#
# 1. `damagemap --version`
# 2. `damagemap demo --no-gui` (renders and analyses the 20-s synthetic flyover, exports the maps;
#    minutes on a small CPU; DEMO_ARGS="--seconds 6" for a shorter flight), then the relief
#    package of its project (GeoPackage, print map as PNG and PDF)
# 3. the window under Xvfb, first with no project (the first-run page), then on the demo
#    project: a screenshot of each is written to SHOTS (default: the work folder).
# Every step runs under `env -i` with HOME in a new temporary folder. Needs Xvfb (Debian: xvfb)
# and python3 (only to turn Xvfb's framebuffer into a PNG).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE=$(cd "${1:-${DAMAGEMAP_BUILD_DIR:-$ROOT/packaging/build}/dist/damagemap}" && pwd)
EXE="$BUNDLE/damagemap"
WORK=$(mktemp -d /tmp/damagemap-smoke.XXXXXX)
SHOTS=${SHOTS:-$WORK}
GUI_WAIT_S=${GUI_WAIT_S:-240}
mkdir -p "$WORK/home" "$SHOTS"
cd "$WORK"
echo "bundle: $EXE"
echo "work:   $WORK"

clean() {  # the bundle with nothing of this shell: no PATH to a venv, no PYTHON*, a new HOME
    env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
}

step() { echo; echo "== $*"; }
seconds() { date +%s; }

step "1/4 damagemap --version"
clean "$EXE" --version

step "2/4 damagemap demo --no-gui ${DEMO_ARGS:-}"
t0=$(seconds)
# shellcheck disable=SC2086
clean "$EXE" demo --no-gui ${DEMO_ARGS:-}
echo "demo: $(( $(seconds) - t0 )) s"
project=$(find "$WORK/damagemap-demo" -name '*.dmproj' | head -1)
maps=$(find "$WORK/damagemap-demo" -name 'damage_sites.geojson' | head -1)
[ -n "$project" ] && [ -n "$maps" ] || { echo "FAIL: the demo left no project or no maps"; exit 1; }
echo "project: $project"
echo "maps:    $(dirname "$maps")"
[ -s "$(dirname "$maps")/damage_map.gpkg" ] && grep -q "Leaflet" "$(dirname "$maps")/damage_map.html" \
    || { echo "FAIL: the demo's GeoPackage or its offline HTML map (Leaflet inlined) is missing"; exit 1; }

step "3/4 damagemap export --package (GeoPackage, print map PNG/PDF, zip) with the demo's footprints"
clean "$EXE" export "$project" --to "$WORK/package" --formats sites --package --event "Smoke test" \
    --footprints "$WORK/damagemap-demo/flyover/footprints.geojson"
find "$WORK/package" -name '*_map.pdf' | grep -q . || { echo "FAIL: no print map PDF in the package"; exit 1; }

step "4/4 the window under Xvfb"
command -v Xvfb >/dev/null || { echo "FAIL: Xvfb not found (Debian/Ubuntu: apt install xvfb)"; exit 1; }
display=:$(( 90 + RANDOM % 100 ))
mkdir -p "$WORK/fb"
Xvfb "$display" -screen 0 1600x1000x24 -fbdir "$WORK/fb" -nolisten tcp &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -e "$WORK/fb/Xvfb_screen0" ] && break; sleep 0.2; done

xwd_to_png() {  # Xvfb's framebuffer (XWD, 32 bits per pixel) to PNG, cropped to the window; prints how many colours it has
    python3 - "$1" "$2" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
h = struct.unpack(">25I", data[:100])
size, width, height, bpp, line, ncolors = h[0], h[4], h[5], h[11], h[12], h[19]
assert bpp == 32, bpp
pixels = data[size + 12 * ncolors:]
rows, colours = [], set()
for y in range(height):
    row = pixels[y * line:y * line + 4 * width]
    rgb = bytearray(3 * width)
    rgb[0::3], rgb[1::3], rgb[2::3] = row[2::4], row[1::4], row[0::4]
    if y % 8 == 0:
        colours.update(bytes(rgb[i:i + 3]) for i in range(0, len(rgb), 24))
    rows.append(bytes(rgb))
# keep the window: trim the empty (black) screen right of and below it
used = [y for y, row in enumerate(rows) if row.strip(b"\0")]
height = used[-1] + 1 if used else height
right = max((len(row.rstrip(b"\0")) for row in rows), default=0)
width = max(1, (right + 2) // 3)
rows = [b"\0" + row[:3 * width] for row in rows[:height]]
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b"")
open(sys.argv[2], "wb").write(png)
print(len(colours))
PY
}

window() {  # window NAME ARGS...: start the bundle's window, wait until it has drawn, screenshot it
    local name=$1; shift
    clean DISPLAY="$display" "$EXE" "$@" > "$WORK/$name.log" 2>&1 &
    local app=$! t0 colours=0 settled=0
    t0=$(seconds)
    while [ $(( $(seconds) - t0 )) -lt "$GUI_WAIT_S" ]; do
        sleep 5
        kill -0 $app 2>/dev/null || { echo "FAIL: the window exited:"; cat "$WORK/$name.log"; exit 1; }
        colours=$(xwd_to_png "$WORK/fb/Xvfb_screen0" "$SHOTS/$name.png")
        if [ "$colours" -gt 50 ]; then settled=$(( settled + 1 )); else settled=0; fi
        [ $settled -ge 3 ] && break  # drawn, and 10 s more for the project and its map to load
    done
    kill $app; wait $app 2>/dev/null || true
    [ $settled -ge 3 ] || { echo "FAIL: nothing drawn after ${GUI_WAIT_S} s"; cat "$WORK/$name.log"; exit 1; }
    echo "$name: drawn after $(( $(seconds) - t0 )) s, screenshot $SHOTS/$name.png"
}

window first_run                # no arguments: the window, as a double-click starts it
window demo_project gui "$project"
echo
echo "smoke test passed"
