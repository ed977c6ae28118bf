"""PyMuPDF itself: imported lazily, without the add-ons PyMuPDF 2 loads, and what its warnings say."""

from __future__ import annotations

from typing import Any


def import_pymupdf() -> Any:
    """PyMuPDF, without the add-ons PyMuPDF 2 loads when it is imported.

    PyMuPDF imports ``pymupdf.layout`` and ``pymupdf4llm`` when they are
    installed (PyMuPDF 2.0 requires them); they load onnxruntime and an ONNX
    layout model -- seconds and memory a Tesseract run must not pay, and
    onnxruntime is an engine's dependency. Marking them absent for the moment
    of the import makes PyMuPDF skip them (it catches the ImportError); the
    marks are removed afterwards so a caller may still import them itself.
    """
    import sys

    if "pymupdf" not in sys.modules:
        blocked = [m for m in ("pymupdf.layout", "pymupdf4llm") if m not in sys.modules]
        for m in blocked:
            sys.modules[m] = None  # type: ignore[assignment]
        try:
            import pymupdf  # noqa: F401
        finally:
            for m in blocked:
                if m in sys.modules and sys.modules[m] is None:
                    del sys.modules[m]
    import pymupdf

    return pymupdf


def first_error(said: str) -> str | None:
    """The first line of MuPDF's warnings that reports an error, if any."""
    return next((ln for ln in said.splitlines() if "error" in ln), None)
