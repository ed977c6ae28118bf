"""Orchestration: pages -> tiles -> OCR -> lifted words -> merged words -> hits.

This is the only module that knows the order of the stages. It renders each
tile from the page's display list, skips blank ones, reads the rest with every
chosen engine in every chosen text direction, lifts boxes to page points,
merges the page, and matches the words against the catalog. Failures of one
tile are recorded as warnings and the rest of the document still comes back.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from locator.documents import Document, parse_pages
from locator.engines import Engine, get_engine
from locator.engines.base import read_checked
from locator.errors import EngineError, InputFileError
from locator.geometry import PageFrame, Tile, lift, pt_to_px, rotate_image_box_back
from locator.merge import Candidate, is_cut, merge_page
from locator.model import Hit, RunWarning, Word, in_file, printable
from locator.regions import Mosaic, clean_for_ocr, flatten_background, text_regions
from locator.settings import Settings
from locator.textlayer import SourcePlan, combine, plan_page
from locator.tiling import blank_outside, grid, is_blank

if TYPE_CHECKING:
    import pandas as pd

    from locator.catalog import Catalog
    from locator.symbols import SymbolSet


class Progress(Protocol):
    """What the pipeline reports while it works (the CLI draws bars from it)."""

    def pages_started(self, total: int) -> None: ...
    def page_started(self, page: int, tiles: int) -> None: ...
    def tile_done(self, page: int, skipped: bool) -> None: ...
    def page_done(self, page: int) -> None: ...


class _Silent:
    def pages_started(self, total: int) -> None: pass
    def page_started(self, page: int, tiles: int) -> None: pass
    def tile_done(self, page: int, skipped: bool) -> None: pass
    def page_done(self, page: int) -> None: pass


@dataclass
class RunReport:
    """What a run did: counts, time, what was never found, what went wrong."""

    file: str
    pages: int = 0
    tiles: int = 0
    tiles_read: int = 0
    tiles_skipped: int = 0
    pages_cached: int = 0
    words: int = 0
    hits: int = 0
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    engines: dict[str, str] = field(default_factory=dict)
    settings: Settings | None = None
    # page -> where its words came from (run_many: "file:page" -> ...)
    sources: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.file = printable(self.file)  # shown and written: a name's odd bytes escaped


@dataclass
class RunResult:
    hits: list[Hit]
    words: list[Word]
    report: RunReport


def load_engines(settings: Settings) -> list[Engine]:
    """Construct every chosen engine once (MissingEngineError if one is absent).

    An engine with its own per-call time limit (a ``timeout`` attribute, as
    Tesseract has) gets ``settings.tile_timeout``.
    """
    engines = [get_engine(name) for name in settings.engine]
    for e in engines:
        if hasattr(e, "timeout"):
            e.timeout = settings.tile_timeout
    return engines


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


def read_tile(img: np.ndarray, tile: Tile, engines: list[Engine],
              settings: Settings, notes: list[str] | None = None) -> list[Candidate]:
    """Every engine, every direction, on one rendered tile -> page-space candidates.

    Line art is painted out first (``settings.clean``). By default the tile's
    text regions -- upright words and lines, and vertical-word candidates
    turned upright both ways -- are cut out, enlarged until their text is
    ``settings.glyph_px`` pixels tall, and stacked into one mosaic, so each engine reads a tile in one call and a
    tile with no text costs nothing. A tile that is mostly text
    (:func:`dense_text`: a form, prose) is read upright on the whole tile by
    an engine that ``reads_layout`` (Tesseract); ``text_regions=False`` reads
    upright text on the whole tile, ``rotated_regions=False`` vertical text on the whole
    tile turned; upside-down text (180) is always read on the whole tile. What the
    engines returned that had to be dropped or clipped is added to ``notes``.
    """
    out: list[Candidate] = []

    def add(engine: Engine, box_px, text: str, conf: float, angle: int) -> None:
        word = Word(text=text, conf=conf, box=lift(box_px, tile), page=tile.page,
                    engine=engine.name, angle=angle)
        out.append(Candidate(word, cut=is_cut(box_px, tile)))

    if settings.clean:
        img = flatten_background(img, tile.dpi, max_text_pt=settings.max_text_pt)
        img = clean_for_ocr(img, tile.dpi, max_text_pt=settings.max_text_pt)
    rot = settings.rotations
    vertical = tuple(a for a in rot if a in (90, 270))
    whole = [a for a in rot if a == 180 or (a == 0 and not settings.text_regions)
             or (a in vertical and not settings.rotated_regions)]
    items: list = []      # the mosaic's crops for engines that read regions
    layout: list = []     # ... for engines that read a dense tile whole (vertical only)
    dense = False
    if (0 in rot and settings.text_regions) or (vertical and settings.rotated_regions):
        regs = text_regions(img, tile.dpi, max_text_pt=settings.max_text_pt,
                            vertical=bool(vertical) and settings.rotated_regions)
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
            items += [(r, a, h) for r, h in zip(regs.vertical, regs.vertical_size)
                      for a in both]
            if dense:
                layout = [(r, a, h) for r, h in zip(regs.vertical, regs.vertical_size)
                          for a in vertical]
    mosaics: dict[bool, Mosaic | None] = {}

    def mosaic_for(whole_upright: bool) -> Mosaic | None:
        if whole_upright not in mosaics:
            crops = layout if whole_upright else items
            mosaics[whole_upright] = (
                Mosaic(img, crops, margin=round(pt_to_px(2, tile.dpi)),
                       gap=round(pt_to_px(4, tile.dpi)), glyph_px=settings.glyph_px)
                if crops else None)
        return mosaics[whole_upright]

    for engine in engines:
        whole_upright = dense and getattr(engine, "reads_layout", False)
        for angle in whole + ([0] if whole_upright else []):
            for ow in read_image(engine, img, tile.dpi, angle, notes):
                add(engine, ow.box, ow.text, ow.conf, angle)
        mosaic = mosaic_for(whole_upright)
        if mosaic is not None and mosaic.sheets:
            read = [(i, ow) for i, sheet in enumerate(mosaic.sheets)
                    for ow in read_checked(engine, sheet, dpi=tile.dpi * mosaic.scale,
                                           block=True, notes=notes)]
            for box, text, conf, angle in _best_direction(mosaic, read):
                add(engine, box, text, conf, angle)
    return out


# What an upright read of a vertical-text candidate counts for against its
# turned reads (see _best_direction).
UPRIGHT_PRIOR = 0.6


def _best_direction(mosaic: Mosaic, words) -> list:
    """Words read on the mosaic's sheets, in tile pixels; one direction per crop.

    ``words`` are ``(sheet, OcrWord)``. A vertical candidate is read upright
    and turned both ways; the wrong way round an engine still reads some
    letters, confidently ("HV" upside down is "AH"). Per crop the direction
    whose words carry the most confident letters wins.
    """
    per_slot: dict[int, list] = {}
    for sheet, ow in words:
        back = mosaic.to_tile(ow.box, sheet)
        if back is not None:
            per_slot.setdefault(back[2], []).append((back[0], ow.text, ow.conf, back[1]))
    best: dict = {}
    for i, ws in per_slot.items():
        slot = mosaic.slots[i]
        crop = slot.crop
        weight = sum(conf * len(text) for _b, text, conf, _a in ws)
        if slot.angle == 0:
            # The crop is a column of glyphs stacked like a vertical word's
            # letters; read upright, Tesseract still names each turned letter
            # confidently ("OO" at 57 % for a vertical C37 it read right at
            # 90 degrees with less). Upright must win clearly.
            weight *= UPRIGHT_PRIOR
        if crop not in best or weight > best[crop][1]:
            best[crop] = (i, weight)
    keep = {i for i, _w in best.values()}
    return [w for i, ws in per_slot.items() if i in keep for w in ws]


def _tile_dpi(doc: Document, page: int, settings: Settings) -> float:
    # Images are read at their own resolution: resampling only blurs them.
    return doc.native_dpi(page) or settings.dpi


@dataclass
class TileOutcome:
    """What reading one tile gave: candidates, or that it was blank, or why it failed.

    ``notes`` say what was wrong with an engine's answer (garbage dropped or
    clipped, a first attempt that failed) even when the tile was read.
    """

    tile: Tile
    cands: list[Candidate]
    skipped: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)


class TileTimeout(EngineError):
    """Reading one tile took longer than ``Settings.tile_timeout``."""


def _alarm_after(timeout: float) -> float:
    # Engines with their own limit (Tesseract) stop at ``timeout`` and kill
    # their process cleanly; the alarm is the backstop for the others.
    return timeout + min(5.0, timeout)


@contextmanager
def _deadline(seconds: float):
    """Raise :class:`TileTimeout` in this thread after ``seconds`` (SIGALRM).

    Interrupts engines stuck in Python code or waiting on a process or a
    socket. A no-op where signals cannot be used: ``seconds`` <= 0, no
    ``setitimer`` (Windows), not the main thread (Dask). A timer the process
    already had (a caller's own alarm) is put back afterwards, less the time
    spent; if it is due first, it is left alone. An engine stuck in C code
    that never returns is caught by the parent instead
    (:func:`_outcomes_parallel`).
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


def process_tile(doc: Document, tile: Tile, engines: list[Engine],
                 settings: Settings) -> TileOutcome:
    """Render, blank-test and read one tile; an engine failure (a crash, an
    answer that is not a list of words, more than ``settings.tile_timeout``
    seconds) is retried once, then recorded."""
    try:
        img = blank_outside(doc.render(tile), tile)
    except InputFileError as e:  # a broken content stream: the other pages still count
        return TileOutcome(tile, [], error=str(e))
    if settings.skip_blank and is_blank(img, dpi=tile.dpi):
        return TileOutcome(tile, [], skipped=True)
    first = None
    for _attempt in range(2):
        notes: list[str] = []
        try:
            with _deadline(_alarm_after(settings.tile_timeout)):
                cands = read_tile(img, tile, engines, settings, notes)
        except EngineError as e:
            if first is not None:
                return TileOutcome(tile, [], error=f"{e} (after one retry)")
            first = e
            continue
        if first is not None:
            notes.insert(0, f"read on the second attempt (the first failed: {first})")
        return TileOutcome(tile, cands, notes=list(dict.fromkeys(notes)))
    raise AssertionError("unreachable")  # pragma: no cover


# -- worker processes ----------------------------------------------------------
# Each worker process opens the document and builds its engines once (an
# EasyOCR model load is seconds); this per-process state is what makes that so.
_worker: dict = {}


def _worker_init(path: str, settings: Settings, started=None) -> None:
    import signal

    # Ctrl-C is the parent's to handle (it stops the workers); a worker that
    # took it too would die mid-tile and break the pool first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker["doc"] = Document(path, password=settings.password)
    _worker["engines"] = load_engines(settings)
    _worker["settings"] = settings
    _worker["started"] = started


def _worker_tile(tile: Tile, index: int = -1) -> TileOutcome:
    started = _worker.get("started")
    if started is not None and index >= 0:
        started[index] = time.time()  # the parent watches this for hung tiles
    try:
        return process_tile(_worker["doc"], tile, _worker["engines"], _worker["settings"])
    except Exception as e:  # a bug or a broken page must not take the run down
        return TileOutcome(tile, [], error=f"{type(e).__name__}: {e}")


def _outcomes_serial(doc, tiles, engines, settings):
    for tile in tiles:
        yield process_tile(doc, tile, engines, settings)


def _hang_after(timeout: float) -> float:
    """Seconds after which a tile still running in a worker is taken as hung:
    both attempts at their time limit, and some slack for rendering."""
    return 2.5 * _alarm_after(timeout) + 1.0


def _stop_workers(ex) -> None:
    """Kill an executor's worker processes at once (Ctrl-C, a hung tile) and
    shut it down without waiting for the tiles they were reading."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for proc in procs:
        try:
            proc.kill()
        except (OSError, ValueError, AttributeError):
            pass
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.join(timeout=5)


def _outcomes_parallel(path, tiles, settings, workers):
    """Outcomes of ``tiles`` read in ``workers`` processes, as they finish.

    A tile a worker has been reading for longer than :func:`_hang_after` (an
    engine stuck where the per-tile alarm cannot reach it) is hung: the
    workers are stopped, that tile is tried once more and then recorded as
    failed, and the tiles not yet read go to fresh workers. A worker that
    dies (killed, out of memory) ends the run with :class:`EngineError`.
    """
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # fork where the OS has it: unlike spawn it does not re-import the caller's
    # __main__, so library users' scripts need no `if __name__ == "__main__"`
    # guard. Workers touch only their own document and engines, never the
    # parent's threads (progress bars), and the parent never runs a model.
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    limit = _hang_after(settings.tile_timeout) if settings.tile_timeout > 0 else None
    todo = list(range(len(tiles)))
    hangs: dict[int, int] = {}
    while todo:
        started = ctx.Array("d", len(tiles), lock=False)  # when a worker began each tile
        ex = ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx,
                                 initializer=_worker_init,
                                 initargs=(str(path), settings, started))
        futures = {ex.submit(_worker_tile, tiles[i], i): i for i in todo}
        todo = []
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=None if limit is None else
                                     min(1.0, limit / 4), return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
                now = time.time()
                hung = [futures[f] for f in pending if limit is not None and started[futures[f]]
                        and now - started[futures[f]] > limit]
                if hung:
                    _stop_workers(ex)
                    for i in sorted(futures[f] for f in pending):
                        if i not in hung:
                            todo.append(i)  # not read yet, or caught in the stop
                        elif hangs.get(i):
                            yield TileOutcome(tiles[i], [], error=(
                                f"OCR hung: no answer in {limit:.0f} s (after one retry); "
                                f"its worker was stopped"))
                        else:
                            hangs[i] = 1
                            todo.append(i)
                    break
        except BrokenProcessPool as e:
            _stop_workers(ex)
            raise EngineError("an OCR worker process died (out of memory, or killed); "
                              "pages finished before it are in the OCR cache") from e
        except BaseException:  # Ctrl-C, or the caller gave up: stop now, not after the tiles
            _stop_workers(ex)
            raise
        else:
            ex.shutdown(wait=True)


def _ocr_settings(settings: Settings, engines: list[Engine], dpi: float) -> dict:
    """Everything that changes a page's OCR words (the cache key's settings part)."""
    return {"dpi": dpi, "tile": settings.tile, "overlap": settings.overlap,
            "rotations": list(settings.rotations), "skip_blank": settings.skip_blank,
            "rotated_regions": settings.rotated_regions, "clean": settings.clean,
            "max_text_pt": settings.max_text_pt, "text_regions": settings.text_regions,
            "glyph_px": settings.glyph_px,
            "engines": [[e.name, e.version()] for e in engines]}


def read_document(path: str | Path, settings: Settings, *, engines: list[Engine] | None = None,
                  progress: Progress | None = None,
                  report: RunReport | None = None) -> list[Word]:
    """All merged words of the chosen pages (page points, unrotated space).

    Pages found in the OCR cache are not read again. The rest are read tile by
    tile, in ``settings.worker_count`` processes when that is more than one
    (engines passed in explicitly, such as test doubles, run in this process).
    """
    from locator.cache import OcrCache, default_folder, file_hash

    progress = progress or _Silent()
    report = report if report is not None else RunReport(file=str(path))
    in_process = engines is not None
    words: list[Word] = []
    with Document(path, password=settings.password) as doc:
        pages = parse_pages(settings.pages, doc.page_count)
        progress.pages_started(len(pages))
        # Where each page's words come from: its text layer, OCR, or both.
        sources = plan_sources(doc, pages, settings, report)
        ocr_pages = [p for p in pages if p in sources and sources[p].ocr != "none"]
        for page in pages:
            if page in sources and sources[page].ocr == "none":
                progress.page_started(page, 0)
                words.extend(sources[page].text)
                report.pages += 1
                progress.page_done(page)
        if ocr_pages:  # engines are needed (and checked) only when something is OCR'd
            engines = engines if engines is not None else load_engines(settings)
            report.engines = {e.name: e.version() for e in engines}
        cache = OcrCache((settings.cache_dir or default_folder())
                         if settings.cache and not in_process and ocr_pages else None)
        content = file_hash(path) if cache.folder is not None else ""
        plan: dict[int, list[Tile]] = {}
        keys: dict[int, str] = {}
        for page in ocr_pages:
            dpi = page_dpi(doc, page, settings, report)
            tiles = source_tiles(sources[page], doc.frame(page), dpi, settings)
            report.tiles += len(tiles)
            keys[page] = OcrCache.key(content, page, {**_ocr_settings(settings, engines, dpi),
                                                      **source_key(sources[page])})
            cached = cache.get(keys[page])
            if cached is not None or not tiles:
                report.pages_cached += cached is not None
                progress.page_started(page, len(tiles))
                words.extend(combine(sources[page], cached or []))
                report.pages += 1
                progress.page_done(page)
            else:
                plan[page] = tiles
        todo = [t for tiles in plan.values() for t in tiles]
        workers = min(settings.worker_count, len(todo))
        if in_process or workers <= 1:
            outcomes = _outcomes_serial(doc, todo, engines, settings)
        else:
            outcomes = _outcomes_parallel(path, todo, settings, workers)
        pending = {page: len(tiles) for page, tiles in plan.items()}
        cands: dict[int, list[Candidate]] = {page: [] for page in plan}
        started: set[int] = set()
        failed: set[int] = set()
        for o in outcomes:
            page = o.tile.page
            if page not in started:
                started.add(page)
                progress.page_started(page, len(plan[page]))
            where = ",".join(str(v) for v in o.tile.rect_px)
            for note in o.notes:
                report.warnings.append(RunWarning(
                    f"page {page} tile at {o.tile.rect_px[:2]} px: {note}",
                    file=str(path), page=page, tile=where, message=note))
            if o.skipped:
                report.tiles_skipped += 1
            elif o.error:
                failed.add(page)
                msg = f"{o.error}; words there are missing"
                report.warnings.append(RunWarning(
                    f"page {page} tile at {o.tile.rect_px[:2]} px: {msg}",
                    file=str(path), page=page, tile=where, message=msg))
            else:
                report.tiles_read += 1
                cands[page].extend(o.cands)
            progress.tile_done(page, skipped=o.skipped)
            pending[page] -= 1
            if pending[page] == 0:
                page_words = merge_page(cands.pop(page))
                if page not in failed:  # a page with a failed tile is read again next time
                    cache.put(keys[page], page_words)
                words.extend(combine(sources[page], page_words))
                report.pages += 1
                progress.page_done(page)
    if cache.warning:
        report.warnings.append(cache.warning)
    words.sort(key=lambda w: (w.page, w.box.y0, w.box.x0))
    report.words = len(words)
    return words


# -- where words come from: text layer or OCR, and which part of a page ------
# (issue 6) Everything deciding, per page, what to take from a PDF's text layer
# and what to OCR lives in these functions and in locator.textlayer.

#: A page is never rendered larger than this on its long side: the DPI is
#: lowered (with a warning) for absurd page sizes, so tiles stay countable.
MAX_PAGE_PX = 30_000


def usable_frame(doc: Document, page: int, warnings: list[str], *, decode: bool = True
                 ) -> tuple[PageFrame | None, list[str]]:
    """The page's frame, or None and why the page is skipped (damaged beyond
    reading, no frame, no area). Every problem found is added to ``warnings``.
    ``decode=False`` leaves undecodable content streams to the caller (see
    :meth:`Document.page_problems`)."""
    problems = doc.page_problems(page, decode=decode)
    warnings += [f"page {page}: {m}" + ("; skipped" if bad else "") for m, bad in problems]
    why = [f"page {page}: {m}" for m, bad in problems if bad]
    if why:
        return None, why
    try:
        frame = doc.frame(page)
    except InputFileError as e:
        warnings.append(f"{e}; skipped")
        return None, [str(e).removeprefix(f"{doc.path}: ")]
    if frame.width < 1 or frame.height < 1:
        warnings.append(f"page {page} has no area ({frame.width:g} x {frame.height:g} pt); "
                        f"skipped")
        return None, [f"page {page} has no area"]
    return frame, []


def page_dpi(doc: Document, page: int, settings: Settings, report: RunReport) -> float:
    """The DPI to OCR ``page`` at: the image's own, else ``settings.dpi``; capped
    so the page is at most :data:`MAX_PAGE_PX` on its long side (noted in the report)."""
    dpi = _tile_dpi(doc, page, settings)
    frame = doc.frame(page)
    long_pt = max(frame.width, frame.height)
    long_px = long_pt * dpi / 72.0
    if long_px <= MAX_PAGE_PX:
        return dpi
    capped = MAX_PAGE_PX * 72.0 / long_pt
    small = 8.0 * dpi / capped  # what 8-pt text at the wanted dpi shrinks to
    report.warnings.append(
        f"page {page} is {frame.width / 72:.0f} x {frame.height / 72:.0f} in; at {dpi:.0f} dpi "
        f"its long side would be {long_px:,.0f} px, over the {MAX_PAGE_PX:,} px cap: read at "
        f"{capped:.0f} dpi instead (text smaller than ~{small:.0f} pt may be missed)")
    return capped


def plan_sources(doc: Document, pages: list[int], settings: Settings,
                 report: RunReport) -> dict[int, SourcePlan]:
    """Per page, what to take from the text layer and what to OCR (see
    :func:`locator.textlayer.plan_page`). Damaged pages and the decisions are
    recorded in ``report``; a page that cannot be read at all is left out."""
    if doc.repaired:
        report.warnings.append("the file is damaged; the reader repaired it, "
                               "so some pages may be incomplete")
    out: dict[int, SourcePlan] = {}
    skipped: list[str] = []
    for page in pages:
        # Reading the text layer interprets the page, which is where a stream
        # that cannot be inflated shows: no separate decoding pass then.
        reads_layer = settings.source != "ocr" and doc.kind == "pdf"
        frame, why = usable_frame(doc, page, report.warnings, decode=not reads_layer)
        if frame is None:
            skipped += why
            continue
        layer = None
        if reads_layer:
            try:
                layer = doc.text_layer(page)
            except InputFileError as e:
                report.warnings.append(f"{e}; the page is OCR'd")
                out[page] = SourcePlan(page, ocr="page", reason="text layer unreadable")
                report.sources[page] = out[page].describe()
                continue
            finally:
                if (said := doc.decode_problem(page)) is not None:
                    report.warnings.append(f"page {page}: {said}")
        sp = plan_page(page, layer, frame, settings.source,
                       paths=lambda page=page: doc.count_paths(page))
        if settings.source == "text" and not sp.text:
            report.warnings.append(f"page {page}: no text layer; --source text reads nothing "
                                   f"there (use --source auto to OCR it)")
        elif settings.source == "text" and layer is not None and layer.verdict():
            report.warnings.append(f"page {page}: {layer.verdict()}; read anyway (--source text)")
        out[page] = sp
        report.sources[page] = sp.describe()
    if pages and not out:
        raise InputFileError(f"{doc.path}: no page can be read (damaged or truncated?): "
                             + "; ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else ""))
    return out


def source_tiles(sp: SourcePlan, frame, dpi: float, settings: Settings) -> list[Tile]:
    """The tiles to OCR for one page's plan: the page grid, or the same grid laid
    over each region only (regions are page points; tiles whole view pixels)."""
    if sp.ocr == "page":
        return grid(sp.page, frame, dpi, settings.tile, settings.overlap)
    import math

    k = dpi / 72.0
    # Regions that fit in one tile together are read as one: each OCR call has
    # a fixed cost, and the words between them are dropped again (combine).
    limit = settings.tile / k  # points
    groups: list = []
    for r in sorted(sp.regions, key=lambda b: (b.y0, b.x0)):
        for i, g in enumerate(groups):
            u = g.union(r)
            if u.width <= limit and u.height <= limit:
                groups[i] = u
                break
        else:
            groups.append(r)
    tiles: list[Tile] = []
    for r in groups:
        v = frame.box_to_view(r)
        within = (math.floor(v.x0 * k), math.floor(v.y0 * k),
                  math.ceil(v.x1 * k), math.ceil(v.y1 * k))
        for t in grid(sp.page, frame, dpi, settings.tile, settings.overlap, within=within):
            # only the regions are read: the rest of the tile is blanked
            keep = tuple(b for b in sp.regions if b.intersection_area(t.clip) > 0)
            tiles.append(replace(t, keep=keep, images_only=sp.images_only))
    return tiles


def source_key(sp: SourcePlan) -> dict:
    """What a plan adds to the OCR cache key: the regions, when only they are read."""
    if sp.ocr != "regions":
        return {}
    return {"regions": [[round(v, 2) for v in (r.x0, r.y0, r.x1, r.y1)] for r in sp.regions],
            "images_only": sp.images_only}


# -- symbols (issue 9): found by example on the same tiles ------------------------
# A pass of its own over each page's tile grid (same DPI, tile size and overlap
# as OCR): the OCR loop and its cache stay as they are, a page whose words come
# from the cache still has its symbols found, and a catalog of symbols only
# needs no OCR engine at all. Rendering a tile twice costs little next to OCR.

def _symbol_set(cat: Catalog) -> SymbolSet | None:
    from locator.symbols import SymbolSet, specs_from_catalog

    specs = specs_from_catalog(cat)
    return SymbolSet(specs) if specs else None


def symbols_in_tile(img: np.ndarray, tile: Tile, symbols: SymbolSet) -> list[Hit]:
    """One rendered tile's symbol detections as hits in page points (not yet merged)."""
    out = []
    for d in symbols.find(img, tile.dpi):
        spec = symbols.specs[d.index]
        out.append(Hit(pattern_id=spec.id, label=spec.label, matched=spec.id, text="",
                       score=d.score, box=lift(d.box, tile), page=tile.page, engine="template",
                       conf=d.score, source="image", angle=int(round(d.angle)) % 360))
    return out


