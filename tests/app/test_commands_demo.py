"""``damagemap demo`` run again: reuses the finished analysis (the model is not loaded)
and the maps, and never overwrites maps it did not write."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from core.store import ProjectStore
from tests.app.test_commands_analyze import assets  # noqa: F401 - the module's fixture


def _demo(assets, out):  # noqa: F811
    return ["demo", "--out", str(out), "--seconds", "0.3", "--size", "96x64", "--weights",
            str(assets / "msnet.safetensors"), "--device", "cpu", "--no-gui"]


@pytest.fixture(scope="module")
def demo_out(assets, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("demo") / "damagemap-demo"
    assert main(_demo(assets, out)) == 0
    assert (out / "maps" / "damage_sites.csv").is_file()
    return out


@pytest.fixture
def no_work(monkeypatch):
    from services import analysis, export

    def refuse(*args, **kwargs):
        raise AssertionError("work repeated")

    monkeypatch.setattr(analysis, "load_model", refuse)
    monkeypatch.setattr(export, "export_project", refuse)


def test_running_the_demo_again_repeats_no_work(assets, demo_out, no_work, capsys):  # noqa: F811
    before = {p.name: p.stat().st_mtime_ns for p in (demo_out / "maps").iterdir()}
    assert main(_demo(assets, demo_out)) == 0
    err = capsys.readouterr().err
    assert "reusing run 1" in err and "reusing the maps" in err
    assert {p.name: p.stat().st_mtime_ns for p in (demo_out / "maps").iterdir()} == before


def test_maps_a_user_exported_into_the_demo_folder_are_never_overwritten(assets, demo_out, capsys):  # noqa: F811
    csv = demo_out / "maps" / "damage_sites.csv"
    csv.write_text("my reviewed export\n")  # as `damagemap export demo.dmproj --to damagemap-demo/maps` would
    with ProjectStore.open(demo_out / "demo.dmproj") as store:
        store.set_setting("min_score", 0.4)  # the project changed since the demo's maps
    assert main(_demo(assets, demo_out)) == 0
    assert csv.read_text() == "my reviewed export\n"
    assert (f"{demo_out / 'maps'} holds maps changed since the demo wrote them (damage_sites.csv): left as they "
            "are") in capsys.readouterr().err


def test_a_file_that_is_not_a_map_is_said_to_be_one_the_demo_did_not_write(assets, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "demo"
    assert main(_demo(assets, out)) == 0
    (out / "maps" / "notes.txt").write_text("roofs to check on Monday\n")
    (out / "maps" / "damage_sites.kml").unlink()
    capsys.readouterr()
    assert main(_demo(assets, out)) == 0
    err = capsys.readouterr().err
    assert (f"{out / 'maps'} holds files the demo did not write (notes.txt) and lacks maps the demo wrote "
            "(damage_sites.kml): left as they are; to make the demo's maps: damagemap export") in err
    assert (out / "maps" / "notes.txt").read_text() == "roofs to check on Monday\n"


def test_the_demo_refreshes_its_own_maps_when_the_project_changed(assets, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "demo"
    assert main(_demo(assets, out)) == 0
    with ProjectStore.open(out / "demo.dmproj") as store:
        store.set_setting("min_score", 0.4)
    capsys.readouterr()
    assert main(_demo(assets, out)) == 0
    err = capsys.readouterr().err
    assert "reusing the maps" not in err and "files in" in err


def test_a_folder_the_demo_cannot_write_into_is_one_line_before_any_step(assets, tmp_path, monkeypatch, capsys):  # noqa: F811
    """A read-only folder (a card, a share; as root only the kernel refuses, so the
    refusal is played here): one line naming it, not every step failing in turn."""
    import errno
    import tempfile

    out = tmp_path / "read-only"
    out.mkdir()
    real = tempfile.TemporaryFile

    def refused(*args, dir=None, **kwargs):  # noqa: A002 - tempfile's own name
        if dir is not None and Path(dir) == out:
            raise PermissionError(errno.EPERM, "Operation not permitted", str(out))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    assert main(_demo(assets, out)) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "read-only" in err[0] and "the folder is not writable (Operation not permitted)" in err[0]
    assert not list(out.iterdir())


def test_a_maps_folder_the_demo_never_wrote_names_what_it_holds(tmp_path):
    from app.commands.demo import _not_the_demos

    maps = tmp_path / "maps"
    maps.mkdir()
    for name in ("notes.txt", "a.csv", "b.kml", "c.gpkg"):
        (maps / name).write_text("mine\n")
    assert _not_the_demos(maps, None) == "holds files the demo did not write (a.csv, b.kml, c.gpkg and 1 more)"
