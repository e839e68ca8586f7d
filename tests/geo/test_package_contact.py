"""How a field team reaches whoever made the package: the contact (phone, e-mail, radio
channel) in every file of it, as typed, with characters that mean something to HTML, XML
and matplotlib shown as text."""

from __future__ import annotations

import html
import zipfile
import xml.etree.ElementTree as ET

import pytest

KML = "{http://www.opengis.net/kml/2.2}"
#: markup, an ampersand, quotes and dollars (matplotlib's mathematics) in one contact
CONTACT = '<b>Ops</b> & "Radio" ch. 5, US$5 $x$, ops@relief.example'


@pytest.fixture(scope="module")
def package(flyover_map, tmp_path_factory):  # noqa: ANN001, ANN201 - a geo.export.package.PackageResult
    from geo.export.package import write_package
    from geo.export.products import ProductInfo

    damage_map, _ = flyover_map
    info = ProductInfo(event="Hurricane Test", analyst="A. Analyst", organisation="Red Cross", contact=CONTACT)
    return write_package(damage_map, tmp_path_factory.mktemp("package"), info=info,
                         provenance={"produced": "2026-01-02 03:04 UTC"})


def test_the_readme_says_how_to_reach_the_producer(package):
    readme = (package.folder / "README.txt").read_text(encoding="utf-8")
    contact = readme.split("Contact and dates\n-----------------\n", 1)[1].split("\n\n", 1)[0]
    assert "A. Analyst, Red Cross" in contact and f"Reach them: {CONTACT}." in contact
    assert f"Contact: {CONTACT}\n" in readme  # and in the event's facts


def test_the_html_map_gives_the_contact_under_its_legend_as_text(package):
    page = (package.folder / f"{package.name}_map.html").read_text(encoding="utf-8")
    assert f'<div class="dm-small dm-contact">Contact: {html.escape(CONTACT)}</div>' in page
    assert "<b>Ops</b>" not in page  # markup typed in it is shown, not obeyed


def test_the_kmz_describes_who_made_it_and_how_to_reach_them(package):
    with zipfile.ZipFile(package.folder / f"{package.name}.kmz") as kmz:
        document = ET.fromstring(kmz.read("doc.kml")).find(f"{KML}Document")
    description = document.findtext(f"{KML}description")  # HTML, as a KML reader takes it
    assert f"Contact: {html.escape(CONTACT)}" in description and "A. Analyst, Red Cross" in description
    assert "<b>" not in description
    assert list(document).index(document.find(f"{KML}description")) == 1  # after the name: KML 2.2's order


def test_the_print_map_footer_gives_the_contact_as_typed(flyover_map):
    from geo.export.print_map import draw_map, plain_text
    from geo.export.products import ProductInfo

    damage_map, _ = flyover_map
    with plain_text():  # as write_print_map draws it
        page = draw_map(damage_map, info=ProductInfo(organisation="Red Cross", contact=CONTACT))
    texts = [text for text in page.axes[1].texts]
    keys = [text.get_text() for text in texts]
    assert "Contact:" in keys
    value = texts[keys.index("Contact:") + 1]
    assert value.get_text().replace("\n", " ") == CONTACT and not value.get_parse_math()  # dollars as typed


def test_the_print_map_breaks_a_contact_between_its_parts_not_inside_one(flyover_map):
    """"+258 84 123 4567, maps@relief.example, VHF channel" and then "5" alone on the next
    line: a phone number or a channel split over two lines is misread."""
    from geo.export.print_map import draw_map, plain_text
    from geo.export.products import ProductInfo

    damage_map, _ = flyover_map
    for contact in ("+258 84 123 4567, maps@relief.example, VHF channel 5",
                    "maps@relief.example, +33 6 12 34 56 78, +33 6 98 76 54 32, VHF channel 5"):
        with plain_text():
            page = draw_map(damage_map, info=ProductInfo(organisation="Red Cross", contact=contact))
        texts = page.axes[1].texts
        keys = [text.get_text() for text in texts]
        lines = texts[keys.index("Contact:") + 1].get_text().split("\n")
        assert len(lines) > 1 and " ".join(lines) == contact
        assert all(line.endswith(",") for line in lines[:-1]), lines  # each line ends between two parts


@pytest.mark.parametrize("contact", ["+33 6 12\n34 56 78", "ops\x85radio", "ops\u2028radio", "\x1b[2Jops",
                                     "ops@relief.\u202eelpmaxe"])
def test_a_contact_is_one_line_of_text(contact):
    from geo.export.products import ProductInfo

    with pytest.raises(ValueError, match="contact must be one line"):
        ProductInfo(contact=contact)


def test_a_field_too_long_is_refused_saying_its_length_not_echoing_it_whole():
    """A page pasted into --event is refused with its length and its beginning; the
    message is not the 15,000 characters typed."""
    from geo.export.products import ProductInfo

    with pytest.raises(ValueError) as refused:
        ProductInfo(event="Hurricane Michael " * 800)
    message = str(refused.value)
    assert message.startswith("event must be at most 200 characters; got 14,400: 'Hurricane Michael")
    assert len(message) < 200


def test_a_long_field_with_a_control_character_is_refused_quoting_its_beginning():
    from geo.export.products import ProductInfo

    with pytest.raises(ValueError, match=r"contact must be one line of text .*got 'ops\\x1b\[2J.*'\.\.\.$") as refused:
        ProductInfo(contact="ops\x1b[2J" + "x" * 5000)
    assert len(str(refused.value)) < 200
