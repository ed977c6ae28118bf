"""Small enums handed between stages: where words come from, what of a page is OCR'd,
and where a tile's text regions come from.

They are ``str`` enums, so a value compares equal to its text (``Source.auto ==
"auto"``): the command line, the settings and the page planner share one type
while code and files that still spell the text keep working.
"""

from __future__ import annotations

from enum import Enum


class Source(str, Enum):
    """Where words come from (``--source``, :attr:`Settings.source`)."""

    auto = "auto"  # the text layer where usable, OCR for what it lacks
    text = "text"  # the PDF's text layer only
    ocr = "ocr"    # OCR only

    def __str__(self) -> str:
        return self.value


class OcrScope(str, Enum):
    """What of one page is OCR'd (``SourcePlan.ocr``)."""

    none = "none"        # nothing: the text layer has it all
    page = "page"        # the whole page, every tile
    regions = "regions"  # only the tiles over the plan's regions

    def __str__(self) -> str:
        return self.value


class Detector(str, Enum):
    """Where a tile's text regions come from (``--detector``, :attr:`Settings.detector`;
    :mod:`locator.detect`)."""

    cc = "cc"        # the connected-component rules of locator.regions
    db = "db"        # the DBNet detector in the rapidocr wheel
    cc_db = "cc+db"  # both: the rules, and the detector's boxes they do not cover

    def __str__(self) -> str:
        return self.value
