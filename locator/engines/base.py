"""The engine Protocol, the word an engine returns, and the registry.

An engine sees a numpy image and returns words in that image's pixels; it
knows nothing of pages, points or tiles.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from locator.errors import UsageError
from locator.geometry import Box


@dataclass(frozen=True, slots=True)
class OcrWord:
    """A word as an engine reads it: ``box`` in the image's pixels, ``conf`` 0-100."""

    text: str
    conf: float
    box: Box


@runtime_checkable
class Engine(Protocol):
    """What every OCR engine provides."""

    name: str

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        """Words in a grey ``uint8`` image (height x width), boxes in its pixels.

        ``dpi`` is the image's resolution, for engines that use it to size text.
        Raises :class:`locator.errors.EngineError` when reading fails.
        """
        ...

    def version(self) -> str:
        """The engine's version string, for reports."""
        ...


# name -> "module:Class"; importing the module is deferred to get_engine().
_REGISTRY: dict[str, str] = {
    "tesseract": "locator.engines.tesseract:TesseractEngine",
    "easyocr": "locator.engines.easyocr:EasyOcrEngine",
    "rapidocr": "locator.engines.rapidocr:RapidOcrEngine",
}


def register(name: str, target: str) -> None:
    """Add an engine by name (``target`` is ``"package.module:Class"``)."""
    _REGISTRY[name] = target


def available() -> list[str]:
    """Registered engine names."""
    return sorted(_REGISTRY)


def parse_engine_list(spec: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"tesseract,easyocr"`` -> ``("tesseract", "easyocr")``, validated."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    out = tuple(n.strip().lower() for n in names if n.strip())
    if not out:
        raise UsageError("--engine: name at least one engine")
    for n in out:
        if n not in _REGISTRY:
            raise UsageError(f"--engine: unknown engine {n!r}; available: {', '.join(available())}")
    if len(set(out)) != len(out):
        raise UsageError(f"--engine: {spec!r} names an engine twice")
    return out


def get_engine(name: str, **options) -> Engine:
    """Import and construct the engine called ``name``.

    Raises :class:`UsageError` for an unknown name and
    :class:`locator.errors.MissingEngineError` (from the engine's constructor)
    when its binary or Python extra is missing.
    """
    parse_engine_list(name)
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)
