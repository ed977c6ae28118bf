"""Many documents at once: pages as independent tasks, locally or on a Dask cluster.

Each task reads one page of one file (OCR, lifting, merging; through the OCR
cache) and returns its words; matching runs afterwards per file, so the table
equals what ``locate`` gives file by file. With a Dask scheduler address the
tasks run on the cluster's workers (which must see the same file paths and
have locator and Tesseract installed); without one, on this machine's cores.
A file that fails is recorded and the batch goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from locator.errors import InputFileError, LocatorError
from locator.model import Hit, Word, in_file
from locator.settings import Settings

@dataclass
class BatchResult:
    hits: dict[str, list[Hit]] = field(default_factory=dict)  # file -> hits
    missing: dict[str, list[str]] = field(default_factory=dict)  # file -> pattern ids
    failures: dict[str, str] = field(default_factory=dict)  # file -> why it failed
    warnings: list[str] = field(default_factory=list)
    pages: int = 0


def collect_inputs(folder: str | Path):
    """Documents in ``folder`` (recursively, sorted; links to folders followed, each
    real folder once) and what was skipped (:class:`locator.inputs.Inputs`);
    raises when there are none."""
    from locator.inputs import find_inputs

    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(f"{folder}: not a folder")
    return find_inputs([folder])


def collect(folder: str | Path) -> list[Path]:
    """Documents in ``folder`` (see :func:`collect_inputs`)."""
    return list(collect_inputs(folder).files)


def page_count(path: str | Path, password: str | None = None) -> int:
    from locator.documents import Document

    with Document(path, password=password) as doc:
        return doc.page_count


def read_page_task(path: str, page: int, settings: Settings,
                   catalog=None) -> tuple[list[Word], list[Hit], list[str]]:
    """One task: one page's merged words, its symbol hits (when ``catalog`` has
    symbol entries), and the run's warnings. Runs anywhere."""
    from locator.pipeline import RunReport, _symbol_set, read_document, read_symbols

    report = RunReport(file=path)
    one = replace(settings, pages=str(page), workers=1)
    text = catalog is None or any(p.kind != "symbol" for p in catalog.patterns)
    words = read_document(path, one, report=report) if text else []
    symbols = _symbol_set(catalog) if catalog is not None else None
    symbol_hits = read_symbols(path, symbols, one, report=report) if symbols else []
    return words, symbol_hits, report.warnings


def run_batch(files: list[Path], catalog, settings: Settings, *, scheduler: str | None = None,
              on_page=None) -> BatchResult:
    """Locate ``catalog`` in every file; pages run as tasks (on Dask if ``scheduler``)."""
    from locator.match import match, missing

    result = BatchResult()
    tasks: list[tuple[str, int]] = []
    for f in files:
        try:
            n = page_count(f, settings.password)
        except LocatorError as e:
            result.failures[str(f)] = str(e)
            continue
        tasks += [(str(f), p) for p in range(1, n + 1)]
    words: dict[str, list[Word]] = {str(f): [] for f in files if str(f) not in result.failures}
    symbol_hits: dict[str, list[Hit]] = {p: [] for p in words}
    for (path, page), outcome in _execute(tasks, settings, scheduler, catalog):
        if isinstance(outcome, BaseException):
            result.failures.setdefault(path, f"page {page}: {outcome}")
        else:
            page_words, page_symbols, warns = outcome
            words[path].extend(page_words)
            symbol_hits[path].extend(page_symbols)
            result.warnings += [in_file(w, path) for w in warns]
            result.pages += 1
        if on_page is not None:
            on_page(path, page)
    for path, ws in words.items():
        if path in result.failures:
            continue
        ordered = sorted(ws, key=lambda w: (w.page, w.box.y0, w.box.x0))
        hits = [replace(h, file=path) for h in
                match(ordered, catalog, references=symbol_hits[path]) + symbol_hits[path]]
        result.hits[path] = hits
        result.missing[path] = [p.id for p in missing(catalog, hits)]
    return result


def _execute(tasks, settings: Settings, scheduler: str | None, catalog=None):
    """Yield ((path, page), the task's result or its exception) as tasks finish."""
    if scheduler:
        yield from _execute_dask(tasks, settings, scheduler, catalog)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = min(settings.worker_count, max(1, len(tasks)))
    if workers <= 1:
        for t in tasks:
            yield t, _safe(read_page_task, *t, settings, catalog)
        return
    from concurrent.futures.process import BrokenProcessPool

    from locator.errors import EngineError
    from locator.pipeline import _stop_workers

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    ex = ProcessPoolExecutor(workers, mp_context=mp.get_context(method),
                             initializer=_ignore_sigint)
    try:
        futs = {ex.submit(_safe, read_page_task, *t, settings, catalog): t for t in tasks}
        for f in as_completed(futs):
            yield futs[f], f.result()
    except BrokenProcessPool as e:
        _stop_workers(ex)
        raise EngineError("a worker process died (out of memory, or killed); pages "
                          "finished before it are in the OCR cache") from e
    except BaseException:  # Ctrl-C: stop the workers now, not after every queued page
        _stop_workers(ex)
        raise
    ex.shutdown(wait=True)


def _ignore_sigint() -> None:
    # Ctrl-C is the parent's to handle: it stops the workers
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _safe(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # recorded per page; the batch goes on
        return e


def _execute_dask(tasks, settings: Settings, scheduler: str, catalog=None):
    try:
        from dask.distributed import Client, as_completed
    except ImportError as e:
        from locator.errors import MissingEngineError

        raise MissingEngineError("--dask needs the dask extra: pip install 'locator[dask]'") from e
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as e:
        raise InputFileError(f"--dask {scheduler}: cannot reach the scheduler: {e}") from e
    try:
        futs = {}
        for path, page in tasks:
            f = client.submit(_safe, read_page_task, path, page, settings, catalog, pure=False)
            futs[f] = (path, page)
        for f in as_completed(list(futs)):
            yield futs[f], f.result()
    finally:
        client.close()
