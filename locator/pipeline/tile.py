"""Reading one tile: render, blank test, every engine in every direction, lifted to page points.

Also the tile's time limit in the reading process (SIGALRM) and the symbol
pass's reading of one tile. Nothing here knows about pages, pools or caches.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from locator.engines.base import Engine, adopt, read_checked, recognise_checked
from locator.errors import EngineError, InputFileError
from locator.geometry import Box, Tile, lift, pt_to_px, rotate_image_box_back
from locator.merge import Candidate, is_cut
from locator.model import Hit, Word
from locator.detect import darken_faint_ink, find_text, reading_weight
from locator.regions import Mosaic, Regions
from locator.settings import Settings
from locator.tiling import blank_outside, is_blank

if TYPE_CHECKING:
    from locator.documents import Document
    from locator.symbols import SymbolSet


def read_image(engine: Engine, img: np.ndarray, dpi: float, angle: int,
               notes: list[str] | None = None) -> list:
    """OCR ``img`` for text running at ``angle``; boxes in ``img``'s pixels
    (checked and clipped by :func:`~locator.engines.base.read_checked`)."""
    if angle == 0:
        return read_checked(engine, img, dpi=dpi, notes=notes)
    turned = np.ascontiguousarray(np.rot90(img, k=-(angle // 90)))
    h, w = img.shape[:2]
    return [type(ow)(ow.text, ow.conf, rotate_image_box_back(ow.box, angle, w, h))
            for ow in read_checked(engine, turned, dpi=dpi, notes=notes)]


#: A tile whose upright text regions cover more than this share of it is text,
#: not a drawing (a form, a page of prose): an engine that ``reads_layout``
#: reads it upright as a whole tile. At
#: 200 dpi the W-9 form's tiles are 0.40-0.51 text, the schematics' 0.14-0.24,
#: the sample drawings' at most 0.06.
DENSE_TEXT_SHARE = 0.3


def dense_text(regs, img: np.ndarray) -> bool:
    """Do the tile's upright text regions cover more than :data:`DENSE_TEXT_SHARE` of it?"""
    area = sum(b.width * b.height for b in regs.horizontal)
    return area > DENSE_TEXT_SHARE * img.shape[0] * img.shape[1]


@dataclass(frozen=True, slots=True)
class _Crops:
    """What of a cleaned tile is read how: whole-tile directions, the mosaic's
    crops, the crops read when the tile is dense (vertical only), density."""

    whole: tuple[int, ...]
    items: tuple = ()
    layout: tuple = ()
    dense: bool = False


def _wants_regions(settings: Settings) -> bool:
    """Are any directions read from text regions (else only whole tiles)?"""
    rot = settings.rotations
    return ((0 in rot and settings.text_regions)
            or (settings.rotated_regions and any(a in (90, 270) for a in rot)))


def _crops(img: np.ndarray, regs: Regions, settings: Settings) -> _Crops:
    rot = settings.rotations
    vertical = tuple(a for a in rot if a in (90, 270))
    whole = tuple(a for a in rot if a == 180 or (a == 0 and not settings.text_regions)
                  or (a in vertical and not settings.rotated_regions))
    if not _wants_regions(settings):
        return _Crops(whole)
    items: list = []
    layout: list = []
    upright_regions = 0 in rot and settings.text_regions
    # A page of prose or a form: an engine that finds its own layout
    # (Tesseract) reads its lines best, and faster, on the whole tile;
    # a detector engine (RapidOCR, EasyOCR) still wants the enlarged
    # lines of the mosaic (W-9 at 200 dpi, whole tile: Tesseract R 0.938
    # -> 0.990, RapidOCR 0.990 -> 0.552).
    dense = upright_regions and dense_text(regs, img)
    if upright_regions:
        items += [(r, 0, h) for r, h in zip(regs.horizontal, regs.horizontal_size)]
    if settings.rotated_regions:
        # A vertical candidate may also be a column of short upright labels
        # (pin names stacked A7/B7/A6): read it upright too; the most
        # confident direction wins per crop.
        both = vertical + ((0,) if upright_regions else ())
        items += [(r, a, h) for r, h in zip(regs.vertical, regs.vertical_size) for a in both]
        if dense:
            layout = [(r, a, h) for r, h in zip(regs.vertical, regs.vertical_size)
                      for a in vertical]
    return _Crops(whole, tuple(items), tuple(layout), dense)


