"""Shared fixtures: small generated documents with known codes, and catalogs for them."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest
import yaml

from locator.geometry import Box


def draw_codes(path: Path, codes: list[tuple[str, float, float, float, int]], *,
               width: float = 842, height: float = 595, rotation: int = 0) -> dict[str, Box]:
    """Write a one-page PDF with each ``(text, x, y, size_pt, angle)`` drawn; return true boxes.

    Boxes come from the PDF's own text layer (unrotated page points), so they
    are exact. ``angle`` 90 draws text reading bottom-to-top.
    """
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    page.draw_rect(pymupdf.Rect(10, 10, width - 10, height - 10), color=(0, 0, 0), width=0.8)
    for text, x, y, size, angle in codes:
        page.insert_text((x, y), text, fontsize=size, fontname="helv", rotate=angle)
    truth: dict[str, Box] = {}
    for text, *_ in codes:
        rects = page.search_for(text)
        assert len(rects) == 1, text
        truth[text] = ink_box(page, rects[0])
    if rotation:
        page.set_rotation(rotation)
    doc.save(path)
    return truth


def ink_box(page, rect) -> Box:
    """The tight box of the ink inside ``rect`` (points): where the text was drawn.

    A text layer's boxes span the font's ascent and descent; OCR boxes hug the
    ink. Comparing OCR to the ink is what "where it was drawn" means.
    """
    import numpy as np

    scale = 8.0  # 576 dpi: ink edges to 1/8 pt
    pix = page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), clip=rect,
                          colorspace=pymupdf.csGRAY)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]
    ys, xs = np.nonzero(img < 128)
    x0, y0 = pix.x / scale, pix.y / scale
    return Box(x0 + xs.min() / scale, y0 + ys.min() / scale,
               x0 + (xs.max() + 1) / scale, y0 + (ys.max() + 1) / scale)


def write_catalog(path: Path, codes: list[str], *, min_score: float = 85, extra=None) -> Path:
    pats = [{"id": c, "text": c, "label": "instrument"} for c in codes]
    pats += extra or []
    path.write_text(yaml.safe_dump({"defaults": {"min_score": min_score}, "patterns": pats},
                                   sort_keys=False))
    return path


# Upright codes of 6-10 pt and two rotated ones, spread over an A4-landscape page.
SMALL_PAGE_CODES = [
    ("FIC-101", 60, 80, 8, 0), ("PT-2034", 300, 90, 6, 0), ("LT-3307", 520, 120, 10, 0),
    ("TV-4410", 100, 300, 7, 0), ("PSV-5521", 400, 330, 6, 0), ("AB-12345-C", 620, 420, 8, 0),
    ("XY-55210-K", 150, 500, 9, 0), ("HS-6620", 700, 250, 6.5, 0),
    ("TIC-7781", 250, 200, 8, 90), ("FT-8890", 780, 520, 7, 270),
]


@pytest.fixture
def small_drawing(tmp_path):
    """A generated one-page drawing, its true boxes, and a catalog of its codes."""
    pdf = tmp_path / "drawing.pdf"
    truth = draw_codes(pdf, SMALL_PAGE_CODES)
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for c in SMALL_PAGE_CODES])
    return pdf, truth, cat


@pytest.fixture(autouse=True, scope="session")
def _private_ocr_cache(tmp_path_factory):
    """Keep the tests' OCR cache out of the user's cache folder."""
    import os

    os.environ["LOCATOR_CACHE_DIR"] = str(tmp_path_factory.mktemp("ocr-cache"))
    yield


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie has ended: it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
