"""Review edits with undo and redo, saved at once with their history (Anki's pattern).

An edit is a small frozen dataclass (:class:`SetReview`, :class:`Relabel`,
:class:`SetMask`, :class:`AddDetection`, :class:`DeleteDetection`).
:meth:`ReviewSession.apply` writes it to the project store in one transaction together
with a history line (who, when, which fields before and after) and returns
:class:`Changes`, the detections and frames a view must redraw. :meth:`~ReviewSession.undo`
and :meth:`~ReviewSession.redo` walk the session's stack the same way and are recorded
in the history too, so reopening a project finds every edit and how it came about.

A GUI mirrors the session on its own undo stack (``app/undo.py``): a command's first
``redo()`` calls :meth:`~ReviewSession.apply`, later ones :meth:`~ReviewSession.redo`, and
``undo()`` calls :meth:`~ReviewSession.undo`. For the two stacks to stay in step every
successful ``apply`` pushes exactly one entry, even an edit that changes nothing, and a
refused edit (unknown or deleted detection, wrong run) raises before anything is pushed.
Anything else pushed on the GUI's stack (a settings change, a refused edit Qt drops)
drops its redo steps: :meth:`~ReviewSession.discard_redo` drops the session's too, and
records it, so a reopened project offers no Redo the window had dropped.

What a reviewer's edit implies
------------------------------
- :class:`Relabel` and :class:`SetMask` are corrections, so they also mark the detection
  ``accepted`` and a model detection becomes ``Origin.EDITED``.
- :class:`AddDetection` stores the detection as ``Origin.ADDED`` and ``accepted``.
- :class:`DeleteDetection` hides the detection (its row and history stay, so undo gives
  back the same id).

Edits of damage sites
---------------------
- :class:`EditGroup` applies several detection edits as one step: one ``apply``, one
  ``undo``, one ``redo`` (a decision on a whole site is one per sighting, composed;
  :mod:`core.sites` builds them). With a :class:`SiteMark` it also records the decision
  with the site's ground position (``site_decisions``), so a later run can keep it.
- :class:`SiteDecisions` applies several sites' :class:`EditGroup` as one step (a
  reviewer's decision on many selected sites at once), each site's decision recorded.
- :class:`RegroupSite` splits detections off into a site of their own, or merges
  sites (``site_groups``); the map applies the groups after fusion.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union

from core.errors import StoreError
from core.masks import RleMask
from core.store import EditRecord, ProjectStore, current_user
from core.text import one_line
from core.types import BoxXYXY, DamageLevel, Detection, Origin, ReviewState

# ------------------------------------------------------------- detection states

#: The detection fields a review edit can change, in snapshot order.
STATE_FIELDS = (
    "level",
    "score",
    "refined_score",
    "box_xyxy_px",
    "building_box_xyxy_px",
    "mask",
    "origin",
    "review",
    "deleted",
)


def detection_state(detection: Detection, *, deleted: bool = False) -> dict[str, Any]:
    """The editable fields of a detection as a plain dict (Python values)."""
    return {
        "level": detection.level,
        "score": detection.score,
        "refined_score": detection.refined_score,
        "box_xyxy_px": tuple(detection.box_xyxy_px),
        "building_box_xyxy_px": (
            None if detection.building_box_xyxy_px is None else tuple(detection.building_box_xyxy_px)
        ),
        "mask": detection.mask,
        "origin": detection.origin,
        "review": detection.review,
        "deleted": deleted,
    }


def changed_fields(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ between two states, as ``(before, after)`` sub-dicts."""
    keys = [k for k in STATE_FIELDS if k in before or k in after]
    diff = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in diff}, {k: after.get(k) for k in diff}


def encode_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """A (partial) detection state in its JSON form, for the edit history
    (:attr:`core.store.EditRecord.before`/``after``)."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key == "mask":
            out[key] = (
                None
                if value is None
                else {
                    "height_px": value.height_px,
                    "width_px": value.width_px,
                    "counts_zlib_u32le_b64": base64.b64encode(value.to_bytes()).decode("ascii"),
                }
            )
        elif key == "level":
            out[key] = int(value)
        elif key in ("origin", "review"):
            out[key] = value.value
        elif key in ("box_xyxy_px", "building_box_xyxy_px"):
            out[key] = None if value is None else [float(v) for v in value]
        elif key == "deleted":
            out[key] = bool(value)
        else:
            out[key] = value
    return out


def decode_state(encoded: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`encode_state`."""
    out: dict[str, Any] = {}
    for key, value in encoded.items():
        if key == "mask":
            out[key] = (
                None
                if value is None
                else RleMask.from_bytes(
                    base64.b64decode(value["counts_zlib_u32le_b64"]), value["height_px"], value["width_px"]
                )
            )
        elif key == "level":
            out[key] = DamageLevel(int(value))
        elif key == "origin":
            out[key] = Origin(value)
        elif key == "review":
            out[key] = ReviewState(value)
        elif key in ("box_xyxy_px", "building_box_xyxy_px"):
            out[key] = None if value is None else tuple(float(v) for v in value)
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------------- edits


