"""The records that flow between stages: words and hits.

Both are frozen, slotted dataclasses. Boxes are :class:`~locator.geometry.Box`
in PDF points, unrotated page space, origin top left; pages are 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass

from locator.geometry import Box


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word on a page.

    ``conf`` is the engine's confidence 0-100; ``angle`` the text direction in
    degrees counter-clockwise (0 upright, 90 reading bottom-to-top); ``engine``
    names who read it (``"tesseract"``, ``"tesseract+easyocr"``, ``"text"`` for
    a text layer); ``source`` is ``"ocr"`` or ``"text"``.
    """

    text: str
    conf: float
    box: Box
    page: int
    engine: str
    angle: int = 0
    source: str = "ocr"


@dataclass(frozen=True, slots=True)
class Hit:
    """One located snippet: ``matched`` is what the catalog asked for, ``text``
    what was read there, ``score`` 0-100 how well they agree; ``source`` is
    ``"text"`` (a PDF's text layer) or ``"ocr"``; ``file`` the document."""

    pattern_id: str
    label: str
    matched: str
    text: str
    score: float
    box: Box
    page: int
    engine: str
    conf: float
    source: str = "ocr"
    angle: int = 0
    file: str = ""  # the document it was found in (as named on the command line)


HIT_COLUMNS = ["file", "pattern_id", "label", "matched", "text", "score", "page",
               "x0", "y0", "x1", "y1", "engine", "conf", "source", "angle"]


def hit_row(h: Hit) -> dict:
    """A hit as a flat table row (the column order of :data:`HIT_COLUMNS`)."""
    return {"file": h.file, "pattern_id": h.pattern_id, "label": h.label, "matched": h.matched,
            "text": h.text, "score": round(h.score, 1), "page": h.page,
            "x0": round(h.box.x0, 2), "y0": round(h.box.y0, 2),
            "x1": round(h.box.x1, 2), "y1": round(h.box.y1, 2),
            "engine": h.engine, "conf": round(h.conf, 1), "source": h.source,
            "angle": h.angle}
