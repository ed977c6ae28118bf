"""Text finding on P&ID-like pages (locator.detect), with real Tesseract and the real
DBNet detector from the rapidocr wheel, on pages the tests draw with PyMuPDF.

Each page is rasterised into an image-only PDF (grey or colour), as a scanned
or exported drawing arrives, so the tool has to find and read the text.
"""

from __future__ import annotations

import json

import numpy as np
import pymupdf
import pytest

from locator.detect import darken_faint_ink, find_text
from locator.geometry import Box
from locator.pipeline import locate_frame
from locator.settings import Settings
from locator.errors import UsageError
from tests.conftest import write_catalog

CYAN, GREEN, YELLOW = (0, 1, 1), (0, 0.8, 0), (1, 0.85, 0)


def _image_pdf(page_src: pymupdf.Page, dst, *, dpi=200, colour=True):
    pix = page_src.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72),
                              colorspace=pymupdf.csRGB if colour else pymupdf.csGRAY,
                              alpha=False)
    out = pymupdf.open()
    page = out.new_page(width=page_src.rect.width, height=page_src.rect.height)
    page.insert_image(pymupdf.Rect(0, 0, pix.width * 72 / dpi, pix.height * 72 / dpi),
                      pixmap=pix, keep_proportion=False)
    out.save(dst)


def _page(width=360, height=240):
    doc = pymupdf.open()
    return doc, doc.new_page(width=width, height=height)


def _truth(page, text) -> Box:
    (r,) = page.search_for(text)
    return Box(r.x0, r.y0, r.x1, r.y1)


def _found(df, code: str, box: Box, tol=2.0) -> bool:
    for r in df[df["matched"] == code].itertuples():
        cx, cy = (r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2
        if box.x0 - tol <= cx <= box.x1 + tol and box.y0 - tol <= cy <= box.y1 + tol:
            return True
    return False


def _locate(pdf, codes, tmp_path, **kw):
    cat = write_catalog(tmp_path / "cat.yaml", codes)
    return locate_frame(pdf, cat, dpi=200, workers=1, cache=False, source="ocr", **kw)


def test_darken_faint_ink_makes_light_strokes_dark_and_leaves_black_alone():
    img = np.full((40, 60), 255, np.uint8)
    img[10:20, 5:8] = 232   # a faint stroke (thin cyan text rendered grey)
    img[10:20, 30:33] = 20  # a black stroke
    img[10:20, 33:35] = 200  # ... and its anti-aliased edge
    out = darken_faint_ink(img, 200)
    assert out[15, 6] <= 60
    assert (out[10:20, 30:35] == img[10:20, 30:35]).all()
    assert (out[0] == 255).all()


def test_darken_faint_ink_leaves_a_grainy_scan_alone():
    rng = np.random.default_rng(1)
    img = np.clip(rng.normal(235, 8, (60, 60)), 0, 255).astype(np.uint8)
    assert (darken_faint_ink(img, 200) == img).all()


def _specks(img, step, rng):
    for y in range(4, img.shape[0] - 4, step):
        for x in range(4, img.shape[1] - 4, step):
            dy, dx = rng.integers(0, step // 2, 2)
            h, w = rng.integers(1, 3, 2)
            img[y + dy:y + dy + h, x + dx:x + dx + w] = 231 - rng.integers(10, 40)


def test_darken_faint_ink_leaves_grainy_paper_alone():
    # the grain of a scan: specks of 1 to 4 pixels, 10-40 levels under the paper, one in
    # 400 px^2 (the generated A0 scan has one in 900; made black they buried its text);
    # a faint stroke among them is no evidence against the grain
    img = np.full((200, 200), 231, np.uint8)
    _specks(img, 20, np.random.default_rng(2))
    img[80:97, 100:102] = 200
    assert (darken_faint_ink(img, 200) == img).all()


def test_darken_faint_ink_darkens_faint_glyphs_broken_into_pieces():
    # thin light strokes (yellow text rendered grey) whose pieces lie a pixel apart, on
    # clean paper with a few specks: the strokes are darkened whole, the specks stay
    img = np.full((200, 200), 231, np.uint8)
    _specks(img, 90, np.random.default_rng(3))
    strokes = np.zeros(img.shape, bool)
    for x in range(20, 180, 12):
        strokes[60:68, x:x + 2] = strokes[69:77, x:x + 2] = True  # one stem, broken in two
    img[strokes] = 215
    out = darken_faint_ink(img, 200)
    assert (out[strokes] <= 60).all()
    assert (out[~strokes] == img[~strokes]).all()


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "grey"])
def test_coloured_thin_tags_are_found(tmp_path, colour):
    doc, page = _page()
    tags = [("P4711", CYAN), ("N27", GREEN), ("V-0031", YELLOW)]
    for i, (tag, rgb) in enumerate(tags):
        page.insert_text((40 + 100 * i, 80 + 40 * i), tag, fontsize=5, color=rgb)
    page.draw_line((20, 200), (340, 200), color=CYAN, width=0.3)
    truth = {t: _truth(page, t) for t, _ in tags}
    pdf = tmp_path / "colour.pdf"
    _image_pdf(page, pdf, colour=colour)
    df = _locate(pdf, list(truth), tmp_path)
    missing = [t for t, b in truth.items() if not _found(df, t, b)]
    assert not missing, f"not found: {missing}; read {df[['matched', 'text']].values.tolist()}"