def merge_symbol_hits(hits: list[Hit], symbols: SymbolSet) -> list[Hit]:
    """One page's symbol hits from all its tiles -> one hit per symbol.

    The overlap shows a symbol to two tiles, and two symbols may claim one
    place: non-maximum suppression over all of them (the best score keeps the
    place), then each symbol's ``min_score``. Boxes are page points.
    """
    from locator.symbols import nms

    floor = {s.id: s.min_score for s in symbols.specs}
    kept = [h for h in nms(hits) if h.score >= floor[h.pattern_id]]
    return sorted(kept, key=lambda h: (h.page, h.box.y0, h.box.x0))


def _symbol_tile(doc: Document, tile: Tile, symbols: SymbolSet,
                 settings: Settings) -> TileOutcome:
    """Render one tile and find its symbols (``cands`` holds hits here)."""
    try:
        img = doc.render(tile)
        if settings.skip_blank and is_blank(img, dpi=tile.dpi):
            return TileOutcome(tile, [], skipped=True)
        return TileOutcome(tile, symbols_in_tile(img, tile, symbols))
    except Exception as e:  # a broken page or a matcher failure: record it, go on
        return TileOutcome(tile, [], error=f"{type(e).__name__}: {e}")


def _symbol_worker_init(path: str, settings: Settings, symbols: SymbolSet) -> None:
    # (No cv2.setNumThreads here: in a child forked from a parent whose OpenCV
    # thread pool has run, it waits forever for the parent's threads.)
    _worker.update(doc=Document(path, password=settings.password), symbols=symbols,
                   settings=settings)


