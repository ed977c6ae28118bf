"""OCR engines behind one Protocol, found by name, imported only when chosen.

Each engine lives in its own file and imports its heavy library (pytesseract,
easyocr/torch, onnxruntime) inside that file only; the registry maps a name to
``module:Class`` so nothing is imported until :func:`get_engine` is called.
"""

from locator.engines.base import (Engine, EngineBase, OcrWord, available, get_engine,
                                  parse_engine_list)

__all__ = ["Engine", "EngineBase", "OcrWord", "available", "get_engine", "parse_engine_list"]
