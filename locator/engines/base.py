"""The engine Protocol, the word an engine returns, and the registry.

An engine sees a numpy image and returns words in that image's pixels; it
knows nothing of pages, points or tiles.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from locator.errors import UsageError
from locator.geometry import Box


@dataclass(frozen=True, slots=True)
class OcrWord:
    """A word as an engine reads it: ``box`` in the image's pixels, ``conf`` 0-100."""

    text: str
    conf: float
    box: Box


@runtime_checkable
class Engine(Protocol):
    """What every OCR engine provides."""

    name: str

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        """Words in a grey ``uint8`` image (height x width), boxes in its pixels.

        ``dpi`` is the image's resolution, for engines that use it to size text.
        Raises :class:`locator.errors.EngineError` when reading fails.
        """
        ...

    def version(self) -> str:
        """The engine's version string, for reports."""
        ...


class EngineBase:
    """What every engine adapter subclasses: the optional capabilities, declared
    with their defaults (the pipeline asks for them by name, never probes).

    ``reads_layout``: the engine finds a page's layout itself (Tesseract), so a
    tile that is mostly text is read whole by it. ``own_timeout``: the engine
    stops one call after ``timeout`` seconds itself (the pipeline sets
    ``timeout`` from ``Settings.tile_timeout``; 0: no limit). ``read_block``:
    how to read an image that is a packed block of text lines (the pipeline's
    mosaic of text regions) rather than a sparse page; ``read`` by default.
    ``recognises_lines``: the engine has a recogniser that reads a crop as one
    text line without finding text in it first (RapidOCR's PP-OCR recogniser):
    the pipeline then hands it the regions it already found, one crop each,
    through :meth:`recognise`, instead of its full ``read`` of the mosaic
    (which would run the engine's own detector on text already found).
    """

    name: str = "engine"
    reads_layout: bool = False
    own_timeout: bool = False
    recognises_lines: bool = False
    timeout: float = 0.0

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        raise NotImplementedError(f"{type(self).__name__}.read")

    def read_block(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        return self.read(image, dpi=dpi)

    def recognise(self, crops: list[np.ndarray], *, dpi: float) -> list[list[OcrWord]]:
        """Each grey crop read as one line of text: per crop its words, boxes in
        that crop's pixels (an empty list where nothing was read). ``dpi`` is
        the crops' resolution. Only engines that declare ``recognises_lines``."""
        raise NotImplementedError(f"{type(self).__name__}.recognise")

    def version(self) -> str:
        return self.name


class _Adopted(EngineBase):
    """An engine that only follows the :class:`Engine` Protocol (a caller's own
    object), given the default capabilities."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.name = inner.name

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        return self.inner.read(image, dpi=dpi)

    def version(self) -> str:
        return self.inner.version()


def adopt(engine: Engine) -> EngineBase:
    """``engine`` itself when it subclasses :class:`EngineBase`, else wrapped in
    one with the default capabilities (reads blocks with ``read``, no layout)."""
    return engine if isinstance(engine, EngineBase) else _Adopted(engine)


# name -> "module:Class"; importing the module is deferred to get_engine().
_REGISTRY: dict[str, str] = {
    "tesseract": "locator.engines.tesseract:TesseractEngine",
    "easyocr": "locator.engines.easyocr:EasyOcrEngine",
    "rapidocr": "locator.engines.rapidocr:RapidOcrEngine",
}


def register(name: str, target: str) -> None:
    """Add an engine by name (``target`` is ``"package.module:Class"``)."""
    _REGISTRY[name] = target


def available() -> list[str]:
    """Registered engine names."""
    return sorted(_REGISTRY)


def parse_engine_list(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"tesseract,easyocr"`` -> ``("tesseract", "easyocr")``, validated."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    out = tuple(n.strip().lower() for n in names if n.strip())
    if not out:
        raise UsageError("--engine: name at least one engine")
    for n in out:
        if n not in _REGISTRY:
            raise UsageError(f"--engine: unknown engine {n!r}; available: {', '.join(available())}")
    if len(set(out)) != len(out):
        raise UsageError(f"--engine: {spec!r} names an engine twice")
    return out


def get_engine(name: str, **options) -> Engine:
    """Import and construct the engine called ``name``.

    Raises :class:`UsageError` for an unknown name and
    :class:`locator.errors.MissingEngineError` (from the engine's constructor)
    when its binary or Python extra is missing.
    """
    parse_engine_list(name)
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)


# -- what an engine returns, checked in one place --------------------------------
# Engines are other people's code: a crash, a hang or garbage from one must
# cost one tile, not the run. Every call the pipeline makes to an engine goes
# through read_checked.

def _clean_text(text) -> str | None:
    """The word's text without control characters or lone surrogates (which
    break CSV, JSON and Excel output); None when it is not text at all."""
    import unicodedata

    if not isinstance(text, str):
        return None
    if text.isprintable():
        return text.strip() or None
    if text.strip().isprintable():  # (white space alone, such as "\r", is no word)
        return text.strip() or None
    cleaned = "".join(" " if c.isspace() else "" if unicodedata.category(c) in ("Cc", "Cs")
                      else c for c in text)
    return " ".join(cleaned.split()) or None


def checked_words(raw, width: int, height: int, name: str) -> tuple[list[OcrWord], str | None]:
    """An engine's answer for a ``width`` x ``height`` px image, made safe.

    Words whose text is not a string (or only control characters), whose
    confidence is not a finite number, or whose box is not four finite numbers
    lying at least partly on the image are dropped. Kept words are repaired:
    control characters removed from the text, the box put in order (x0 <=
    x1, y0 <= y1) and clipped to the image, the confidence clipped to 0-100.
    Returns the words kept and a note saying what was dropped or repaired
    (None when nothing was). Raises :class:`EngineError` when the answer is
    not a list of words at all.
    """
    import math

    from locator.errors import EngineError

    if raw is None or isinstance(raw, (str, bytes)) or not hasattr(raw, "__iter__"):
        raise EngineError(f"{name}: returned {type(raw).__name__}, not a list of words")
    try:
        items = list(raw)
    except Exception as e:
        raise EngineError(f"{name}: crashed while returning its words: "
                          f"{type(e).__name__}: {e}") from e
    out: list[OcrWord] = []
    dropped = repaired = 0
    for ow in items:
        raw_text = getattr(ow, "text", None)
        text = _clean_text(raw_text)
        try:
            conf = float(ow.conf)
            b = ow.box
            coords = (b.x0, b.y0, b.x1, b.y1) if isinstance(b, Box) else tuple(b)
            x0, y0, x1, y1 = (float(v) for v in coords)
        except Exception:  # missing attributes, not numbers, not four of them
            text = None
        if text is None or not all(math.isfinite(v) for v in (conf, x0, y0, x1, y1)):
            dropped += 1
            continue
        box = (max(0.0, min(x0, x1)), max(0.0, min(y0, y1)),
               min(float(width), max(x0, x1)), min(float(height), max(y0, y1)))
        if box[2] <= box[0] or box[3] <= box[1]:  # empty, or wholly off the image
            dropped += 1
            continue
        if box != (x0, y0, x1, y1) or not 0 <= conf <= 100 or text != str(raw_text).strip():
            repaired += 1
        out.append(OcrWord(text, min(100.0, max(0.0, conf)), Box(*box)))
    note = None
    if dropped or repaired:
        parts = ([f"{dropped} unusable word(s) dropped"] if dropped else []) + \
                ([f"{repaired} repaired (box clipped to the image or put in order, "
                  f"confidence out of 0-100, control characters)"] if repaired else [])
        note = f"{name} returned garbage: {', '.join(parts)}"
    return out, note


def read_checked(engine: Engine, image: np.ndarray, *, dpi: float, block: bool = False,
                 notes: list[str] | None = None) -> list[OcrWord]:
    """``engine.read`` (or ``read_block`` when ``block``; see :class:`EngineBase`),
    with its answer checked by :func:`checked_words`.

    Any exception from the engine becomes :class:`EngineError` (so the tile is
    retried once, then recorded); what was dropped or clipped is appended to
    ``notes``. Boxes are in ``image``'s pixels.
    """
    from locator.errors import EngineError

    engine = adopt(engine)
    name = engine.name
    reader = engine.read_block if block else engine.read
    try:
        raw = reader(image, dpi=dpi)
    except EngineError:
        raise
    except Exception as e:  # a crash inside the engine: that tile fails, not the run
        raise EngineError(f"{name}: crashed: {type(e).__name__}: {e}") from e
    h, w = image.shape[:2]
    words, note = checked_words(raw, w, h, name)
    if note is not None and notes is not None:
        notes.append(note)
    return words


def recognise_checked(engine: EngineBase, crops: list[np.ndarray], *, dpi: float,
                      notes: list[str] | None = None) -> list[list[OcrWord]]:
    """``engine.recognise(crops)`` with each crop's answer checked by
    :func:`checked_words` against that crop, as :func:`read_checked` does for
    ``read``: a crash is an :class:`EngineError`, an answer that is not one
    list per crop too."""
    from locator.errors import EngineError

    name = engine.name
    try:
        raw = engine.recognise(crops, dpi=dpi)
        per_crop = list(raw)
    except EngineError:
        raise
    except Exception as e:  # a crash inside the engine: that tile fails, not the run
        raise EngineError(f"{name}: crashed: {type(e).__name__}: {e}") from e
    if len(per_crop) != len(crops):
        raise EngineError(f"{name}: recognised {len(per_crop)} crops of {len(crops)}")
    out = []
    for crop, words in zip(crops, per_crop):
        kept, note = checked_words(words, crop.shape[1], crop.shape[0], name)
        if note is not None and notes is not None:
            notes.append(note)
        out.append(kept)
    return out
