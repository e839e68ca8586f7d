"""Putting a folium page together without compiling each piece of its output as a template.

branca adds each element's rendered output to the page as a new ``Element(text)``, and
``Element`` compiles ``text`` as a Jinja template, to render it (unchanged) when the page
is put together: a long flight's map compiles thousands of them (a popup, a marker, a
layer each), most of the time its HTML took. Text with no Jinja syntax in it renders as
itself, its line breaks made ``\\n`` and one final line break dropped (Jinja's defaults),
so while :func:`plain_text_templates` is in force such text gets a
:class:`PlainTextTemplate` that returns exactly that, without compiling; text with Jinja
syntax is compiled as before. The page comes out byte for byte the same.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from jinja2 import Template

#: What opens a Jinja expression, statement or comment (the default delimiters, which
#: branca's templates use).
_JINJA_OPENERS = ("{{", "{%", "{#")
#: The line breaks Jinja reads (and writes as ``\n``).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class PlainTextTemplate:
    """A template with no Jinja syntax: renders ``text`` whatever it is given."""

    text: str

    def render(self, *args: object, **kwargs: object) -> str:
        return self.text


def template_for(source: str) -> Template | PlainTextTemplate:
    """What ``jinja2.Template(source)`` renders, without compiling ``source`` when it
    holds no Jinja syntax (a :class:`PlainTextTemplate`)."""
    from jinja2 import Template

    if any(opener in source for opener in _JINJA_OPENERS):
        return Template(source)
    lines = _LINE_BREAK.split(source)
    if lines[-1] == "":  # Jinja drops one final line break (keep_trailing_newline is off)
        del lines[-1]
    return PlainTextTemplate("\n".join(lines))


_LOCK = threading.Lock()
_in_force = 0
_branca_template: object = None  # what branca.element.Template was before the first entry


@contextmanager
def plain_text_templates() -> Iterator[None]:
    """While in force (in any thread), branca's ``Element(text)`` takes its template from
    :func:`template_for`; afterwards branca has the very ``Template`` it had before. A
    branca without that name is left alone (the page is the same, only slower)."""
    global _in_force, _branca_template
    import branca.element

    with _LOCK:
        if _in_force == 0:
            _branca_template = getattr(branca.element, "Template", None)  # what Element(text) compiles text with
            if _branca_template is not None:
                setattr(branca.element, "Template", template_for)
        _in_force += 1
    try:
        yield
    finally:
        with _LOCK:
            _in_force -= 1
            if _in_force == 0 and _branca_template is not None:
                setattr(branca.element, "Template", _branca_template)


__all__ = ["PlainTextTemplate", "plain_text_templates", "template_for"]
