"""The two passes over a document's planned pages: OCR words, and symbols found by example.

Both consume the same :class:`~locator.pipeline.plan.PagePlan` per page and
run their tiles through one :mod:`executor <locator.pipeline.executor>`. The
OCR pass goes through the OCR cache; a page whose words come from the cache
still has its symbols found, and a catalog of symbols only needs no OCR
engine at all (rendering a tile twice costs little next to OCR).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from locator.documents import Document, parse_pages
from locator.engines import Engine, get_engine
from locator.engines.base import adopt
from locator.merge import Candidate, merge_page
from locator.model import Hit, RunWarning, Word
from locator.pipeline.executor import (Executor, LazyExecutor, SerialExecutor, Work,
                                       pool_size)
from locator.pipeline.plan import PagePlan, plan_pages, source_key
from locator.pipeline.tile import (TileOutcome, hang_after, process_tile, render_tile,
                                   symbol_tile)
from locator.reports import Progress, RunReport, Silent
from locator.settings import Settings
from locator.textlayer import combine
from locator.tiling import is_blank

if TYPE_CHECKING:
    from locator.catalog import Catalog
    from locator.symbols import SymbolSet


def load_engines(settings: Settings) -> list[Engine]:
    """Construct every chosen engine once (MissingEngineError if one is absent).

    An engine with its own per-call time limit (``own_timeout``, as Tesseract
    has) gets ``settings.tile_timeout``. An engine registered from outside
    that does not subclass :class:`~locator.engines.base.EngineBase` gets the
    default capabilities.
    """
    engines = [adopt(get_engine(name)) for name in settings.engine]
    for e in engines:
        if e.own_timeout:
            e.timeout = settings.tile_timeout
    return list(engines)  # (as list[Engine]: a list is invariant)


def symbol_set(cat: Catalog) -> SymbolSet | None:
    """The catalog's symbols, their example images loaded (None: it has none)."""
    from locator.symbols import SymbolSet, specs_from_catalog

    specs = specs_from_catalog(cat)
    return SymbolSet(specs) if specs else None


def ocr_settings(settings: Settings, engines: list[Engine], dpi: float) -> dict:
    """Everything that changes a page's OCR words (the cache key's settings part)."""
    return {"dpi": dpi, "tile": settings.tile, "overlap": settings.overlap,
            "rotations": list(settings.rotations), "skip_blank": settings.skip_blank,
            "rotated_regions": settings.rotated_regions, "clean": settings.clean,
            "max_text_pt": settings.max_text_pt, "text_regions": settings.text_regions,
            "glyph_px": settings.glyph_px, "detector": settings.detector.value,
            "colour": settings.colour,
            "engines": [[e.name, e.version()] for e in engines]}


# -- what runs per tile, in this process or a worker (module level: spawn pickles by name)

def _ocr_state(path: str, settings: Settings):
    return Document(path, password=settings.password), load_engines(settings), settings


def _ocr_tile(state, tile) -> TileOutcome:
    doc, engines, settings = state
    return process_tile(doc, tile, engines, settings)


def _tile_error(tile, e: Exception) -> TileOutcome:
    return TileOutcome(tile, [], error=f"{type(e).__name__}: {e}")


def _ocr_prefilter(state, tile) -> TileOutcome | None:
    doc, _engines, settings = state
    return render_tile(doc, tile, settings)[1]


def _ocr_hung(tile, limit: float) -> TileOutcome:
    return TileOutcome(tile, [], error=f"OCR hung: no answer in {limit:.0f} s (after one "
                                       f"retry); its worker was stopped")


def _symbol_state(path: str, settings: Settings, symbols: SymbolSet):
    # (No cv2.setNumThreads here: in a child forked from a parent whose OpenCV
    # thread pool has run, it may wait for the parent's threads. The executor
    # sets each worker's share in the parent before it forks.)
    return Document(path, password=settings.password), symbols, settings


def _symbol_tile(state, tile) -> TileOutcome:
    doc, symbols, settings = state
    return symbol_tile(doc, tile, symbols, settings)


