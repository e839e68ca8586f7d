"""``damagemap review PROJECT ...``: a flight's damage sites, reviewed from the command line.

    damagemap review PROJECT [--json]                  the sites as the window's Sites list shows them
    damagemap review PROJECT SITE... accept|reject|slight|severe|debris
                                                       one step deciding every sighting of the sites
    damagemap review PROJECT undo|redo [N]             take the last N steps back, or again

The window and this command are two clients of one review: the sites come from
:func:`services.sites.site_review` (the map every export writes), a decision is the step the
Sites panel's key makes (:func:`services.sites.decision_step`), written by a
:class:`core.review.ReviewSession` into the run's review history, so the window's Undo, a
project opened later and the exports (``reviewed_by``) see it. A window that has the
project open reads the change (``ProjectDocument.check_outside_changes``), as it reads a
``survey decide``'s.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from core.review import ReviewSession
    from core.sites import QueueItem
    from core.store import ProjectStore
    from core.types import DamageLevel, ReviewState
    from services.sites import SiteReview

#: The decisions, as the Sites panel's keys A, X, 1, 2, 3 make them.
DECISIONS = ("accept", "reject", "slight", "severe", "debris")
#: Walking the review history.
STEPS = ("undo", "redo")


@dataclass(frozen=True)
class ReviewRequest:
    """What the words after the project ask for: ``action`` ``"list"``, a decision
    (``DECISIONS``) on ``sites``, or ``"undo"``/``"redo"`` of ``count`` steps."""

    action: str
    sites: tuple[int, ...] = ()
    count: int = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.usage = ("%(prog)s [-h] [--run N] [--reviewer NAME] [--json] PROJECT "
                    "[SITE... accept|reject|slight|severe|debris | undo [N] | redo [N]]")
    parser.add_argument("project", type=Path, help="project file (.dmproj)")
    parser.add_argument(
        "words", nargs="*", metavar="WORDS",
        help="nothing: list the sites; site numbers then accept, reject, slight, severe or debris (the Sites "
             "panel's A, X, 1, 2, 3): one step deciding every sighting of each site, several sites alike; undo or "
             "redo: take the last N steps of the review back, or again (default 1), as Edit > Undo and Redo")
    parser.add_argument("--run", type=int, default=None, metavar="N",
                        help="the run to review (default: the latest, the one the window shows)")
    parser.add_argument("--reviewer", default=None, metavar="NAME",
                        help="recorded with each decision and in the exports' reviewed_by (default: the login name)")
    parser.add_argument("--json", action="store_true", help="list the sites as JSON")


def parse_words(words: list[str]) -> ReviewRequest:
    """The request the words after the project make, or an :class:`InputError` saying
    what was expected."""
    if not words:
        return ReviewRequest("list")
    first, rest = words[0].lower(), words[1:]
    if first in STEPS:
        if len(rest) > 1 or (rest and not _whole_number(rest[0])) or (rest and int(rest[0]) < 1):
            raise InputError(f"{first} takes one count of steps, 1 or more (e.g. '{first} 2'), not "
                             f"{' '.join(rest)!r}")
        return ReviewRequest(first, count=int(rest[0]) if rest else 1)
    decision = words[-1].lower()
    if decision not in DECISIONS:
        raise InputError(f"the last word must be a decision ({', '.join(DECISIONS)}) after the site numbers, or "
                         f"the words be undo or redo; got {words[-1]!r}")
    numbers = words[:-1]
    if not numbers:
        raise InputError(f"{decision}: which sites? give their numbers before it (see 'damagemap review PROJECT')")
    wrong = [n for n in numbers if not _whole_number(n)]
    if wrong:
        raise InputError(f"site numbers are whole numbers (as the Sites list shows them, without '#'); got "
                         f"{', '.join(map(repr, wrong))}")
    return ReviewRequest(decision, sites=tuple(dict.fromkeys(int(n) for n in numbers)))


def _whole_number(word: str) -> bool:
    return word.isascii() and word.isdigit()


def run(args: argparse.Namespace) -> int:
    from core.store import ProjectStore
    from core.text import one_line

    request = parse_words(args.words)
    if args.reviewer is not None and not one_line(args.reviewer):
        raise InputError(f"--reviewer {args.reviewer!r}: no name left once made one line; give a name, or leave "
                         "--reviewer out for the login name")
    if args.json and request.action != "list":
        raise InputError("--json goes with the list (no site numbers, no undo or redo)")
    with ProjectStore.open(args.project) as store:
        if request.action == "list":
            return _list(store, args)
        _refuse_while_analysed_elsewhere(store, args.run)
        if request.action in STEPS:
            return _walk(store, args, request)
        return _decide(store, args, request)


# ----------------------------------------------------------------------- listing


def _list(store: ProjectStore, args: argparse.Namespace) -> int:
    from services.sites import site_review

    review = site_review(store, args.run)
    items = [item for item in review.queue if item.site.site_id in review.listed_at(review.min_score)]
    undo, redo = _session(store, review.run_id, None).step_texts()
    if args.json:
        json.dump(_listing_json(store, review, items, undo, redo), sys.stdout, indent=2)
        print()
    else:
        print(f"{store.path}, run {review.run_id}: {_summary(review, items)}")
        for item in items:
            print(_row(item))
        print(_steps_text(undo, redo))
    for caution in review.damage_map.cautions if review.damage_map is not None else ():
        # the map's: a run not finished (or another damagemap analysing it now), a video replaced, ...
        print(f"note: {caution}", file=sys.stderr)
    return 0


def _summary(review: SiteReview, items: list[QueueItem]) -> str:
    """``28 sites (13 unconfirmed) · 25 to decide · 3 decided · score 0.50``: the Sites
    panel's summary, at the project's score threshold (the slider the exports keep)."""
    unconfirmed = sum(1 for item in items if item.site.site_id in review.unconfirmed)
    decided = sum(1 for item in items if item.site.decided)
    text = f"{len(items)} site{'' if len(items) == 1 else 's'}" + (f" ({unconfirmed} unconfirmed)" if unconfirmed else "")
    return f"{text} · {len(items) - decided} to decide · {decided} decided · score {review.min_score:.2f}"


def _row(item: QueueItem) -> str:
    """The site's row as the Sites list shows it: its line, and its reason (or decision) below."""
    from core.sites import site_line

    site = item.site
    line = site_line(site.site_id, site.level, site.best_score, len(site.sightings), site.frame_count,
                     site.first_time_s, site.last_time_s, best_view_apart=site.best_view_apart)
    return f"{line}\n    {item.reason}"


