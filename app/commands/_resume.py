"""How a stopped analysis goes on: the same command again, but without ``--new-run``,
which would leave the stopped run as it is and start another from the first frame."""

from __future__ import annotations

import argparse

#: the hint's words, as every message that gives it spells them
RUN_AGAIN = "run the same command again"


def run_again(args: argparse.Namespace) -> str:
    """The hint for the command ``args`` ran: :data:`RUN_AGAIN`, and ``without --new-run``
    when it was given."""
    return RUN_AGAIN + (" without --new-run" if getattr(args, "new_run", False) else "")


def with_resume_hint(args: argparse.Namespace, message: str) -> str:
    """``message`` (one a failure gave, in :data:`RUN_AGAIN`'s words) as :func:`run_again` says it."""
    return message.replace(RUN_AGAIN, run_again(args))
