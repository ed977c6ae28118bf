"""Planning a page once: its frame, the DPI it is read at, where its words come from, its tiles.

A :class:`PagePlan` is built once per page and consumed by both passes: the
OCR pass reads ``ocr_tiles`` (the page grid, or the grid over the regions the
text layer lacks) and the symbol pass ``grid`` (always the whole page grid at
the same DPI, tile size and overlap). Everything deciding, per page, what to
take from a PDF's text layer and what to OCR lives here and in
:mod:`locator.textlayer` (issue 6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from locator.documents import Document
from locator.errors import InputFileError
from locator.pipeline.executor import ProcessExecutor, Work
from locator.geometry import PageFrame, Tile
from locator.kinds import OcrScope, Source
from locator.model import RunWarning
from locator.reports import RunReport
from locator.settings import Settings
from locator.textlayer import SourcePlan, plan_page
from locator.tiling import grid

#: A page is never rendered larger than this on its long side: the DPI is
#: lowered (with a warning) for absurd page sizes, so tiles stay countable.
MAX_PAGE_PX = 30_000

#: A page whose forms cost more than this to interpret
#: (:meth:`Document.content_work`) is first interpreted in a worker process,
#: where ``Settings.tile_timeout`` can stop it: about a second of MuPDF's time
#: (10,000 form draws measure 1.1 million and take 0.3 s). The real documents
#: in bench/ measure at most 101; 12 nested forms drawn 10 times each, 10
#: million at least (it stops counting), and would take MuPDF hours.
RISKY_WORK = 5_000_000


@dataclass(frozen=True, slots=True)
class PagePlan:
    """One page, planned: ``frame``, the ``dpi`` it is read at, its ``source``
    plan (None when the symbol pass alone needs the page), the tiles OCR reads
    and the whole page grid (symbols). ``dpi_note`` is the warning of a capped
    DPI, given by the pass that reads the page first."""

    page: int
    frame: PageFrame
    dpi: float
    source: SourcePlan | None
    ocr_tiles: tuple[Tile, ...]
    grid: tuple[Tile, ...]
    dpi_note: RunWarning | None = None

    @property
    def ocr(self) -> bool:
        """Is anything of this page OCR'd?"""
        return self.source is not None and self.source.ocr != OcrScope.none


def usable_frame(doc: Document, page: int, warnings: list[str], *, decode: bool = True
                 ) -> tuple[PageFrame | None, list[str]]:
    """The page's frame, or None and why the page is skipped (damaged beyond
    reading, no frame, no area). Every problem found is added to ``warnings``.
    ``decode=False`` leaves undecodable content streams to the caller (see
    :meth:`Document.page_problems`)."""
    problems = doc.page_problems(page, decode=decode)
    warnings += [RunWarning.on_page(page, m + ("; skipped" if bad else ""))
                 for m, bad in problems]
    why = [f"page {page}: {m}" for m, bad in problems if bad]
    if why:
        return None, why
    try:
        frame = doc.frame(page)
    except InputFileError as e:
        warnings.append(RunWarning(f"{e}; skipped", page=page))
        return None, [str(e).removeprefix(f"{doc.path}: ")]
    if frame.width < 1 or frame.height < 1:
        warnings.append(RunWarning.on_page(
            page, f"has no area ({frame.width:g} x {frame.height:g} pt); skipped", sep=" "))
        return None, [f"page {page} has no area"]
    return frame, []


def capped_dpi(doc: Document, page: int, settings: Settings
               ) -> tuple[float, RunWarning | None]:
    """The DPI to OCR ``page`` at: the image's own (resampling only blurs it),
    else ``settings.dpi``; capped so the page is at most :data:`MAX_PAGE_PX` on
    its long side, with the warning saying so."""
    dpi = doc.native_dpi(page) or settings.dpi
    frame = doc.frame(page)
    long_pt = max(frame.width, frame.height)
    long_px = long_pt * dpi / 72.0
    if long_px <= MAX_PAGE_PX:
        return dpi, None
    capped = MAX_PAGE_PX * 72.0 / long_pt
    small = 8.0 * dpi / capped  # what 8-pt text at the wanted dpi shrinks to
    return capped, RunWarning.on_page(page, (
        f"is {frame.width / 72:.0f} x {frame.height / 72:.0f} in; at {dpi:.0f} dpi "
        f"its long side would be {long_px:,.0f} px, over the {MAX_PAGE_PX:,} px cap: read at "
        f"{capped:.0f} dpi instead (text smaller than ~{small:.0f} pt may be missed)"), sep=" ")


def page_dpi(doc: Document, page: int, settings: Settings, report: RunReport) -> float:
    """:func:`capped_dpi`, its warning added to ``report``."""
    dpi, note = capped_dpi(doc, page, settings)
    if note is not None:
        report.warnings.append(note)
    return dpi


def _source_plan(doc: Document, page: int, frame: PageFrame, reads_layer: bool,
                 settings: Settings, report: RunReport) -> SourcePlan:
    """One page's :class:`SourcePlan` (its text layer read when ``reads_layer``)."""
    layer = None
    if reads_layer:
        try:
            layer = doc.text_layer(page)
        except InputFileError as e:
            report.warnings.append(RunWarning(f"{e}; the page is OCR'd", page=page))
            return SourcePlan(page, ocr=OcrScope.page, reason="text layer unreadable")
        if layer is not None and (said := layer.decode_problem) is not None:
            report.warnings.append(RunWarning.on_page(page, said))
    sp = plan_page(page, layer, frame, settings.source,
                   paths=lambda: doc.count_paths(page))
    if settings.source == Source.text and not sp.text:
        report.warnings.append(RunWarning.on_page(
            page, "no text layer; --source text reads nothing there "
                  "(use --source auto to OCR it)"))
    elif settings.source == Source.text and layer is not None and layer.verdict():
        report.warnings.append(RunWarning.on_page(
            page, f"{layer.verdict()}; read anyway (--source text)"))
    return sp