def _symbol_worker_tile(tile: Tile) -> TileOutcome:
    return _symbol_tile(_worker["doc"], tile, _worker["symbols"], _worker["settings"])


def _symbol_outcomes(path, doc: Document, tiles: list[Tile], symbols: SymbolSet,
                     settings: Settings):
    workers = min(settings.worker_count, len(tiles))
    if workers <= 1:
        for tile in tiles:
            yield _symbol_tile(doc, tile, symbols, settings)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method),
                             initializer=_symbol_worker_init,
                             initargs=(str(path), settings, symbols)) as ex:
        futures = [ex.submit(_symbol_worker_tile, t) for t in tiles]
        try:
            for f in as_completed(futures):
                yield f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def read_symbols(path: str | Path, symbols: SymbolSet, settings: Settings, *,
                 progress: Progress | None = None, report: RunReport | None = None,
                 count_tiles: bool = False) -> list[Hit]:
    """The symbol hits of the chosen pages (page points, unrotated space), merged per page.

    Tiles are those OCR reads (``settings.dpi`` or an image's own, tile,
    overlap), in ``settings.worker_count`` processes. With ``count_tiles``
    (no OCR ran) the report's page and tile counts are filled from this pass.
    """
    progress = progress or _Silent()
    report = report if report is not None else RunReport(file=str(path))
    hits: list[Hit] = []
    with Document(path, password=settings.password) as doc:
        pages = parse_pages(settings.pages, doc.page_count)
        # The DPI OCR uses (capped for huge pages; the OCR pass already said so).
        quiet = report if count_tiles else RunReport(file=str(path))
        plan: dict[int, list[Tile]] = {}
        for page in pages:
            frame, _why = usable_frame(doc, page, quiet.warnings)  # the OCR pass names them
            if frame is None:
                continue
            plan[page] = grid(page, frame, page_dpi(doc, page, settings, quiet),
                              settings.tile, settings.overlap)
        progress.pages_started(len(plan))
        pending = {page: len(tiles) for page, tiles in plan.items()}
        found: dict[int, list[Hit]] = {page: [] for page in plan}
        todo = [t for tiles in plan.values() for t in tiles]
        for o in _symbol_outcomes(path, doc, todo, symbols, settings):
            page = o.tile.page
            if pending[page] == len(plan[page]):
                progress.page_started(page, len(plan[page]))
            if o.error:
                report.warnings.append(f"page {page} tile at {o.tile.rect_px[:2]} px: {o.error}; "
                                       f"symbols there are missing")
            else:
                found[page].extend(o.cands)
            if count_tiles:
                report.tiles += 1
                report.tiles_skipped += o.skipped
                report.tiles_read += not (o.skipped or o.error)
            progress.tile_done(page, skipped=o.skipped)
            pending[page] -= 1
            if pending[page] == 0:
                hits.extend(merge_symbol_hits(found.pop(page), symbols))
                if count_tiles:
                    report.pages += 1
                progress.page_done(page)
    return sorted(hits, key=lambda h: (h.page, h.box.y0, h.box.x0))


