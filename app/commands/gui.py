"""``damagemap gui [VIDEO_OR_PROJECT_OR_SURVEY]``: open the desktop application.

Before Qt starts, a Linux machine is checked for what Qt's X11 platform needs: a
``DISPLAY`` that answers, and the xcb libraries its ``libqxcb`` plugin links to. Qt
itself aborts the process (a core dump) when either is missing, with a message that
often names the wrong library; here the user gets one line saying what to do.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from core.errors import DamagemapError

# What Qt's xcb platform needs on Debian/Ubuntu (the README's list)
DESKTOP_LIBRARIES = (
    "libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 "
    "libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0"
)


class DisplayError(DamagemapError):
    """The window cannot be opened on this machine (no display, or missing X libraries)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="a drone video (its project is created or reused beside it), a .dmproj project, or a survey "
             "folder (its flights listed to open one by one)",
    )


def run(args: argparse.Namespace) -> int:
    if args.path is not None:  # a wrong file is said in one line, before any window
        from core.errors import InputError
        from core.survey import Survey, survey_folder_of
        from services.project import opens_as_video

        if not args.path.exists():
            raise InputError(f"{str(args.path)!r}: no such file; give a drone video, a .dmproj project or a survey folder")
        survey = survey_folder_of(args.path)
        if survey is not None:
            Survey.open(survey)  # a damaged manifest is said here, not in a box
        else:
            from app.commands._paths import refuse_folder

            refuse_folder(args.path, "a drone video or a .dmproj project")
            opens_as_video(args.path, "cli")
    check_display()
    from app.main_window import launch  # lazy: Qt only when the window is wanted

    return launch(args.path)


def wayland_socket_exists() -> bool:
    """Whether ``WAYLAND_DISPLAY`` names a compositor's socket that is there (the name,
    under ``XDG_RUNTIME_DIR``, or a path): a variable left set with no compositor made Qt
    fall back on X11 and abort."""
    name = os.environ.get("WAYLAND_DISPLAY", "")
    if not name:
        return False
    socket = Path(name) if os.path.isabs(name) else Path(os.environ.get("XDG_RUNTIME_DIR", "")) / name
    return bool(os.environ.get("XDG_RUNTIME_DIR") or os.path.isabs(name)) and socket.exists()


def check_display() -> None:
    """Raise :class:`DisplayError` when Qt's X11 platform would abort here.

    Only Linux with the xcb platform (Qt's default there), or Wayland asked for with no
    Wayland session, is checked; another platform chosen with ``QT_QPA_PLATFORM``
    (offscreen, vnc) or a Wayland session is left to Qt.
    """
    if not sys.platform.startswith("linux"):
        return
    choices = os.environ.get("QT_QPA_PLATFORM", "")
    platform = choices.split(";")[0].split(":")[0].strip()
    if platform.startswith("wayland") and not os.environ.get("WAYLAND_DISPLAY") and ";" not in choices:
        raise DisplayError(
            f"QT_QPA_PLATFORM={choices} asks for Wayland, but there is no Wayland session (WAYLAND_DISPLAY is "
            "not set); unset QT_QPA_PLATFORM to use X11, or run it in a Wayland desktop"
        )
    if platform and platform != "xcb":
        return
    display = os.environ.get("DISPLAY", "")
    if not platform and not display and wayland_socket_exists():
        return
    if not display:
        raise DisplayError(
            "no display to open the window on: DISPLAY is not set (run it on a desktop, "
            "use `xvfb-run damagemap gui`, or use the command-line tools such as `damagemap demo --no-gui`)"
        )
    plugin = next((p for p in xcb_plugin_candidates() if p.is_file()), None)
    problem = xcb_load_problem(plugin) if plugin is not None else None  # no plugin file: let Qt say
    if problem:
        raise DisplayError(
            f"Qt's X11 platform plugin cannot be loaded ({problem}); install the desktop libraries "
            f"(Debian/Ubuntu: sudo apt install {DESKTOP_LIBRARIES})"
        )
    if not x_server_answers(display):
        raise DisplayError(
            f"cannot connect to the X display {display!r}: is the X server running and may this "
            "user use it (xhost, XAUTHORITY)?"
        )


def xcb_plugin_candidates() -> Iterator[Path]:
    """Where Qt looks for ``platforms/libqxcb.so``: ``QT_PLUGIN_PATH``, then its own folder."""
    for folder in os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep):
        if folder:
            yield Path(folder) / "platforms" / "libqxcb.so"
    from PySide6.QtCore import QLibraryInfo  # QtCore only: no platform is started

    yield Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms" / "libqxcb.so"


def xcb_load_problem(plugin: Path) -> str | None:
    """The loader's message when ``plugin`` or a library it links to cannot be loaded.

    Qt loads the same file a moment later, so loading it here changes nothing.
    """
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return str(exc)
    return None


def x_server_answers(display: str) -> bool:
    """Whether an X server accepts a connection on ``display`` (libxcb, as Qt does)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return True  # cannot tell without libxcb: let Qt try
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(os.fsencode(display), None)
    try:
        return bool(connection) and xcb.xcb_connection_has_error(connection) == 0
    finally:
        if connection:
            xcb.xcb_disconnect(connection)