# -- a page that may never finish: interpreted first where it can be stopped ---------------

def _apart_state(path: str, settings: Settings):
    return Document(path, password=settings.password), settings


def _apart(state, item):
    """In the worker: the page's source plan (``want``) or just its interpretation."""
    doc, settings = state
    page, frame, want = item
    report = RunReport(file=str(doc.path))
    if not want:
        doc.text_layer(page)  # only to learn that the page can be interpreted in time
        return page, None, []
    return page, _source_plan(doc, page, frame, True, settings, report), report.warnings


def _apart_hung(item, limit: float):
    return item[0], _HUNG, limit


def _apart_failed(item, e: Exception):
    return item[0], None, []  # read in this process, which then meets the error itself


_HUNG = object()


def _risky(doc: Document, page: int, frame: PageFrame, want: bool, settings: Settings,
           report: RunReport, why: list[str]) -> tuple[bool, SourcePlan | None]:
    """Interpret a page whose :meth:`~Document.content_work` is over
    :data:`RISKY_WORK` in a worker process under ``settings.tile_timeout``.
    Returns whether the page can be read, and its source plan when ``want``
    and the worker made one (else None: plan it here, now known to finish)."""
    if (doc.kind != "pdf" or settings.tile_timeout <= 0
            or doc.content_work(page, RISKY_WORK) <= RISKY_WORK):
        return True, None
    ex = ProcessExecutor(1, hang_after=settings.tile_timeout, hang_retries=0,
                         died="the process interpreting a page died")
    job = Work(_apart_state, (str(doc.path), settings), _apart, on_hang=_apart_hung,
               on_error=_apart_failed)
    [(_page, sp, said)] = list(ex.map(job, [(page, frame, want)]))
    if sp is _HUNG:
        report.warnings.append(RunWarning.on_page(page, (
            f"interpreting its content took longer than {said:g} s (--tile-timeout): it draws "
            f"forms within forms, over {RISKY_WORK:,} units of work; skipped")))
        why.append(f"page {page}: its content could not be interpreted in {said:g} s")
        return False, None
    report.warnings += said
    return True, sp


def plan_sources(doc: Document, pages: list[int], settings: Settings,
                 report: RunReport) -> dict[int, SourcePlan]:
    """Per page, what to take from the text layer and what to OCR (see
    :func:`locator.textlayer.plan_page`). Damaged pages and the decisions are
    recorded in ``report``; a page that cannot be read at all is left out."""
    return {p: pp.source for p, pp in plan_pages(doc, pages, settings, report).items()
            if pp.source is not None}  # (always: planned with sources)


def plan_pages(doc: Document, pages: list[int], settings: Settings, report: RunReport, *,
               sources: bool = True) -> dict[int, PagePlan]:
    """A :class:`PagePlan` for every readable page of ``pages``.

    With ``sources`` (the OCR pass will run) each page's text layer is read
    and judged, and a document none of whose pages can be read is
    :class:`InputFileError`; without (symbols only) only frames and grids.
    """
    if sources and doc.repaired:
        report.warnings.append(RunWarning("the file is damaged; the reader repaired it, "
                                          "so some pages may be incomplete"))
    out: dict[int, PagePlan] = {}
    skipped: list[str] = []
    for page in pages:
        # Reading the text layer interprets the page, which is where a stream
        # that cannot be inflated shows: no separate decoding pass then.
        reads_layer = sources and settings.source != Source.ocr and doc.kind == "pdf"
        frame, why = usable_frame(doc, page, report.warnings, decode=not reads_layer)
        if frame is None:
            skipped += why
            continue
        ok, sp = _risky(doc, page, frame, reads_layer, settings, report, skipped)
        if not ok:
            continue
        if sp is None and sources:
            sp = _source_plan(doc, page, frame, reads_layer, settings, report)
        if sp is not None:
            report.sources[page] = sp.describe()
        dpi, note = capped_dpi(doc, page, settings)
        whole = tuple(grid(page, frame, dpi, settings.tile, settings.overlap))
        ocr = (() if sp is None or sp.ocr == OcrScope.none else
               whole if sp.ocr == OcrScope.page else
               tuple(source_tiles(sp, frame, dpi, settings)))
        out[page] = PagePlan(page, frame, dpi, sp, ocr, whole, note)
    if sources and pages and not out:
        raise InputFileError(f"{doc.path}: no page can be read (damaged or truncated?): "
                             + "; ".join(skipped[:3]) + (" ..." if len(skipped) > 3 else ""))
    return out


def source_tiles(sp: SourcePlan, frame, dpi: float, settings: Settings) -> list[Tile]:
    """The tiles to OCR for one page's plan: the page grid, or the same grid laid
    over each region only (regions are page points; tiles whole view pixels)."""
    if sp.ocr == OcrScope.page:
        return grid(sp.page, frame, dpi, settings.tile, settings.overlap)
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
    if sp.ocr != OcrScope.regions:
        return {}
    return {"regions": [[round(v, 2) for v in (r.x0, r.y0, r.x1, r.y1)] for r in sp.regions],
            "images_only": sp.images_only}
