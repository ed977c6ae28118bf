"""The peak memory of a process tree (a tune run and its OCR workers), read from ``/proc``.

Linux only; elsewhere every reading is 0 (the tune table then shows 0 MiB).
"""

from __future__ import annotations

import os
import threading

__all__ = ["tree_rss_kib", "TreeSampler"]


def _children(pid: int) -> list[int]:
    try:
        kids: list[int] = []
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids.extend(int(k) for k in f.read().split())
        return kids
    except OSError:
        return []


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        return 0


def tree_rss_kib(pid: int) -> int:
    """Summed RSS (KiB) of ``pid`` and all its descendants, from ``/proc`` (0 elsewhere)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _rss_kib(p)
        todo.extend(_children(p))
    return total


class TreeSampler(threading.Thread):
    """Samples a process tree's summed RSS until stopped; keeps the peak (KiB)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, tree_rss_kib(self.pid))
            self._halt.wait(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak
