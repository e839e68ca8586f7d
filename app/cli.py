"""The ``damagemap`` command line: one client of the pipeline (the GUI is the other).

Each subcommand lives in its own module under ``app.commands`` and provides
``add_arguments(parser)`` and ``run(args) -> int``. Modules import heavy packages
(torch, Qt, geopandas) inside ``run`` so ``damagemap --help`` stays fast and headless.
A :class:`core.errors.DamagemapError` becomes one line on stderr and exit status 2,
never a traceback; so do the failures of the machine rather than of damagemap (a full
disk, a damaged, locked or read-only project file, an output path that cannot be
written: any ``OSError`` that names its file). Output piped into a reader that
stops early (``damagemap info P --json | head``) ends quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence

from app.commands._resume import run_again, with_resume_hint
from core.errors import DamagemapError, storage_failure_message

#: subcommand -> (module under app.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "generate a flyover, analyse it with the default model, export and show it"),
    "synth": ("synth", "render a synthetic drone flyover with ground truth"),
    "telemetry": ("telemetry", "summarise a telemetry file (GPX, DJI SRT, CSV flight log, MISB KLV, or the GPS "
                               "inside a GoPro or Insta360 video)"),
    "analyze": ("analyze", "run MSNet over a video into a project (several videos, or a folder: a survey)"),
    "survey": ("survey", "many flights, one map: create a survey, add and analyse flights, review, export"),
    "info": ("info", "show what a project holds"),
    "review": ("review", "list a project's damage sites as the window's Sites list does; accept, reject or relabel "
                         "them; undo and redo"),
    "export": ("export", "export a project's damage map (GeoJSON, GeoPackage, KML, KMZ, CSV, HTML), a relief "
                         "package, or training data"),
    "train": ("train", "train MSNet or a baseline on ISBDA-format data"),
    "evaluate": ("evaluate", "evaluate weights or a COCO results file with the paper's protocol"),
    "predict": ("predict", "draw damage predictions on images"),
    "train-srn": ("train_srn", "train the Score Refinement Network on videos, no labels needed"),
    "finetune": ("finetune", "fine-tune the project's detector on its reviewed frames; compare runs"),
    "gui": ("gui", "open the desktop application"),
}


#: The long jobs a scheduler or a shutdown may stop with SIGTERM. The window's commands
#: (gui, demo) are left out: Qt's event loop runs no Python until an event comes, so a
#: handler there would hold a ``kill`` back.
STOPPED_BY_SIGTERM_AS_BY_CTRL_C = frozenset({"analyze", "survey", "train", "train-srn", "finetune", "evaluate",
                                             "predict", "export"})

#: What an interrupted command leaves, where "interrupted" alone would let the user take a
#: part for the whole.
_INTERRUPTED_LEAVES = {
    "export": "each file written is whole, but not every file asked for was written: export again",
    "train-srn": "nothing was saved (train-srn keeps no checkpoint): run it again, with fewer --steps for a "
                 "shorter run",
}


@contextlib.contextmanager
def _sigterm_as_ctrl_c(command: str) -> Iterator[list[int]]:
    """Handle a SIGTERM (``kill``, a batch scheduler's time limit, ``systemctl stop``) as a
    Ctrl+C: a training run writes its checkpoint at the last whole step, an analysis keeps
    the frames it stored, and each says how to go on. Yields the signals received, so the
    exit status can say which stopped it (143 for SIGTERM, as a shell reports it).

    Only in the main thread, and only where nothing else has taken SIGTERM.

    A second Ctrl+C (or SIGTERM) while the first is being handled is said and let pass:
    raised in the middle of the cleanup (the analysis storing its last frames, its
    reader's threads joined), it aborted the process ("terminate called without an active
    exception"). Ctrl+\\ still quits at once."""
    received: list[int] = []
    if command not in STOPPED_BY_SIGTERM_AS_BY_CTRL_C or threading.current_thread() is not threading.main_thread():
        yield received
        return
    # each taken only where nothing else has it (a test runner's worker may have)
    take_term = signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    take_int = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    stopping: list[bool] = []

    def interrupt(number: int, frame: object) -> None:
        if stopping:
            if len(stopping) == 1:
                print(f"damagemap {command}: stopping; what is done is being kept (Ctrl+\\ quits at once)",
                      file=sys.stderr)
            stopping.append(True)
            return
        stopping.append(True)
        if number == signal.SIGTERM:
            received.append(number)
        raise KeyboardInterrupt

    previous_term = signal.signal(signal.SIGTERM, interrupt) if take_term else None
    previous_int = signal.signal(signal.SIGINT, interrupt) if take_int else None
    try:
        yield received
    finally:
        if take_term:
            signal.signal(signal.SIGTERM, previous_term)
        if take_int:
            signal.signal(signal.SIGINT, previous_int)


def _load(module_name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"app.commands.{module_name}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("damagemap")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(version unknown: not installed)"


def _quiet_stdout() -> None:
    """Send what is left of stdout to /dev/null: its reader has gone (Python's documented
    recipe, so that the flush at exit does not print a BrokenPipeError)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a replaced stdout without a file descriptor
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process


def _where(args: argparse.Namespace) -> str:
    project = getattr(args, "project", None)
    return f"{str(project)!r}" if project is not None else "the project"


def _database_message(args: argparse.Namespace, exc: sqlite3.Error) -> str:
    """One line for an SQLite failure that reached the command line: what it means for the
    user (the project store's own wording, :func:`core.errors.storage_failure_message`)."""
    return storage_failure_message("use", exc, where=_where(args))


def _without_worker_traceback(message: str) -> str:
    """A failure raised in a PyTorch DataLoader worker comes back with the worker's whole
    traceback in its message ("Caught InputError in DataLoader worker process 0. Original
    Traceback ..."): its own last line, without the exception's class."""
    if "Original Traceback" not in message:
        return message
    last = [line for line in message.splitlines() if line.strip()][-1].strip()
    head, _, rest = last.partition(": ")
    return rest if rest and head.replace(".", "").replace("_", "").isalnum() else last


def _disk_full_message(args: argparse.Namespace, exc: OSError) -> str:
    target = f"{exc.filename}: " if exc.filename else ""
    return f"{target}cannot write: no space left on device; free some space and {_how_to_go_on(args)}"


def _how_to_go_on(args: argparse.Namespace) -> str:
    """What to run once space is freed: an analysis resumes where it stopped; a training
    run or a fine-tune goes on from its checkpoint with ``--resume``; anything else starts
    again, so it gets no such promise."""
    if args.command == "analyze" or getattr(args, "survey_command", None) in ("analyse", "analyze"):
        return f"{run_again(args)} (an analysis resumes where it stopped)"
    if args.command == "train":
        from app.commands.train import resume_command

        return f"go on from the last checkpoint with: {resume_command(args)}"
    if args.command == "finetune":
        return "go on from the last checkpoint: run the same command again with --resume"
    return run_again(args)


def _file_failure_message(exc: OSError) -> str:
    """One line for an ``OSError`` that names a file (``exc.filename``): the file, what
    could not be done with it, and the system's reason, e.g. ``out: cannot create the
    folder: a file of that name is in the way (File exists)``.

    Such a failure is the machine's or the path's (a read-only card, a name already
    taken by a file), not damagemap's, so it is reported as ``export`` reports an output
    folder it cannot create, instead of as a traceback.
    """
    path = exc.filename
    reason = exc.strerror or str(exc) or type(exc).__name__
    exists = os.path.lexists(path) if isinstance(path, (str, bytes, os.PathLike)) else False
    number = exc.errno
    if number == errno.EEXIST:
        what = "cannot create the folder: a file of that name is in the way"
    elif number == errno.ENOTDIR:
        what = "cannot create or open it: part of the path is a file, not a folder"
    elif number == errno.EISDIR:
        what = "is a folder, not a file"
    elif number == errno.ENOENT:
        what = "cannot open it: it or its folder does not exist"
    elif number == errno.EROFS:
        what = "cannot write there: the file system is read-only; choose a folder you can write to"
    elif number in (errno.EACCES, errno.EPERM):
        what = ("cannot read or write it: permission denied" if exists else
                "cannot create it: its folder cannot be written to; choose a folder you can write to")
    else:
        what = "cannot read or write it"
    return f"{os.fsdecode(path) if isinstance(path, bytes) else path}: {what} ({reason})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="damagemap",
        description="Turn post-disaster drone video into a georeferenced building-damage map.",
    )
    parser.add_argument("--version", action="version", version=f"damagemap {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = _load(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != f"app.commands.{module_name}":
                raise
            continue  # command not built yet
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def _parser_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command parser that ``args`` were parsed by: ``damagemap survey add``'s for
    ``damagemap survey add ...``. An argument none of them knows is its error, with its usage,
    as argparse itself reports it only from the top (``damagemap: error: unrecognized
    arguments``, under ``damagemap COMMAND ...``), which leaves the user to guess which
    command's flags to read."""
    while True:
        chosen = None
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                chosen = action.choices.get(getattr(args, action.dest, None) or "")
        if chosen is None:
            return parser
        parser = chosen


def _print_any_file_name() -> None:
    """Let stdout print file names that are not valid UTF-8 (legal on Linux) as the bytes
    they are, as Python already does under the C locale, instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="surrogateescape")
            except (AttributeError, ValueError, OSError):
                pass


def main(argv: Sequence[str] | None = None) -> int:
    _print_any_file_name()
    parser = build_parser()
    args, unrecognised = parser.parse_known_args(argv)
    if unrecognised:
        _parser_of(parser, args).error(f"unrecognized arguments: {' '.join(unrecognised)}")
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    with _sigterm_as_ctrl_c(args.command) as terminated:
        status = _run(args)
    return 128 + signal.SIGTERM if terminated and status == 130 else status


def _run(args: argparse.Namespace) -> int:
    try:
        status = int(args._run(args) or 0)
    except BrokenPipeError:  # the reader of our output stopped (`| head`): not an error to report
        _quiet_stdout()
        return 128 + 13  # what a shell reports for a program stopped by SIGPIPE
    except DamagemapError as exc:
        print(f"damagemap {args.command}: error: {with_resume_hint(args, _without_worker_traceback(str(exc)))}",
              file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # a full disk, a damaged or locked project: the machine, not a bug
        print(f"damagemap {args.command}: error: {with_resume_hint(args, _database_message(args, exc))}",
              file=sys.stderr)
        return 2
    except OSError as exc:  # the machine's or the path's failure: one line naming the file
        if exc.errno == errno.ENOSPC:
            message = _disk_full_message(args, exc)
        elif exc.filename is not None:
            message = _file_failure_message(exc)
        else:
            raise
        print(f"damagemap {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        leaves = _INTERRUPTED_LEAVES.get(args.command)
        print(f"damagemap {args.command}: interrupted" + (f"; {leaves}" if leaves else ""), file=sys.stderr)
        return 130
    try:
        sys.stdout.flush()  # here, not at exit, so a reader that left early is noticed
    except BrokenPipeError:
        _quiet_stdout()
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
