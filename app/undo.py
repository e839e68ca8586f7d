"""Review edits and project settings changes on Qt's undo stack.

The review history itself lives in :class:`core.review.ReviewSession` (Anki's pattern:
undo in the core, returning change records); a :class:`ReviewCommand` only mirrors one
entry of it so Edit > Undo, Ctrl+Z and the undo view work as Qt users expect. A
:class:`SettingsCommand` is one change of the project settings (the Georeferencing
dialog's OK) in the same history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtGui import QUndoCommand

from core.review import Changes, ReviewSession


class ReviewCommand(QUndoCommand):
    """One review edit.

    ``redo()`` applies the edit the first time Qt pushes it, then replays the session's
    redo; ``undo()`` asks the session to undo. An edit the session refuses marks the
    command obsolete, so Qt never stacks it, and leaves the exception in ``error``.
    ``on_changes`` receives what each step changed so views redraw only that; ``on_step``
    what an undo (``False``) or a redo (``True``) changed, so views go to it.

    An undo or a redo the project refuses later (a full disk, the project locked by
    another damagemap), or the session refuses (the run's review changed elsewhere since:
    :class:`core.review.ReviewChangedElsewhere`), changes nothing (the session writes a
    step whole or not at all);
    Qt has moved its index by then, so ``on_refused(error, undoing)`` is told, to step the
    stack back (that step replays nothing) and say why, as :class:`SettingsCommand` does.
    """

    def __init__(
        self,
        session: ReviewSession,
        edit: object,
        text: str,
        on_changes: Callable[[Changes], None],
        *,
        restored: bool = False,
        on_step: Callable[[Changes, bool], None] | None = None,
        on_refused: Callable[[Exception, bool], None] | None = None,
    ) -> None:
        super().__init__(text)
        self._session = session
        self._edit = edit
        self._on_changes = on_changes
        self._on_step = on_step  # an undo or a redo (not the edit made): what it changed, and whether a redo
        self._on_refused = on_refused
        #: the last undo or redo was refused: the step taking it back replays nothing
        self._refused = False
        self._applied_once = restored  # a step of a reopened history: the session holds it already
        #: While ``True`` the command mirrors nothing (rebuilding a reopened history).
        self.inert = False
        self.first_changes: Changes | None = None
        self.error: Exception | None = None
        #: the frame the window showed when the edit was made (an undo goes back there;
        #: it is decoded ahead); for a step of a reopened history, found from the
        #: detections its lines changed (:attr:`history_detection_ids`) when first wanted
        self.frame_shown: int | None = None
        #: the detections a step of a reopened history changed, as the project's history
        #: records them (empty for a step made in this session)
        self.history_detection_ids: tuple[int, ...] = ()

    def redo(self) -> None:
        if self.inert:
            return
        if not self._applied_once:
            self._applied_once = True
            try:
                changes = self._session.apply(self._edit)
            except Exception as exc:  # noqa: BLE001 - reported by whoever pushed us
                # Obsolete during push(): Qt drops the command instead of stacking it.
                self.error = exc
                self.setObsolete(True)
                return
            self.first_changes = changes
            self._on_changes(changes)
        else:
            self._step(undoing=False)

    def undo(self) -> None:
        if self.inert:
            return
        self._step(undoing=True)

    def _step(self, *, undoing: bool) -> None:
        if self._refused:  # taking a refused step back: the session is where it was
            self._refused = False
            return
        try:
            changes = self._session.undo() if undoing else self._session.redo()
        except Exception as exc:  # noqa: BLE001 - out of Qt's undo() it would reach no one
            if self._on_refused is None:
                raise
            self._refused = True
            self._on_refused(exc, undoing)
            return
        if changes is not None and self._on_step is not None:
            self._on_step(changes, not undoing)
        if changes is not None:
            self._on_changes(changes)


class ChangedOutside(Exception):
    """A settings step not taken: the project no longer holds what the step left there, as
    another window or the command line (``export --save``) changed those settings since;
    taking the step would overwrite that change. ``names``: the fields changed since."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(f"{', '.join(names)} changed since this step (elsewhere); the step would overwrite that")


class SettingsCommand(QUndoCommand):
    """One change of the project settings, kept as the fields it changed.

    ``redo()`` hands the new values to ``apply`` (the first time when Qt pushes it),
    ``undo()`` the values from before; ``apply`` is the one way the document stores
    settings (:meth:`app.document.ProjectDocument.update_settings`: stored in the
    project, the map rebuilt). Only the fields changed are put back, so a setting changed
    since outside the undo history (the score slider's threshold) stays as it is. A change
    the project refuses (read-only) marks the command obsolete, so Qt never stacks it, and
    leaves the exception in ``error``, as :class:`ReviewCommand` does.

    An undo or a redo the project refuses later (a full disk, the project locked by
    another damagemap or made read-only since) changes nothing; Qt has moved its index by
    then, so ``on_refused(error, undoing)`` is told, to step the stack back (the step
    after a refused undo, or before a refused redo, then stores nothing: the settings
    are where they were) and say why. With ``held`` (the fields' values the project
    holds now), an undo or a redo is refused alike, as :class:`ChangedOutside`, where the
    project no longer holds the values the step left (another window's change since).
    """

    def __init__(self, before: Mapping[str, Any], after: Mapping[str, Any], text: str,
                 apply: Callable[..., object],
                 on_refused: Callable[[Exception, bool], None] | None = None,
                 held: Callable[[], Mapping[str, Any]] | None = None) -> None:
        super().__init__(text)
        self._held = held
        self._before, self._after = dict(before), dict(after)
        self._apply = apply
        self._on_refused = on_refused
        self._applied_once = False
        #: the last undo or redo was refused: the step taking it back stores nothing
        self._refused = False
        self.error: Exception | None = None

    def redo(self) -> None:
        if self._applied_once:
            self._step(self._after, undoing=False)
            return
        self._applied_once = True
        try:
            self._apply(**self._after)
        except Exception as exc:  # noqa: BLE001 - reported by whoever pushed us
            self.error = exc
            self.setObsolete(True)  # during push(): Qt drops the command instead of stacking it

    def undo(self) -> None:
        self._step(self._before, undoing=True)

    def _step(self, values: Mapping[str, Any], *, undoing: bool) -> None:
        if self._refused:  # taking a refused step back: the project holds these values still
            self._refused = False
            return
        try:
            self._check_held(self._after if undoing else self._before)
            self._apply(**values)
        except Exception as exc:  # noqa: BLE001 - out of Qt's undo() it would reach no one
            if self._on_refused is None:
                raise
            self._refused = True
            self._on_refused(exc, undoing)

    def _check_held(self, expected: Mapping[str, Any]) -> None:
        """Raise :class:`ChangedOutside` where the project holds other values than
        ``expected`` for the fields this step changes (those ``held`` gives)."""
        if self._held is None:
            return
        held = self._held()
        changed = [name for name, value in expected.items() if name in held and held[name] != value]
        if changed:
            raise ChangedOutside(changed)