def _steps_text(undo: list[str], redo: list[str]) -> str:
    """What ``undo`` and ``redo`` would take back or make again, as Edit > Undo names it."""
    text = f"undo: {undo[-1]} ({len(undo)} step{'' if len(undo) == 1 else 's'})" if undo else "nothing to undo"
    return text + (f"; redo: {redo[0]} ({len(redo)} step{'' if len(redo) == 1 else 's'})" if redo else "")


def _listing_json(store: ProjectStore, review: SiteReview, items: list[QueueItem], undo: list[str],
                  redo: list[str]) -> dict[str, Any]:
    sites = []
    for item in items:
        site = item.site
        state = site.state
        sites.append({
            "site": site.site_id,
            "level": site.level.label,
            "best_score": round(site.best_score, 4),
            "confidence": round(site.confidence, 4),
            "sightings": len(site.sightings),
            "frames": site.frame_count,
            "first_s": round(site.first_time_s, 3),
            "last_s": round(site.last_time_s, 3),
            "lon_deg": site.lon_deg,
            "lat_deg": site.lat_deg,
            "decided": site.decided,
            "review": state.value if state is not None else "mixed",
            "unconfirmed": site.site_id in review.unconfirmed,
            "rejected": site.site_id in review.rejected,
            "reason": item.reason,
        })
    return {"project": str(store.path), "run": review.run_id, "score_threshold": review.min_score, "sites": sites,
            "undo": undo, "redo": redo}


# ---------------------------------------------------------------------- deciding


def _decision(word: str) -> ReviewState | DamageLevel:
    from core.types import DamageLevel, ReviewState

    decisions: dict[str, ReviewState | DamageLevel] = {
        "accept": ReviewState.ACCEPTED, "reject": ReviewState.REJECTED, "slight": DamageLevel.SLIGHT,
        "severe": DamageLevel.SEVERE, "debris": DamageLevel.DEBRIS}
    return decisions[word]


