"""The HTML map's text elements rendered without compiling them, to the same page."""

from __future__ import annotations

import pytest

SOURCES = [
    "",
    "plain",
    "ends with a line break\n",
    "two line breaks\n\n",
    "windows\r\nand old mac\rline breaks\r\n",
    "<script>var a = {b: 1}; if (a) { run(); }</script>\n",
    "{{ 1 + 1 }} is a Jinja expression",
    "{# a Jinja comment #}after it",
    "{% if true %}a Jinja statement{% endif %}\n",
]


@pytest.mark.parametrize("source", SOURCES)
def test_a_template_renders_what_jinja_renders(source):
    from jinja2 import Template

    from geo.export.plain_text_templates import PlainTextTemplate, template_for

    template = template_for(source)
    assert template.render(this=None, kwargs={}) == Template(source).render(this=None, kwargs={})
    assert isinstance(template, PlainTextTemplate) == ("Jinja" not in source)  # compiled only with Jinja syntax


def _page(markers: int):  # noqa: ANN202 - a folium map
    import folium

    from geo.export.html import offline_page

    m, _ = offline_page("Test & <title>")
    group = folium.FeatureGroup(name="Sites").add_to(m)
    for k in range(markers):
        folium.CircleMarker((10.0 + k * 1e-4, 20.0), radius=6, fill=True,
                            popup=folium.Popup(f"<b>Site {k}</b>\r\n<p>{{not Jinja}}</p>\n", max_width=330),
                            tooltip=f"Site {k}").add_to(group)
    return m


def test_a_page_is_the_same_and_compiles_few_templates(monkeypatch):
    """A long flight's page compiled thousands of templates, one per element's output."""
    import branca.element
    import jinja2

    from geo.export.html import finish_page

    bounds = [(10.0, 20.0), (10.01, 20.0)]
    fast, compiled = _page(40), _page(40)
    compiles = []
    real = jinja2.Environment.compile
    monkeypatch.setattr(jinja2.Environment, "compile", lambda self, *a, **k: compiles.append(1) or real(self, *a, **k))
    page = finish_page(fast, bounds)
    assert len(compiles) < 10  # the page's own scripts, not each marker's output
    assert branca.element.Template is jinja2.Template  # put back
    assert "<b>Site 39</b>" in page and page.count(".bindPopup(popup_") == 40
    assert page == _finish_page_compiled(compiled, bounds, monkeypatch)
    assert len(compiles) > 80


def _finish_page_compiled(m, bounds, monkeypatch):  # noqa: ANN001, ANN202
    """:func:`geo.export.html.finish_page` with every element's output compiled, as branca does."""
    from contextlib import nullcontext

    import geo.export.html

    monkeypatch.setattr(geo.export.html, "plain_text_templates", nullcontext)
    return geo.export.html.finish_page(m, bounds)
