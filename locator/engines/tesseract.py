"""Tesseract: sparse-text segmentation, word boxes and confidences.

Drawings are not prose: ``--psm 11`` (sparse text) finds isolated labels that
page segmentation into blocks would skip. The DPI is passed on so Tesseract
sizes text correctly.

Two ways to call the same Tesseract, chosen when the engine is built:

* ``api`` (the default where it loads): Debian's ``libtesseract`` in this
  process through its C API (:mod:`locator.engines._tessapi`): the model is
  loaded once per process, not once per call -- about 0.1 s saved on every
  tile.
* ``cli``: the ``tesseract`` binary through pytesseract, one process per call;
  used when the library cannot be loaded, or when ``LOCATOR_TESSERACT=cli``.

Both give the same words (a test compares them). Only this file imports
pytesseract.
"""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np

from locator.engines import _tessapi
from locator.engines.base import EngineBase, OcrWord
from locator.errors import EngineError, MissingEngineError, UsageError
from locator.geometry import Box

INSTALL_HINT = "install it with: apt-get install tesseract-ocr (Debian/Ubuntu)"
#: Environment variable choosing how Tesseract is called: auto (default), api or cli.
BACKEND_ENV = "LOCATOR_TESSERACT"


class TesseractEngine(EngineBase):
    """Reads a grey image with Tesseract (in process, else the ``tesseract`` binary)."""

    name = "tesseract"
    #: Tesseract finds a page's layout itself: a tile that is mostly text (a
    #: form, prose) is read whole, not as a mosaic of cut-out lines.
    reads_layout = True
    own_timeout = True  # the C API's deadline, the binary's timeout=

    def __init__(self, *, lang: str = "eng", psm: int = 11, timeout: float = 0,
                 backend: str | None = None) -> None:
        # Tesseract's own OpenMP threads fight our worker processes for the
        # cores and make each call slower, not faster; one thread per call.
        # (Read when the library starts its threads: set before any call.)
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.lang, self.psm, self.timeout = lang, psm, timeout
        self._version: str | None = None
        self._probe: subprocess.Popen | None = None
        self._api: _tessapi.TessApi | None = None
        backend = (backend or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
        if backend not in ("auto", "api", "cli"):
            raise UsageError(f"{BACKEND_ENV}={backend!r}: choose auto, api or cli")
        if backend in ("auto", "api"):
            try:
                self._version = _tessapi.TessApi.version()
                self.backend = "api"
                return
            except _tessapi.ApiUnavailable as e:
                if backend == "api":
                    raise MissingEngineError(f"tesseract: {e}; {INSTALL_HINT}") from e
        self.backend = "cli"
        try:
            import pytesseract
        except ImportError as e:  # pragma: no cover - a core dependency
            raise MissingEngineError("tesseract: the Python package pytesseract is missing; "
                                     "pip install pytesseract") from e
        self._pt = pytesseract
        # `tesseract --version` (the binary's check, and the cache key's
        # version) is started here and read when first asked for: the
        # process runs beside the page's rendering instead of before it.
        try:
            self._probe = subprocess.Popen(
                [pytesseract.pytesseract.tesseract_cmd, "--version"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as e:
            raise MissingEngineError(f"tesseract: the tesseract binary is not installed; "
                                     f"{INSTALL_HINT}") from e

    def __del__(self) -> None:
        api = getattr(self, "_api", None)
        if api is not None:  # the loaded model goes back for the next engine
            self._api = None
            _tessapi.release(api)
        # reap the probe when version() was never asked for
        probe = getattr(self, "_probe", None)
        if probe is not None:
            try:
                probe.communicate(timeout=5)
            except Exception:
                probe.kill()

    def version(self) -> str:
        if self._version is None:
            assert self._probe is not None  # the CLI backend starts it; the API one sets _version
            out = self._probe.communicate(timeout=60)[0].decode("utf-8", "replace")
            self._probe = None
            m = re.search(r"tesseract\s+v?(\S+)", out)
            self._version = m.group(1) if m else "unknown"
        return f"tesseract {self._version}"

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        """Words in ``image`` (grey uint8), boxes in its pixels, conf 0-100."""
        return self._read(image, dpi, self.psm)

    def read_block(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        """Words in a mosaic of text lines: read as one block (``--psm 6``).

        On the packed text regions, block segmentation keeps a short prefix
        with its line ("HV 62056-49"), which sparse segmentation misreads.
        """
        return self._read(image, dpi, 6)

    def _read(self, image: np.ndarray, dpi: float, psm: int) -> list[OcrWord]:
        if self.backend == "api":
            return _words_from_tsv(self._read_api(image, int(round(dpi)), psm))
        pt = self._pt
        config = f"--psm {psm} --dpi {int(round(dpi))}"
        try:
            data = pt.image_to_data(image, lang=self.lang, config=config,
                                    output_type=pt.Output.DICT, timeout=self.timeout)
        except pt.TesseractError as e:  # a RuntimeError too: catch it first
            raise EngineError(f"tesseract failed: {e}") from e
        except RuntimeError as e:  # pytesseract's timeout
            raise EngineError(f"tesseract: timed out after {self.timeout} s") from e
        return _words(zip(data["text"], data["conf"], data["left"], data["top"],
                          data["width"], data["height"]))

    def _read_api(self, image: np.ndarray, dpi: int, psm: int) -> str:
        if self._api is None:
            try:
                self._api = _tessapi.acquire(self.lang)
            except _tessapi.ApiUnavailable as e:
                raise MissingEngineError(
                    f"tesseract: {e}; install the language's data "
                    f"(apt-get install tesseract-ocr-{self.lang})") from e
        try:
            return self._api.tsv(image, psm=psm, dpi=dpi, timeout=self.timeout)
        except TimeoutError as e:
            raise EngineError(f"tesseract: timed out after {self.timeout} s") from e
        except RuntimeError as e:
            raise EngineError(f"tesseract failed: {e}") from e


def _words(rows) -> list[OcrWord]:
    """Word rows (text, conf, left, top, width, height) -> words; block, paragraph
    and line rows (conf -1) and empty words dropped."""
    out = []
    for text, conf, x, y, w, h in rows:
        text = str(text).strip()
        conf = float(conf)
        if not text or conf < 0:  # conf -1 marks blocks, lines, not words
            continue
        x, y, w, h = int(x), int(y), int(w), int(h)
        out.append(OcrWord(text=text, conf=conf, box=Box(x, y, x + w, y + h)))
    return out


def _words_from_tsv(tsv: str) -> list[OcrWord]:
    """Tesseract's TSV (level page block par line word left top width height conf text)."""
    rows = []
    for line in tsv.splitlines():
        f = line.split("\t")
        if len(f) == 12 and f[0] == "5":  # level 5: a word
            # Whole-number confidences, as pytesseract gives the binary's: the
            # two ways rank equal reads alike.
            rows.append((f[11], int(float(f[10])), f[6], f[7], f[8], f[9]))
    return _words(rows)
