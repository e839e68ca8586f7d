"""What the window remembers between sessions (QSettings): recent files, folders, choices."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QSettings

ORGANISATION = "damagemap"
APPLICATION = "damagemap"
MAX_RECENT = 8


class AppSettings:
    """Typed access to the few values the GUI keeps in :class:`QSettings`."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings or QSettings(ORGANISATION, APPLICATION)

    def recent_files(self) -> list[Path]:
        value = self._settings.value("recent_files", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        return [Path(p) for p in value or []]

    def add_recent_file(self, path: Path) -> None:
        """``path`` first among the recent files; a video and the project beside it of the
        same name (``flight.mp4``, ``flight.dmproj``: one flight, listed twice) count as one."""
        path = Path(path).resolve()
        same = {path, path.with_suffix(".dmproj")} if path.suffix.lower() != ".dmproj" else {path}
        recent = [p for p in self.recent_files() if p not in same and not (
            path.suffix.lower() == ".dmproj" and p.suffix.lower() != ".dmproj" and p.with_suffix(".dmproj") == path)]
        recent.insert(0, path)
        self._settings.setValue("recent_files", [str(p) for p in recent[:MAX_RECENT]])

    def clear_recent_files(self) -> None:
        self._settings.setValue("recent_files", [])

    def last_directory(self) -> str:
        return str(self._settings.value("last_directory", str(Path.home())))

    def set_last_directory(self, path: Path) -> None:
        self._settings.setValue("last_directory", str(path))

    def reviewer_name(self) -> str:
        """Who reviews on this computer (recorded with every edit); ``""``: the login name."""
        return str(self._settings.value("reviewer/name", "") or "").strip()

    def set_reviewer_name(self, name: str) -> None:
        self._settings.setValue("reviewer/name", name.strip())

    @staticmethod
    def _shown_run_key(project: Path) -> str:
        return "shown_run/" + hashlib.sha1(str(Path(project).resolve()).encode("utf-8", "surrogateescape")).hexdigest()

    def shown_run(self, project: Path) -> tuple[int, int] | None:
        """The run chosen to show in ``project`` (Analysis > Show Run) and the project's
        latest run when it was chosen; ``None`` when none was chosen."""
        value = str(self._settings.value(self._shown_run_key(project), "") or "")
        try:
            run_id, latest = (int(part) for part in value.split(":"))
        except ValueError:
            return None
        return run_id, latest

    def set_shown_run(self, project: Path, run_id: int | None, latest: int | None = None) -> None:
        """Remember the run chosen in ``project`` (``None``: the latest, nothing to remember)."""
        key = self._shown_run_key(project)
        if run_id is None or latest is None:
            self._settings.remove(key)
        else:
            self._settings.setValue(key, f"{run_id}:{latest}")

    def value(self, key: str, default: Any = None) -> Any:
        return self._settings.value(key, default)

    def set_value(self, key: str, value: Any) -> None:
        self._settings.setValue(key, value)

    def bool_value(self, key: str, default: bool) -> bool:
        value = self._settings.value(key, default)
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return bool(value)
