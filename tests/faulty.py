"""Engines that fail on purpose: crashes, hangs, garbage, dead workers.

:class:`Faulty` wraps a :class:`~tests.fakes.ScriptedEngine` (in-process, one
call per tile in grid order) and breaks chosen tiles for a chosen number of
attempts, keeping the script in step with the pipeline's one retry: the
answer for tile ``t`` is always tile ``t``'s, however many attempts it took.

:class:`EnvEngine` is built by the engine registry (in worker processes and
by the CLI) and steered by ``$LOCATOR_FAKE_ENGINE`` (JSON), since a worker
process cannot be handed an object: it reads a word per page at the image's
centre, telling pages apart by image width, and faults on chosen pages.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time

import numpy as np

from locator.engines.base import OcrWord
from locator.geometry import Box

#: An answer no engine should give: every way a word can be wrong.
GARBAGE = [
    OcrWord(None, 90.0, Box(1, 1, 5, 5)),                      # text is not a string
    OcrWord(b"FIC-101", 90.0, Box(1, 1, 5, 5)),                # bytes
    OcrWord(123, 90.0, Box(1, 1, 5, 5)),                       # a number
    OcrWord("   ", 90.0, Box(1, 1, 5, 5)),                     # nothing but spaces
    OcrWord("\x00\x07", 90.0, Box(1, 1, 5, 5)),                # control characters only
    OcrWord("NAN-1", math.nan, Box(1, 1, 5, 5)),               # NaN confidence
    OcrWord("NAN-2", 90.0, Box(math.nan, 1, 5, 5)),            # NaN box
    OcrWord("INF-1", 90.0, Box(1, 1, math.inf, 5)),            # infinite box
    OcrWord("OUT-1", 90.0, Box(-50, -50, -10, -10)),           # wholly off the image
    OcrWord("OUT-2", 90.0, Box(10**6, 10**6, 10**6 + 9, 10**6 + 9)),
    OcrWord("FLAT-1", 90.0, Box(5, 5, 5, 9)),                  # no area
    OcrWord("BOX-1", 90.0, "not a box"),                       # not a box at all
]
#: Garbage that can be repaired: kept, cleaned up.
REPAIRABLE = [
    OcrWord("EDGE-1", 90.0, Box(-5, -5, 20, 12)),              # partly off: clipped
    OcrWord("FLIP-1", 250.0, Box(30, 20, 10, 12)),             # inverted box, conf > 100
    OcrWord("CT\x00RL-1\n", -3.0, Box(40, 40, 60, 50)),        # control characters
    OcrWord("TUP-1", "77", (40, 60, 70, 70)),                  # a tuple box, conf as text
]


class Faulty:
    """A scripted engine whose tiles ``faults`` break: ``{tile: (kind, attempts)}``.

    ``kind`` is ``"raise"`` (an exception that is no EngineError), ``"hang"``
    (sleeps for an hour), ``"none"`` (returns None), ``"garbage"`` (the tile's
    words plus :data:`GARBAGE` and :data:`REPAIRABLE`; not an error, so not
    retried); ``attempts`` how many attempts fail (1: the retry works; 2: the
    tile is lost).
    """

    name = "fake"

    def __init__(self, inner, faults: dict[int, tuple[str, int]]) -> None:
        self.inner = inner
        self.faults = faults
        self.attempts: dict[int, int] = {}
        self.log: list[tuple[int, str]] = []

    def version(self) -> str:
        return "faulty 1"

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        t = self.inner.calls  # the tile being read
        a = self.attempts.get(t, 0)
        self.attempts[t] = a + 1
        kind, times = self.faults.get(t, (None, 0))
        if kind is None or a >= times:
            self.log.append((t, "ok"))
            return self.inner.read(image, dpi=dpi)
        self.log.append((t, kind))
        if kind == "garbage":
            return self.inner.read(image, dpi=dpi) + GARBAGE + REPAIRABLE
        if a == 1:  # the pipeline gives up on this tile: the next call is the next tile
            self.inner.calls += 1
        if kind == "raise":
            raise ZeroDivisionError("simulated crash inside the engine")
        if kind == "hang":
            time.sleep(3600)
        if kind == "none":
            return None
        raise AssertionError(kind)


# -- steered through the environment (worker processes, the CLI) -------------------

ENV = "LOCATOR_FAKE_ENGINE"


def page_pdf(path, pages: int, *, base: float = 200, step: float = 20, height: float = 150):
    """A PDF whose page ``k`` is ``base + step * k`` pt wide (so at 72 dpi an
    engine reading whole tiles tells pages apart by image width), each with
    ``CODE-k`` written on it (ink for the text-region finder)."""
    import pymupdf

    doc = pymupdf.open()
    for k in range(1, pages + 1):
        p = doc.new_page(width=base + step * k, height=height)
        p.insert_text((40, 60), f"CODE-{k}", fontsize=14)
    doc.save(path)
    return path


def steer(monkeypatch, **spec) -> None:
    """Set what every :class:`EnvEngine` (in this process and its workers) does."""
    from locator.engines import base

    monkeypatch.setitem(base._REGISTRY, "envfake", "tests.faulty:EnvEngine")
    monkeypatch.setenv(ENV, json.dumps(spec))


class EnvEngine:
    """Reads ``CODE-<page>`` at the centre of each image; faults as ``$LOCATOR_FAKE_ENGINE`` says.

    Keys: ``base``/``step`` (page widths, see :func:`page_pdf`), ``fault``
    (``raise``, ``hang`` (sleep), ``hang-hard`` (sleep with SIGALRM blocked:
    what an engine stuck in C code looks like), ``kill`` (SIGKILL itself),
    ``garbage``), ``pages`` (the pages that fault, default all), ``calls``
    (the call numbers, in this process, that fault, default all),
    ``delay`` (seconds every call takes), ``before`` (seconds before a fault),
    ``word`` (read this instead of ``CODE-<page>``: for the mosaic of text
    regions, whose width says nothing of the page). The word's box is the
    whole image.
    """

    name = "envfake"

    def __init__(self) -> None:
        self.spec = json.loads(os.environ.get(ENV, "{}"))
        self.calls = 0

    def version(self) -> str:
        return "envfake 1"

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        s = self.spec
        n = self.calls
        self.calls += 1
        h, w = image.shape[:2]
        page = round((w * 72.0 / dpi - s.get("base", 200)) / s.get("step", 20))
        time.sleep(s.get("delay", 0))
        fault = s.get("fault")
        if fault and page in s.get("pages", [page]) and n in s.get("calls", [n]):
            time.sleep(s.get("before", 0))
            if fault == "raise":
                raise RuntimeError(f"simulated crash on page {page}")
            if fault == "hang":
                time.sleep(3600)
            if fault == "hang-hard":
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
                time.sleep(3600)
            if fault == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if fault == "garbage":
                return GARBAGE + REPAIRABLE
        return [OcrWord(s.get("word", f"CODE-{page}"), 95.0, Box(0, 0, w, h))]
