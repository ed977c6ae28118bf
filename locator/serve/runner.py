"""Running jobs: N job slots, each job in a worker process of the one executor, or on Dask.

A slot (a thread of the server) takes the oldest queued job and runs it on
the pipeline's one executor (:class:`~locator.pipeline.executor.ProcessExecutor`
with one worker from a fork server that has the pipeline imported: the server
has threads a plain fork would copy mid-step, and a spawned worker would
import the pipeline again for every job; spawn where there is no fork server).
The worker (:func:`work`) runs the public pipeline
(:func:`locator.pipeline.run_many`) with the job's settings and the server's
OCR cache, writes progress to the database as pages and tiles finish, and
stores the results in one transaction. A worker that dies (killed, out of
memory, a crash in C code) is the executor's :class:`EngineError`: its job
fails with the reason; the server and the other jobs go on. Workers die
with the server (the executor sees to it). With ``--dask`` the slot runs
:func:`locator.batch.run_batch` on the cluster, the same execution as
``locate batch --dask``.

Restart safety: a job is ``running`` in the database while a worker has it.
On start, :meth:`Runner.recover` puts every such job (its server stopped
under it) back in the queue -- the OCR cache makes its finished pages free --
or fails it after :data:`MAX_ATTEMPTS` starts. Each start of a job is an
*attempt*; a worker writes only while its attempt is the job's current one,
so a worker left over from a killed server cannot write over the next.
Cancelling is seen by the worker at its next progress write (it stops there).
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing as mp
import os
import threading
import time
from pathlib import Path

from locator.errors import INTERNAL_ERROR_EXIT_CODE, EngineError, LocatorError
from locator.serve.store import JobState, Store

log = logging.getLogger("locator.serve")

#: A job interrupted by this many server stops is failed, not resumed again.
MAX_ATTEMPTS = 3
#: Seconds between progress writes of one worker (plus every finished page).
PROGRESS_EVERY = 0.5


def setup_logging() -> None:
    """Job events as JSON lines on stderr (the server and its workers alike)."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def log_event(event: str, job_id: str, **fields) -> None:
    """One structured (JSON) log line per job event."""
    log.info(json.dumps({"event": event, "job": job_id, "at": round(time.time(), 3), **fields},
                        default=str))


class DbProgress:
    """The pipeline's :class:`~locator.pipeline.Progress`, written to the job's row.

    It also stops the worker when the job is no longer its to run (cancelled,
    or a newer attempt started), by raising :class:`Superseded`.
    """

    def __init__(self, store: Store, job_id: str, attempt: int) -> None:
        self.store, self.job_id, self.attempt = store, job_id, attempt
        self.pages_total = self.pages_done = self.tiles_total = self.tiles_done = 0
        self.last = 0.0

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < PROGRESS_EVERY:
            return
        self.last = now
        job = self.store.job(self.job_id)
        if job is None or job["state"] != JobState.running.value or \
                job["attempts"] != self.attempt:
            raise Superseded(self.job_id)
        self.store.progress(self.job_id, pages_total=self.pages_total,
                            pages_done=self.pages_done, tiles_total=self.tiles_total,
                            tiles_done=self.tiles_done)

    def pages_started(self, total: int) -> None:
        self.pages_total += total
        self._write(force=True)

    def page_started(self, page: int, tiles: int) -> None:
        self.tiles_total += tiles
        self._write()

    def tile_done(self, page: int, skipped: bool) -> None:
        self.tiles_done += 1
        self._write()

    def page_done(self, page: int) -> None:
        self.pages_done += 1
        self._write(force=True)


class Superseded(Exception):
    """The job was cancelled or restarted while this worker ran it."""


def job_settings(job: dict, data: Path):
    """The job's :class:`Settings`: the client's choices, the server's cache, one process."""
    from locator.settings import Settings

    return Settings.build(**job["settings"], workers=1, cache=True,
                          cache_dir=str(data / "cache"))


