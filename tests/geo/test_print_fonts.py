"""The print map draws a character the default font lacks (a Chinese event name) in the
first installed font that has it, and says which characters no font here can draw.

The fonts are made for the test (fontTools, matplotlib's own dependency), so what is
checked does not depend on the fonts of the machine."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from geo.export import print_map
from geo.export.products import ProductInfo

TYPHOON = "台风"  # "typhoon": two characters DejaVu Sans has no glyph for


def _font_with(path: Path, family: str, text: str) -> Path:
    """A TrueType font named ``family`` with a square glyph for each character of ``text``."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def square():  # noqa: ANN202 - a Glyph
        pen = TTGlyphPen(None)
        for x, y in ((100, 0), (100, 700), (800, 700), (800, 0)):
            (pen.lineTo if x != 100 or y != 0 else pen.moveTo)((x, y))
        pen.closePath()
        return pen.glyph()

    names = [f"uni{ord(c):04X}" for c in text]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", *names])
    builder.setupCharacterMap({ord(c): name for c, name in zip(text, names)})
    builder.setupGlyf({".notdef": square(), **{name: square() for name in names}})
    builder.setupHorizontalMetrics({name: (900, 100) for name in [".notdef", *names]})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": family, "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(str(path))
    return path


@pytest.fixture
def fallback_fonts(monkeypatch):  # noqa: ANN201 - sets the fallback list, a fresh print_fonts each time
    def use(*families: str) -> None:
        monkeypatch.setattr(print_map, "FALLBACK_FONTS", families)
        print_map.print_fonts.cache_clear()

    yield use
    print_map.print_fonts.cache_clear()


def _missing_glyphs(figure) -> list[str]:  # noqa: ANN001 - a Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FigureCanvasAgg(figure).draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_a_chinese_event_name_prints_in_an_installed_font_that_has_it(flyover_map, tmp_path, fallback_fonts):
    from matplotlib import font_manager

    damage_map, _ = flyover_map
    info = ProductInfo(event=f"{TYPHOON} Mangkhut")
    fallback_fonts()  # the default font alone: the characters are said, and drawn as boxes
    assert print_map.unprintable(info.event) == TYPHOON
    with print_map.plain_text():
        assert _missing_glyphs(print_map.draw_map(damage_map, info=info))

    font_manager.fontManager.addfont(str(_font_with(tmp_path / "cjk.ttf", "Damagemap Test CJK", TYPHOON)))
    fallback_fonts("A Font Not Installed", "Damagemap Test CJK")
    assert print_map.print_fonts() == (print_map.PRINT_FONT, "Damagemap Test CJK")
    assert print_map.unprintable(info.event + " Лусон") == ""  # Cyrillic from the default font
    with print_map.plain_text():
        page = print_map.draw_map(damage_map, info=info)
        assert _missing_glyphs(page) == []
    assert any(TYPHOON in text.get_text() for text in page.axes[1].texts)


def test_a_fallback_font_without_bold_prints_no_warnings(flyover_map, tmp_path, fallback_fonts, caplog):
    """Each bold line looked up in a fallback font with no bold (Droid Sans Fallback's
    case) printed "findfont: Failed to find font weight bold for ..." on stderr, many a
    package; the characters no font can draw are still said (:func:`unprintable`)."""
    import logging

    from matplotlib import font_manager

    damage_map, _ = flyover_map
    font_manager.fontManager.addfont(str(_font_with(tmp_path / "plain.ttf", "Damagemap Test Regular Only", TYPHOON)))
    fallback_fonts("Damagemap Test Regular Only")
    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
        written = print_map.write_print_map(tmp_path / "map.png", tmp_path / "map.pdf", damage_map,
                                            info=ProductInfo(event=f"{TYPHOON} Mangkhut"))
        assert logging.getLogger("matplotlib.font_manager").level == logging.WARNING  # as it was, after
    assert [path.name for path in written] == ["map.png", "map.pdf"]
    assert [record.getMessage() for record in caplog.records if record.name.startswith("matplotlib")] == []
    fallback_fonts()
    assert print_map.unprintable(TYPHOON) == TYPHOON  # damagemap's own note still has what it needs
