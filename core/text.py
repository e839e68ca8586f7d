"""What counts as one line of text a user typed: a name or a contact that every export
(README, HTML, KML, PDF) shows as typed, on one line, reading the way it was typed."""

from __future__ import annotations

import unicodedata

#: Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they
#: reorder the text shown after them, so "ops@relief.example" could display as another
#: address. The marks U+200E/U+200F, which some right-to-left names need, are not among them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: Unicode categories that break a line or are no text: control characters (C0, DEL and
#: C1, e.g. a terminal's escape or U+0085 "next line"), line and paragraph separators, and
#: lone surrogates: a byte of a command line that is not UTF-8 (a Latin-1 terminal's "é"),
#: which Python keeps as U+DC80-U+DCFF and no UTF-8 file, PDF or KML can be written with.
_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})


def is_one_line_text(value: object) -> bool:
    """``value`` is a string with no line break, no control character and no
    bidirectional override: what it shows is what was typed, on one line."""
    return isinstance(value, str) and not any(
        c in BIDI_CONTROLS or unicodedata.category(c) in _BREAKING_CATEGORIES for c in value
    )


def one_line(text: str) -> str:
    """``text`` made one line of text (:func:`is_one_line_text`): each run of line breaks,
    tabs and other control characters one space, bidirectional overrides and isolates
    dropped, a lone surrogate (a byte that is not UTF-8) U+FFFD, the ends stripped. For a
    name that is kept rather than refused where it is given (the reviewer's, asked once in
    a dialog and recorded with every decision): "Ana", a line break and "Reviewer" are
    recorded "Ana Reviewer"."""
    out: list[str] = []
    for c in text:
        if c in BIDI_CONTROLS:
            continue
        category = unicodedata.category(c)
        if category == "Cs":
            out.append("\ufffd")
        elif category in _BREAKING_CATEGORIES:
            if out and out[-1] != " ":
                out.append(" ")
        else:
            out.append(c)
    return "".join(out).strip()


def shown_file_name(name: str) -> str:
    """A file's name as a product (a PDF, a README, a KML) shows it: a byte that is not
    UTF-8 (a Latin-1 card's ``caf\\xe9.mp4``, which Python keeps as a lone surrogate) as
    U+FFFD, which every text file and font can hold, the rest as it is."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


#: First Strong Isolate and Pop Directional Isolate: text between them is laid out on its
#: own, in the direction of its first strong letter, and moves nothing around it
FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"


def has_right_to_left(text: str) -> bool:
    """``text`` holds a right-to-left letter (Arabic, Hebrew, Syriac, Thaana, N'Ko...)."""
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def isolated(text: str) -> str:
    """A user's text (a name, an event, a contact) to set inside our own sentences: where it
    holds a right-to-left letter, between U+2068 and U+2069, so that "محمد, IFRC" in
    "reviewed by محمد, IFRC; position ±2 m" keeps its comma and our words their places;
    any other text as it is (a Latin-only file stays byte for byte the same)."""
    if not text or not has_right_to_left(text):
        return text
    return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"


def without_bidi_controls(text: str) -> str:
    """``text`` without its isolates, embeddings and overrides (:data:`BIDI_CONTROLS`): what
    a drawing that cannot honour them (a matplotlib before 3.11 draws each as an empty box)
    or a count of the characters shown (a title's underline) takes."""
    return "".join(c for c in text if c not in BIDI_CONTROLS)


def isolated_html(text: str) -> str:
    """:func:`isolated` for HTML: the text escaped, inside ``<bdi>`` where it holds a
    right-to-left letter (what HTML has for U+2068/U+2069)."""
    from html import escape

    shown = escape(text)
    return f"<bdi>{shown}</bdi>" if text and has_right_to_left(text) else shown
