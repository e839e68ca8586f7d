"""A relief package that stops part-way (a full disk) leaves no folder that looks like a
package: a new package's folder is removed with what it wrote; over an earlier package
the message says the folder now mixes both and the zip is still the earlier one."""

from __future__ import annotations

import errno

import pytest

from core.errors import ExportError
from geo.export.products import ProductInfo

INFO = ProductInfo(event="Hurricane Test")


def fill_the_disk_at_the_print_map(monkeypatch) -> None:  # noqa: ANN001
    import geo.export.print_map as print_map

    def full(png, pdf, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise ExportError(f"{png}: cannot write: {OSError(errno.ENOSPC, 'No space left on device').strerror}")

    monkeypatch.setattr(print_map, "write_print_map", full)


def test_a_new_package_that_stops_leaves_nothing_of_it(flyover_map, tmp_path, monkeypatch):
    from geo.export.package import write_package

    fill_the_disk_at_the_print_map(monkeypatch)
    damage_map, _ = flyover_map
    with pytest.raises(ExportError, match=r"_map\.png: cannot write: No space left on device; nothing of the package "
                                          r"is left$"):
        write_package(damage_map, tmp_path, info=INFO, popup_pictures=False)
    assert list(tmp_path.iterdir()) == []


def test_a_package_over_an_earlier_one_that_stops_says_the_folder_is_mixed(flyover_map, tmp_path, monkeypatch):
    from geo.export.package import write_package

    damage_map, _ = flyover_map
    earlier = write_package(damage_map, tmp_path, info=INFO, popup_pictures=False)
    zipped = earlier.zip_path.read_bytes()
    fill_the_disk_at_the_print_map(monkeypatch)
    with pytest.raises(ExportError, match=rf"now mixes this export's files with the earlier package's, and "
                                          rf"{earlier.name}\.zip is still the earlier package"):
        write_package(damage_map, tmp_path, info=INFO, popup_pictures=False)
    assert earlier.zip_path.read_bytes() == zipped and (earlier.folder / "README.txt").is_file()
