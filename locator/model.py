"""The records that flow between stages: words and hits.

Both are frozen, slotted dataclasses. Boxes are :class:`~locator.geometry.Box`
in PDF points, unrotated page space, origin top left; pages are 1-based.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from locator.geometry import Box

#: Between the names of the engines (or sources) that agreed on one read, in
#: the ``engine`` and ``source`` fields: ``"tesseract+rapidocr"``. The fields
#: stay text because they are what the table and the OCR cache hold; only
#: :func:`names` and :func:`join_names` read and write that text.
NAME_SEPARATOR = "+"


def names(field: str) -> tuple[str, ...]:
    """The names in an ``engine`` or ``source`` field, in their order."""
    return tuple(n for n in str(field).split(NAME_SEPARATOR) if n)


def join_names(fields: Iterable[str]) -> str:
    """One field naming everyone in ``fields`` (each itself may name several), once
    each, in the order first seen."""
    seen: dict[str, None] = {}
    for f in fields:
        seen.update(dict.fromkeys(names(f)))
    return NAME_SEPARATOR.join(seen)


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word on a page.

    ``conf`` is the engine's confidence 0-100; ``angle`` the text direction in
    degrees counter-clockwise (0 upright, 90 reading bottom-to-top); ``engine``
    names who read it (``"tesseract"``, ``"tesseract+easyocr"``, ``"text"`` for
    a text layer); ``source`` is ``"ocr"`` or ``"text"``.

    A *composed* word (:mod:`locator.bubbles`) is the text of an instrument
    bubble or of two stacked lines read as one tag: ``form`` is ``"bubble"``
    or ``"stacked"`` (empty for a word as read), ``shape`` the bubble's
    outline (``circle``, ``circle-bar``, ``hexagon``, ``box``, ``diamond``),
    ``parts`` its lines top to bottom, and ``box`` the bubble's (or the two
    lines') box.
    """

    text: str
    conf: float
    box: Box
    page: int
    engine: str
    angle: int = 0
    source: str = "ocr"
    shape: str = ""
    form: str = ""
    parts: tuple[str, ...] = ()

    @property
    def engines(self) -> frozenset[str]:
        """The engines that read this word (several when they agreed)."""
        return frozenset(names(self.engine))


@dataclass(frozen=True, slots=True)
class Hit:
    """One located snippet: ``matched`` is what the catalog asked for, ``text``
    what was read there, ``score`` 0-100 how well they agree; ``source`` is
    ``"text"`` (a PDF's text layer) or ``"ocr"``; ``file`` the document;
    ``shape`` the instrument bubble's outline (empty for other hits);
    ``form`` how it was found: ``word`` (words as read), ``bubble`` (a
    bubble's lines composed), ``stacked`` (two stacked lines composed),
    ``symbol``, with ``+no-prefix`` when the catalog's optional ``prefix:``
    was not on the sheet."""

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
    shape: str = ""
    form: str = ""


HIT_COLUMNS = ["file", "pattern_id", "label", "matched", "text", "score", "page",
               "x0", "y0", "x1", "y1", "engine", "conf", "source", "angle",
               "shape", "form"]


def hit_row(h: Hit) -> dict:
    """A hit as a flat table row (the column order of :data:`HIT_COLUMNS`)."""
    return {"file": printable(h.file), "pattern_id": h.pattern_id, "label": h.label,
            "matched": h.matched, "text": printable(h.text), "score": round(h.score, 1),
            "page": h.page,
            "x0": round(h.box.x0, 2), "y0": round(h.box.y0, 2),
            "x1": round(h.box.x1, 2), "y1": round(h.box.y1, 2),
            "engine": h.engine, "conf": round(h.conf, 1), "source": h.source,
            "angle": h.angle, "shape": h.shape, "form": h.form}


def printable(text: str) -> str:
    """``text`` that any output can hold: lone surrogates -- how Python keeps the
    bytes of a file name that are not UTF-8 -- become ``\\xff`` escapes (else a
    ``.xlsx`` or a UTF-8 table refuses the whole run: "surrogates not allowed")."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate that is no escaped byte
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    except AttributeError:  # not text: left as it is
        return text


class RunWarning(str):
    """One warning of a run: the line shown in the summary (it *is* that
    string), which also knows where it applies, for the warnings table.

    ``file`` the document, ``page`` 1-based, ``tile`` the tile's pixel
    rectangle ``"x0,y0,x1,y1"`` at the DPI it was read (None where it does not
    apply); ``message`` the line without the place.
    """

    file: str | None
    page: int | None
    tile: str | None
    message: str

    def __new__(cls, text: str, *, file: str | None = None, page: int | None = None,
                tile: str | None = None, message: str | None = None) -> RunWarning:
        self = super().__new__(cls, printable(str(text)))
        self.file = printable(file) if file is not None else None
        self.page, self.tile = page, tile
        self.message = printable(str(text) if message is None else message)
        return self

    @classmethod
    def on_page(cls, page: int, message: str, *, sep: str = ": ",
                file: str | None = None) -> RunWarning:
        """A warning about ``page``: ``"page 3: message"`` (``sep`` between)."""
        return cls(f"page {page}{sep}{message}", file=file, page=page, message=message)

    @classmethod
    def on_tile(cls, page: int, rect_px: tuple[int, int, int, int], message: str, *,
                file: str | None = None) -> RunWarning:
        """A warning about one tile (``rect_px``: its pixels at the DPI it was read)."""
        return cls(f"page {page} tile at {tuple(rect_px[:2])} px: {message}", file=file,
                   page=page, tile=",".join(str(v) for v in rect_px), message=message)

    def in_file(self, file: str) -> RunWarning:
        """The same warning with the document's name in front (several files in one run)."""
        return RunWarning(f"{file}: {self}", file=file, page=self.page, tile=self.tile,
                          message=self.message)


WARNING_COLUMNS = ["file", "page", "tile", "message"]


def warning_row(w: str, file: str | None = None) -> dict:
    """A warning as a row of :data:`WARNING_COLUMNS`; ``file`` where it names none.

    The pipeline creates its warnings as :class:`RunWarning` records where
    they arise; a plain string (a caller's own) that starts with ``page N``
    gets that page.
    """
    import re

    file = printable(file) if file is not None else None
    if isinstance(w, RunWarning):
        return {"file": w.file or file, "page": w.page, "tile": w.tile, "message": w.message}
    w = printable(w)
    m = re.match(r"page (\d+)\b[:,]? *", w)
    return {"file": file, "page": int(m.group(1)) if m else None, "tile": None,
            "message": w[m.end():] if m and m.end() < len(w) else w}


def in_file(w: str, file: str) -> RunWarning:
    """``w`` (a :class:`RunWarning` or plain string) as a warning about ``file``."""
    if isinstance(w, RunWarning):
        return w.in_file(file)
    row = warning_row(w)
    return RunWarning(f"{file}: {w}", file=file, page=row["page"], message=row["message"])
