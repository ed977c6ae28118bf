"""Speed paths that must not change a pixel (issue 20, speed): a scanned page read at
its own resolution is cut from its image decoded once instead of drawn by MuPDF
tile by tile, and the blank test looks at the inkiest band of a tile first."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from locator.documents import Document
from locator.pipeline.plan import plan_pages
from locator.reports import RunReport
from locator.settings import Settings
from locator.tiling import is_blank


def _scan(path, *, colour: bool, dpi: float = 200, stretch: float = 1.0, text: bool = False):
    """An image-only copy of a small drawing, its image pixel for pixel at ``dpi``
    (``stretch`` != 1: not), as ``bench.realdoc_inputs`` and scanners write it."""
    src = pymupdf.open()
    page = src.new_page(width=700, height=500)
    for i in range(12):
        page.insert_text((40 + 50 * i, 60 + 30 * i), f"TAG-{i}0{i}", fontsize=7 + i,
                         color=(0, 0.6, 0.8) if i % 3 == 0 else (0, 0, 0))
    page.draw_circle((350, 250), 40, color=(0, 0, 0), width=1.2)
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csRGB if colour else pymupdf.csGRAY)
    out = pymupdf.open()
    new = out.new_page(width=700, height=500)
    k = 72.0 / dpi * stretch
    new.insert_image(pymupdf.Rect(0, 0, pix.width * k, pix.height * k), pixmap=pix,
                     keep_proportion=False)
    if text:
        new.insert_text((100, 400), "over the scan", fontsize=9)
    out.save(path)
    return path


def _drawn(path, tile, colour: bool) -> np.ndarray:
    """The tile as MuPDF draws it (the darkest channel in colour), independently."""
    with pymupdf.open(path) as doc:
        c = tile.view_clip
        pix = doc[0].get_pixmap(matrix=pymupdf.Matrix(tile.dpi / 72, tile.dpi / 72),
                                clip=pymupdf.Rect(c.x0, c.y0, c.x1, c.y1), alpha=False,
                                colorspace=pymupdf.csRGB if colour else pymupdf.csGRAY)
        n = 3 if colour else 1
        img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)
        img = img[:, :pix.width * n].reshape(pix.height, pix.width, n).min(axis=2)
    w, h = tile.size_px
    out = np.full((h, w), 255, np.uint8)
    out[:min(h, img.shape[0]), :min(w, img.shape[1])] = img[:h, :w]
    return out


@pytest.mark.parametrize("scan_colour", [False, True])
@pytest.mark.parametrize("read_colour", [False, True])
@pytest.mark.parametrize("kind", ["pixel for pixel", "stretched", "text over it"])
def test_a_scanned_tile_is_the_pixels_mupdf_draws(tmp_path, scan_colour, read_colour, kind):
    path = _scan(tmp_path / "scan.pdf", colour=scan_colour,
                 stretch=1.01 if kind == "stretched" else 1.0, text=kind == "text over it")
    with Document(path) as doc:
        plans = plan_pages(doc, [1], Settings(dpi=200, tile=400, overlap=50, colour=read_colour),
                           RunReport(file=str(path)))
        tiles = plans[1].ocr_tiles
        assert len(tiles) > 4  # edge tiles and inner ones
        for tile in tiles:
            assert np.array_equal(doc.render(tile, colour=read_colour),
                                  _drawn(path, tile, read_colour)), tile.rect_px
        # the image was cut, not drawn, only where that is the same by construction
        cut = doc._pdf._scan is not None and doc._pdf._scan[1][0] == "image"
        assert cut == (kind == "pixel for pixel")


def test_a_scan_read_at_another_dpi_is_drawn(tmp_path):
    path = _scan(tmp_path / "scan.pdf", colour=False)
    with Document(path) as doc:
        plans = plan_pages(doc, [1], Settings(dpi=150, tile=400, overlap=50),
                           RunReport(file=str(path)))
        for tile in plans[1].ocr_tiles:
            assert np.array_equal(doc.render(tile), _drawn(path, tile, False))
        assert doc._pdf._scan is not None and doc._pdf._scan[1][0] != "image"


def _blank_by_whole_tile(img: np.ndarray, dpi: float) -> bool:
    """The blank test as it was: every mark of the tile labelled."""
    import cv2

    from locator.tiling import GLYPH_MIN_INK_PT2, GLYPH_MIN_PT

    k = dpi / 72.0
    _n, _l, stats, _c = cv2.connectedComponentsWithStats((img < 160).astype(np.uint8),
                                                          connectivity=8)
    stats = stats[1:]
    long = np.maximum(stats[:, 2], stats[:, 3])
    return not np.any((long >= max(2.0, GLYPH_MIN_PT * k))
                      & (stats[:, 4] >= max(2.0, GLYPH_MIN_INK_PT2 * k * k)))


def test_the_blank_test_answers_as_when_it_labelled_the_whole_tile():
    answers = set()
    for seed, density in [(s, d) for s in range(6) for d in (0.002, 0.01, 0.03)]:
        rng = np.random.default_rng(seed)
        img = np.full((1600, 1200), 250, np.uint8)
        y = int(rng.integers(0, 1400))
        band = img[y:y + 200]  # one band much inkier than the rest: pepper only
        band[rng.random(band.shape) < density] = 0
        img[rng.random(img.shape) < density / 10] = 0
        for _ in range(int(rng.integers(0, 3))):  # a small stroke or two anywhere,
            gy, gx = int(rng.integers(0, 1570)), int(rng.integers(0, 1190))
            img[gy:gy + int(rng.integers(4, 30)), gx:gx + 2] = 0  # maybe cut by the band
        want = _blank_by_whole_tile(img, 200)
        assert is_blank(img, dpi=200) == want
        answers.add(want)
    assert answers == {True, False}  # blank and not blank tiles both tried