def _as_catalog(catalog) -> Catalog:
    from locator.catalog import Catalog, load_catalog

    return catalog if isinstance(catalog, Catalog) else load_catalog(catalog)


def match_words(words: list[Word], catalog: Catalog, report: RunReport, *,
                references: list[Hit] = ()) -> list[Hit]:
    """Match, turning the matcher's warnings (a regex over its time limit) into report lines.

    ``references`` are other hits (symbols) that ``near:`` conditions may refer to.
    """
    import warnings

    from locator.match import match

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hits = match(words, catalog, references=references)
    report.warnings += [str(w.message) for w in caught]
    return hits


def run(path: str | Path, catalog, settings: Settings | None = None, *,
        progress: Progress | None = None, engines: list[Engine] | None = None) -> RunResult:
    """Locate the catalog's snippets in one document.

    ``catalog`` is a :class:`~locator.catalog.Catalog` or a path to a YAML file.
    Hit boxes are page points, unrotated space, origin top left. A catalog of
    ``symbol:`` entries only is matched without reading any text.
    """
    from locator.match import missing

    settings = settings or Settings()
    t0 = time.perf_counter()
    cat = _as_catalog(catalog)  # load first: a bad catalog must fail before any OCR
    symbols = _symbol_set(cat)  # and so must an unreadable symbol image
    text = any(p.kind != "symbol" for p in cat.patterns)
    report = RunReport(file=str(path), settings=settings)
    words = (read_document(path, settings, engines=engines, progress=progress, report=report)
             if text else [])
    symbol_hits = (read_symbols(path, symbols, settings, progress=progress, report=report,
                                count_tiles=not text) if symbols else [])
    # Symbols first: a text pattern may only count `near` a symbol's hit.
    hits = (match_words(words, cat, report, references=symbol_hits) if text else [])
    hits += symbol_hits
    hits = [replace(h, file=str(path)) for h in hits]
    report.hits = len(hits)
    report.missing = [p.id for p in missing(cat, hits)]
    report.seconds = time.perf_counter() - t0
    return RunResult(hits=hits, words=words, report=report)


