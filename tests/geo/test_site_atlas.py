"""The relief package's site atlas: a card per site, most severe first, its close-up
outlined, after the map page of the PDF."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np

from geo.export.print_map import ATLAS_GRID, _atlas_order, draw_site_atlas, write_print_map


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    image = np.zeros((48, 48, 3), np.uint8)
    image[:] = colour[::-1]  # BGR
    return cv2.imencode(".jpg", image)[1].tobytes()


def test_the_atlas_lists_every_site_most_severe_first_on_pages_of_cards(flyover_map):
    damage_map, _ = flyover_map
    order = _atlas_order(damage_map)
    assert sorted(order) == list(range(len(damage_map.fused)))
    keys = [(-int(damage_map.fused[k].site.level), damage_map.fused[k].site.id) for k in order]
    assert keys == sorted(keys)  # Debris first, then Severe, then Slight; by number within a level
    pages = draw_site_atlas(damage_map, lambda site_id: _jpeg((200, 40, 40)))
    per_page = ATLAS_GRID[0] * ATLAS_GRID[1]
    assert len(pages) == math.ceil(len(order) / per_page)
    titles = [t.get_text() for page in pages for t in page.texts if re.match(r"Site \d+: ", t.get_text())]
    assert titles == [f"Site {damage_map.fused[k].site.id}: {damage_map.fused[k].site.level.label}" for k in order]
    first = pages[0]
    assert len([ax for ax in first.axes if ax.images]) == min(per_page, len(order))  # a picture a card
    assert all(ax.patches for ax in first.axes if ax.images)  # the best detection outlined on it


def test_without_pictures_each_card_says_so_and_no_sites_no_pages(flyover_map):
    from dataclasses import replace

    damage_map, _ = flyover_map
    pages = draw_site_atlas(damage_map, None)
    assert pages and not any(ax.images for ax in pages[0].axes)
    assert sum(t.get_text() == "no picture" for ax in pages[0].axes for t in ax.texts) == min(
        ATLAS_GRID[0] * ATLAS_GRID[1], len(damage_map.fused))
    assert draw_site_atlas(replace(damage_map, fused=[]), None) == []


def test_the_pdf_holds_the_map_then_the_atlas_and_the_png_the_map_alone(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    png, pdf = write_print_map(tmp_path / "map.png", tmp_path / "map.pdf", damage_map,
                               closeup=lambda site_id: _jpeg((40, 200, 40)))
    pages = len(re.findall(rb"/Type /Page\b(?!s)", pdf.read_bytes()))
    assert pages == 1 + math.ceil(len(damage_map.fused) / (ATLAS_GRID[0] * ATLAS_GRID[1]))
    assert png.read_bytes().startswith(b"\x89PNG")


def test_the_map_page_rings_reviewed_sites_and_counts_them_in_its_legend(flyover_map):
    from dataclasses import replace

    from geo.export.print_map import draw_map

    damage_map, _ = flyover_map
    fused = damage_map.fused[0]
    reviewed = replace(damage_map, fused=[replace(fused, site=replace(fused.site, reviewed=True)),
                                          *damage_map.fused[1:]])
    def legend_labels(figure) -> list[str]:
        return [t.get_text() for ax in figure.axes if ax.get_legend() for t in ax.get_legend().get_texts()]

    assert "reviewed by an analyst (1)" in legend_labels(draw_map(reviewed))
    assert not any(label.startswith("reviewed") for label in legend_labels(draw_map(damage_map)))


def test_the_readme_promises_an_atlas_only_when_there_are_sites(flyover_map):
    from dataclasses import replace

    from geo.export.package import readme_text
    from geo.export.products import ProductInfo

    built = flyover_map[0] if isinstance(flyover_map, tuple) else flyover_map
    texts = {}
    for label, damage_map in (("sites", built), ("none", replace(built, fused=[], unconfirmed=[]))):
        texts[label] = readme_text("P", damage_map, info=ProductInfo(), layers=["track"], files=[], provenance={})
    assert "then the site atlas" in texts["sites"]
    assert "then the site atlas" not in texts["none"] and "no site atlas: no damage site was found" in texts["none"]


def test_no_card_line_runs_into_the_next_card_or_off_the_page(flyover_map):
    """"seen in 39 frames, 2018-10-12 15:00:00-15:00:19 UTC" ran over the close-up of the
    card beside it, and off the paper in the last column."""
    from geo.export.print_map import plain_text

    damage_map, _ = flyover_map
    with plain_text():
        pages = draw_site_atlas(damage_map, lambda site_id: _jpeg((200, 40, 40)))
    for page in pages:
        page.canvas.draw()
        renderer = page.canvas.get_renderer()
        pictures = [ax.get_window_extent(renderer) for ax in page.axes]
        lines = [t for t in page.texts[2:] if t.get_text()]  # after the heading and its label
        assert any("UTC" in t.get_text() for t in lines)  # the cards say when, on the clock
        for line in lines:
            box = line.get_window_extent(renderer)
            assert box.x1 <= page.bbox.width, line.get_text()
            assert not [p for p in pictures if box.overlaps(p)], line.get_text()


def test_the_atlas_is_headed_by_the_package_s_one_title_not_the_event_alone(flyover_map):
    """Every file of a package carries one title (the event, its GLIDE number and the day,
    or the map's own): the atlas was headed by the event alone, or "damage sites"."""
    from geo.export.products import ProductInfo, map_title

    damage_map, _ = flyover_map
    info = ProductInfo(event="Hurricane Michael", glide="TC-2018-000166-USA")
    for given, title in ((info, map_title(damage_map, info)), (None, damage_map.title)):
        pages = draw_site_atlas(damage_map, None, info=given)
        assert pages
        for number, page in enumerate(pages, 1):
            assert " ".join(page.texts[0].get_text().split()) == (
                f"Site atlas ({number} of {len(pages)}): {title}, most severe first")
    assert map_title(damage_map, info).startswith("Damage map: Hurricane Michael (GLIDE TC-2018-000166-USA)")