def _clean(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def _results(job: dict, folder: Path, catalog, hits, missing_ids, warnings, report: dict):
    """Hits, missing-code rows and warnings, with the stored names turned back into the
    names the client gave (no server path leaves the server)."""
    from locator.export.workbook import missing_frame
    from locator.model import hit_row

    names = {str(folder / f["stored"]): f["name"] for f in job["files"]}
    index = {str(folder / f["stored"]): i for i, f in enumerate(job["files"])}

    def plain(text: str) -> str:
        for path, name in names.items():
            text = text.replace(path, name)
        return text

    rows = []
    for h in hits:
        row = hit_row(h)
        row["file"], row["file_index"] = names.get(h.file, h.file), index.get(h.file, 0)
        rows.append(row)
    miss = [{k: _clean(v) for k, v in r.items()}
            for r in missing_frame(catalog, missing_ids).to_dict("records")]
    return rows, miss, [plain(str(w)) for w in warnings], report


def work(data: str, job_id: str, attempt: int) -> None:
    """In a worker process: run one job through the pipeline and store what it found.

    Every outcome is written to the job's row here (done, failed with the
    reason, or nothing when the job is no longer this attempt's); nothing is
    raised back to the slot but the executor's own dead-worker error.
    """
    setup_logging()
    from locator.pipeline import run_many
    from locator.serve.intake import load_job_catalog

    store = Store(data)
    job = store.job(job_id)
    if job is None:  # deleted before the worker started
        return
    store.progress(job_id, pid=os.getpid())  # what an operator (or a test) can kill
    folder = Path(data) / "jobs" / job_id
    try:
        catalog = load_job_catalog(folder, job["catalog"])
        settings = job_settings(job, Path(data))
        progress = DbProgress(store, job_id, attempt)
        result = run_many([folder / f["stored"] for f in job["files"]], catalog, settings,
                          progress=progress)
        r = result.report
        report = {k: getattr(r, k) for k in ("pages", "tiles", "tiles_read", "tiles_skipped",
                                             "pages_cached", "words", "hits", "seconds")}
        report["engines"] = r.engines
        hits, miss, warns, report = _results(job, folder, catalog, result.hits, r.missing,
                                             r.warnings, report)
        stored = store.finish(job_id, hits=hits, missing=miss, report=report, warnings=warns,
                              token_id=job["token_id"], attempt=attempt)
        log_event("done" if stored else "superseded", job_id, hits=len(hits),
                  pages=report["pages"], seconds=round(report["seconds"], 2))
    except Superseded:
        log_event("superseded", job_id, attempt=attempt)
    except LocatorError as e:
        store.fail(job_id, _plain(str(e), job, folder), e.exit_code)
        log_event("failed", job_id, error=str(e), exit_code=e.exit_code)
    except Exception as e:  # a bug: the job fails with the reason, the worker goes on
        store.fail(job_id, f"internal error: {type(e).__name__}: {e}", INTERNAL_ERROR_EXIT_CODE)
        log_event("failed", job_id, error=repr(e), exit_code=INTERNAL_ERROR_EXIT_CODE)


def _job_state(data: str) -> str:
    return data


def _job_item(data: str, item: tuple[str, int]) -> None:
    work(data, *item)


def _plain(text: str, job: dict, folder: Path) -> str:
    for f in job["files"]:
        text = text.replace(str(folder / f["stored"]), f["name"])
    return text.replace(str(folder), "(job folder)")


#: What the fork server imports once, so a job's worker starts with the pipeline loaded.
PRELOAD = ["locator.serve.runner", "locator.serve.intake", "locator.pipeline", "locator.catalog",
           "locator.match", "locator.export.workbook", "locator.engines.tesseract", "pandas"]

#: The reason a job fails with when its worker process died.
WORKER_DIED = ("the worker process died (out of memory, or killed); pages finished before "
               "it are in the OCR cache, re-run the job to go on")


class Runner:
    """The job slots of one server: ``workers`` local processes at a time, or Dask."""

    def __init__(self, store: Store, *, workers: int = 1, dask: str | None = None) -> None:
        self.store, self.workers, self.dask = store, max(1, workers), dask
        self.data = store.folder
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"

    def recover(self) -> None:
        """Resume the jobs a stopped server left running (or fail them, with the reason)."""
        for job in self.store.interrupted():
            if job["attempts"] >= MAX_ATTEMPTS:
                self.store.fail(job["id"], f"interrupted by {job['attempts']} server stops; "
                                           f"re-run it (POST /api/jobs/ID/rerun)")
                log_event("failed", job["id"], error="interrupted too often")
            else:
                self.store.requeue(job["id"], "resumed after a server restart")
                log_event("resumed", job["id"], attempt=job["attempts"])

    def start(self) -> None:
        if self.method == "forkserver":
            # before the fork server starts: it imports these once for every job;
            # started now, so the first job does not wait for the imports
            from multiprocessing import forkserver

            mp.get_context("forkserver").set_forkserver_preload(PRELOAD)
            forkserver.ensure_running()
        self.recover()
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"locator-job-slot-{i}", daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> None:
        """Stop taking jobs. Running workers end with the server process (the
        executor's workers die with their parent); their jobs stay ``running``
        and are resumed at the next start."""
        self.stopping.set()
        self.wake.set()

    def notify(self) -> None:
        self.wake.set()

    def cancel(self, job_id: str) -> bool:
        """Cancel a live job; a running worker stops at its next progress write."""
        ok = self.store.cancel(job_id)
        if ok:
            log_event("cancelled", job_id)
        return ok

    def queue_depth(self) -> int:
        return self.store.counts()["states"].get(JobState.queued.value, 0)

    def _loop(self) -> None:
        while not self.stopping.is_set():
            job = self.store.claim_next()
            if job is None:
                self.wake.wait(1.0)
                self.wake.clear()
                continue
            log_event("started", job["id"], attempt=job["attempts"],
                      where=self.dask or "local")
            try:
                if self.dask:
                    self._run_dask(job)
                else:
                    self._run_local(job)
            except Exception as e:  # never lose the slot to one job's trouble
                self.store.fail(job["id"], f"internal error: {type(e).__name__}: {e}")
                log_event("failed", job["id"], error=repr(e))

    def _run_local(self, job: dict) -> None:
        """The job in one worker of the pipeline's executor (see the module)."""
        from locator.pipeline.executor import ProcessExecutor, Work

        ex = ProcessExecutor(1, died=WORKER_DIED, method=self.method)
        try:
            for _ in ex.map(Work(_job_state, (str(self.data),), _job_item),
                            [(job["id"], job["attempts"])]):
                pass
        except EngineError as e:
            if self.stopping.is_set():
                return  # the server is stopping: the job stays running, resumed at next start
            if self.store.fail(job["id"], str(e), e.exit_code,
                               only_if=(JobState.running.value,)):
                log_event("failed", job["id"], error="worker died")

    def _run_dask(self, job: dict) -> None:
        from locator.batch import run_batch
        from locator.serve.intake import load_job_catalog

        folder = self.data / "jobs" / job["id"]
        attempt = job["attempts"]
        try:
            catalog = load_job_catalog(folder, job["catalog"])
            settings = job_settings(job, self.data)
            progress = DbProgress(self.store, job["id"], attempt)
            progress.pages_total = sum(f["pages"] for f in job["files"])
            paths = [folder / f["stored"] for f in job["files"]]
            result = run_batch(paths, catalog, settings, scheduler=self.dask,
                               on_page=lambda f, p: progress.page_done(p))
        except Superseded:
            return
        except LocatorError as e:
            self.store.fail(job["id"], _plain(str(e), job, folder), e.exit_code)
            log_event("failed", job["id"], error=str(e))
            return
        if result.failures:
            why = "; ".join(f"{k}: {v}" for k, v in result.failures.items())
            self.store.fail(job["id"], _plain(why, job, folder), 3)
            log_event("failed", job["id"], error=why)
            return
        hits = [h for p in paths for h in result.hits.get(str(p), [])]
        missing = set.intersection(*(set(result.missing.get(str(p), [])) for p in paths))
        report = {"pages": result.pages, "tiles": 0, "tiles_read": 0, "tiles_skipped": 0,
                  "pages_cached": 0, "words": 0, "hits": len(hits),
                  "seconds": time.time() - (job["started"] or time.time()), "engines": {}}
        ordered = [p.id for p in catalog.patterns if p.id in missing]
        rows, miss, warns, report = _results(job, folder, catalog, hits, ordered,
                                             result.warnings, report)
        self.store.finish(job["id"], hits=rows, missing=miss, report=report, warnings=warns,
                          token_id=job["token_id"], attempt=attempt)
        log_event("done", job["id"], hits=len(rows), pages=result.pages, where=self.dask)
