"""A user's right-to-left text (an Arabic or Hebrew name, event, contact, drone) set in
our sentences keeps its place: isolated (U+2068 ... U+2069; ``<bdi>`` in HTML) in the
KML/KMZ descriptions, the READMEs and the web map, so that "محمد, IFRC" shows its comma
between the names. Latin text is written as before, byte for byte."""

from __future__ import annotations

import dataclasses

from core.review import ReviewSignature
from core.text import isolated, isolated_html
from geo.export.package import contact_lines, kmz_description, readme_text
from geo.export.products import ProductInfo, producer_html
from geo.export.site_summary import site_summary

ARABIC = "محمد"
HEBREW = "מגן דוד אדום"
FSI, PDI = "\u2068", "\u2069"


def test_only_right_to_left_text_is_isolated():
    assert isolated(ARABIC) == f"{FSI}{ARABIC}{PDI}" and isolated(f"{HEBREW} 5") == f"{FSI}{HEBREW} 5{PDI}"
    assert isolated("Maria Pérez") == "Maria Pérez" and isolated("") == ""
    assert isolated_html(f"{ARABIC} <b>") == f"<bdi>{ARABIC} &lt;b&gt;</bdi>"
    assert isolated_html("R&D") == "R&amp;D"


def test_the_kmz_and_the_readme_set_each_right_to_left_name_apart():
    info = ProductInfo(event=f"سيول {HEBREW}", analyst=ARABIC, organisation="IFRC", contact=f"{HEBREW} +972 5")
    kmz = kmz_description(info)
    assert f"Produced by {FSI}{ARABIC}{PDI}, IFRC." in kmz and f"Contact: {FSI}{HEBREW} +972 5{PDI}" in kmz
    lines = contact_lines(info, filmed=[], produced=None)
    assert f"Questions, and corrections from the ground, to: {FSI}{ARABIC}{PDI}, IFRC." in lines
    assert f"Reach them: {FSI}{HEBREW} +972 5{PDI}." in lines
    html = producer_html(info)
    assert f"<bdi>سيول {HEBREW}</bdi> · IFRC" in html and f"Contact: <bdi>{HEBREW} +972 5</bdi>" in html


def test_latin_text_is_written_as_before():
    info = ProductInfo(event="Flood", analyst="A. Analyst", organisation="IFRC", contact="+41 22")
    assert "Produced by A. Analyst, IFRC.<br/>Contact: +41 22<br/>" in kmz_description(info)
    assert FSI not in "".join(contact_lines(info, filmed=[], produced=None))
    assert "<bdi>" not in producer_html(info)


def test_a_site_s_kml_description_isolates_its_reviewers(flyover_map):
    damage_map, _ = flyover_map
    fused = damage_map.fused[0]
    ids = [o.detection_id for o in fused.observations]
    reviews = {ids[0]: ReviewSignature(ARABIC, "2026-01-02T03:04:05Z"),
               ids[-1]: ReviewSignature("IFRC", "2026-01-02T03:05:05Z")}
    reviewed = dataclasses.replace(fused, site=dataclasses.replace(fused.site, reviewed=True))
    summary = site_summary(dataclasses.replace(damage_map, reviews=reviews), reviewed)
    assert summary.endswith(f"reviewed by {FSI}{ARABIC}{PDI}, IFRC") or summary.endswith(
        f"reviewed by IFRC, {FSI}{ARABIC}{PDI}")
    plain = site_summary(dataclasses.replace(damage_map, reviews={ids[0]: ReviewSignature("Maria", "x")}), reviewed)
    assert plain.endswith("reviewed by Maria")


def test_a_reviewer_name_recorded_with_a_line_break_is_one_line_in_the_description(flyover_map):
    """A name recorded with a line break, a terminal escape or a right-to-left override (an
    older damagemap's, a login name) was written into the KML description as it was: the
    line broke in two and the override reversed the rest of it."""
    damage_map, _ = flyover_map
    fused = damage_map.fused[0]
    ids = [o.detection_id for o in fused.observations]
    reviews = {ids[0]: ReviewSignature("Ana\nReviewer\x1b[31m", "x"), ids[-1]: ReviewSignature("\u202eIFRC", "y")}
    reviewed = dataclasses.replace(fused, site=dataclasses.replace(fused.site, reviewed=True))
    summary = site_summary(dataclasses.replace(damage_map, reviews=reviews), reviewed)
    assert summary.endswith("reviewed by Ana Reviewer [31m, IFRC")


def test_the_readme_isolates_the_event(flyover_map):
    damage_map, _ = flyover_map
    info = ProductInfo(event=ARABIC, organisation="IFRC")
    readme = readme_text("pkg", damage_map, info=info, layers=[], files=[], provenance={})
    assert f"Building damage from drone video: {FSI}{ARABIC}{PDI}." in readme
    assert f"Event: {FSI}{ARABIC}{PDI}\n" in readme and "Organisation: IFRC\n" in readme


def test_the_survey_readme_isolates_the_event_and_each_flight_s_drone(survey_of_two_flights):
    from geo.export.survey_files import readme_text as survey_readme_text

    info = ProductInfo(event=ARABIC, analyst="A. Analyst")
    readme = survey_readme_text(survey_of_two_flights, title="town", files=[], info=info,
                                provenance={"flights": {"monday": {"drone": f"{HEBREW} 3"}, "wednesday": {"drone": "Mavic 3"}}})
    assert f"Event: {FSI}{ARABIC}{PDI}\n" in readme and "Analyst: A. Analyst\n" in readme
    assert f", {FSI}{HEBREW} 3{PDI}\n" in readme and ", Mavic 3\n" in readme


def test_the_map_title_isolates_an_arabic_event_before_a_latin_glide_number(flyover_map):
    """"سيول (GLIDE FL-2026-000001-LBY)" displayed with the GLIDE number reversed, the Arabic
    event pulling it into its right-to-left run: the event is isolated in the KML/KMZ/HTML
    map title, which is the package KMZ's document name too."""
    from geo.export.products import map_title

    damage_map, _ = flyover_map
    info = ProductInfo(event=f"سيول {ARABIC}", glide="FL-2026-000001-LBY")
    assert map_title(damage_map, info).startswith(f"Damage map: {FSI}سيول {ARABIC}{PDI} (GLIDE FL-2026-000001-LBY)")


def test_latin_map_titles_are_written_as_before(flyover_map):
    from geo.export.products import map_title

    damage_map, _ = flyover_map
    info = ProductInfo(event="Hurricane Michael", glide="TC-2018-000166-USA")
    assert map_title(damage_map, info).startswith("Damage map: Hurricane Michael (GLIDE TC-2018-000166-USA)")
    assert map_title(damage_map, ProductInfo(glide="TC-2018-000166-USA")).startswith("Damage map: GLIDE TC-2018")
