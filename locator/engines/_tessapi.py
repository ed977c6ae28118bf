"""Tesseract in this process, through the C API of Debian's ``libtesseract`` (ctypes).

The ``tesseract`` binary loads its model (``eng.traineddata`` and the word
lists) on every call: about 0.1 s before it reads a pixel, on a machine where
reading a tile's mosaic takes 0.05-0.1 s more. The library that binary is
built on (``libtesseract.so.5``, installed with ``tesseract-ocr``) has a C API;
calling it through ctypes loads the model once per process and then only
reads. Nothing is compiled: ctypes ships with Python, and the library is the
one the binary uses, so the words are the binary's (same image, page
segmentation mode and ``user_defined_dpi`` as ``tesseract IMAGE - --psm N
--dpi D tsv``; a test compares the two).

ctypes releases the GIL during each call, so a read can run beside other work.
A time limit is Tesseract's own: a monitor's deadline stops recognition.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import weakref

import numpy as np

#: Sonames tried in order (Debian 12 and Ubuntu ship .so.5).
_SONAMES = ("libtesseract.so.5", "libtesseract.so")

_lib = None


class ApiUnavailable(Exception):
    """The library is not there, or it cannot load the language."""


def _load():
    global _lib
    if _lib is not None:
        return _lib
    lib = None
    last: Exception | None = None
    for name in _SONAMES:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as e:
            last = e
    if lib is None:
        # Elsewhere (another soname, a non-standard path): ask the system.
        # Only then: find_library runs ldconfig (or a compiler) in a process.
        found = ctypes.util.find_library("tesseract")
        try:
            lib = ctypes.CDLL(found) if found else None
        except OSError as e:
            last = e
    if lib is None:
        raise ApiUnavailable(f"libtesseract not found ({last})")
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    sigs = {
        "TessVersion": ([], cp),
        "TessBaseAPICreate": ([], vp),
        "TessBaseAPIDelete": ([vp], None),
        "TessBaseAPIEnd": ([vp], None),
        "TessBaseAPIInit3": ([vp, cp, cp], ci),
        "TessBaseAPISetVariable": ([vp, cp, cp], ci),
        "TessBaseAPISetPageSegMode": ([vp, ci], None),
        "TessBaseAPISetImage": ([vp, vp, ci, ci, ci, ci], None),
        "TessBaseAPIRecognize": ([vp, vp], ci),
        "TessBaseAPIGetTsvText": ([vp, ci], vp),
        "TessBaseAPIClear": ([vp], None),
        "TessDeleteText": ([vp], None),
        "TessMonitorCreate": ([], vp),
        "TessMonitorDelete": ([vp], None),
        "TessMonitorSetDeadlineMSecs": ([vp, ci], None),
    }
    try:
        for fn, (args, res) in sigs.items():
            f = getattr(lib, fn)
            f.argtypes, f.restype = args, res
    except AttributeError as e:  # an old or odd build without the C API
        raise ApiUnavailable(f"libtesseract lacks its C API: {e}") from e
    _quiet_leptonica()
    _lib = lib
    return lib


#: Leptonica (the image library Tesseract is built on) prints its complaints
#: ("Error in boxClipToRectangle: box outside rectangle", harmless: Tesseract
#: goes on) on stderr, where the binary's went to a pipe pytesseract dropped.
#: In process they are logged at debug level instead.
_LEPT_SONAMES = ("liblept.so.5", "libleptonica.so.6", "libleptonica.so")
_lept_handler = None  # kept alive: Leptonica holds a pointer to it


def _quiet_leptonica() -> None:
    global _lept_handler
    import logging

    log = logging.getLogger("locator.tesseract")
    for name in _LEPT_SONAMES:
        try:
            lept = ctypes.CDLL(name)
            setter = lept.leptSetStderrHandler
        except (OSError, AttributeError):
            continue
        _lept_handler = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(
            lambda msg: log.debug("leptonica: %s", (msg or b"").decode("utf-8", "replace").rstrip()))
        setter.argtypes = [ctypes.c_void_p]
        setter.restype = None
        setter(ctypes.cast(_lept_handler, ctypes.c_void_p))
        return


def _free(lib, handle) -> None:
    lib.TessBaseAPIEnd(handle)
    lib.TessBaseAPIDelete(handle)


#: Loaded models no engine is using, by language: a model outlives the engine
#: that loaded it, so the next run in this process (a batch's next file, a
#: benchmark's next repeat) does not load it again.
_idle: dict[str, list[TessApi]] = {}


def acquire(lang: str) -> TessApi:
    """A loaded model for ``lang``: an idle one, else a new one."""
    free = _idle.get(lang)
    return free.pop() if free else TessApi(lang)


def release(api: TessApi) -> None:
    """Give a model back for reuse (one user at a time: the API is not thread-safe)."""
    _idle.setdefault(api.lang, []).append(api)


class TessApi:
    """One loaded Tesseract model; read a grey image to TSV rows. Not thread-safe:
    one instance per thread (each worker process builds its own engine)."""

    def __init__(self, lang: str) -> None:
        lib = _load()
        handle = lib.TessBaseAPICreate()
        if not handle:
            raise ApiUnavailable("TessBaseAPICreate failed")
        # A datapath of None: the library's own (TESSDATA_PREFIX, else the
        # path it was built with), as the binary does.
        if lib.TessBaseAPIInit3(handle, None, lang.encode()) != 0:
            lib.TessBaseAPIDelete(handle)
            raise ApiUnavailable(f"cannot load the language {lang!r}")
        # Tesseract's warnings would go to our stderr, under the progress bar;
        # the binary's go to a pipe pytesseract reads and drops.
        lib.TessBaseAPISetVariable(handle, b"debug_file", os.devnull.encode())
        self._lib, self._h, self.lang = lib, handle, lang
        weakref.finalize(self, _free, lib, handle)  # at exit too: no "LEAK!" lines

    @staticmethod
    def version() -> str:
        return _load().TessVersion().decode("ascii", "replace")

    def tsv(self, image: np.ndarray, *, psm: int, dpi: int, timeout: float = 0) -> str:
        """The TSV rows of ``image`` (grey uint8, height x width). Raises
        TimeoutError when the deadline (``timeout`` seconds, 0: none) stopped
        recognition, RuntimeError when recognition failed otherwise."""
        lib, h = self._lib, self._h
        img = np.ascontiguousarray(image, dtype=np.uint8)
        lib.TessBaseAPISetPageSegMode(h, psm)
        lib.TessBaseAPISetVariable(h, b"user_defined_dpi", str(dpi).encode())
        lib.TessBaseAPISetImage(h, img.ctypes.data, img.shape[1], img.shape[0], 1, img.strides[0])
        monitor = None
        if timeout and timeout > 0:
            monitor = lib.TessMonitorCreate()
            lib.TessMonitorSetDeadlineMSecs(monitor, max(1, int(timeout * 1000)))
        try:
            if lib.TessBaseAPIRecognize(h, monitor) != 0:
                if monitor is not None:
                    raise TimeoutError
                raise RuntimeError("recognition failed")
            p = lib.TessBaseAPIGetTsvText(h, 0)
            try:
                return ctypes.string_at(p).decode("utf-8", "replace") if p else ""
            finally:
                if p:
                    lib.TessDeleteText(p)
        finally:
            if monitor is not None:
                lib.TessMonitorDelete(monitor)
            lib.TessBaseAPIClear(h)  # the image and results, not the model
