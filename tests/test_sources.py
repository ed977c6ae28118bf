"""Where words come from: each source decision on a generated page of that kind.

Decisions are checked without OCR (a recording fake engine, or none at all);
a few end-to-end runs with real Tesseract check that every code is found on
pages whose text layer is missing, partial, drawn as curves or garbage.
"""

from __future__ import annotations

import pymupdf
import pytest

from locator.documents import Document
from locator.geometry import Box
from locator.model import Word
from locator.pipeline import RunReport, read_document, run
from locator.settings import Settings
from locator.textlayer import SourcePlan, TextLayer, combine, plan_page, plausible
from tests.conftest import SMALL_PAGE_CODES, draw_codes, write_catalog
from tests.docmaker import (bilevel_pdf, curves_pdf, layer_boxes, mixed_pdf, scan_pdf,
                             unmapped_font_pdf)

VECTOR = [("FIC-101", 40, 60, 10, 0), ("PT-2034", 200, 120, 9, 0), ("LT-3307", 60, 200, 10, 0)]
SCANNED = [("XV-5521", 20, 40, 11, 0), ("HS-6620", 20, 110, 10, 0)]
MANY = [(f"TAG-{100 + i}", 30 + 150 * (i % 3), 40 + 40 * (i // 3), 9, 0) for i in range(18)]
GARBAGE = [("lIlIi", 40, 60), ("~#%", 200, 120), ("xqzvbn", 60, 200), ("tHe", 100, 100),
           ("rnIl|", 150, 150), ("IiIl", 30, 300), ("fLiI", 300, 40)]


class NoOcr:
    """An engine that must not be called: the page is the text layer's alone."""

    name = "none"

    def version(self) -> str:
        return "none 0"

    def read(self, image, *, dpi):
        raise AssertionError("OCR was run on a page the text layer covers")


class Recorder:
    """An engine that reads nothing and remembers the images it was shown."""

    name = "rec"

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []
        self.images: list = []

    def version(self) -> str:
        return "rec 0"

    def read(self, image, *, dpi):
        self.shapes.append(image.shape)
        self.images.append(image.copy())
        return []


def _words(path, engine, **kw):
    report = RunReport(file=str(path))
    kw.setdefault("rotations", (0,))
    words = read_document(path, Settings(**kw), engines=[engine], report=report)
    return words, report


def _plan(path, source="auto"):
    with Document(path) as doc:
        layer = doc.text_layer(1)
        return plan_page(1, layer, doc.frame(1), source, paths=lambda: doc.count_paths(1))


# -- judging words ------------------------------------------------------------

def test_plausible_words():
    for ok in ("FIC-101", "R26", "2k2", "GND", "Taxpayer", "iCEBreaker", "MHz", "rhythm"):
        assert plausible(ok), ok
    for bad in ("lIlIi", "tHe", "xqzvbn", "\ufffd\ufffd", "a\x01b"):
        assert plausible(bad) is False, bad
    assert plausible("(") is None and plausible("—") is None


# -- a born-digital page: the text layer alone ------------------------------------

def test_vector_page_is_read_from_its_text_layer_exactly(small_drawing):
    pdf, truth, _ = small_drawing
    words, report = _words(pdf, NoOcr())
    assert report.sources == {1: "text"} and report.tiles == 0
    by_text = {w.text: w for w in words}
    layer = layer_boxes(pdf)
    for code in truth:
        box = layer[code]
        w = by_text[code]
        assert (w.source, w.engine, w.conf) == ("text", "text", 100.0)
        assert w.box == box  # the layer's own box, not an approximation
    assert by_text["TIC-7781"].angle == 90 and by_text["FT-8890"].angle == 270
    assert by_text["FIC-101"].angle == 0
    with pymupdf.open(pdf) as doc:  # exactly get_text("words"), nothing else
        assert sorted((w[4], w[:4]) for w in doc[0].get_text("words")) == \
            sorted((w.text, (w.box.x0, w.box.y0, w.box.x1, w.box.y1)) for w in words)


def test_exact_duplicate_words_are_removed(tmp_path):
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=200)
    for _ in range(2):  # KiCad writes some strings twice, at the same place
        page.insert_text((40, 60), "R26 C29", fontsize=9)
    page.insert_text((40, 120), "R26", fontsize=9)  # same text elsewhere: a second word
    doc.save(tmp_path / "dup.pdf")
    with Document(tmp_path / "dup.pdf") as d:
        layer = d.text_layer(1)
    assert layer.raw == 5 and layer.duplicates == 2
    assert sorted(w.text for w in layer.words) == ["C29", "R26", "R26"]


def test_kicad_overbar_markup_is_given_as_drawn(tmp_path):
    doc = pymupdf.open()
    doc.new_page(width=300, height=200).insert_text((40, 60), "FLASH_~{WP}|IO2 ~{RST}", fontsize=8)
    doc.save(tmp_path / "kicad.pdf")
    with Document(tmp_path / "kicad.pdf") as d:
        layer = d.text_layer(1)
    assert [w.text for w in layer.words] == ["FLASH_WP|IO2", "RST"]


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_page_text_layer_in_unrotated_space(tmp_path, rotation):
    pdf = tmp_path / f"r{rotation}.pdf"
    truth = draw_codes(pdf, SMALL_PAGE_CODES, rotation=rotation)  # ink boxes
    words, report = _words(pdf, NoOcr())
    by_text = {w.text: w for w in words}
    layer = layer_boxes(pdf)
    for code, ink in truth.items():
        assert by_text[code].box == layer[code]
        assert by_text[code].box.grow(0.5).contains_point(*ink.center)
    # directions are the text's own, in unrotated space, whatever the page's /Rotate
    assert by_text["TIC-7781"].angle == 90 and by_text["FT-8890"].angle == 270


def test_mixed_page_sizes_and_rotations_in_one_document(tmp_path):
    doc = pymupdf.open()
    specs = [(595, 842, 0, "AA-101"), (2384, 1684, 0, "BB-202"), (420, 297, 90, "CC-303")]
    for w, h, rot, code in specs:
        p = doc.new_page(width=w, height=h)
        p.insert_text((w * 0.6, h * 0.7), code, fontsize=8)
        p.set_rotation(rot)
    doc.save(tmp_path / "mixed-sizes.pdf")
    words, report = _words(tmp_path / "mixed-sizes.pdf", NoOcr())
    with pymupdf.open(tmp_path / "mixed-sizes.pdf") as d:
        expect = {(i + 1, w[4], tuple(round(v, 3) for v in w[:4]))
                  for i, p in enumerate(d) for w in p.get_text("words")}
    got = {(w.page, w.text, tuple(round(v, 3) for v in (w.box.x0, w.box.y0, w.box.x1, w.box.y1)))
           for w in words}
    assert got == expect and len(got) == 3


# -- each decision -------------------------------------------------------------

def test_page_without_text_is_ocrd(tmp_path):
    scan_pdf(tmp_path / "scan.pdf", VECTOR)
    plan = _plan(tmp_path / "scan.pdf")
    assert (plan.ocr, plan.text, plan.reason) == ("page", (), "no text layer")


def test_embedded_image_in_vector_page_is_the_only_region_ocrd(tmp_path):
    pdf = tmp_path / "mixed.pdf"
    mixed_pdf(pdf, VECTOR, SCANNED, image_rect=(320, 200, 570, 380))
    plan = _plan(pdf)
    assert plan.ocr == "regions" and len(plan.regions) == 1 and len(plan.text) == 3
    (r,) = plan.regions
    assert r.x0 <= 320 and r.y0 <= 200 and r.x1 >= 570 and r.y1 >= 380
    assert r.width < 260 and r.height < 190  # the image (and a small margin), not the page
    rec = Recorder()
    words, report = _words(pdf, rec, dpi=300, skip_blank=False, text_regions=False,
                           clean=False)  # the engine sees the whole tile
    # only the image region was rendered: 250 x 180 pt (+2 pt margins) at 300 dpi
    assert report.tiles == 1 and rec.shapes == [(767, 1059)]  # 184 x 254 pt
    assert report.sources[1] == "text+ocr (OCR of 1 image region)"
    assert {w.text for w in words} == {"FIC-101", "PT-2034", "LT-3307"}


def test_regions_sharing_a_tile_are_read_alone(tmp_path):
    """Two images close together are read in one tile; the vector text between
    them (the text layer holds it) is blanked, not OCR'd and dropped again."""
    from locator.geometry import to_tile_px
    from locator.pipeline import source_tiles
    from tests.docmaker import codes_pixmap

    pdf = tmp_path / "two-images.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=420)
    between = pymupdf.Rect(405, 240, 475, 262)
    page.insert_text((408, 255), "LT-3307", fontsize=9, fontname="helv")
    for rect, codes in (((320, 200, 400, 300), [("XV-5521", 8, 30, 11, 0)]),
                        ((480, 200, 560, 300), [("HS-6620", 8, 30, 11, 0)])):
        pix, _ = codes_pixmap(codes, 80, 100)
        page.insert_image(pymupdf.Rect(*rect), pixmap=pix)
    doc.save(pdf)
    plan = _plan(pdf)
    assert plan.ocr == "regions" and len(plan.regions) == 2
    settings = Settings(dpi=300, skip_blank=False, text_regions=False, clean=False,
                        rotations=(0,))
    with Document(pdf) as d:
        (tile,) = source_tiles(plan, d.frame(1), 300, settings)
    assert set(tile.keep) == set(plan.regions)
    rec = Recorder()
    words, report = _words(pdf, rec, dpi=300, skip_blank=False, text_regions=False, clean=False)
    (img,) = rec.images
    assert img.shape == (tile.size_px[1], tile.size_px[0])
    inside = img.copy()
    for r in plan.regions:  # each image is there, as drawn
        b = to_tile_px(r, tile)
        assert (img[int(b.y0) + 3:int(b.y1) - 3, int(b.x0) + 3:int(b.x1) - 3] < 128).any()
        inside[max(0, int(b.y0)):int(b.y1) + 1, max(0, int(b.x0)):int(b.x1) + 1] = 255
    assert (inside == 255).all()  # nothing else: the vector text between them is gone
    g = to_tile_px(Box(between.x0, between.y0, between.x1, between.y1), tile)
    assert (img[int(g.y0):int(g.y1), int(g.x0):int(g.x1)] == 255).all()
    assert "LT-3307" in {w.text for w in words}  # still found: from the text layer


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_image_regions_are_drawn_from_the_images_alone(tmp_path, rotation):
    """An image region is read from the image itself, as the page places it:
    the page's line art over the image is not drawn (its text is in the layer)."""
    from dataclasses import replace

    from locator.geometry import to_tile_px
    from locator.pipeline import source_tiles

    plain = tmp_path / "plain.pdf"
    mixed_pdf(plain, VECTOR, SCANNED, image_rect=(320, 200, 570, 380))
    doc = pymupdf.open(plain)
    doc[0].draw_line((330, 360), (560, 360), color=(0, 0, 0), width=2)  # over the scan
    doc[0].set_rotation(rotation)
    pdf = tmp_path / "lined.pdf"
    doc.save(pdf)
    plan = _plan(pdf)
    assert plan.ocr == "regions" and plan.images_only
    with Document(pdf) as d:
        d.text_layer(1)
        (tile,) = source_tiles(plan, d.frame(1), 200, Settings(dpi=200))
        assert tile.images_only
        drawn = d.render(tile).astype(int)
        page = d.render(replace(tile, images_only=False)).astype(int)
    assert drawn.shape == page.shape == (tile.size_px[1], tile.size_px[0])
    line = to_tile_px(Box(335, 359, 555, 361), tile)
    on_line = (slice(int(line.y0), int(line.y1) + 1), slice(int(line.x0), int(line.x1) + 1))
    assert page[on_line].min() < 100 and drawn[on_line].min() > 200
    scan = to_tile_px(Box(322, 202, 568, 350), tile)  # the scan, above the line
    inside = (slice(int(scan.y0), int(scan.y1)), slice(int(scan.x0), int(scan.x1)))
    assert (drawn[inside] < 128).sum() > 300  # its codes are drawn ...
    assert abs(drawn[inside] - page[inside]).mean() < 2  # ... where the page shows them


def test_a_document_that_has_not_read_the_layer_draws_the_same_images(tmp_path):
    """A worker process renders image regions without reading the text layer first."""
    from locator.pipeline import source_tiles

    pdf = tmp_path / "mixed.pdf"
    mixed_pdf(pdf, VECTOR, SCANNED)
    plan = _plan(pdf)
    with Document(pdf) as d:
        (tile,) = source_tiles(plan, d.frame(1), 300, Settings(dpi=300))
        fresh = d.render(tile)
    with Document(pdf) as d:
        d.text_layer(1)
        assert (d.render(tile) == fresh).all()


def test_image_under_an_invisible_ocr_layer_is_not_ocrd_again(tmp_path):
    """A scan with a good invisible text layer (what OCR software writes) is read from it."""
    pdf = tmp_path / "ocrd-scan.pdf"
    scan_pdf(pdf, VECTOR, invisible=[(t, x, y) for t, x, y, _, _ in VECTOR])
    plan = _plan(pdf)
    assert plan.ocr == "none" and {w.text for w in plan.text} == {"FIC-101", "PT-2034", "LT-3307"}


def test_invisible_garbage_layer_is_replaced_by_ocr(tmp_path):
    pdf = tmp_path / "bad-ocr-layer.pdf"
    scan_pdf(pdf, VECTOR, invisible=GARBAGE)
    plan = _plan(pdf)
    assert plan.ocr == "page" and plan.text == ()
    assert "invisible text layer of poor quality" in plan.reason


def test_text_drawn_as_curves_is_ocrd(tmp_path):
    pdf = tmp_path / "curves.pdf"
    curves_pdf(pdf, MANY, real_text=[("Sheet", 20, 340, 8, 0), ("1", 60, 340, 8, 0)])
    with Document(pdf) as doc:
        assert len(doc.text_layer(1).words) == 2 and doc.count_paths(1) >= 100
    plan = _plan(pdf)
    assert plan.ocr == "page" and "curves" in plan.reason
    assert {w.text for w in plan.text} == {"Sheet", "1"}  # kept, and preferred where OCR overlaps


def test_font_without_unicode_map_is_a_broken_layer(tmp_path):
    pdf = tmp_path / "unmapped.pdf"
    unmapped_font_pdf(pdf, VECTOR + [("AB-12", 300, 250, 9, 0), ("CD-34", 300, 300, 9, 0)])
    plan = _plan(pdf)
    assert plan.ocr == "page" and plan.text == () and "broken" in plan.reason


def test_a_few_broken_words_are_ocrd_where_they_are(tmp_path):
    pdf = tmp_path / "few.pdf"
    unmapped_font_pdf(pdf, [("AB-12", 300, 250, 9, 0)])
    doc = pymupdf.open(pdf)
    for i in range(10):
        doc[0].insert_text((30, 30 + 12 * i), f"Note {i} reads fine", fontsize=8)
    doc.save(tmp_path / "few2.pdf")
    plan = _plan(tmp_path / "few2.pdf")
    assert plan.ocr == "regions" and len(plan.regions) == 1 and "broken word" in plan.reason


def test_source_options_override_the_decision(tmp_path, small_drawing):
    scan_pdf(tmp_path / "scan.pdf", VECTOR)
    words, report = _words(tmp_path / "scan.pdf", NoOcr(), source="text")
    assert words == [] and any("no text layer" in w for w in report.warnings)
    pdf, truth, _ = small_drawing
    rec = Recorder()
    words, report = _words(pdf, rec, source="ocr", dpi=100, skip_blank=False)
    assert rec.shapes and report.sources == {1: "ocr (--source ocr)"}


def test_layer_verdicts():
    def layer(words, broken=0, plausible_n=None, invisible=0):
        w = [Word(t, 100, Box(0, 0, 1, 1), 1, "text", source="text") for t in words]
        n = len(words) + broken
        return TextLayer(page=1, words=w, raw=n, broken=[Box(0, 0, 1, 1)] * broken,
                         judged=n, plausible=n if plausible_n is None else plausible_n,
                         invisible=invisible)

    assert layer([]).verdict() == "no text layer"
    assert layer(["A1"] * 10).verdict() is None
    assert "broken" in layer(["A1"] * 8, broken=2).verdict()
    assert "poor" in layer(["x"] * 10, plausible_n=3, invisible=10).verdict()
    assert "invisible" in layer(["x"] * 10, plausible_n=3, invisible=10).verdict()
    assert layer(["x"] * 3, plausible_n=0).verdict() is None  # too few to judge


def test_combine_prefers_text_and_keeps_ocr_inside_regions_only():
    t = Word("FIC-101", 100, Box(10, 10, 50, 20), 1, "text", source="text")
    plan = SourcePlan(1, text=(t,), ocr="regions", regions=(Box(0, 0, 100, 100),))
    same = Word("F1C-101", 80, Box(11, 10, 51, 20), 1, "tesseract")
    new = Word("XV-5521", 90, Box(60, 60, 90, 70), 1, "tesseract")
    outside = Word("ZZ-1", 90, Box(200, 200, 220, 210), 1, "tesseract")
    assert combine(plan, [same, new, outside]) == [t, new]


# -- huge pages -----------------------------------------------------------------

def test_absurd_page_size_caps_the_dpi_with_a_warning(tmp_path):
    doc = pymupdf.open()
    doc.new_page(width=14400, height=300)  # 200 x 4 in: 60,000 px long at 300 dpi
    doc.save(tmp_path / "banner.pdf")
    rec = Recorder()
    words, report = _words(tmp_path / "banner.pdf", rec, dpi=300, tile=4000, overlap=200)
    (warning,) = [w for w in report.warnings if "cap" in w]
    assert "30,000 px" in warning and "150 dpi" in warning
    assert report.tiles == 8  # 30,000 x 625 px in 4000-px tiles; all blank, none read
    assert rec.shapes == []


# -- end to end with Tesseract ---------------------------------------------------------

def _hits(pdf, codes, tmp_path, **kw):
    cat = write_catalog(tmp_path / "c.yaml", codes)
    kw.setdefault("rotations", (0,))
    kw.setdefault("cache", False)
    kw.setdefault("workers", 1)
    return run(pdf, cat, Settings(dpi=300, **kw))


def _near(a: Box, b: Box, tol: float) -> bool:
    """Same place: centres within ``tol`` pt, and OCR's ink box inside the font box
    (which is taller: ascender to descender) give or take ``tol``."""
    (ax, ay), (bx, by) = a.center, b.center
    return (abs(ax - bx) <= tol and abs(ay - by) <= tol and abs(a.width - b.width) <= 2 * tol
            and b.grow(tol).contains_point(a.x0, a.y0) and b.grow(tol).contains_point(a.x1, a.y1))


@pytest.mark.parametrize("rotation", [0, 90])
def test_partial_text_layer_gets_every_code_from_both_parts(tmp_path, rotation):
    pdf = tmp_path / "mixed.pdf"
    truth = mixed_pdf(pdf, VECTOR, SCANNED, rotation=rotation)
    # OCR reads the page as shown: on a /Rotate 90 page this upright text stands on end
    result = _hits(pdf, list(truth), tmp_path, rotations=(0, 90, 270) if rotation else (0,))
    by = {h.matched: h for h in result.hits}
    assert set(by) == set(truth), result.report.warnings
    for code, _x, _y, _s, _a in VECTOR:
        assert by[code].source == "text" and by[code].box == truth[code]
    for code, *_ in SCANNED:
        assert by[code].source == "ocr" and _near(by[code].box, truth[code], 2.0)
    assert all(h.file == str(pdf) for h in result.hits)


@pytest.mark.parametrize("stencil", [True, False], ids=["stencil-mask", "1-bit-grey"])
def test_a_bilevel_scan_in_a_vector_page_is_read(tmp_path, stencil):
    """A 1-bit scan placed as a stencil mask (painted in the fill colour) or as a
    1-bit grey image: its codes are read from the image."""
    pdf = tmp_path / "bilevel.pdf"
    truth = bilevel_pdf(pdf, VECTOR, SCANNED, stencil=stencil)
    assert _plan(pdf).images_only
    by = {h.matched: h for h in _hits(pdf, list(truth), tmp_path).hits}
    assert set(by) == set(truth)
    for code, *_ in SCANNED:
        assert by[code].source == "ocr" and _near(by[code].box, truth[code], 2.0)


def test_a_transparent_image_is_read_through_its_soft_mask(tmp_path):
    """A logo with an alpha channel (a soft mask): black everywhere, its alpha
    the ink. Drawn alone it must be drawn through the mask, as the page shows
    it -- not as a black rectangle."""
    import numpy as np

    from locator.pipeline import source_tiles
    from tests.docmaker import codes_pixmap

    grey, _ = codes_pixmap(SCANNED, 250, 180, 200)
    g = np.frombuffer(grey.samples, np.uint8).reshape(grey.height, grey.stride)[:, :grey.width]
    rgba = np.zeros((grey.height, grey.width, 4), np.uint8)
    rgba[..., 3] = 255 - g  # opaque ink, transparent paper
    pix = pymupdf.Pixmap(pymupdf.csRGB, grey.width, grey.height, rgba.tobytes(), True)
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=420)
    for text, x, y, size, _a in VECTOR:
        page.insert_text((x, y), text, fontsize=size, fontname="helv")
    rect = pymupdf.Rect(320, 200, 570, 380)
    page.insert_image(rect, pixmap=pix)
    pdf = tmp_path / "alpha.pdf"
    doc.save(pdf)
    plan = _plan(pdf)
    assert plan.images_only
    with Document(pdf) as d:
        (tile,) = source_tiles(plan, d.frame(1), 300, Settings(dpi=300))
        img = d.render(tile)
    assert 0.001 < (img < 128).mean() < 0.1  # ink on white, not a black block
    by = {h.matched: h for h in _hits(pdf, [c for c, *_ in SCANNED], tmp_path).hits}
    assert set(by) == {c for c, *_ in SCANNED}
    assert all(h.source == "ocr" for h in by.values())


def test_image_regions_read_by_worker_processes(tmp_path):
    """Two images far apart are two tiles, read by two worker processes, which
    draw the images without having read the text layer."""
    from tests.docmaker import codes_pixmap

    doc = pymupdf.open()
    page = doc.new_page(width=1191, height=842)
    for text, x, y, size, _a in VECTOR:
        page.insert_text((x, y), text, fontsize=size, fontname="helv")
    truth = {}
    for code, rect in (("XV-5521", (60, 600, 260, 680)), ("HS-6620", (900, 80, 1100, 160))):
        pix, _ = codes_pixmap([(code, 20, 40, 12, 0)], 200, 80, 200)
        page.insert_image(pymupdf.Rect(*rect), pixmap=pix)
        truth[code] = rect
    pdf = tmp_path / "two-far.pdf"
    doc.save(pdf)
    plan = _plan(pdf)
    assert plan.images_only and len(plan.regions) == 2
    result = _hits(pdf, list(truth), tmp_path, workers=2)
    assert result.report.tiles == 2 and result.report.tiles_read == 2
    by = {h.matched: h for h in result.hits}
    assert set(by) == set(truth)
    for code, (x0, y0, x1, y1) in truth.items():
        assert by[code].source == "ocr" and Box(x0, y0, x1, y1).contains_point(*by[code].box.center)


def test_a_clipped_image_is_read_as_far_as_the_page_shows_it(tmp_path):
    """The part of an image a clipping path hides is not read."""
    pdf = tmp_path / "clipped.pdf"
    shown, hidden = ("XV-5521", 20, 40, 11, 0), ("HS-6620", 150, 110, 10, 0)
    truth = bilevel_pdf(pdf, VECTOR, [shown, hidden], clip=(320, 200, 440, 380))
    (region,) = _plan(pdf).regions
    assert region.x1 < 445  # the image as far as the page shows it
    result = _hits(pdf, list(truth), tmp_path)
    assert {h.matched for h in result.hits} == set(truth) - {"HS-6620"}
    assert not [w for w in result.words if w.source == "ocr" and w.box.x0 > 442]


def test_scan_without_text_is_ocrd_end_to_end(tmp_path):
    pdf = tmp_path / "scan.pdf"
    truth = scan_pdf(pdf, VECTOR)
    result = _hits(pdf, list(truth), tmp_path)
    assert {h.matched for h in result.hits} == set(truth)
    assert {h.source for h in result.hits} == {"ocr"}


def test_garbage_invisible_layer_end_to_end(tmp_path):
    pdf = tmp_path / "bad-layer.pdf"
    truth = scan_pdf(pdf, VECTOR, invisible=GARBAGE)
    result = _hits(pdf, list(truth), tmp_path)
    assert {h.matched for h in result.hits} == set(truth)
    assert not any(w.source == "text" for w in result.words)


def test_curves_end_to_end(tmp_path):
    pdf = tmp_path / "curves.pdf"
    codes = MANY
    truth = curves_pdf(pdf, codes, real_text=[("Sheet", 20, 340, 8, 0)])
    result = _hits(pdf, list(truth), tmp_path)
    assert {h.matched for h in result.hits} == set(truth)
    for h in result.hits:
        assert h.source == "ocr" and _near(h.box, truth[h.matched], 2.0)
