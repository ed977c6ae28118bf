"""The retired ``rapidocr-onnxruntime`` 1.4.x package as a benchmark engine, ``old-rapidocr``.

Issue 17 moved :mod:`locator.engines.rapidocr` to the maintained ``rapidocr``
3.x package; this adapter keeps the old package readable beside it so
:mod:`bench.engines_suite` can measure both on the same documents in one run
(``--configs old-rapidocr,rapidocr``). It is the engine as it was at e5a0e1f:
the same settings (tile read at its own size, no upscaling, no direction
classifier, detection at ``detect_dpi``, one RapidOCR object per process and
settings), only the calls to the old API differ, so the figures compare the
packages and their models, not two engines. Bench only: importing this module
registers the name; the package never does.

Needs both packages in one environment (``rapidocr-onnxruntime`` brings the
GUI ``opencv-python``, which overwrites the headless build's ``cv2``: keep it
out of the working venv; bench/README-engines.md says how).
"""

from __future__ import annotations

import threading
from importlib import metadata
from typing import Any

import numpy as np

from locator.engines.base import register
from locator.engines.rapidocr import RapidOcrEngine, char_positions
from locator.errors import MissingEngineError

_ENGINES: dict[tuple, Any] = {}
_LOCK = threading.Lock()

register("old-rapidocr", "bench.old_rapidocr:OldRapidOcrEngine")


def _engine(threads: int, max_side: int, min_side: int):
    key = (threads, max_side, min_side)
    with _LOCK:
        if key not in _ENGINES:
            try:
                import rapidocr_onnxruntime
            except ImportError as e:
                raise MissingEngineError(
                    "old-rapidocr: pip install 'rapidocr-onnxruntime==1.4.4' "
                    "(in a benchmark venv only)") from e
            _ENGINES[key] = rapidocr_onnxruntime.RapidOCR(
                max_side_len=max_side, use_cls=False, print_verbose=False,
                det_limit_side_len=min_side, det_limit_type="min",
                intra_op_num_threads=threads, inter_op_num_threads=1)
        return _ENGINES[key]


class OldRapidOcrEngine(RapidOcrEngine):
    """:class:`RapidOcrEngine` reading through ``rapidocr-onnxruntime`` 1.4.x (PP-OCRv4)."""

    name = "old-rapidocr"

    def version(self) -> str:
        import onnxruntime

        return (f"rapidocr-onnxruntime {metadata.version('rapidocr-onnxruntime')} "
                f"(onnxruntime {onnxruntime.__version__})")

    def read_lines(self, img: np.ndarray, scale: float) -> list[tuple]:
        """As :meth:`RapidOcrEngine.read_lines`, through the 1.4 API (e5a0e1f's code)."""
        import cv2

        eng = _engine(self.threads, self.max_side, self.min_side)
        rgb = np.stack([img] * 3, axis=-1) if img.ndim == 2 else img
        h, w = rgb.shape[:2]
        small = rgb
        if scale < 1.0:
            small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        quads, _ = eng(small, use_det=True, use_cls=False, use_rec=False,
                       box_thresh=self.box_thresh, unclip_ratio=self.unclip_ratio,
                       text_score=self.text_score)
        if not quads:
            return []
        sx, sy = w / small.shape[1], h / small.shape[0]
        quads = [np.clip(np.asarray(q, dtype=np.float32) * (sx, sy), 0, (w - 1, h - 1))
                 .astype(np.float32) for q in quads]
        recs, _ = eng.text_rec(eng.get_crop_img_list(rgb, quads), True)
        out = []
        for quad, rec in zip(quads, recs):
            text, score = rec[0], float(rec[1])
            if score < self.text_score or not text.strip():
                continue
            try:
                pos = char_positions(rec[2][0], rec[2][2])
            except (IndexError, TypeError, KeyError):  # another version's layout
                pos = None
            if pos is not None and len(pos) != len(text):
                pos = None
            out.append((quad, text, score, pos))
        return out
