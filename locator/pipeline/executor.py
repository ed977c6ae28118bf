"""The one executor: work items run in this process or in worker processes.

Modelled on OCRmyPDF's ``_concurrent.py``: an :class:`Executor` with a serial
variant (:class:`SerialExecutor`) and a process variant
(:class:`ProcessExecutor`). OCR tiles, symbol tiles and batch pages all run
through it. What runs is a :class:`Work`: ``init(*args)`` builds each
process's state once (the document, the engines: an EasyOCR model load is
seconds) and ``fn(state, item)`` does one item. Results come back as items
finish.

The process variant owns everything about worker processes: fork where the
OS has it, spawn elsewhere; workers ignore Ctrl-C (the parent stops them at
once); workers die with the parent, however it ends (SIGTERM, kill -9); a
watchdog stops workers stuck on one item longer than ``hang_after`` (C code
an alarm cannot reach), gives that item one more try and then
``Work.on_hang``'s result, and hands the items not yet done to fresh workers;
a worker that dies (out of memory, killed) is :class:`EngineError`.

The workers share the cores: while a pool runs, OpenCV's own thread pool is
cut to the worker's share of the cores (:func:`native_threads`), so two
workers on two cores are two processes of one thread each, not two processes
each trying to use both cores through OpenCV (with its threads on, a second
worker gained nothing on the A0 scan).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from locator.errors import EngineError


@dataclass(frozen=True)
class Work:
    """What to run: ``fn(state, item)`` per item, ``state = init(*args)`` once per
    process. Both must be module-level functions (spawn pickles them by name).

    ``on_hang(item, seconds)`` is the result of an item that hung twice
    (watchdog); ``on_error(item, exc)`` the result of an item whose ``fn``
    raised in a worker (a bug or a broken page must not take the run down;
    in this process the exception propagates); ``prefilter(state, item)``
    answers an item cheaply, or returns None when it needs real work (see
    :class:`LazyExecutor`).
    """

    init: Callable[..., Any]
    args: tuple
    fn: Callable[[Any, Any], Any]
    on_hang: Callable[[Any, float], Any] | None = None
    on_error: Callable[[Any, Exception], Any] | None = None
    prefilter: Callable[[Any, Any], Any] | None = None


class Executor(ABC):
    """Runs a :class:`Work` over items and yields the results as they finish."""

    @abstractmethod
    def map(self, work: Work, items: Sequence) -> Iterator:
        """Results of ``work.fn`` for every item (in completion order)."""


class SerialExecutor(Executor):
    """Every item in this process, in order. ``state``: use it instead of
    building one with ``work.init`` (the caller's open document and engines)."""

    def __init__(self, state: Any = None) -> None:
        self.state = state

    def map(self, work: Work, items: Sequence) -> Iterator:
        state = self.state if self.state is not None else work.init(*work.args)
        for item in items:
            yield work.fn(state, item)


def start_method() -> str:
    """fork where the OS has it: unlike spawn it does not re-import the caller's
    ``__main__``, so library users' scripts need no ``if __name__ ==
    "__main__"`` guard. Workers touch only their own document and engines,
    never the parent's threads (progress bars), and the parent never runs a model."""
    import multiprocessing as mp

    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def cores() -> int:
    """The cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextmanager
def native_threads(workers: int):
    """OpenCV's threads cut to each of ``workers`` processes' share of the cores
    while the block runs, and put back after it.

    Set in this process before it forks: a forked worker inherits the count
    and, with one thread, never touches the thread pool it inherited without
    its threads. (A forked worker must not call ``cv2.setNumThreads`` itself
    while the parent's pool has threads.) A fork server's or spawned worker
    starts with no pool and sets the count itself (:func:`_init_worker`).
    """
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(share(workers))
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def share(workers: int) -> int:
    """OpenCV threads per worker: its share of the cores, at least one."""
    return max(1, cores() // max(1, workers))


# -- inside a worker process -------------------------------------------------------
# Each worker builds its state once (Work.init); this per-process dict is where
# it lives between items.
_worker: dict = {}


def _die_with_parent(parent: int) -> None:
    """End this worker when its parent is gone, however the parent ended.

    Linux: the kernel sends SIGKILL when the parent exits (PR_SET_PDEATHSIG);
    everywhere: a thread that sees the worker re-parented exits it.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(0.5)

    if os.getppid() != parent:  # the parent died before we got here
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="locator-parent-watch").start()


def _die_with_caller(caller: int) -> None:
    """A fork server's worker: end it when the caller (the process that asked for
    it) is gone. Its parent is the fork server, which lives on while any of its
    workers does, so the caller itself is watched: through a pidfd on Linux (it
    never names another process that got the same pid), else by polling."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # fork server gone
        except (OSError, AttributeError):
            pass
    try:
        fd = os.pidfd_open(caller)
    except ProcessLookupError:  # the caller died before we got here
        os._exit(1)
    except (OSError, AttributeError):
        fd = None

    def watch() -> None:
        if fd is not None:
            import select

            select.select([fd], [], [])  # readable once the caller has ended
            os._exit(1)
        while True:
            try:
                os.kill(caller, 0)
            except ProcessLookupError:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="locator-caller-watch").start()


def _init_worker(init, args, started, parent: int, via_server: bool = False,
                 threads: int = 0) -> None:
    # Ctrl-C is the parent's to handle (it stops the workers); a worker that
    # took it too would die mid-item and break the pool first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if threads:  # not forked from the caller: no inherited pool, so set it here
        import cv2

        cv2.setNumThreads(threads)
    if via_server:  # a fork server's child: ``parent`` is the caller
        _die_with_caller(parent)
    else:
        _die_with_parent(parent)
    _worker["state"] = init(*args)
    _worker["started"] = started


def _call(fn, on_error, index: int, item):
    started = _worker.get("started")
    if started is not None:
        started[index] = time.time()  # the parent watches this for hung items
    if on_error is None:
        return fn(_worker["state"], item)
    try:
        return fn(_worker["state"], item)
    except Exception as e:
        return on_error(item, e)


# -- in the parent -------------------------------------------------------------------

def stop_workers(ex) -> None:
    """Kill a process pool's workers at once (Ctrl-C, a hung item) and shut it
    down without waiting for the items they were doing."""
    # (the pool keeps its processes in a private dict: the only way to kill them now)
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for proc in procs:
        try:
            proc.kill()
        except (OSError, ValueError, AttributeError):
            pass
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        proc.join(timeout=5)


class ProcessExecutor(Executor):
    """Items in ``workers`` processes, with the watchdog (``hang_after``
    seconds, None: none; an item that hung is tried ``hang_retries`` more
    times). ``died`` is the message of the :class:`EngineError` raised when a
    worker dies. ``method``: the start method (default :func:`start_method`);
    ``"forkserver"`` or ``"spawn"`` for a caller with threads of its own that a
    fork would copy mid-step (``locate serve``: the event loop, its thread pool,
    SQLite); a fork server's workers watch the caller itself (their parent,
    the fork server, lives on while any of them does)."""

    def __init__(self, workers: int, *, hang_after: float | None = None,
                 hang_retries: int = 1,
                 died: str = "a worker process died (out of memory, or killed)",
                 method: str | None = None) -> None:
        self.workers = max(1, workers)
        self.hang_after = hang_after
        self.hang_retries = hang_retries
        self.died = died
        self.method = method

    def map(self, work: Work, items: Sequence) -> Iterator:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context(self.method or start_method())
        method = ctx.get_start_method()
        todo = list(range(len(items)))
        hangs: dict[int, int] = {}
        n = min(self.workers, len(todo))
        with native_threads(n):  # (a forked worker inherits this process's count)
            while todo:
                started = ctx.Array("d", len(items), lock=False)  # when a worker began each
                ex = ProcessPoolExecutor(max_workers=min(n, len(todo)), mp_context=ctx,
                                         initializer=_init_worker,
                                         initargs=(work.init, work.args, started, os.getpid(),
                                                   method == "forkserver",
                                                   0 if method == "fork" else share(n)))
                futures = {ex.submit(_call, work.fn, work.on_error, i, items[i]): i
                           for i in todo}
                todo = yield from self._drain(ex, futures, started, work, items, hangs)

    def _drain(self, ex, futures: dict, started, work: Work, items: Sequence,
               hangs: dict[int, int]):
        """Yield the pool's results; return the items to run again in fresh workers
        (those a hang stopped)."""
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        limit = self.hang_after
        again: list[int] = []
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
                    # a hang needs a limit; every caller that sets hang_after gives on_hang
                    assert limit is not None and work.on_hang is not None
                    stop_workers(ex)
                    for i in sorted(futures[f] for f in pending):
                        if i not in hung:
                            again.append(i)  # not done yet, or caught in the stop
                        elif hangs.get(i, 0) >= self.hang_retries:
                            yield work.on_hang(items[i], limit)
                        else:
                            hangs[i] = hangs.get(i, 0) + 1
                            again.append(i)
                    return again
        except BrokenProcessPool as e:
            stop_workers(ex)
            raise EngineError(self.died) from e
        except BaseException:  # Ctrl-C, or the caller gave up: stop now, not after the items
            stop_workers(ex)
            raise
        ex.shutdown(wait=True)
        return again


def pool_size(workers: int, items: int) -> int:
    """How many worker processes ``items`` items of real work are worth: one
    per item up to ``workers``, and none (0: this process) when that is one."""
    n = min(workers, items)
    return n if n > 1 else 0


def executor_for(workers: int, items: int, state: Any = None, **options) -> Executor:
    """A :class:`ProcessExecutor` when more than one process would have work,
    else a :class:`SerialExecutor` (with ``state``, or building its own)."""
    n = pool_size(workers, items)
    return ProcessExecutor(n, **options) if n else SerialExecutor(state)


class LazyExecutor(Executor):
    """Worker processes only once there is work worth sending them.

    Items are answered in this process by ``work.prefilter`` (with ``state``,
    this process's own) while it can -- a blank tile costs a render and a look,
    and sending it to a worker costs more than that (2,000 empty pages: 26 s in
    two workers, 4.3 s in one process) -- and at the first item that needs real
    work, that item and the rest go to :func:`executor_for` (a pool only when
    more than one of them is left).
    """

    def __init__(self, workers: int, state: Any, **options) -> None:
        self.workers, self.state, self.options = workers, state, options

    def map(self, work: Work, items: Sequence) -> Iterator:
        for i, item in enumerate(items):
            done = work.prefilter(self.state, item) if work.prefilter is not None else None
            if done is None:
                rest = items[i:]
                yield from executor_for(self.workers, len(rest), self.state,
                                        **self.options).map(work, rest)
                return
            yield done