def read_tile(img: np.ndarray, tile: Tile, engines: list[Engine],
              settings: Settings, notes: list[str] | None = None, *,
              darkened: bool = False) -> list[Candidate]:
    """Every engine, every direction, on one rendered tile -> page-space candidates.

    Faint ink is darkened and line art painted out first (``settings.clean``),
    and the tile's text regions found by ``settings.detector``
    (:func:`locator.detect.find_text`). By default the tile's text regions --
    upright words and lines, and vertical-word candidates turned upright both
    ways -- are cut out, enlarged until their text is
    ``settings.glyph_px`` pixels tall, and stacked into one mosaic, so each
    engine reads a tile in one call and a
    tile with no text costs nothing. An engine that ``recognises_lines``
    (RapidOCR) gets the mosaic's crops one by one for its recogniser instead
    of the sheets (no detection of text already found), and only the crops
    an engine before it did not read surely (:data:`SURE_CONF`). A tile that is mostly text
    (:func:`dense_text`: a form, prose) is read upright on the whole tile by
    an engine that ``reads_layout`` (Tesseract); ``text_regions=False`` reads
    upright text on the whole tile, ``rotated_regions=False`` vertical text on the whole
    tile turned; upside-down text (180) is always read on the whole tile. What the
    engines returned that had to be dropped or clipped is added to ``notes``.
    """
    out: list[Candidate] = []

    def add(engine: Engine, box_px, text: str, conf: float, angle: int) -> None:
        word = Word(text=text, conf=conf, box=lift(box_px, tile), page=tile.page,
                    engine=engine.name, angle=tile.frame.angle_to_page(angle))
        out.append(Candidate(word, cut=is_cut(box_px, tile)))

    finding = find_text(img, tile.dpi, detector=settings.detector, clean=settings.clean,
                        max_text_pt=settings.max_text_pt,
                        vertical=settings.rotated_regions
                        and any(a in (90, 270) for a in settings.rotations),
                        regions=_wants_regions(settings),
                        darkened=darkened)
    img = finding.image
    crops = _crops(img, finding.regions, settings)
    mosaics: dict[bool, Mosaic | None] = {}

    def mosaic_for(whole_upright: bool) -> Mosaic | None:
        if whole_upright not in mosaics:
            chosen = crops.layout if whole_upright else crops.items
            mosaics[whole_upright] = (
                Mosaic(img, list(chosen), margin=round(pt_to_px(2, tile.dpi)),
                       gap=round(pt_to_px(4, tile.dpi)), glyph_px=settings.glyph_px)
                if chosen else None)
        return mosaics[whole_upright]

    # Crops an engine before read surely, per mosaic (see _sure_crops).
    sure: dict[bool, set[Box]] = {False: set(), True: set()}
    for engine in map(adopt, engines):
        whole_upright = crops.dense and engine.reads_layout
        for angle in crops.whole + ((0,) if whole_upright else ()):
            for ow in read_image(engine, img, tile.dpi, angle, notes):
                add(engine, ow.box, ow.text, ow.conf, angle)
        mosaic = mosaic_for(whole_upright)
        if mosaic is not None and mosaic.sheets:
            read = (_recognised(engine, mosaic, tile.dpi, notes, sure[whole_upright])
                    if engine.recognises_lines
                    else [(i, ow) for i, sheet in enumerate(mosaic.sheets)
                          for ow in read_checked(engine, sheet, dpi=tile.dpi * mosaic.scale,
                                                 block=True, notes=notes)])
            sure[whole_upright] |= _sure_crops(mosaic, read)
            for box, text, conf, angle in best_direction(mosaic, read):
                add(engine, box, text, conf, angle)
    return out


#: A crop whose best-read direction an engine read with every word at least
#: this confident (0-100) is not read again by a later engine that
#: ``recognises_lines`` (an ensemble's second engine reads what the first was
#: unsure of). Tesseract reads half of P&ID 10's crops so; the recogniser's
#: time is what the ensemble costs (bench/README-pid.md, "The ensemble").
SURE_CONF = 90.0


def _sure_crops(mosaic: Mosaic, words, sure: float = SURE_CONF) -> set[Box]:
    """The crops (tile boxes) whose most confident slot was read with every
    word at least ``sure`` confident; ``words`` are ``(sheet, OcrWord)``."""
    per_slot: dict[int, list[float]] = {}
    for sheet, ow in words:
        back = mosaic.to_tile(ow.box, sheet)
        if back is not None:
            per_slot.setdefault(back[2], []).append(ow.conf)
    best: dict[Box, tuple[float, float]] = {}
    for i, confs in per_slot.items():
        crop, weight = mosaic.slots[i].crop, sum(confs)
        if crop not in best or weight > best[crop][0]:
            best[crop] = (weight, min(confs))
    return {crop for crop, (_w, lowest) in best.items() if lowest >= sure}


def _recognised(engine, mosaic: Mosaic, dpi: float, notes: list[str] | None,
                skip: set[Box] | frozenset = frozenset()) -> list:
    """The mosaic's slots read by an engine that ``recognises_lines``: each
    slot's crop (already cut, turned and enlarged) straight to its recogniser,
    no detection of the text found already; crops in ``skip`` (read surely
    by an engine before) are left out. ``(sheet, OcrWord)`` in sheet pixels,
    as a read of the sheets gives them."""
    todo = [i for i, s in enumerate(mosaic.slots) if s.crop not in skip]
    per_slot = recognise_checked(engine, [mosaic.piece(i) for i in todo],
                                 dpi=dpi * mosaic.scale, notes=notes)
    out = []
    for i, words in zip(todo, per_slot):
        s = mosaic.slots[i]
        out += [(s.sheet, type(ow)(ow.text, ow.conf, Box(ow.box.x0 + s.x0, ow.box.y0 + s.y0,
                                                         ow.box.x1 + s.x0, ow.box.y1 + s.y0)))
                for ow in words]
    return out


# What an upright read of a vertical-text candidate counts for against its
# turned reads (see best_direction).
UPRIGHT_PRIOR = 0.6
# A turned read at least this share of the winning (opposite) turned read's
# weight is kept as well: letters that look alike upside down (A/V, B/8, 2/Z,
# 0/O) make the wrong way round read as confidently as the right one
# ("Z008V" at 63 % for a vertical AB002 read right at 51 %), and only the
# catalog can tell them apart. The merger keeps both directions (opposite
# reads never overrule each other) and the matcher takes what matches.
OPPOSITE_SHARE = 0.5


def best_direction(mosaic: Mosaic, words) -> list:
    """Words read on the mosaic's sheets, in tile pixels; one direction per crop.

    ``words`` are ``(sheet, OcrWord)``. A vertical candidate is read upright
    and turned both ways; the wrong way round an engine still reads some
    letters, confidently ("HV" upside down is "AH"). Per crop the direction
    whose words carry the most confident letters wins; when it is a turned
    direction, the opposite turned direction is kept too if it weighs at
    least :data:`OPPOSITE_SHARE` of it.
    """
    per_slot: dict[int, list] = {}
    for sheet, ow in words:
        back = mosaic.to_tile(ow.box, sheet)
        if back is not None:
            per_slot.setdefault(back[2], []).append((back[0], ow.text, ow.conf, back[1]))
    weights: dict = {}  # crop -> [(weight, slot index, angle)]
    for i, ws in per_slot.items():
        slot = mosaic.slots[i]
        weight = sum(reading_weight(text, conf) for _b, text, conf, _a in ws)
        if slot.angle == 0:
            # The crop is a column of glyphs stacked like a vertical word's
            # letters; read upright, Tesseract still names each turned letter
            # confidently ("OO" at 57 % for a vertical C37 it read right at
            # 90 degrees with less). Upright must win clearly.
            weight *= UPRIGHT_PRIOR
        weights.setdefault(slot.crop, []).append((weight, i, slot.angle))
    keep = set()
    for reads in weights.values():
        best_w, best_i, best_a = max(reads, key=lambda r: r[0])
        keep.add(best_i)
        if best_a in (90, 270):
            keep.update(i for w, i, a in reads
                        if a == (best_a + 180) % 360 and w >= OPPOSITE_SHARE * best_w)
    return [w for i, ws in per_slot.items() if i in keep for w in ws]


@dataclass
class TileOutcome:
    """What reading one tile gave: candidates, or that it was blank, or why it failed.

    ``notes`` say what was wrong with an engine's answer (garbage dropped or
    clipped, a first attempt that failed) even when the tile was read.
    """

    tile: Tile
    cands: list
    skipped: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)


class TileTimeout(EngineError):
    """Reading one tile took longer than ``Settings.tile_timeout``."""


