"""One classifier for what an SQLite or file-system failure on a project means, with one
wording per thing being done (creating, opening, using the project): the store and the
command line say the same thing for the same failure."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from core.errors import classify_storage_failure, storage_failure_message


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (sqlite3.OperationalError("database or disk is full"), "full"),
        (OSError(errno.ENOSPC, "No space left on device", "/media/stick/p.dmproj"), "full"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (PermissionError(errno.EACCES, "Permission denied", "/srv/p.dmproj"), "read-only"),
        (OSError(errno.EROFS, "Read-only file system", "/cdrom/p.dmproj"), "read-only"),
        (sqlite3.OperationalError("database is locked"), "locked"),
        (sqlite3.DatabaseError("file is not a database"), "not-a-database"),
        (sqlite3.DatabaseError("database disk image is malformed"), "damaged"),
        (sqlite3.OperationalError("Could not decode to UTF-8 column 'name' with text 'x'"), "damaged"),
        (sqlite3.OperationalError("disk I/O error"), "unreachable"),
        (sqlite3.OperationalError("unable to open database file"), "unreachable"),
        (sqlite3.OperationalError("no such table: runs"), "damaged"),
        (sqlite3.ProgrammingError("Cannot operate on a closed database."), "other"),
        (OSError(errno.EIO, "Input/output error"), "unreachable"),
    ],
)
def test_each_failure_is_classified(exc, kind):
    assert classify_storage_failure(exc) == kind


@pytest.mark.parametrize("context", ["create", "open", "use"])
@pytest.mark.parametrize(
    "exc",
    [sqlite3.OperationalError("database or disk is full"), sqlite3.OperationalError("database is locked"),
     sqlite3.DatabaseError("database disk image is malformed"), sqlite3.OperationalError("disk I/O error"),
     sqlite3.ProgrammingError("")],
)
def test_every_message_is_one_line_naming_the_project(context, exc):
    message = storage_failure_message(context, exc, where="'site.dmproj'")
    assert "'site.dmproj'" in message and "\n" not in message and "{" not in message
    assert (str(exc) or type(exc).__name__) in message or classify_storage_failure(exc) == "not-a-database"


def test_a_column_that_is_not_utf8_is_named_without_its_damaged_text():
    damaged = sqlite3.OperationalError("Could not decode to UTF-8 column 'model_json' with text '{\"w\": \"" +
                                       "\ufffd" * 140 + "\"}'")
    message = storage_failure_message("use", damaged, where="'p.dmproj'")
    assert message == ("'p.dmproj' is damaged (Could not decode to UTF-8 column 'model_json'); restore a copy of it "
                       "(nothing more is written into it)")


def test_the_wording_says_what_to_do_in_each_context():
    full = sqlite3.OperationalError("database or disk is full")
    assert "run the same command again" in storage_failure_message("use", full, where="'p'")
    assert "free some space" in storage_failure_message("create", full, where="'p'")
    locked = sqlite3.OperationalError("database is locked")
    assert all("in use by another damagemap" in storage_failure_message(c, locked, where="'p'")
               for c in ("open", "use"))
    assert "cannot write the file" in storage_failure_message("use", sqlite3.OperationalError("disk I/O error"),
                                                             where="'p'", verb="write")
    assert "read-only project" in storage_failure_message(
        "open", sqlite3.OperationalError("unable to open database file"), where="'p'", mode="read-only ")


def test_the_command_line_says_what_the_store_says(tmp_path):
    import argparse

    from app.cli import _database_message

    exc = sqlite3.DatabaseError("database disk image is malformed")
    args = argparse.Namespace(project=tmp_path / "site.dmproj")
    assert _database_message(args, exc) == storage_failure_message("use", exc, where=repr(str(args.project)))
    assert "is damaged" in _database_message(args, exc) and "restore a copy" in _database_message(args, exc)


def test_a_disk_i_o_error_on_a_full_disk_is_a_full_disk(tmp_path, monkeypatch):
    """A project on a full disk could not be opened, "disk I/O error" blaming the drive,
    and analyze called it read-only: SQLite could not grow its shared-memory file."""
    import os
    from types import SimpleNamespace

    project = tmp_path / "flight.dmproj"
    error = sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_bavail=3, f_frsize=4096))
    assert classify_storage_failure(error, project) == "full"
    message = storage_failure_message("open", error, where=repr(str(project)), mode="read-only ", path=project)
    assert "the disk is full" in message and "free some space" in message and "read-only" not in message
    monkeypatch.setattr(os, "statvfs", lambda path: SimpleNamespace(f_bavail=10**6, f_frsize=4096))
    assert classify_storage_failure(error, project) == "unreachable"  # room there: the drive, then
    assert classify_storage_failure(error) == "unreachable"  # no file to look at
