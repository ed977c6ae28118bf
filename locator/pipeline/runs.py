"""The public end of the pipeline: one document, several, and the run's end (matching, report).

:func:`run` plans each page once (:func:`~locator.pipeline.plan.plan_pages`),
reads its words and finds its symbols (:mod:`locator.pipeline.read`) and ends
in :func:`finish`, which ``locate batch`` calls too for each file's pages.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from locator.documents import Document, parse_pages
from locator.engines import Engine
from locator.errors import InputFileError, UsageError
from locator.model import Hit, RunWarning, Word
from locator.pipeline.plan import plan_pages
from locator.pipeline.bubblepass import bubble_words
from locator.pipeline.read import find_symbols, read_words, symbol_set
from locator.reports import Progress, RunReport, RunResult, Silent
from locator.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from locator.catalog import Catalog
    from locator.symbols import SymbolSet


def as_catalog(catalog) -> Catalog:
    """``catalog`` itself, or the catalog loaded from the YAML file it names."""
    from locator.catalog import Catalog, load_catalog

    return catalog if isinstance(catalog, Catalog) else load_catalog(catalog)


def has_text(cat: Catalog) -> bool:
    """Does the catalog ask for any text (not only symbols)? Then words are read."""
    return any(p.kind != "symbol" for p in cat.patterns)


def match_words(words: list[Word], catalog: Catalog, report: RunReport, *,
                references: Sequence[Hit] = ()) -> list[Hit]:
    """Match, turning the matcher's warnings (a regex over its time limit) into report lines.

    ``references`` are other hits (symbols) that ``near:`` conditions may refer to.
    """
    import warnings

    from locator.tags import match_tags

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hits = match_tags(words, catalog, references=references)
    report.warnings += [RunWarning(str(w.message)) for w in caught]
    return hits


def finish(path: str | Path, words: list[Word], symbol_hits: list[Hit], cat: Catalog,
           report: RunReport) -> list[Hit]:
    """The end of one document's run: its words matched (symbols first: a text
    pattern may only count ``near`` a symbol's hit), every hit naming ``path``,
    and the report's hit count and missing entries filled in."""
    from locator.match import missing

    hits = match_words(words, cat, report, references=symbol_hits) if has_text(cat) else []
    hits += [replace(h, form=h.form or "symbol") for h in symbol_hits]
    hits = [replace(h, file=str(path)) for h in hits]
    report.hits = len(hits)
    report.missing = [p.id for p in missing(cat, hits)]
    return hits


def read_passes(path: str | Path, settings: Settings, *, text: bool,
                symbols: SymbolSet | None, report: RunReport,
                progress: Progress | None = None,
                engines: list[Engine] | None = None) -> tuple[list[Word], list[Hit]]:
    """One document's chosen pages planned once, then its words (``text``; with
    the composed words of its instrument bubbles) and its symbol hits
    (``symbols``), not yet matched: what :func:`run` and each
    ``locate batch`` page task read. Boxes are page points, unrotated space."""
    progress = progress or Silent()
    with Document(path, password=settings.password) as doc:
        pages = parse_pages(settings.pages, doc.page_count)
        if text:
            progress.pages_started(len(pages))
        plans = plan_pages(doc, pages, settings, report, sources=text)
        words = (read_words(doc, plans, settings, engines=engines, progress=progress,
                            report=report) if text else [])
        words += bubble_words(doc, words, plans, settings, engines, report) if text else []
        symbol_hits = (find_symbols(doc, plans, symbols, settings, progress=progress,
                                    report=report, count_tiles=not text)
                       if symbols else [])
    return words, symbol_hits


def run(path: str | Path, catalog, settings: Settings | None = None, *,
        progress: Progress | None = None, engines: list[Engine] | None = None) -> RunResult:
    """Locate the catalog's snippets in one document.

    ``catalog`` is a :class:`~locator.catalog.Catalog` or a path to a YAML file.
    Hit boxes are page points, unrotated space, origin top left. A catalog of
    ``symbol:`` entries only is matched without reading any text.
    """
    settings = settings or Settings()
    progress = progress or Silent()
    t0 = time.perf_counter()
    cat = as_catalog(catalog)  # load first: a bad catalog must fail before any OCR
    symbols = symbol_set(cat)  # and so must an unreadable symbol image
    text = has_text(cat)
    report = RunReport(file=str(path), settings=settings)
    words, symbol_hits = read_passes(path, settings, text=text, symbols=symbols,
                                     report=report, progress=progress, engines=engines)
    hits = finish(path, words, symbol_hits, cat, report)
    report.seconds = time.perf_counter() - t0
    return RunResult(hits=hits, words=words, report=report)


def run_many(paths: Sequence[str | Path], catalog, settings: Settings | None = None, *,
             progress: Progress | None = None,
             engines: list[Engine] | None = None) -> RunResult:
    """Locate the catalog's snippets in several documents, one after the other.

    Hits carry their ``file``. A file that cannot be read (or lacks the
    ``--pages`` asked for) is skipped and named in the report's warnings; when
    no file can be read, the first file's error is raised. ``report.missing``
    lists the entries found in none of the files.
    """
    from locator.match import missing

    settings = settings or Settings()
    t0 = time.perf_counter()
    cat = as_catalog(catalog)
    if settings.pages:
        parse_pages(settings.pages, 10**9)  # a malformed range fails before any file
    report = RunReport(file=f"{len(paths)} files", settings=settings)
    hits: list[Hit] = []
    words: list[Word] = []
    errors: list[Exception] = []
    for path in paths:
        try:
            r = run(path, cat, settings, progress=progress, engines=engines)
        except (InputFileError, UsageError) as e:
            errors.append(e)
            report.warnings.append(RunWarning(f"{path}: skipped: {e}", file=str(path),
                                              message=f"skipped: {e}"))
            continue
        hits += r.hits
        words += r.words
        report.add(r.report)
    if len(errors) == len(paths):
        raise errors[0]
    report.hits = len(hits)
    report.missing = [p.id for p in missing(cat, hits)]
    report.seconds = time.perf_counter() - t0
    return RunResult(hits=hits, words=words, report=report)


def locate_frame(path, catalog, **settings) -> pd.DataFrame:
    """The library call behind :func:`locator.locate`: hits as a DataFrame.

    ``path`` may also be a folder, a glob, or a list of any of these (several
    documents, one ``file`` column telling them apart).
    """
    from locator.export.table import hits_frame
    from locator.inputs import find_inputs

    s = Settings.build(**settings)
    many = isinstance(path, (list, tuple))
    names = list(path) if many else [path]
    for n in names:
        if not isinstance(n, (str, os.PathLike)):
            raise UsageError(f"path {n!r}: give a file, folder or glob name (str or Path), "
                             f"or a list of them; not {type(n).__name__}")
    if not names:
        raise UsageError("path: the list of documents is empty")
    found = find_inputs(names)
    files = list(found.files)
    if not many and len(files) == 1 and files[0] == Path(path):
        result = run(path, catalog, s)
    else:
        result = run_many(files, catalog, s)
    result.report.warnings[:0] = found.skipped  # loops, FIFOs, dangling links passed over
    df = hits_frame(result.hits)
    df.attrs["report"] = result.report
    return df