def _symbol_prefilter(state, tile) -> TileOutcome | None:
    doc, _symbols, settings = state
    if not settings.skip_blank:
        return None
    try:
        return TileOutcome(tile, [], skipped=True) if is_blank(doc.render(tile), dpi=tile.dpi) else None
    except Exception:  # symbol_tile, where it runs, records the failure
        return None


def _symbol_hung(tile, limit: float) -> TileOutcome:
    return TileOutcome(tile, [], error=f"symbol matching hung: no answer in {limit:.0f} s "
                                       f"(after one retry); its worker was stopped")


def _executor(settings: Settings, items: int, state, *, serial: bool = False) -> Executor:
    """Where the tiles run: this process (with ``state``, its open document
    and engines) when ``serial`` or one process is all there is, else worker
    processes once a tile needs real work (:class:`LazyExecutor`)."""
    if serial or pool_size(settings.worker_count, items) == 0:
        return SerialExecutor(state)
    limit = hang_after(settings.tile_timeout) if settings.tile_timeout > 0 else None
    return LazyExecutor(settings.worker_count, state, hang_after=limit, died=(
        "an OCR worker process died (out of memory, or killed); pages finished before it "
        "are in the OCR cache"))


# -- the OCR pass --------------------------------------------------------------------

def read_document(path: str | Path, settings: Settings, *, engines: list[Engine] | None = None,
                  progress: Progress | None = None,
                  report: RunReport | None = None) -> list[Word]:
    """All merged words of the chosen pages (page points, unrotated space).

    Pages found in the OCR cache are not read again. The rest are read tile by
    tile, in ``settings.worker_count`` processes when that is more than one
    (engines passed in explicitly, such as test doubles, run in this process).
    """
    progress = progress or Silent()
    report = report if report is not None else RunReport(file=str(path))
    with Document(path, password=settings.password) as doc:
        pages = parse_pages(settings.pages, doc.page_count)
        progress.pages_started(len(pages))
        plans = plan_pages(doc, pages, settings, report)
        return read_words(doc, plans, settings, engines=engines, progress=progress,
                          report=report)


def read_words(doc: Document, plans: dict[int, PagePlan], settings: Settings, *,
               engines: list[Engine] | None, progress: Progress,
               report: RunReport) -> list[Word]:
    """The OCR pass over ``plans`` (see :func:`read_document`): text-layer pages
    as they are, the rest from the cache or read tile by tile, then merged."""
    from locator.cache import OcrCache, default_folder, file_hash

    in_process = engines is not None
    words: list[Word] = []
    for page, pp in plans.items():
        if not pp.ocr:
            progress.page_started(page, 0)
            assert pp.source is not None  # planned with sources: the OCR pass
            words.extend(pp.source.text)
            report.pages += 1
            progress.page_done(page)
    ocr_pages = [p for p, pp in plans.items() if pp.ocr]
    if ocr_pages:  # engines are needed (and checked) only when something is OCR'd
        engines = [adopt(e) for e in engines] if engines is not None else load_engines(settings)
        report.engines = {e.name: e.version() for e in engines}
    cache = OcrCache((settings.cache_dir or default_folder())
                     if settings.cache and not in_process and ocr_pages else None)
    content = file_hash(doc.path) if cache.folder is not None else ""
    todo: dict[int, tuple[str, tuple]] = {}
    for page in ocr_pages:
        pp = plans[page]
        assert pp.source is not None and engines is not None  # (loaded above: ocr_pages)
        if pp.dpi_note is not None:
            report.warnings.append(pp.dpi_note)
        report.tiles += len(pp.ocr_tiles)
        key = OcrCache.key(content, page, {**ocr_settings(settings, engines, pp.dpi),
                                           **source_key(pp.source)})
        cached = cache.get(key)
        if cached is not None or not pp.ocr_tiles:
            report.pages_cached += cached is not None
            progress.page_started(page, len(pp.ocr_tiles))
            words.extend(combine(pp.source, cached or []))
            report.pages += 1
            progress.page_done(page)
        else:
            todo[page] = (key, pp.ocr_tiles)
    tiles = [t for _key, ts in todo.values() for t in ts]
    ex = _executor(settings, len(tiles), (doc, engines, settings), serial=in_process)
    work = Work(_ocr_state, (str(doc.path), settings), _ocr_tile, on_hang=_ocr_hung,
                on_error=_tile_error, prefilter=_ocr_prefilter)
    pending = {page: len(ts) for page, (_key, ts) in todo.items()}
    cands: dict[int, list[Candidate]] = {page: [] for page in todo}
    failed: set[int] = set()
    for o in ex.map(work, tiles):
        page = o.tile.page
        if pending[page] == len(todo[page][1]):
            progress.page_started(page, pending[page])
        _count(o, report, str(doc.path), failed)
        if not (o.skipped or o.error):
            cands[page].extend(o.cands)
        progress.tile_done(page, skipped=o.skipped)
        pending[page] -= 1
        if pending[page] == 0:
            page_words = merge_page(cands.pop(page))
            if page not in failed:  # a page with a failed tile is read again next time
                cache.put(todo[page][0], page_words)
            sp = plans[page].source
            assert sp is not None  # (as above)
            words.extend(combine(sp, page_words))
            report.pages += 1
            progress.page_done(page)
    if cache.warning:
        report.warnings.append(RunWarning(cache.warning))
    words.sort(key=lambda w: (w.page, w.box.y0, w.box.x0))
    report.words = len(words)
    return words


