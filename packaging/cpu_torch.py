"""Find the CPU builds of the torch and torchvision that pyproject.toml pins, before
``build.sh`` makes anything.

    python packaging/cpu_torch.py PYPROJECT --index URL     # a PEP 503 index (PyTorch's CPU index)
    python packaging/cpu_torch.py PYPROJECT --wheels DIR    # a folder of downloaded wheels

Prints ``torch==2.14.1+cpu torchvision==0.29.1+cpu`` (the exact CPU builds, so pip can
never fall back to another index's CUDA build) when wheels of both exist for this
Python and this machine. Otherwise prints one line on stderr saying what was looked at,
what was found and what to do, and exits with status 3. Standard library only: it runs
with the Python that will make the build environment.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

NOT_FOUND = 3


def pins(pyproject: Path) -> dict[str, str]:
    """``{"torch": "2.14.1", "torchvision": "0.29.1"}`` from the project's ``==`` pins."""
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    found = {}
    for dep in deps:
        match = re.fullmatch(r"\s*(torch|torchvision)\s*==\s*([0-9][^\s;,+]*)\s*", dep)
        if match:
            found[match.group(1)] = match.group(2)
    missing = {"torch", "torchvision"} - set(found)
    if missing:
        raise SystemExit(f"cpu_torch.py: {pyproject} pins no exact version of {', '.join(sorted(missing))}")
    return found


def fits_here(filename: str, name: str, version: str) -> bool:
    """A wheel of ``name`` ``version``+cpu for this Python (cpXY) on this Linux machine."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    machine = platform.machine()
    pattern = rf"{re.escape(name)}-{re.escape(version)}\+cpu-{tag}-{tag}-\S*linux\S*_{re.escape(machine)}\.whl"
    return re.fullmatch(pattern, filename) is not None


def index_files(index: str, name: str) -> list[str]:
    """The file names a PEP 503 index lists for ``name``; ``OSError`` when unreachable."""
    url = f"{index.rstrip('/')}/{name}/"
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        folder = Path(urllib.request.url2pathname(parsed.path))
        page = (folder / "index.html").read_text(encoding="utf-8") if folder.is_dir() else ""
    else:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - an index the user chose
                page = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise
    hrefs = re.findall(r"""href\s*=\s*["']([^"']+)["']""", page, flags=re.IGNORECASE)
    return [urllib.parse.unquote(href.split("#", 1)[0].rsplit("/", 1)[-1]) for href in hrefs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pyproject", type=Path)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", metavar="URL")
    where.add_argument("--wheels", type=Path, metavar="DIR")
    args = parser.parse_args(argv)

    versions = pins(args.pyproject)
    wanted = " ".join(f"{name}=={version}+cpu" for name, version in versions.items())
    here = (f"Python {sys.version_info.major}.{sys.version_info.minor} on "
            f"{platform.system().lower()}-{platform.machine()}")
    advice = ("give an index that has them (TORCH_CPU_INDEX=URL) or a folder with the two wheels downloaded "
              "elsewhere (TORCH_CPU_WHEELS=DIR), or build the CUDA bundle instead (build.sh --cuda)")
    source = args.index if args.index is not None else str(args.wheels)
    missing = []
    for name, version in versions.items():
        try:
            if args.index is not None:
                files = index_files(args.index, name)
            else:
                files = [p.name for p in args.wheels.iterdir()] if args.wheels.is_dir() else []
        except (OSError, ValueError) as exc:  # no network, no such host, refused, a bad URL
            reason = getattr(exc, "reason", None) or exc
            print(f"build.sh: cannot reach {source} to find the CPU build of torch ({wanted}): {reason}; {advice}",
                  file=sys.stderr)
            return NOT_FOUND
        if not any(fits_here(f, name, version) for f in files):
            others = sorted({m.group(1) for f in files if (m := re.match(rf"{name}-([^-]+)-", f)) and "+cpu" in f})
            seen = f" (CPU builds there: {', '.join(others[-4:])})" if others else ""
            missing.append(f"{name} {version}+cpu{seen}")
    if missing:
        print(f"build.sh: the CPU build of torch is not reachable: {source} has no wheel of "
              f"{' or '.join(missing)} for {here}; {advice}", file=sys.stderr)
        return NOT_FOUND
    print(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
