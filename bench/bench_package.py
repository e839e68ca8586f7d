"""A relief package exported cold, this checkout against another git revision, runs taking turns.

``damagemap export PROJECT --package`` (the footprints and the basemap the project keeps)
in a fresh process: the map built, each site's pictures cut from the video, the footprints
graded and the basemap read (``services.package.product_layers``), then the GeoPackage,
the HTML map, the print map (PNG, and the PDF with the site atlas), the KMZ, the README and
the zip. This script exports the other revision (``git archive``, no git state changed)
into a temporary folder, exports the same project's package in each tree in turn
(``_revisions.py``), each run a fresh process on a copy of the project, and prints a
table: the median wall seconds of the whole process, the command and its steps, the
same in the process's CPU seconds (on a shared machine the wall clock waits for other
processes too), and their ratio (this checkout's over the other's). Then it says, file by file, whether
the last package of each tree is the same: the same bytes, the same pixels (a PNG) or the
same files inside (the zip, whose members keep the files' times). Every run is made at
the same production time, which the map and the README print.

Run::

    python bench/bench_package.py --project demo.dmproj --base HEAD~2 [--pairs 5]

(a project whose footprints and basemap are stored: ``damagemap demo --no-gui``, then
``damagemap export demo.dmproj --package --footprints flyover/footprints.geojson
--basemap flyover/nadir.tif`` once.)
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_name  # noqa: E402
from _project_copy import project_copy  # noqa: E402
from _revisions import ROOT, revision_tree, run_in_tree  # noqa: E402

#: run inside a tree (its own packages): one package export timed, as JSON on the last line;
#: argv: the project, the output folder
_ONE_RUN = """
import contextlib, io, json, sys, time
start_process = time.perf_counter()
import geo.export.html, geo.export.package, geo.export.print_map, services.export, services.package
from app.cli import main

# one production time for every run: the map and the README print it
import datetime, types

class _Made(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2026, 1, 1, 12, 0, tzinfo=tz)

services.package.dt = types.SimpleNamespace(**{**vars(datetime), "datetime": _Made})
spent = {}

def timed(module, name, step):
    function = getattr(module, name)
    def call(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[step] = spent.get(step, 0.0) + time.perf_counter() - start
            spent[step + " cpu"] = spent.get(step + " cpu", 0.0) + time.process_time() - cpu
    setattr(module, name, call)

timed(services.export, "_site_pictures", "pictures")
timed(services.package, "product_layers", "footprints+basemap")
timed(geo.export.package, "write_layers", "gpkg")
timed(geo.export.html, "write_html", "html map")
timed(geo.export.print_map, "write_print_map", "print map")
start, cpu = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["export", sys.argv[1], "--to", sys.argv[2], "--package"])
if code:
    raise SystemExit(f"export failed ({code})")
spent["export"] = time.perf_counter() - start
spent["export cpu"] = time.process_time() - cpu
spent["process"] = time.perf_counter() - start_process
spent["process cpu"] = time.process_time()
print(json.dumps(spent))
"""

STEPS = ("process", "export", "pictures", "footprints+basemap", "gpkg", "html map", "print map")


def _sameness(base: Path, this: Path) -> str:
    """Whether two files are the same: "same bytes", "same pixels" (PNGs), else how they differ."""
    if not base.is_file() or not this.is_file():
        return "only in one"
    a, b = base.read_bytes(), this.read_bytes()
    if a == b:
        return "same bytes"
    if base.suffix == ".png":
        import numpy as np
        from PIL import Image

        pa, pb = np.asarray(Image.open(base)), np.asarray(Image.open(this))
        if pa.shape != pb.shape:
            return f"other size {pa.shape} / {pb.shape}"
        differ = int((pa != pb).any(axis=-1).sum())
        return "same pixels" if differ == 0 else f"{differ} pixels differ (at most {int(np.abs(pa.astype(int) - pb).max())})"
    if base.suffix == ".zip":  # the members' time stamps are the files'
        import zipfile

        with zipfile.ZipFile(base) as za, zipfile.ZipFile(this) as zb:
            members = sorted(za.namelist())
            if members == sorted(zb.namelist()) and all(za.read(m) == zb.read(m) for m in members):
                return "same files inside"
    return f"differ ({hashlib.sha256(a).hexdigest()[:8]} / {hashlib.sha256(b).hexdigest()[:8]})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, required=True, help="the project whose package is exported")
    parser.add_argument("--base", required=True, help="git revision to compare this checkout against")
    parser.add_argument("--pairs", type=int, default=5, help="exports in each tree (default: 5)")
    args = parser.parse_args(argv)
    if not args.project.is_file():
        raise SystemExit(f"{args.project}: no such project")
    times: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
    with revision_tree(args.base) as base, project_copy(args.project.resolve(), "package") as copy, \
            tempfile.TemporaryDirectory(prefix="damagemap-package-") as out:
        trees = {"base": base, "this": ROOT}
        for pair in range(args.pairs):
            for name in ("base", "this") if pair % 2 == 0 else ("this", "base"):
                folder = Path(out) / name  # the same folder each run: each package replaces the last
                times[name].append(run_in_tree(trees[name], _ONE_RUN, str(copy), str(folder), what="the package export"))
                print(f"{name} {pair + 1}/{args.pairs}: {times[name][-1]['export']:.2f} s", file=sys.stderr, flush=True)
        print(f"median seconds of {args.pairs} cold relief package exports each ({cpu_name()}; {args.project.name})")
        print(f"{'':<19} {'wall':^28} {'cpu':^28}")
        print(f"{'step':<19} " + f"{args.base:>12} {'this':>8} {'ratio':>6} " * 2)
        for step in STEPS:
            row = f"{step:<19} "
            for key in (step, step + " cpu"):
                base_s = statistics.median(run.get(key, 0.0) for run in times["base"])
                this_s = statistics.median(run.get(key, 0.0) for run in times["this"])
                row += f"{base_s:12.2f} {this_s:8.2f} {this_s / base_s if base_s else float('nan'):6.2f} "
            print(row.rstrip())
        print("the last package of each, file by file:")
        base_files = sorted(p.relative_to(Path(out) / "base") for p in (Path(out) / "base").rglob("*") if p.is_file())
        for relative in base_files:
            print(f"  {relative.name}: {_sameness(Path(out) / 'base' / relative, Path(out) / 'this' / relative)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