def _count(o: TileOutcome, report: RunReport, path: str, failed: set[int]) -> None:
    """One OCR tile's outcome into the report: its notes, and read, blank or failed."""
    page = o.tile.page
    for note in o.notes:
        report.warnings.append(RunWarning.on_tile(page, o.tile.rect_px, note, file=path))
    if o.skipped:
        report.tiles_skipped += 1
    elif o.error:
        failed.add(page)
        report.tiles_failed += 1
        report.warnings.append(RunWarning.on_tile(
            page, o.tile.rect_px, f"{o.error}; words there are missing", file=path))
    else:
        report.tiles_read += 1


# -- the symbol pass -------------------------------------------------------------------

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


def read_symbols(path: str | Path, symbols: SymbolSet, settings: Settings, *,
                 progress: Progress | None = None, report: RunReport | None = None,
                 count_tiles: bool = False) -> list[Hit]:
    """The symbol hits of the chosen pages (page points, unrotated space), merged per page.

    Tiles are those OCR reads (``settings.dpi`` or an image's own, tile,
    overlap), in ``settings.worker_count`` processes. With ``count_tiles``
    (no OCR ran) the report's page and tile counts, and the pages' problems,
    are filled from this pass.
    """
    report = report if report is not None else RunReport(file=str(path))
    with Document(path, password=settings.password) as doc:
        pages = parse_pages(settings.pages, doc.page_count)
        # The OCR pass named the pages' problems already (when it ran).
        quiet = report if count_tiles else RunReport(file=str(path))
        plans = plan_pages(doc, pages, settings, quiet, sources=False)
        return find_symbols(doc, plans, symbols, settings, progress=progress or Silent(),
                            report=report, count_tiles=count_tiles)


def find_symbols(doc: Document, plans: dict[int, PagePlan], symbols: SymbolSet,
                 settings: Settings, *, progress: Progress, report: RunReport,
                 count_tiles: bool) -> list[Hit]:
    """The symbol pass over ``plans`` (each page's whole grid; see :func:`read_symbols`)."""
    if count_tiles:
        report.warnings += [pp.dpi_note for pp in plans.values() if pp.dpi_note is not None]
    progress.pages_started(len(plans))
    pending = {page: len(pp.grid) for page, pp in plans.items()}
    found: dict[int, list[Hit]] = {page: [] for page in plans}
    todo = [t for pp in plans.values() for t in pp.grid]
    ex = _executor(settings, len(todo), (doc, symbols, settings))
    work = Work(_symbol_state, (str(doc.path), settings, symbols), _symbol_tile,
                on_hang=_symbol_hung, on_error=_tile_error, prefilter=_symbol_prefilter)
    hits: list[Hit] = []
    for o in ex.map(work, todo):
        page = o.tile.page
        if pending[page] == len(plans[page].grid):
            progress.page_started(page, pending[page])
        if o.error:
            report.warnings.append(RunWarning.on_tile(
                page, o.tile.rect_px, f"{o.error}; symbols there are missing"))
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
