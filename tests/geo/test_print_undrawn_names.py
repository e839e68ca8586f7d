"""The print map never prints empty boxes silently: every name it draws that holds
characters no installed font has (the video's name as its title, a flight's name in its
legend, a file's in the credits) is named in the export's notes and the README, not only
the event and producer typed for the package. Cuneiform stands for such characters: no
font of the print map has it, where this machine may have one for Chinese."""

from __future__ import annotations

import zipfile
from dataclasses import replace

from geo.export.package import write_package
from geo.export.print_map import UNDRAWN_NOTE, print_notes, unprintable
from geo.export.products import ProductInfo
from geo.export.survey_files import write_survey_files
from geo.survey_fusion import FlightMap, fuse_flights

CUNEIFORM = "\U00012000"


def test_a_video_name_the_package_map_cannot_draw_is_named_in_its_notes_and_readme(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    assert unprintable(CUNEIFORM) == CUNEIFORM  # no font here draws it
    titled = replace(damage_map, title=f"{CUNEIFORM} camp.mp4")  # no event: the map is titled by the video
    package = write_package(titled, tmp_path, info=ProductInfo(analyst="A. Analyst"))
    [note] = [n for n in package.notes if n.startswith(UNDRAWN_NOTE)]
    assert f'"{CUNEIFORM} camp.mp4"' in note and "empty boxes" in note
    with zipfile.ZipFile(package.zip_path) as archive:
        readme = archive.read(f"{package.name}/README.txt").decode("utf-8")
    assert f'"{CUNEIFORM} camp.mp4"' in readme.split("Processing notes:")[1]


def test_a_flight_name_the_survey_map_cannot_draw_is_named_once_in_its_notes_and_readme(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    built = fuse_flights([FlightMap(f"{CUNEIFORM} camp", damage_map, "2018-10-12"),
                          FlightMap("wednesday", damage_map, "2018-10-14")])
    title = f"Damage survey: {CUNEIFORM}"
    built.notes.extend(print_notes(title))  # as an earlier export of the same map (the survey window's) left them
    write_survey_files(built, tmp_path, ["print", "readme"], title=title)
    [note] = [n for n in built.notes if n.startswith(UNDRAWN_NOTE)]  # the earlier note's place taken
    assert f'"{CUNEIFORM} camp' in note and f'"{title}"' in note
    readme = (tmp_path / "survey_README.txt").read_text(encoding="utf-8")
    assert note in " ".join(readme.split())
