"""The run's settings: one immutable object passed down through every stage.

Defaults are the measured sensible ones; the CLI and :func:`locator.locate`
build a :class:`Settings` once and nothing below them reads globals.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass, fields, replace

from locator.errors import UsageError
from locator.kinds import Detector, Source

#: Where words may come from (see :attr:`Settings.source`).
SOURCES = tuple(s.value for s in Source)
#: Where a tile's text regions come from (see :attr:`Settings.detector`).
DETECTORS = tuple(d.value for d in Detector)


@dataclass(frozen=True, slots=True)
class Settings:
    """How to read a document.

    ``tile`` and ``overlap`` are pixels at ``dpi``; the overlap must exceed the
    tallest text expected (200 px at 300 dpi is 48 pt). ``rotations`` are the
    text directions read, in degrees counter-clockwise (90: bottom-to-top
    labels, 270: top-to-bottom); with ``rotated_regions`` only the places
    that look like vertical text are read turned, else whole tiles turned;
    with ``text_regions`` upright text is read from the tile's text regions,
    each enlarged until its text is ``glyph_px`` pixels tall, stacked into one
    image, else from the whole tile. ``clean``
    paints line art (lines, circles, frames: anything larger than
    ``max_text_pt`` text) white before OCR. ``pages`` is a range string such as
    ``"1-3,7"`` (None: all). ``workers`` is the number of OCR processes
    (0: one per core). ``cache`` keeps each page's OCR words on disk, keyed by
    the file's content and every setting that changes what OCR sees, in
    ``cache_dir`` (None: ``$LOCATOR_CACHE_DIR`` or the user's cache folder).
    ``source`` (a :class:`~locator.kinds.Source`; its text is accepted) says
    where words come from: ``"auto"`` reads a PDF page's text
    layer when it is usable and OCRs what it lacks (pages without text, images,
    text drawn as curves, broken layers); ``"text"`` only the text layer;
    ``"ocr"`` only OCR. ``tile_timeout`` is how many seconds one tile may
    take to read (each engine call, for engines with their own limit such as
    Tesseract); a tile over it is tried once more, then recorded as failed
    (0: no limit). ``detector`` (a :class:`~locator.kinds.Detector`; its text
    is accepted) says where text regions come from (:mod:`locator.detect`):
    ``"cc"`` the connected-component rules, ``"db"``
    the DBNet detector in the rapidocr wheel, ``"cc+db"`` both. ``colour``
    renders PDF pages in colour and reads the darkest channel, so coloured
    thin text (cyan, yellow) is as dark as black text; else grey.
    """

    dpi: float = 300.0
    tile: int = 1600
    overlap: int = 200
    pages: str | None = None
    engine: tuple[str, ...] = ("tesseract",)
    rotations: tuple[int, ...] = (0, 90, 270)
    skip_blank: bool = True
    rotated_regions: bool = True
    text_regions: bool = True
    clean: bool = True
    max_text_pt: float = 24.0
    glyph_px: float = 36.0
    password: str | None = None
    workers: int = 0
    cache: bool = True
    cache_dir: str | None = None
    source: Source = Source.auto
    tile_timeout: float = 120.0
    detector: Detector = Detector.cc
    colour: bool = True

    def __post_init__(self) -> None:
        _check_types(self)
        if not 20 <= self.dpi <= 1200:
            raise UsageError(f"--dpi {self.dpi:g}: choose a resolution between 20 and 1200")
        if self.tile < 64:
            raise UsageError(f"--tile {self.tile}: tiles must be at least 64 px")
        if not 0 <= self.overlap < self.tile:
            raise UsageError(f"--overlap {self.overlap}: must be >= 0 and smaller than "
                             f"--tile ({self.tile})")
        for r in self.rotations:
            if r not in (0, 90, 180, 270):
                raise UsageError(f"--rotations: {r} is not one of 0, 90, 180, 270")
        if self.workers < 0:
            raise UsageError(f"--workers {self.workers}: give 0 (one per core) or more")
        if self.source not in SOURCES:
            raise UsageError(f"--source {self.source!r}: choose one of {', '.join(SOURCES)}")
        # One type for the choice, whether it came from the CLI's enum or a string.
        object.__setattr__(self, "source", Source(self.source))
        if not self.tile_timeout >= 0:  # NaN too
            raise UsageError(f"--tile-timeout {self.tile_timeout:g}: give seconds >= 0 "
                             f"(0: no limit)")
        if not self.rotations:
            raise UsageError("--rotations: name at least one direction")
        if self.detector not in DETECTORS:
            raise UsageError(f"--detector {self.detector!r}: choose one of "
                             f"{', '.join(DETECTORS)}")
        object.__setattr__(self, "detector", Detector(self.detector))

    @classmethod
    def build(cls, **kw) -> Settings:
        """Settings from keyword arguments, rejecting unknown names clearly."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kw) - names)
        if unknown:
            raise UsageError(f"unknown setting(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(names))}")
        if isinstance(kw.get("engine"), (str, list)):
            from locator.engines import parse_engine_list
            kw["engine"] = parse_engine_list(kw["engine"])
        if isinstance(kw.get("rotations"), (list, range)):
            kw["rotations"] = tuple(kw["rotations"])
        if isinstance(kw.get("rotations"), int) and not isinstance(kw["rotations"], bool):
            kw["rotations"] = (kw["rotations"],)
        if isinstance(kw.get("pages"), int) and not isinstance(kw["pages"], bool):
            kw["pages"] = str(kw["pages"])  # pages=3: that page
        if isinstance(kw.get("cache_dir"), os.PathLike):
            kw["cache_dir"] = os.fspath(kw["cache_dir"])
        return cls(**kw)

    def with_(self, **kw) -> Settings:
        return replace(self, **kw)

    @property
    def worker_count(self) -> int:
        """Processes to use: ``workers``, or one per core when 0."""
        import os

        if self.workers:
            return self.workers
        if hasattr(os, "sched_getaffinity"):  # the cores this process may use
            return len(os.sched_getaffinity(0))
        return os.cpu_count() or 1


#: What each setting must be, said the way the error message says it.
_NUMBER, _INT, _BOOL, _TEXT = "a number", "a whole number", "true or false", "text"
_KINDS = {"dpi": _NUMBER, "tile": _INT, "overlap": _INT, "pages": _TEXT,
          "engine": "engine names", "rotations": "degrees (0, 90, 180, 270)",
          "skip_blank": _BOOL, "rotated_regions": _BOOL, "text_regions": _BOOL,
          "clean": _BOOL, "max_text_pt": _NUMBER, "glyph_px": _NUMBER, "password": _TEXT,
          "workers": _INT, "cache": _BOOL, "cache_dir": _TEXT, "source": _TEXT,
          "tile_timeout": _NUMBER, "detector": _TEXT, "colour": _BOOL}
_OPTIONAL = {"pages", "password", "cache_dir"}


def _fits(value, kind: str) -> bool:
    if kind == _BOOL:
        return isinstance(value, bool)
    if isinstance(value, bool):  # True is an int to Python, not a resolution
        return False
    if kind == _NUMBER:
        return isinstance(value, numbers.Real)
    if kind == _INT:
        return isinstance(value, numbers.Integral)
    if kind == _TEXT:
        return isinstance(value, str)
    if kind == "engine names":
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    return isinstance(value, tuple) and all(_fits(v, _INT) for v in value)


def _check_types(s: Settings) -> None:
    """A clear :class:`UsageError` for a setting of the wrong type (``dpi="high"``),
    before any comparison trips over it."""
    for name, kind in _KINDS.items():
        value = getattr(s, name)
        if value is None and name in _OPTIONAL:
            continue
        if not _fits(value, kind):
            raise UsageError(f"{name}={value!r}: must be {kind}, not {type(value).__name__}")