def run_many(paths: list[str | Path], catalog, settings: Settings | None = None, *,
             progress: Progress | None = None,
             engines: list[Engine] | None = None) -> RunResult:
    """Locate the catalog's snippets in several documents, one after the other.

    Hits carry their ``file``. A file that cannot be read (or lacks the
    ``--pages`` asked for) is skipped and named in the report's warnings; when
    no file can be read, the first file's error is raised. ``report.missing``
    lists the entries found in none of the files.
    """
    from locator.errors import UsageError
    from locator.match import missing

    settings = settings or Settings()
    t0 = time.perf_counter()
    cat = _as_catalog(catalog)
    if settings.pages:
        parse_pages(settings.pages, 10**9)  # a malformed range fails before any file
    report = RunReport(file=f"{len(paths)} files", settings=settings)
    hits: list[Hit] = []
    words: list[Word] = []
    errors: list[Exception] = []
    done = 0
    for path in paths:
        try:
            r = run(path, cat, settings, progress=progress, engines=engines)
        except (InputFileError, UsageError) as e:
            errors.append(e)
            report.warnings.append(RunWarning(f"{path}: skipped: {e}", file=str(path),
                                              message=f"skipped: {e}"))
            continue
        done += 1
        hits += r.hits
        words += r.words
        one = r.report
        for name in ("pages", "tiles", "tiles_read", "tiles_skipped", "pages_cached", "words"):
            setattr(report, name, getattr(report, name) + getattr(one, name))
        report.engines.update(one.engines)
        report.warnings += [in_file(w, str(path)) for w in one.warnings]
        report.sources.update({f"{path}:{p}": d for p, d in one.sources.items()})
    if not done:
        raise errors[0]
    report.hits = len(hits)
    report.missing = [p.id for p in missing(cat, hits)]
    report.seconds = time.perf_counter() - t0
    return RunResult(hits=hits, words=words, report=report)


def locate_frame(path: str | Path, catalog, **settings) -> pd.DataFrame:
    """The library call behind :func:`locator.locate`: hits as a DataFrame.

    ``path`` may also be a folder or a glob (several documents, one ``file``
    column telling them apart).
    """
    from locator.export.table import hits_frame
    from locator.inputs import find_inputs

    s = Settings.build(**settings)
    found = find_inputs([path])
    files = list(found.files)
    if len(files) == 1 and files[0] == Path(path):
        result = run(path, catalog, s)
    else:
        result = run_many(files, catalog, s)
    result.report.warnings[:0] = found.skipped  # loops, FIFOs, dangling links passed over
    df = hits_frame(result.hits)
    df.attrs["report"] = result.report
    return df


__all__ = ["Progress", "RunReport", "RunResult", "read_document", "read_tile",
           "read_symbols", "run", "run_many", "locate_frame"]
