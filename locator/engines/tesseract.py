"""Tesseract through pytesseract: sparse-text segmentation, word boxes and confidences.

Drawings are not prose: ``--psm 11`` (sparse text) finds isolated labels that
page segmentation into blocks would skip. The DPI is passed on so Tesseract
sizes text correctly. Only this file imports pytesseract.
"""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np

from locator.engines.base import OcrWord
from locator.errors import EngineError, MissingEngineError
from locator.geometry import Box

INSTALL_HINT = "install it with: apt-get install tesseract-ocr (Debian/Ubuntu)"


class TesseractEngine:
    """Reads a grey image with the ``tesseract`` binary."""

    name = "tesseract"
    #: Tesseract finds a page's layout itself: a tile that is mostly text (a
    #: form, prose) is read whole, not as a mosaic of cut-out lines.
    reads_layout = True

    def __init__(self, *, lang: str = "eng", psm: int = 11, timeout: float = 0) -> None:
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
            self._probe: subprocess.Popen | None = subprocess.Popen(
                [pytesseract.pytesseract.tesseract_cmd, "--version"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as e:
            raise MissingEngineError(f"tesseract: the tesseract binary is not installed; "
                                     f"{INSTALL_HINT}") from e
        self._version: str | None = None
        # Tesseract's own OpenMP threads fight our worker processes for the
        # cores and make each call slower, not faster; one thread per call.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.lang, self.psm, self.timeout = lang, psm, timeout

    def __del__(self) -> None:  # reap the probe when version() was never asked for
        probe = getattr(self, "_probe", None)
        if probe is not None:
            try:
                probe.communicate(timeout=5)
            except Exception:
                probe.kill()

    def version(self) -> str:
        if self._version is None:
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
        pt = self._pt
        config = f"--psm {psm} --dpi {int(round(dpi))}"
        try:
            data = pt.image_to_data(image, lang=self.lang, config=config,
                                    output_type=pt.Output.DICT, timeout=self.timeout)
        except pt.TesseractError as e:  # a RuntimeError too: catch it first
            raise EngineError(f"tesseract failed: {e}") from e
        except RuntimeError as e:  # pytesseract's timeout
            raise EngineError(f"tesseract: timed out after {self.timeout} s") from e
        out = []
        for text, conf, x, y, w, h in zip(data["text"], data["conf"], data["left"],
                                          data["top"], data["width"], data["height"]):
            text = text.strip()
            conf = float(conf)
            if not text or conf < 0:  # conf -1 marks blocks, lines, not words
                continue
            out.append(OcrWord(text=text, conf=conf, box=Box(x, y, x + w, y + h)))
        return out