def _decide(store: ProjectStore, args: argparse.Namespace, request: ReviewRequest) -> int:
    from core.sites import counted, number_ranges
    from services.sites import decision_step, site_review

    review = site_review(store, args.run)
    missing = [n for n in request.sites if review.site(n) is None]
    if missing:  # none decided when one is wrong
        raise InputError(f"{str(store.path)!r}: run {review.run_id} has no site {', '.join(map(str, missing))} "
                         f"(its sites: {number_ranges(item.site.site_id for item in review.queue) or 'none'}; "
                         "'damagemap review PROJECT' lists them)")
    sites = [site for n in request.sites if (site := review.site(n)) is not None]
    decision = _decision(request.action)
    step = decision_step(sites, decision)
    if step is None:
        said = "accepted" if request.action == "accept" else "rejected" if request.action == "reject" else \
            f"accepted as {request.action.capitalize()}"
        print(f"{_named(request.sites)} {'is' if len(sites) == 1 else 'are'} {said} already: nothing changed")
        return 0
    session = _session(store, review.run_id, args.reviewer)
    session.apply(step)
    done = session.step_texts()[0][-1]
    held = [site.site_id for site in sites if site.holds(decision)]
    print(f"{done}: one step, by {session.author}"
          + (f"; {_named(held)} said so already" if held else "")
          + f"; 'damagemap review {shlex.quote(str(args.project))}{'' if args.run is None else f' --run {args.run}'} "
            "undo' takes it back")
    newly = sum(1 for site in sites if not site.decided)
    print(f"{counted(len(review.queue) - review.decided_count - newly, 'site')} left to decide in run {review.run_id}")
    return 0


def _named(numbers: list[int] | tuple[int, ...]) -> str:
    return f"site #{numbers[0]}" if len(numbers) == 1 else "sites " + ", ".join(f"#{n}" for n in numbers)


# ----------------------------------------------------------------- undo and redo


def _walk(store: ProjectStore, args: argparse.Namespace, request: ReviewRequest) -> int:
    from core.sites import counted
    from services.maps import resolve_run

    run_id = resolve_run(store, args.run)
    session = _session(store, run_id, args.reviewer)
    undo, redo = session.step_texts()
    texts = list(reversed(undo)) if request.action == "undo" else list(redo)
    if not texts:
        raise InputError(f"{str(store.path)!r}: nothing to {request.action} in run {run_id}")
    if request.count > len(texts):
        raise InputError(f"{str(store.path)!r}: run {run_id} has {counted(len(texts), 'step')} to {request.action}, "
                         f"not {request.count}; nothing {'undone' if request.action == 'undo' else 'redone'}")
    take = session.undo if request.action == "undo" else session.redo
    for text in texts[:request.count]:
        take()
        print(f"{'undone' if request.action == 'undo' else 'redone'}: {text}")
    undo, redo = session.step_texts()
    print(_steps_text(undo, redo))
    return 0


# ---------------------------------------------------------------------- shared


def _session(store: ProjectStore, run_id: int, reviewer: str | None) -> ReviewSession:
    """The run's review session with its undo and redo rebuilt from the project's history,
    as the window rebuilds them when it opens the project."""
    from core.review import ReviewSession

    session = ReviewSession(store, run_id, author=reviewer)
    session.restore_history()
    return session


def _refuse_while_analysed_elsewhere(store: ProjectStore, run: int | None) -> None:
    """A run another damagemap stores frames into now changes its sites with each frame: a
    site number read a moment ago may name another place by the time it is decided."""
    from core.errors import StoreError
    from core.store import analysed_elsewhere_message
    from services.maps import resolve_run

    run_id = resolve_run(store, run)
    writer = store.active_writer(run_id)
    if writer is None:
        return
    finished = [other.id for other in store.runs() if other.finished and other.id != run_id]
    raise StoreError(f"{str(store.path)!r}: {analysed_elsewhere_message(run_id, writer)}, then review its sites "
                     "(its site numbers change as frames are stored)"
                     + (f"; --run {finished[-1]} reviews run {finished[-1]}, which is finished" if finished else ""))