@dataclass(frozen=True, slots=True)
class SetReview:
    """Accept, reject or reset (``PENDING``) one detection."""

    detection_id: int
    state: ReviewState


@dataclass(frozen=True, slots=True)
class Relabel:
    """Give a detection another damage level."""

    detection_id: int
    level: DamageLevel


@dataclass(frozen=True, slots=True)
class SetMask:
    """Replace a detection's mask; ``box_xyxy_px`` ``None`` means the mask's tight box."""

    detection_id: int
    mask: RleMask
    box_xyxy_px: BoxXYXY | None = None


@dataclass(frozen=True, slots=True)
class AddDetection:
    """Add a detection drawn by hand to a run (its ``id`` is ignored)."""

    run_id: int
    detection: Detection


@dataclass(frozen=True, slots=True)
class DeleteDetection:
    detection_id: int


@dataclass(frozen=True, slots=True)
class SiteMark:
    """Where a site decision was made and what it was, kept for later runs."""

    lon_deg: float
    lat_deg: float
    review: ReviewState
    level: DamageLevel | None = None


@dataclass(frozen=True, slots=True)
class EditGroup:
    """Detection edits applied, undone and redone as one step (each keeps its own
    history line). Every edit is checked before any is written; a detection may appear
    in one edit only; :class:`AddDetection` cannot be grouped."""

    edits: tuple[SetReview | Relabel | SetMask | DeleteDetection, ...]
    site: SiteMark | None = None


@dataclass(frozen=True, slots=True)
class SiteDecisions:
    """Several sites decided as one step: one ``apply``, one ``undo``, one ``redo`` for
    a reviewer's decision on many selected sites. Each :class:`EditGroup` keeps its own
    :class:`SiteMark`, so a later run keeps each site's decision; a detection may appear
    in one group only."""

    groups: tuple[EditGroup, ...]
    #: decisions made at the same places in earlier runs, given to this run's sites
    #: (:func:`services.sites.carry_decisions`): the history says so, and the step reads
    #: :func:`carried_text` when the project is opened again
    carried: bool = False


def carried_text(sightings: int) -> str:
    """How the app words the step that keeps earlier runs' decisions."""
    return f"Keep earlier decisions on {sightings} sighting{'' if sightings == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class RegroupSite:
    """Detections that form one damage site of their own: ``kind`` ``"split"`` (chosen
    sightings taken out of a site) or ``"merge"`` (two sites' sightings joined)."""

    run_id: int
    kind: str
    detection_ids: tuple[int, ...]


Edit = Union[SetReview, Relabel, SetMask, AddDetection, DeleteDetection, EditGroup, SiteDecisions, RegroupSite]


@dataclass(frozen=True, slots=True)
class Changes:
    """What an edit, undo or redo touched: the views redraw only these."""

    detection_ids: frozenset[int] = frozenset()
    frame_indices: frozenset[int] = frozenset()

    def __or__(self, other: Changes) -> Changes:
        return Changes(self.detection_ids | other.detection_ids, self.frame_indices | other.frame_indices)

    def __bool__(self) -> bool:
        return bool(self.detection_ids or self.frame_indices)


@dataclass(slots=True)
class _Entry:
    """One step on the session's undo stack."""

    kind: str
    detection_id: int
    frame_index: int
    before: dict[str, Any]
    after: dict[str, Any]
    edit_id: int | None  # None for an edit that changed nothing (nothing was written)

    @property
    def changes(self) -> Changes:
        return Changes(frozenset({self.detection_id}), frozenset({self.frame_index}))


@dataclass(slots=True)
class _GroupEntry:
    """An :class:`EditGroup` or :class:`SiteDecisions` on the undo stack: its parts, and
    its site decision records."""

    parts: list[_Entry]
    decision_ids: tuple[int, ...] = ()
    carried: bool = False

    @property
    def changes(self) -> Changes:
        out = Changes()
        for part in self.parts:
            out = out | part.changes
        return out


@dataclass(slots=True)
class _RegroupEntry:
    """A :class:`RegroupSite` on the undo stack (``edit_id``: its history line)."""

    group_id: int
    changes: Changes
    edit_id: int | None = None
    detection_id: int | None = None


# ----------------------------------------------------------------------- session


