"""Orchestration: pages -> tiles -> OCR -> lifted words -> merged words -> hits.

This is the only module that knows the order of the stages. It renders each
tile from the page's display list, skips blank ones, reads the rest with every
chosen engine in every chosen text direction, lifts boxes to page points,
merges the page, and matches the words against the catalog. Failures of one
tile are recorded as warnings and the rest of the document still comes back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from locator.documents import Document, parse_pages
from locator.engines import Engine, get_engine
from locator.errors import EngineError
from locator.geometry import Tile, lift, rotate_image_box_back
from locator.merge import Candidate, is_cut, merge_page
from locator.model import Hit, Word
from locator.settings import Settings
from locator.tiling import grid, is_blank

if TYPE_CHECKING:
    import pandas as pd

    from locator.catalog import Catalog


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
    words: int = 0
    hits: int = 0
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    engines: dict[str, str] = field(default_factory=dict)
    settings: Settings | None = None


@dataclass
class RunResult:
    hits: list[Hit]
    words: list[Word]
    report: RunReport


def load_engines(settings: Settings) -> list[Engine]:
    """Construct every chosen engine once (MissingEngineError if one is absent)."""
    return [get_engine(name) for name in settings.engine]


def read_image(engine: Engine, img: np.ndarray, dpi: float, angle: int) -> list:
    """OCR ``img`` for text running at ``angle``; boxes in ``img``'s pixels."""
    if angle == 0:
        return engine.read(img, dpi=dpi)
    turned = np.ascontiguousarray(np.rot90(img, k=-(angle // 90)))
    h, w = img.shape[:2]
    return [type(ow)(ow.text, ow.conf, rotate_image_box_back(ow.box, angle, w, h))
            for ow in engine.read(turned, dpi=dpi)]


def read_tile(img: np.ndarray, tile: Tile, engines: list[Engine],
              settings: Settings) -> list[Candidate]:
    """Every engine, every direction, on one rendered tile -> page-space candidates."""
    out = []
    for engine in engines:
        for angle in settings.rotations:
            for ow in read_image(engine, img, tile.dpi, angle):
                word = Word(text=ow.text, conf=ow.conf, box=lift(ow.box, tile),
                            page=tile.page, engine=engine.name, angle=angle)
                out.append(Candidate(word, cut=is_cut(ow.box, tile)))
    return out


def _tile_dpi(doc: Document, page: int, settings: Settings) -> float:
    # Images are read at their own resolution: resampling only blurs them.
    return doc.native_dpi(page) or settings.dpi


def read_document(path: str | Path, settings: Settings, *, engines: list[Engine] | None = None,
                  progress: Progress | None = None,
                  report: RunReport | None = None) -> list[Word]:
    """All merged words of the chosen pages (page points, unrotated space)."""
    progress = progress or _Silent()
    report = report if report is not None else RunReport(file=str(path))
    engines = engines if engines is not None else load_engines(settings)
    report.engines = {e.name: e.version() for e in engines}
    words: list[Word] = []
    with Document(path, password=settings.password) as doc:
        pages = parse_pages(settings.pages, doc.page_count)
        progress.pages_started(len(pages))
        for page in pages:
            frame = doc.frame(page)
            tiles = grid(page, frame, _tile_dpi(doc, page, settings),
                         settings.tile, settings.overlap)
            progress.page_started(page, len(tiles))
            cands: list[Candidate] = []
            for tile in tiles:
                report.tiles += 1
                img = doc.render(tile)
                if settings.skip_blank and is_blank(img):
                    report.tiles_skipped += 1
                    progress.tile_done(page, skipped=True)
                    continue
                try:
                    cands.extend(_read_with_retry(img, tile, engines, settings))
                    report.tiles_read += 1
                except EngineError as e:
                    report.warnings.append(
                        f"page {page} tile {tile.rect_px}: {e} (after one retry); "
                        f"words there are missing")
                progress.tile_done(page, skipped=False)
            page_words = merge_page(cands)
            words.extend(page_words)
            report.pages += 1
            progress.page_done(page)
    report.words = len(words)
    return words


def _read_with_retry(img, tile, engines, settings) -> list[Candidate]:
    try:
        return read_tile(img, tile, engines, settings)
    except EngineError:
        return read_tile(img, tile, engines, settings)


def _as_catalog(catalog) -> Catalog:
    from locator.catalog import Catalog, load_catalog

    return catalog if isinstance(catalog, Catalog) else load_catalog(catalog)


def run(path: str | Path, catalog, settings: Settings | None = None, *,
        progress: Progress | None = None, engines: list[Engine] | None = None) -> RunResult:
    """Locate the catalog's snippets in one document.

    ``catalog`` is a :class:`~locator.catalog.Catalog` or a path to a YAML file.
    Hit boxes are page points, unrotated space, origin top left.
    """
    from locator.match import match, missing

    settings = settings or Settings()
    t0 = time.perf_counter()
    cat = _as_catalog(catalog)  # load first: a bad catalog must fail before any OCR
    report = RunReport(file=str(path), settings=settings)
    words = read_document(path, settings, engines=engines, progress=progress, report=report)
    hits = match(words, cat)
    report.hits = len(hits)
    report.missing = [p.id for p in missing(cat, hits)]
    report.seconds = time.perf_counter() - t0
    return RunResult(hits=hits, words=words, report=report)


def locate_frame(path: str | Path, catalog, **settings) -> pd.DataFrame:
    """The library call behind :func:`locator.locate`: hits as a DataFrame."""
    from locator.export.table import hits_frame

    result = run(path, catalog, Settings.build(**settings))
    df = hits_frame(result.hits)
    df.attrs["report"] = result.report
    return df


__all__ = ["Progress", "RunReport", "RunResult", "read_document", "read_tile",
           "run", "locate_frame"]