def alarm_after(timeout: float) -> float:
    """Seconds of the in-process alarm for an engine limit of ``timeout``.

    Engines with their own limit (Tesseract) stop at ``timeout`` and kill
    their process cleanly; the alarm is the backstop for the others.
    """
    return timeout + min(5.0, timeout)


def hang_after(timeout: float) -> float:
    """Seconds after which a tile still running in a worker is taken as hung:
    both attempts at their time limit, and some slack for rendering."""
    return 2.5 * alarm_after(timeout) + 1.0


@contextmanager
def deadline(seconds: float):
    """Raise :class:`TileTimeout` in this thread after ``seconds`` (SIGALRM).

    Interrupts engines stuck in Python code or waiting on a process or a
    socket. A no-op where signals cannot be used: ``seconds`` <= 0, no
    ``setitimer`` (Windows), not the main thread (Dask). A timer the process
    already had (a caller's own alarm) is put back afterwards, less the time
    spent; if it is due first, it is left alone. An engine stuck in C code
    that never returns is caught by the executor's watchdog instead.
    """
    import signal
    import threading

    if (seconds <= 0 or not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return
    before, interval = signal.getitimer(signal.ITIMER_REAL)
    if before and before <= seconds:
        yield
        return

    def on_alarm(signum, frame):
        raise TileTimeout(f"timed out after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    t0 = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if before:
            left = before - (time.monotonic() - t0)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), interval)


def render_tile(doc: Document, tile: Tile, settings: Settings
                ) -> tuple[np.ndarray | None, TileOutcome | None]:
    """The tile's image (outside its ``keep`` blanked; rendered in colour and
    reduced to the darkest channel with ``settings.colour``; faint ink darkened,
    so coloured thin text counts as ink for the blank test too), or None and its
    outcome when there is nothing to read: blank (``settings.skip_blank``) or
    unrenderable."""
    try:
        img = darken_faint_ink(blank_outside(doc.render(tile, colour=settings.colour), tile),
                               tile.dpi)
    except InputFileError as e:  # a broken content stream: the other pages still count
        return None, TileOutcome(tile, [], error=str(e))
    if settings.skip_blank and is_blank(img, dpi=tile.dpi):
        return None, TileOutcome(tile, [], skipped=True)
    return img, None


def process_tile(doc: Document, tile: Tile, engines: list[Engine],
                 settings: Settings) -> TileOutcome:
    """Render, blank-test and read one tile; an engine failure (a crash, an
    answer that is not a list of words, more than ``settings.tile_timeout``
    seconds) is retried once, then recorded."""
    img, done = render_tile(doc, tile, settings)
    if done is not None:
        return done
    assert img is not None  # render_tile gives an image or an outcome
    first = None
    for _attempt in range(2):
        notes: list[str] = []
        try:
            with deadline(alarm_after(settings.tile_timeout)):
                cands = read_tile(img, tile, engines, settings, notes, darkened=True)
        except EngineError as e:
            if first is not None:
                return TileOutcome(tile, [], error=f"{e} (after one retry)")
            first = e
            continue
        if first is not None:
            notes.insert(0, f"read on the second attempt (the first failed: {first})")
        return TileOutcome(tile, cands, notes=list(dict.fromkeys(notes)))
    raise AssertionError("unreachable")  # pragma: no cover


def symbols_in_tile(img: np.ndarray, tile: Tile, symbols: SymbolSet) -> list[Hit]:
    """One rendered tile's symbol detections as hits in page points (not yet merged)."""
    out = []
    for d in symbols.find(img, tile.dpi):
        spec = symbols.specs[d.index]
        out.append(Hit(pattern_id=spec.id, label=spec.label, matched=spec.id, text="",
                       score=d.score, box=lift(d.box, tile), page=tile.page, engine="template",
                       conf=d.score, source="image",
                       angle=tile.frame.angle_to_page(d.angle)))
    return out


def symbol_tile(doc: Document, tile: Tile, symbols: SymbolSet,
                settings: Settings) -> TileOutcome:
    """Render one tile and find its symbols (``cands`` holds hits here)."""
    try:
        img = doc.render(tile)
        if settings.skip_blank and is_blank(img, dpi=tile.dpi):
            return TileOutcome(tile, [], skipped=True)
        return TileOutcome(tile, symbols_in_tile(img, tile, symbols))
    except Exception as e:  # a broken page or a matcher failure: record it, go on
        return TileOutcome(tile, [], error=f"{type(e).__name__}: {e}")