class ReviewChangedElsewhere(StoreError):
    """An undo or a redo not taken: the run's review history has lines this session did
    not write nor read (another window, the command line's ``survey decide``), so its
    stack no longer is the project's. Undoing the session's step then put back what it saw
    over that change, or took steps back out of the order they were made, which left a
    history no reopened project could rebuild its Undo from.

    ``detection_ids``: the detections changed elsewhere since; ``overlap``: those of them
    the step refused changes (taking it would overwrite their change)."""

    def __init__(self, detection_ids: frozenset[int], overlap: frozenset[int]) -> None:
        self.detection_ids = detection_ids
        self.overlap = overlap
        named = overlap or detection_ids
        which = ", ".join(f"#{i}" for i in sorted(named)) or "its history"
        super().__init__(f"the review of this run was changed elsewhere since ({'detection ' if named else ''}{which});"
                         " read the project again before taking steps back")


class ReviewSession:
    """Review of one run of a project, with undo and redo.

    Parameters
    ----------
    store
        The open project.
    run_id
        The run whose detections are reviewed.
    author
        Recorded with every edit; the login name by default.
    """

    def __init__(self, store: ProjectStore, run_id: int, *, author: str | None = None) -> None:
        store.run(run_id)  # StoreError if there is no such run
        self.store = store
        self.run_id = run_id
        self.author = author
        self._undo: list[_Entry | _GroupEntry | _RegroupEntry] = []
        self._redo: list[_Entry | _GroupEntry | _RegroupEntry] = []
        #: the newest line of the run's history this session wrote or read
        self._known_line: int | None = store.last_edit_id(run_id)
        #: detections whose history has lines written elsewhere since the session's stack was built
        self._changed_elsewhere: set[int] = set()
        self._elsewhere_seen = False

    @property
    def author(self) -> str:
        """The name recorded with every edit."""
        return self._author

    @author.setter
    def author(self, name: str | None) -> None:
        """``name`` as one line of text (:func:`core.text.one_line`; none left: the login
        name): a name given with a line break, a terminal escape or a right-to-left override
        is recorded as one line (the window's reviewer name, ``survey decide``'s)."""
        self._author = one_line(name or "") or current_user()

    # ------------------------------------------------------------------ editing

    def apply(self, edit: Edit) -> Changes:
        """Apply and save one edit; raises (pushing nothing) if the edit is refused.
        An edit is made on what the project holds now, whatever was changed elsewhere
        (noted: :attr:`changed_elsewhere`). The edit and the ``discard`` line that ends
        the redo chain where it wrote no line of its own are one write: a site decided as
        its sightings already were, its decision stored and that line refused (a full
        disk), was left in force with no step to take it back."""
        self._note_lines_elsewhere()
        entry: _Entry | _GroupEntry | _RegroupEntry
        redo = list(self._redo)
        with _restored_on_failure(self._redo, redo), self._one_step():  # the commit too
            if isinstance(edit, AddDetection):
                entry = self._add(edit)
            elif isinstance(edit, (EditGroup, SiteDecisions)):
                entry = self._group(edit)
            elif isinstance(edit, RegroupSite):
                entry = self._regroup(edit)
            else:
                entry = self._modify(edit)
            if self._redo and _first_line(entry) is None:
                self.discard_redo()  # the edit wrote no history line that ends the redo chain
        self._undo.append(entry)
        self._redo.clear()
        return entry.changes

    def undo(self) -> Changes | None:
        """Take back the last edit; ``None`` when there is nothing to undo."""
        if not self._undo:
            return None
        entry = self._undo[-1]
        with self._one_step():  # the whole step taken back, or none of it
            self._refuse_if_changed_elsewhere(entry)
            self._replay(entry, "undo")
        self._redo.append(self._undo.pop())
        return entry.changes

    def redo(self) -> Changes | None:
        """Replay the last undone edit; ``None`` when there is nothing to redo."""
        if not self._redo:
            return None
        entry = self._redo[-1]
        with self._one_step():  # the whole step again, or none of it
            self._refuse_if_changed_elsewhere(entry)
            self._replay(entry, "redo")
        self._undo.append(self._redo.pop())
        return entry.changes

    @contextlib.contextmanager
    def _one_step(self) -> Iterator[None]:
        """The store's :meth:`~core.store.ProjectStore.one_write`; a step it rolls back
        leaves the session knowing the history as it was (its lines were never stored)."""
        known = self._known_line
        try:
            with self.store.one_write():
                yield
        except BaseException:
            self._known_line = known
            raise

    @property
    def changed_elsewhere(self) -> frozenset[int] | None:
        """The detections changed elsewhere since this session's stack was built, as far as
        it has looked (it looks at each of its steps), or ``None`` when it found no line of
        the run's history written elsewhere; then :meth:`undo` and :meth:`redo` refuse
        (:class:`ReviewChangedElsewhere`) until a session is rebuilt from the project
        (:meth:`restore_history` on a new one)."""
        return frozenset(self._changed_elsewhere) if self._elsewhere_seen else None

    def _note_lines_elsewhere(self) -> None:
        """Note the history lines written since the newest one this session knows (a cheap
        look at the newest line; the lines are read only when there are new ones)."""
        latest = self.store.last_edit_id(self.run_id)
        if latest == self._known_line:
            return
        self._elsewhere_seen = True
        known = -1 if self._known_line is None else self._known_line
        self._changed_elsewhere.update(record.detection_id for record in self.store.edit_history(self.run_id)
                                       if record.id > known and record.action != "discard"
                                       and record.detection_id is not None)
        self._known_line = latest

    def _refuse_if_changed_elsewhere(self, entry: _Entry | _GroupEntry | _RegroupEntry) -> None:
        self._note_lines_elsewhere()
        if self._elsewhere_seen:
            changed = frozenset(self._changed_elsewhere)
            raise ReviewChangedElsewhere(changed, changed & entry.changes.detection_ids)

    def _replay(self, entry: _Entry | _GroupEntry | _RegroupEntry, action: str) -> None:
        if isinstance(entry, _RegroupEntry):
            self.store.set_site_group_active(entry.group_id, action == "redo")
            if entry.edit_id is not None and entry.detection_id is not None:
                self._record(entry.detection_id, _regroup_kind(entry.group_id), action, {}, {},
                             target_edit_id=entry.edit_id)
            return
        if isinstance(entry, _GroupEntry):
            parts = entry.parts if action == "redo" else list(reversed(entry.parts))
            for decision_id in entry.decision_ids:
                self.store.set_site_decision_active(decision_id, action == "redo")
        else:
            parts = [entry]
        for part in parts:
            if action == "undo":
                self._write(part, action, before=part.after, after=part.before)
            else:
                self._write(part, action, before=part.before, after=part.after)

    def discard_redo(self) -> None:
        """Drop the steps :meth:`redo` could replay, and say so in the project's history
        (a ``discard`` line), so a session rebuilt from it (:meth:`restore_history`)
        offers none of them either.

        For a change pushed onto the same undo history that is not a review edit (a
        settings change in the window): the window's Redo no longer offers the steps,
        and a reopened project must not offer them again. A new edit drops them by
        itself: its ``apply`` line ends the redo chain, or, an edit that changed nothing
        having none, a ``discard`` line. Nothing happens when there is nothing to redo; a refused write (a full
        disk, a read-only project) raises and keeps them.
        """
        if not self._redo:
            return
        self._note_lines_elsewhere()
        line = next((found for found in map(_first_line, reversed(self._redo)) if found is not None), None)
        if line is not None:  # steps that changed nothing are not in the history
            edit_id, detection_id = line
            self._record(detection_id, DISCARD_KIND, "discard", {}, {}, target_edit_id=edit_id)
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def _record(
        self,
        detection_id: int | None,
        kind: str,
        action: str,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        *,
        target_edit_id: int | None = None,
        new_detection: Detection | None = None,
    ) -> tuple[int, int]:
        """Write ``after`` to the detection and the history line, encoded, at once."""
        line = self.store.record_edit(
            run_id=self.run_id,
            detection_id=detection_id,
            kind=kind,
            action=action,
            after=after,
            before_json=encode_state(before),
            after_json=encode_state(after),
            author=self.author,
            target_edit_id=target_edit_id,
            new_detection=new_detection,
        )
        self._known_line = line[0]
        return line

    def _write(self, entry: _Entry, action: str, *, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        if entry.edit_id is None:
            return  # the edit changed nothing; neither does taking it back
        self._record(entry.detection_id, entry.kind, action, before, after, target_edit_id=entry.edit_id)

    def _add(self, edit: AddDetection) -> _Entry:
        if edit.run_id != self.run_id:
            raise StoreError(f"AddDetection: this review session is on run {self.run_id}, not run {edit.run_id}")
        detection = dataclasses.replace(edit.detection, origin=Origin.ADDED, review=ReviewState.ACCEPTED, id=None)
        before, after = {"deleted": True}, {"deleted": False}
        edit_id, detection_id = self._record(None, type(edit).__name__, "apply", before, after, new_detection=detection)
        return _Entry(type(edit).__name__, detection_id, detection.frame_index, before, after, edit_id)

    def _modify(self, edit: Edit) -> _Entry:
        entry = self._prepare(edit)
        return self._commit(entry)

    def _prepare(self, edit: Edit) -> _Entry:
        """Check an edit of one detection and work out its change (nothing written)."""
        detection_id = edit.detection_id  # type: ignore[union-attr]
        current = self.store.detection(detection_id)
        if self.store.detection_run_id(detection_id) != self.run_id:
            raise StoreError(f"{type(edit).__name__}: detection {detection_id} is not in run {self.run_id}")
        if self.store.is_deleted(detection_id):
            raise StoreError(f"{type(edit).__name__}: detection {detection_id} was deleted; undo the deletion first")
        old = detection_state(current)
        new = dict(old)
        new.update(_edited_fields(edit, current))
        before, after = changed_fields(old, new)
        return _Entry(type(edit).__name__, detection_id, current.frame_index, before, after, None)

    def _commit(self, entry: _Entry) -> _Entry:
        if entry.after:
            entry.edit_id, _ = self._record(entry.detection_id, entry.kind, "apply", entry.before, entry.after)
        return entry

    def _group(self, edit: EditGroup | SiteDecisions) -> _GroupEntry:
        groups = edit.groups if isinstance(edit, SiteDecisions) else (edit,)
        ids = [e.detection_id for group in groups for e in group.edits]
        if len(set(ids)) != len(ids):
            raise StoreError(f"{type(edit).__name__}: each detection may be edited once per group")
        for sub in (sub for group in groups for sub in group.edits):
            if not isinstance(sub, (SetReview, Relabel, SetMask, DeleteDetection)):
                raise StoreError(f"{type(edit).__name__}: {type(sub).__name__} cannot be grouped")
        prepared = [[self._prepare(sub) for sub in group.edits] for group in groups]  # every edit checked first
        # one transaction: the whole step stored, or none of it (a part, cut by a full disk
        # or a kill, half-decided a site and left a history no step of could be undone)
        with self._one_step():
            decisions = [
                None if group.site is None else self.store.add_site_decision(
                    self.run_id, lon_deg=group.site.lon_deg, lat_deg=group.site.lat_deg, review=group.site.review,
                    level=group.site.level, detection_ids=[e.detection_id for e in group.edits], author=self.author,
                )
                for group in groups
            ]
            # The history lines of a group say so in their kind, with the site decision each
            # belongs to, so the step can be rebuilt when the project is opened again
            # (restore_history).
            written = [(entry, decision) for entries, decision in zip(prepared, decisions) for entry in entries
                       if entry.after]
            carried = isinstance(edit, SiteDecisions) and edit.carried
            for i, (entry, decision) in enumerate(written, start=1):
                entry.kind = _group_kind(entry.kind, i, len(written), decision, carried=carried)
            parts = [self._commit(entry) for entries in prepared for entry in entries]
        return _GroupEntry(parts, tuple(d for d in decisions if d is not None), carried)

    def _regroup(self, edit: RegroupSite) -> _RegroupEntry:
        if edit.run_id != self.run_id:
            raise StoreError(f"RegroupSite: this review session is on run {self.run_id}, not run {edit.run_id}")
        frames = set()
        for detection_id in edit.detection_ids:
            if self.store.detection_run_id(detection_id) != self.run_id:
                raise StoreError(f"RegroupSite: detection {detection_id} is not in run {self.run_id}")
            frames.add(self.store.detection(detection_id).frame_index)
        first = int(edit.detection_ids[0])
        with self._one_step():  # the group and its history line, or neither
            group_id = self.store.add_site_group(self.run_id, edit.kind, edit.detection_ids, author=self.author)
            edit_id, _ = self._record(first, _regroup_kind(group_id), "apply", {}, {})
        return _RegroupEntry(group_id, Changes(frozenset(edit.detection_ids), frozenset(frames)), edit_id, first)

    # ------------------------------------------------------------------ history

    @property
    def undo_steps(self) -> int:
        """How many steps :meth:`undo` can take back."""
        return len(self._undo)

    @property
    def redo_steps(self) -> int:
        """How many steps :meth:`redo` can replay."""
        return len(self._redo)

    def restore_history(self, *, limit: int = 1000) -> tuple[int, int]:
        """Rebuild the undo and redo stacks from the project's review history, as they
        were when the project was last closed (at most the last ``limit`` undo steps).

        Only a fresh session (nothing applied yet) can be restored; a history this
        module cannot read back leaves both stacks empty. Returns ``(undo, redo)`` step
        counts.
        """
        if self._undo or self._redo:
            raise StoreError("restore_history: this review session has edits of its own already")
        records = self.store.edit_history(self.run_id)
        self._known_line = records[-1].id if records else None
        undo_steps, redo_steps = replay_history(records)
        by_id = {r.id: r for r in records}
        frames: dict[int, int] = {}

        def frame_of(detection_id: int) -> int:
            if detection_id not in frames:
                frames[detection_id] = self.store.detection(detection_id).frame_index
            return frames[detection_id]

        def build(step: _Step) -> _Entry | _GroupEntry | _RegroupEntry:
            if step.regroup is not None:
                record = by_id[step.edit_ids[0]]
                group = next((g for g in self.store.site_groups(self.run_id, active_only=False)
                              if g.id == step.regroup), None)
                ids = group.detection_ids if group is not None else (record.detection_id,)
                changes = Changes(frozenset(ids), frozenset(frame_of(i) for i in ids))
                return _RegroupEntry(step.regroup, changes, record.id, record.detection_id)
            parts = []
            for edit_id in step.edit_ids:
                record = by_id[edit_id]
                parts.append(_Entry(record.kind, record.detection_id, frame_of(record.detection_id),
                                    decode_state(record.before), decode_state(record.after), record.id))
            if step.group:
                return _GroupEntry(parts, tuple(step.decisions), step.carried)
            return parts[0]

        try:
            self._undo = [build(step) for step in undo_steps[-limit:]]
            self._redo = [build(step) for step in redo_steps]
        except (StoreError, KeyError, ValueError, TypeError):
            self._undo, self._redo = [], []
        return len(self._undo), len(self._redo)

    def step_detection_ids(self) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
        """The detections each step of the undo and the redo stack changed, as its history
        lines name them, in :meth:`step_texts`' order: for the steps :meth:`restore_history`
        rebuilt (where the window's Undo goes back to)."""
        def ids(entry: _Entry | _GroupEntry | _RegroupEntry) -> tuple[int, ...]:
            if isinstance(entry, _RegroupEntry):
                return () if entry.detection_id is None else (entry.detection_id,)
            if isinstance(entry, _GroupEntry):
                return tuple(dict.fromkeys(part.detection_id for part in entry.parts))
            return (entry.detection_id,)

        return [ids(e) for e in self._undo], [ids(e) for e in reversed(self._redo)]

    def step_texts(self) -> tuple[list[str], list[str]]:
        """What each step of the undo and the redo stack did, oldest first, worded as the
        app words an edit when it is made ("Accept site #7 (14 sightings)"): for the
        steps :meth:`restore_history` rebuilt, whose words were not kept."""
        numbers: dict[int, set[int]] | None = None

        def site_number(ids: Iterable[int]) -> str:
            nonlocal numbers
            if numbers is None:
                numbers = self.store.site_numbers(self.run_id)
            votes = Counter(n for i in ids for n in numbers.get(i, ()))
            return "" if not votes else f" #{max(votes, key=lambda n: (votes[n], -n))}"

        def first_numbers(ids: Iterable[int]) -> Counter[int]:
            """The number each sighting was first placed under (numbers only grow): a
            site's before a split or a merge regrouped it."""
            nonlocal numbers
            if numbers is None:
                numbers = self.store.site_numbers(self.run_id)
            return Counter(min(numbers[i]) for i in ids if numbers.get(i))

        def text(entry: _Entry | _GroupEntry | _RegroupEntry) -> str:
            if isinstance(entry, _RegroupEntry):
                group = next((g for g in self.store.site_groups(self.run_id, active_only=False)
                              if g.id == entry.group_id), None)
                count = len(entry.changes.detection_ids)
                held = first_numbers(entry.changes.detection_ids)
                if group is not None and group.kind == "split":
                    if not held:
                        return f"Split {count} sightings off a site"
                    return f"Split {count} sightings off site #{max(held, key=lambda n: (held[n], -n))}"
                if len(held) < 2:
                    return f"Merge sites ({count} sightings)"
                return "Merge sites " + ", ".join(f"#{n}" for n in sorted(held))
            if isinstance(entry, _GroupEntry):
                return _group_text(entry, site_number)
            return _entry_text(entry)

        return [text(e) for e in self._undo], [text(e) for e in reversed(self._redo)]

    # ---------------------------------------------------------------- progress

    def pending_count(self) -> int:
        """Detections of the run still waiting for a reviewer's decision."""
        return self.store.review_counts(self.run_id)[ReviewState.PENDING]

    def next_unreviewed(self, after_frame: int | None = None, *, wrap: bool = True,
                        min_score: float | None = None) -> Detection | None:
        """The first pending detection on a frame after ``after_frame`` (with
        ``min_score``, scoring at least it).

        With ``wrap`` (the default) the search continues from the first frame, so
        ``None`` means nothing is left to review at all.
        """
        found = self.store.first_pending(self.run_id, after_frame=after_frame, min_score=min_score)
        if found is None and wrap and after_frame is not None:
            found = self.store.first_pending(self.run_id, min_score=min_score)
        return found

    def history(self) -> list[EditRecord]:
        """The run's whole review history, oldest first (changed fields in the form of
        :func:`encode_state`; :func:`decode_state` turns them back into values)."""
        return self.store.edit_history(self.run_id)


# ------------------------------------------------------------ history replay

_GROUP_TAG = re.compile(r"^(?P<kind>\w+)\|group (?P<i>\d+)/(?P<n>\d+)(?: site (?P<site>\d+))?(?P<carried> carried)?$")
_REGROUP_TAG = re.compile(r"^RegroupSite\|(?P<group>\d+)$")


def carried_decision_ids(records: Iterable[EditRecord]) -> set[int]:
    """Ids of the site decision records that a run's history (``records``) shows carried
    to it (from an earlier run, another flight, a survey: :attr:`SiteDecisions.carried`),
    not made by a reviewer in it."""
    found = set()
    for record in records:
        tag = _GROUP_TAG.match(record.kind)
        if tag is not None and tag["carried"] is not None and tag["site"] is not None:
            found.add(int(tag["site"]))
    return found


def _entry_text(entry: _Entry) -> str:
    """One detection's edit, as the app words it."""
    kind, after, name = entry.kind.split("|", 1)[0], entry.after, f"detection #{entry.detection_id}"
    if kind == "AddDetection":
        return "Add outline"
    if kind == "DeleteDetection":
        return f"Delete {name}"
    if kind == "SetMask":
        return f"Reshape {name}"
    if kind == "Relabel" and "level" in after:
        return f"Relabel {name} as {DamageLevel(after['level']).label}"
    review = after.get("review")
    verb = "Accept" if review is ReviewState.ACCEPTED else "Reject" if review is ReviewState.REJECTED else "Reset"
    return f"{verb} {name}"


def _group_text(entry: _GroupEntry, site_number: Callable[[Iterable[int]], str]) -> str:
    """A decision on one site or several (or a group of edits), as the app words it."""
    parts = entry.parts
    if entry.carried:
        return carried_text(len(parts))
    sightings = f"{len(parts)} sighting{'' if len(parts) == 1 else 's'}"
    # a relabel changes the level of the sightings that had another one only: a site of
    # Slight and Severe sightings relabelled Severe has parts with no level change
    levels = {part.after["level"] for part in parts if "level" in part.after}
    reviews = {part.after.get("review") for part in parts}
    level = next(iter(levels)) if len(levels) == 1 else None
    if level is not None:
        verb = f"Relabel {{}} as {DamageLevel(level).label}"
    elif reviews == {ReviewState.ACCEPTED}:
        verb = "Accept {}"
    elif reviews == {ReviewState.REJECTED}:
        verb = "Reject {}"
    else:
        verb = "Decide {}"
    sites = len(entry.decision_ids)
    if sites == 1:
        named = "site" + site_number(part.detection_id for part in parts)
    elif sites > 1:
        named = f"{sites} sites"
    else:
        named = f"{len(parts)} detections"
    return f"{verb.format(named)} ({sightings})"


def _group_kind(kind: str, i: int, n: int, decision_id: int | None, *, carried: bool = False) -> str:
    base = kind.split("|", 1)[0]
    return (f"{base}|group {i}/{n}" + ("" if decision_id is None else f" site {decision_id}")
            + (" carried" if carried else ""))


def _regroup_kind(group_id: int) -> str:
    return f"RegroupSite|{group_id}"


#: The kind of a history line that drops the redo steps (:meth:`ReviewSession.discard_redo`).
DISCARD_KIND = "DiscardRedo"


def _first_line(entry: _Entry | _GroupEntry | _RegroupEntry) -> tuple[int, int] | None:
    """``(edit id, detection id)`` of the first history line of a step (``None``: the
    step changed nothing, so wrote none)."""
    if isinstance(entry, _GroupEntry):
        return next((line for line in map(_first_line, entry.parts) if line is not None), None)
    if entry.edit_id is None or entry.detection_id is None:
        return None
    return entry.edit_id, entry.detection_id


@contextlib.contextmanager
def _restored_on_failure(stack: list[Any], saved: list[Any]) -> Iterator[None]:
    """``stack`` as ``saved`` again when the block raises (a write rolled back keeps the
    steps it would have dropped)."""
    try:
        yield
    except BaseException:
        stack[:] = saved
        raise


@dataclass(slots=True)
class _Step:
    """One undo step as the history tells it: its ``apply`` lines."""

    edit_ids: list[int]
    group: bool = False
    decisions: list[int] = dataclasses.field(default_factory=list)
    regroup: int | None = None
    carried: bool = False


def replay_history(records: list[EditRecord]) -> tuple[list[_Step], list[_Step]]:
    """The undo and redo stacks (oldest first) that a run's history lines leave.

    Every ``apply`` line starts a step (the lines of one :class:`EditGroup` make one,
    their kind says ``|group i/n``) and empties the redo stack; ``undo`` and ``redo``
    lines move the step they name between the stacks; a ``discard`` line empties the
    redo stack (it names the step it dropped first, for a reader). A history that does not add up
    (edited by hand, or written by an older version that did not mark its groups and
    splits) gives two empty stacks rather than a wrong undo.
    """
    undo: list[_Step] = []
    redo: list[_Step] = []
    open_group: _Step | None = None
    expected = 0
    for record in records:
        if record.action == "apply":
            if open_group is not None:
                group_tag = _GROUP_TAG.match(record.kind)
                if group_tag is None or int(group_tag["i"]) != len(open_group.edit_ids) + 1:
                    return [], []
                open_group.edit_ids.append(record.id)
                if group_tag["site"] is not None and int(group_tag["site"]) not in open_group.decisions:
                    open_group.decisions.append(int(group_tag["site"]))
                if len(open_group.edit_ids) == expected:
                    open_group = None
                continue
            redo.clear()
            group_tag = _GROUP_TAG.match(record.kind)
            regroup_tag = _REGROUP_TAG.match(record.kind)
            if group_tag is not None:
                if int(group_tag["i"]) != 1:
                    return [], []
                step = _Step([record.id], group=True,
                             decisions=[] if group_tag["site"] is None else [int(group_tag["site"])],
                             carried=group_tag["carried"] is not None)
                expected = int(group_tag["n"])
                if expected > 1:
                    open_group = step
            elif regroup_tag is not None:
                step = _Step([record.id], regroup=int(regroup_tag["group"]))
            else:
                step = _Step([record.id])
            undo.append(step)
            continue
        if open_group is not None:
            return [], []
        if record.action == "discard":  # whatever is on the redo stack: another program's
            redo.clear()                   # edit may have emptied it since the step it names
            continue
        source, target = (undo, redo) if record.action == "undo" else (redo, undo)
        if source and record.target_edit_id in source[-1].edit_ids:
            target.append(source.pop())
        elif not (target and record.target_edit_id in target[-1].edit_ids):
            return [], []  # a later line of a group step already moved
    if open_group is not None:
        return [], []
    return undo, redo


def _edited_fields(edit: Edit, current: Detection) -> dict[str, Any]:
    corrected_origin = Origin.EDITED if current.origin is Origin.MODEL else current.origin
    if isinstance(edit, SetReview):
        return {"review": ReviewState.parse(edit.state)}
    if isinstance(edit, Relabel):
        return {"level": DamageLevel.parse(edit.level), "origin": corrected_origin, "review": ReviewState.ACCEPTED}
    if isinstance(edit, SetMask):
        if current.mask is not None and (edit.mask.height_px, edit.mask.width_px) != (
            current.mask.height_px,
            current.mask.width_px,
        ):
            raise StoreError(
                f"SetMask: detection {edit.detection_id} has a {current.mask.height_px}x{current.mask.width_px} "
                f"mask; got {edit.mask.height_px}x{edit.mask.width_px}"
            )
        box = edit.box_xyxy_px if edit.box_xyxy_px is not None else edit.mask.bbox_xyxy()
        if box is None:
            raise StoreError(f"SetMask: the new mask of detection {edit.detection_id} is empty; delete it instead")
        x1, y1, x2, y2 = (float(v) for v in box)
        Detection(current.frame_index, current.level, current.score, (x1, y1, x2, y2))  # validates the box
        return {
            "mask": edit.mask,
            "box_xyxy_px": (x1, y1, x2, y2),
            "origin": corrected_origin,
            "review": ReviewState.ACCEPTED,
        }
    if isinstance(edit, DeleteDetection):
        return {"deleted": True}
    raise TypeError(f"ReviewSession.apply: unknown edit {edit!r}")


__all__ = [
    "AddDetection",
    "Changes",
    "DeleteDetection",
    "Edit",
    "EditGroup",
    "RegroupSite",
    "ReviewChangedElsewhere",
    "SiteDecisions",
    "SiteMark",
    "Relabel",
    "ReviewSession",
    "STATE_FIELDS",
    "SetMask",
    "SetReview",
    "carried_decision_ids",
    "changed_fields",
    "decode_state",
    "detection_state",
    "encode_state",
    "replay_history",
]


@dataclass(frozen=True, slots=True)
class ReviewSignature:
    """Who last changed a detection by review, and when (UTC, ISO 8601)."""

    author: str
    utc: str


def review_signatures(history: list[EditRecord]) -> dict[int, ReviewSignature]:
    """The reviewer and time of the latest edit still in effect on each detection.

    An undone edit no longer counts; a redo counts with its own author and time. So the
    signature is always that of the person whose decision the detection now shows. A
    split or merge decides no detection (it regroups sites, logged on one of their
    detections), so it signs none.
    """
    in_effect: dict[int, EditRecord] = {}  # edit id of an applied edit -> the record that put it in effect
    target_detection: dict[int, int] = {}
    for record in sorted(history, key=lambda r: r.id):
        if _REGROUP_TAG.match(record.kind):
            continue
        if record.action == "apply":
            in_effect[record.id] = record
            target_detection[record.id] = record.detection_id
        elif record.target_edit_id is not None:
            if record.action == "undo":
                in_effect.pop(record.target_edit_id, None)
            elif record.action == "redo" and record.target_edit_id in target_detection:
                in_effect[record.target_edit_id] = record
    latest: dict[int, tuple[int, EditRecord]] = {}
    for edit_id, record in in_effect.items():
        detection_id = target_detection[edit_id]
        order = max(edit_id, record.id)
        if detection_id not in latest or order > latest[detection_id][0]:
            latest[detection_id] = (order, record)
    return {d: ReviewSignature(author=r.author, utc=r.created_utc) for d, (_, r) in latest.items()}
