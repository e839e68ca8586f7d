"""The commands on project files that are damaged, read-only or half-created: one line
each, and nothing written into a damaged or read-only file."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

import core.store as store_module
from app.cli import main
from core.store import ProjectStore
from tests.app.test_commands_analyze import _analyze, assets  # noqa: F401 - the module's fixture


def _one_line(capsys, *words):
    err = [line for line in capsys.readouterr().err.strip().splitlines() if line]
    assert len(err) == 1 and "Traceback" not in err[0] and all(w in err[0] for w in words), err
    return err[0]


@pytest.fixture(scope="module")
def analysed(assets, tmp_path_factory):  # noqa: F811
    project = tmp_path_factory.mktemp("analysed") / "site.dmproj"
    assert main(_analyze(assets, project)) == 0
    return project


def test_analyze_never_writes_into_a_damaged_project(assets, analysed, tmp_path, capsys):  # noqa: F811
    project = tmp_path / "damaged.dmproj"
    data = bytearray(analysed.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = bytes(b ^ 0x5A for b in data[middle : middle + 4096])
    project.write_bytes(data)
    capsys.readouterr()
    assert main(_analyze(assets, project, "--new-run")) == 2
    _one_line(capsys, "damaged.dmproj", "is damaged", "restore a copy")
    assert project.read_bytes() == bytes(data)
    assert main(["info", str(project)]) == 2
    _one_line(capsys, "is damaged")


def _read_only(monkeypatch):
    real = os.access
    monkeypatch.setattr(store_module.os, "access", lambda p, mode, **kw: False if mode & os.W_OK else real(p, mode, **kw))


def test_a_read_only_project_can_be_inspected_and_exported_but_not_analysed(assets, analysed, tmp_path,  # noqa: F811
                                                                           monkeypatch, capsys):
    capsys.readouterr()
    _read_only(monkeypatch)
    before = analysed.read_bytes()
    assert main(["info", str(analysed)]) == 0
    out = capsys.readouterr().out
    assert "6 analysed" in out and "(read-only" in out
    assert main(_analyze(assets, analysed, "--new-run")) == 2
    _one_line(capsys, "site.dmproj", "read-only")
    assert analysed.read_bytes() == before


def test_a_half_created_project_is_one_line_with_what_to_do(assets, tmp_path, capsys):  # noqa: F811
    project = tmp_path / "half.dmproj"
    ProjectStore.create(project, video_path=assets / "flight.mp4").close()
    conn = sqlite3.connect(project)
    conn.execute("DELETE FROM meta WHERE key LIKE 'video_path_%'")
    conn.commit()
    conn.close()
    for argv in (["info", str(project)], _analyze(assets, project)):
        assert main(argv) == 2
        _one_line(capsys, "half.dmproj", "records no video", "delete it")


def test_an_empty_project_file_is_named_as_such(assets, tmp_path, capsys):  # noqa: F811
    project = tmp_path / "zero.dmproj"
    project.write_bytes(b"")
    assert main(["info", str(project)]) == 2
    _one_line(capsys, "zero.dmproj", "empty (0 bytes)")
    assert Path(project).stat().st_size == 0
