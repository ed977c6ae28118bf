"""Many documents at once: pages as independent tasks, locally or on a Dask cluster.

Each task reads one page of one file (OCR, lifting, merging; through the OCR
cache) and returns its words; matching runs afterwards per file (the
pipeline's own run end, :func:`locator.pipeline.finish`), so the table equals
what ``locate`` gives file by file. Local tasks run on the pipeline's one
executor; Dask tasks on the cluster, behind the same call. With a Dask scheduler address the
tasks run on the cluster's workers (which must see the same file paths and
have locator and Tesseract installed); without one, on this machine's cores.
A file that fails is recorded and the batch goes on; a page that cannot be
read (damaged, or interpreting it takes longer than the time limit) is a
warning, and the file's other pages still count.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from locator.errors import EngineError, InputFileError, LocatorError
from locator.model import Hit, RunWarning, Word, in_file
from locator.reports import RunReport
from locator.settings import Settings


@dataclass
class BatchResult:
    hits: dict[str, list[Hit]] = field(default_factory=dict)  # file -> hits
    missing: dict[str, list[str]] = field(default_factory=dict)  # file -> pattern ids
    failures: dict[str, str] = field(default_factory=dict)  # file -> why it failed
    warnings: list[str] = field(default_factory=list)
    pages: int = 0
    # every page's counters summed (tiles read, failed, cached...); its warnings are above
    counts: RunReport = field(default_factory=lambda: RunReport(file="every file of the batch"))

    def failure(self) -> EngineError | None:
        """An :class:`~locator.errors.EngineError` (exit 7) when the batch read
        nothing because every tile of every file failed, as ``locate`` does for
        one file; else None."""
        return self.counts.failure()


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
                   catalog=None) -> tuple[list[Word], list[Hit], RunReport]:
    """One task: one page's merged words, its symbol hits (when ``catalog`` has
    symbol entries), and its report (counters and warnings). Runs anywhere."""
    from locator.pipeline import read_passes, symbol_set

    report = RunReport(file=path)
    one = replace(settings, pages=str(page), workers=1)
    text = catalog is None or any(p.kind != "symbol" for p in catalog.patterns)
    symbols = symbol_set(catalog) if catalog is not None else None
    words, symbol_hits = read_passes(path, one, text=text, symbols=symbols, report=report)
    return words, symbol_hits, report


def run_batch(files: list[Path], catalog, settings: Settings, *, scheduler: str | None = None,
              on_page=None) -> BatchResult:
    """Locate ``catalog`` in every file; pages run as tasks (on Dask if ``scheduler``)."""
    from locator.pipeline import finish

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
    unread: dict[str, list[str]] = {}  # file -> why its pages could not be read
    for (path, page), outcome in _execute(tasks, settings, scheduler, catalog):
        if isinstance(outcome, InputFileError):  # that page only, as `locate` skips it
            unread.setdefault(path, []).append(str(outcome))
        elif isinstance(outcome, BaseException):
            result.failures.setdefault(path, f"page {page}: {outcome}")
        else:
            page_words, page_symbols, page_report = outcome
            words[path].extend(page_words)
            symbol_hits[path].extend(page_symbols)
            result.warnings += [in_file(w, path) for w in page_report.warnings]
            result.counts.add(page_report)
            result.pages += 1
        if on_page is not None:
            on_page(path, page)
    read = {path for (path, _page) in tasks} - set(unread)
    for path, whys in unread.items():
        if path in read or len(whys) < sum(1 for f, _p in tasks if f == path):
            result.warnings += [RunWarning(f"{path}: skipped: {w}", file=path,
                                           message=f"skipped: {w}") for w in whys]
        else:  # no page of it could be read: the file failed
            result.failures.setdefault(path, whys[0])
    for path, ws in words.items():
        if path in result.failures:
            continue
        ordered = sorted(ws, key=lambda w: (w.page, w.box.y0, w.box.x0))
        report = RunReport(file=path, settings=settings)
        result.hits[path] = finish(path, ordered, symbol_hits[path], catalog, report)
        result.missing[path] = report.missing
        result.warnings += [in_file(w, path) for w in report.warnings]
    return result


def _page_state(settings: Settings, catalog):
    return settings, catalog


def _page(state, task: tuple[str, int]):
    """One page task's ((path, page), result or the exception it raised)."""
    settings, catalog = state
    return task, _safe(read_page_task, *task, settings, catalog)


def _execute(tasks, settings: Settings, scheduler: str | None, catalog=None):
    """Yield ((path, page), the task's result or its exception) as tasks finish."""
    if scheduler:
        yield from _execute_dask(tasks, settings, scheduler, catalog)
        return
    from locator.pipeline.executor import Work, executor_for

    ex = executor_for(settings.worker_count, len(tasks), died=(
        "a worker process died (out of memory, or killed); pages finished before it "
        "are in the OCR cache"))
    yield from ex.map(Work(_page_state, (settings, catalog), _page), tasks)


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