def _bubble_page():
    """An instrument bubble whose lower tag's digits touch its outline, a valve
    tag turned beside a valve, a 2-character vertical nozzle mark, and a 36 pt
    drawing number in a title block."""
    doc, page = _page(420, 300)
    # A circle with a bar, and the tag drawn so its last digit crosses the outline.
    page.draw_circle((80, 80), 16, width=0.8)
    page.draw_line((64, 80), (96, 80), width=0.8)
    page.insert_text((68, 76), "FIC", fontsize=7)
    page.insert_text((70, 91), "96102", fontsize=7)
    # A valve (bow tie) with its tag turned beside it.
    page.draw_polyline([(200, 60), (200, 80), (230, 60), (230, 80), (200, 60)], width=0.8)
    page.insert_text((245, 95), "AB02", fontsize=6, rotate=90)
    page.insert_text((320, 90), "N7", fontsize=7, rotate=90)
    # A title block with a large drawing number.
    page.draw_rect(pymupdf.Rect(150, 200, 410, 290), width=1)
    page.draw_line((150, 230), (410, 230), width=0.6)
    page.insert_text((160, 222), "Drawing number", fontsize=8)
    page.insert_text((160, 276), "PID-2034", fontsize=36)
    truth = {t: _truth(page, t) for t in ("96102", "AB02", "PID-2034")}
    (n7,) = [w for w in page.get_text("words") if w[4] == "N7"]
    truth["N7"] = Box(*n7[:4])
    return doc, page, truth


@pytest.fixture(scope="module")
def bubble_pdf(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bubble")
    doc, page, truth = _bubble_page()
    pdf = tmp / "bubble.pdf"
    _image_pdf(page, pdf, colour=False)
    return pdf, truth


def test_detector_path_finds_tags_in_line_art_vertical_and_title_block(bubble_pdf, tmp_path):
    pytest.importorskip("rapidocr")
    pdf, truth = bubble_pdf
    df = _locate(pdf, list(truth), tmp_path, detector="cc+db")
    missing = [t for t, b in truth.items() if not _found(df, t, b)]
    assert not missing, f"not found: {missing}; read {df[['matched', 'text']].values.tolist()}"


def test_cc_alone_never_looks_for_title_block_text(bubble_pdf, tmp_path):
    """What the detector adds: the CC rules drop text over ``max_text_pt``."""
    pdf, truth = bubble_pdf
    df = _locate(pdf, ["PID-2034"], tmp_path, detector="cc")
    assert not _found(df, "PID-2034", truth["PID-2034"])


def test_db_detector_finds_a_large_number_in_the_tile():
    pytest.importorskip("rapidocr")
    _doc, page, truth = _bubble_page()
    pix = page.get_pixmap(matrix=pymupdf.Matrix(200 / 72, 200 / 72), colorspace=pymupdf.csGRAY)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]
    k = 200 / 72
    b = truth["PID-2034"]
    want = Box(b.x0 * k, b.y0 * k, b.x1 * k, b.y1 * k)
    for detector, expect in (("db", True), ("cc+db", True), ("cc", False)):
        f = find_text(img, 200, detector=detector)
        # A region holding the whole number (CC leaves only fragments of it).
        hit = any(want.contains_point(*r.center) and r.width >= 0.8 * want.width
                  for r in f.regions.horizontal)
        assert hit is expect, detector


def test_detector_setting_is_checked():
    assert Settings(detector="cc+db").detector == "cc+db"
    with pytest.raises(UsageError, match="detector"):
        Settings(detector="yolo")


def test_cli_rejects_an_unknown_detector(tmp_path, capsys):
    from locator.cli import main

    doc, page = _page()
    page.insert_text((40, 80), "P4711", fontsize=8)
    pdf = tmp_path / "p.pdf"
    doc.save(pdf)
    cat = write_catalog(tmp_path / "cat.yaml", ["P4711"])
    with pytest.raises(SystemExit) as e:
        main([str(pdf), "--patterns", str(cat), "--detector", "yolo"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--detector" in err and "yolo" in err and "cc+db" in err


def test_reading_weight_counts_letters_and_digits_only():
    from locator.detect import reading_weight

    upright = [("Ke)", 72), ("i=)", 40), ("j=)", 58), (">", 96)]  # V005 read upright
    assert sum(reading_weight(t, c) for t, c in upright) * 0.6 < reading_weight("V005", 89)
    assert reading_weight("N7", 50) == 100


def test_colour_render_reads_the_darkest_channel(tmp_path):
    """Cyan ink is light in grey and dark in its red channel: the colour
    render gives the tile its darkest channel; black and white are as in grey."""
    from locator.documents import Document
    from locator.tiling import grid

    doc, page = _page(200, 100)
    page.draw_rect(pymupdf.Rect(20, 20, 60, 60), color=CYAN, fill=CYAN)
    page.draw_rect(pymupdf.Rect(120, 20, 160, 60), color=(0, 0, 0), fill=(0, 0, 0))
    pdf = tmp_path / "cyan.pdf"
    doc.save(pdf)
    with Document(pdf) as d:
        (tile,) = grid(1, d.frame(1), 72, 400, 50)
        grey, colour = d.render(tile), d.render(tile, colour=True)
    assert grey.shape == colour.shape == (100, 200) and colour.dtype == np.uint8
    assert grey[40, 40] > 150 and colour[40, 40] < 10  # cyan: light grey, no red
    assert grey[40, 140] == colour[40, 140] == 0
    assert grey[90, 100] == colour[90, 100] == 255


def test_the_cache_key_tells_detectors_and_colour_apart():
    from locator.pipeline.read import ocr_settings

    keys = {json.dumps(ocr_settings(Settings(detector=d, colour=c), [], 200), sort_keys=True)
            for d in ("cc", "db", "cc+db") for c in (True, False)}
    assert len(keys) == 6
