"""Vertical-text candidates and the mosaic that reads them: found where drawn, mapped back exactly."""

from __future__ import annotations

import numpy as np
import pymupdf
import pytest

from locator.engines.base import EngineBase
from locator.documents import Document
from locator.geometry import Box, PageFrame, Tile
from locator.regions import Mosaic, vertical_text_regions


def _render(tmp_path, draw, w=400, h=300, dpi=300):
    doc = pymupdf.open()
    page = doc.new_page(width=w, height=h)
    draw(page)
    doc.save(tmp_path / "p.pdf")
    with Document(tmp_path / "p.pdf") as d:
        t = Tile(page=1, rect_px=(0, 0, round(w * dpi / 72), round(h * dpi / 72)), dpi=dpi,
                 frame=PageFrame(w, h))
        return d.render(t), dpi


@pytest.mark.parametrize("angle", [90, 270])
def test_vertical_word_is_a_candidate(tmp_path, angle):
    def draw(page):
        page.insert_text((200, 200), "FIC-1017", fontsize=7, rotate=angle)
    img, dpi = _render(tmp_path, draw)
    regions = vertical_text_regions(img, dpi)
    ys, xs = np.nonzero(img < 160)
    ink = Box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert any(r.ios(ink) > 0.9 for r in regions)


def test_vertical_labels_in_a_row_between_capacitor_plates(tmp_path):
    # A schematic's row of decoupling capacitors: each vertical label sits
    # beside a plate-and-pin mark; the marks line up across the row and must
    # not make the labels' letters look like one horizontal line of text.
    labels = ["C23", "C25", "C28", "C36"]

    def draw(page):
        for i, name in enumerate(labels):
            x = 60 + 40 * i
            page.insert_text((x - 2, 142), name, fontsize=5, rotate=90)
            page.draw_line((x, 120), (x + 0.01, 127), width=0.6)  # pin stub
            page.draw_line((x - 4.5, 127), (x + 4.5, 127), width=1.2)  # plate
            page.draw_line((x - 4.5, 129.5), (x + 4.5, 129.5), width=1.2)
            page.draw_line((x, 129.5), (x + 0.01, 144), width=0.6)  # pin beside the label
    img, dpi = _render(tmp_path, draw, dpi=200)
    regions = vertical_text_regions(img, dpi)
    found = 0
    for i in range(len(labels)):
        x = (60 + 40 * i - 2) * dpi / 72  # the label's baseline, in pixels
        y = 138 * dpi / 72
        found += any(r.x0 - 3 <= x <= r.x1 + 3 and r.y0 <= y <= r.y1 for r in regions)
    assert found == len(labels)


def test_upright_text_and_line_art_are_not_candidates(tmp_path):
    def draw(page):
        page.insert_text((50, 60), "PT-2034 LT-3307 AB-12345-C", fontsize=8)
        page.insert_text((50, 120), "1 I l 1 I", fontsize=10)
        page.draw_line((20, 20), (20, 280), width=0.8)
        page.draw_rect(pymupdf.Rect(250, 150, 350, 250), width=0.8)
        page.draw_circle((100, 220), 20, width=0.8)
    img, dpi = _render(tmp_path, draw)
    assert vertical_text_regions(img, dpi) == []


def test_blank_tile_has_no_candidates():
    assert vertical_text_regions(np.full((500, 500), 255, np.uint8), 300) == []


@pytest.mark.parametrize("angle", [90, 270])
def test_mosaic_maps_boxes_back_to_the_tile(angle):
    img = np.full((400, 300), 255, np.uint8)
    region = Box(100, 50, 130, 250)
    img[60:70, 110:120] = 0  # a mark inside the region
    m = Mosaic(img, [(region, angle)], margin=5, gap=12)
    ys, xs = np.nonzero(m.image < 128)
    found = Box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    back, a, _slot = m.to_tile(found)
    assert a == angle
    assert back == Box(110, 60, 120, 70)


@pytest.mark.parametrize("glyph_px", [8.0, 30.0])
def test_mosaic_packs_many_regions_and_maps_each_back(glyph_px):
    img = np.full((600, 800), 255, np.uint8)
    marks = [Box(50 + 70 * i, 40 + 50 * (i % 7), 60 + 70 * i, 48 + 50 * (i % 7))
             for i in range(10)]
    for b in marks:
        img[int(b.y0):int(b.y1), int(b.x0):int(b.x1)] = 0
    m = Mosaic(img, [(b.grow(3), 0) for b in marks], margin=2, gap=10, glyph_px=glyph_px)
    assert len(m.slots) == 10
    assert all(s.scale == pytest.approx(max(1.0, glyph_px / 14)) for s in m.slots)
    for s in m.slots:  # each mark, found in its slot, maps back exactly
        sub = m.image[s.y0:s.y0 + s.h, s.x0:s.x0 + s.w]
        ys, xs = np.nonzero(sub < 128)
        found = Box(s.x0 + xs.min(), s.y0 + ys.min(), s.x0 + xs.max() + 1, s.y0 + ys.max() + 1)
        back, angle, _slot = m.to_tile(found)
        assert angle == 0
        assert any(abs(back.x0 - b.x0) <= 1 and abs(back.y1 - b.y1) <= 1 for b in marks)


def test_text_regions_split_upright_and_vertical(tmp_path):
    from locator.regions import text_regions

    def draw(page):
        page.insert_text((50, 60), "PT-2034 LT-3307", fontsize=8)
        page.insert_text((300, 250), "FIC-1017", fontsize=8, rotate=90)
    img, dpi = _render(tmp_path, draw)
    regs = text_regions(img, dpi)
    assert len(regs.vertical) == 1
    assert regs.horizontal and all(r.y1 < 90 * dpi / 72 for r in regs.horizontal)


def test_mosaic_splits_into_sheets_below_the_height_limit():
    img = np.full((3000, 400), 255, np.uint8)
    marks = [Box(20, 10 + 25 * i, 120, 22 + 25 * i) for i in range(110)]
    for b in marks:
        img[int(b.y0) + 2:int(b.y1) - 2, int(b.x0) + 2:int(b.x1) - 2] = 0
    m = Mosaic(img, [(b, 0) for b in marks], margin=2, gap=10, glyph_px=48, max_height=1000)
    assert len(m.sheets) > 1 and all(s.shape[0] <= 1000 for s in m.sheets)
    assert len(m.slots) == 110
    for i, s in enumerate(m.slots):  # every slot maps back from its own sheet
        cx, cy = s.x0 + s.w / 2, s.y0 + s.h / 2
        back, _a, j = m.to_tile(Box(cx - 1, cy - 1, cx + 1, cy + 1), s.sheet)
        assert j == i and s.crop.contains_point(*back.center)


def _read_as(mosaic, texts):
    """Engine words on a mosaic: ``texts[angle] = (text, conf)`` placed on that slot."""
    from locator.engines.base import OcrWord

    out = []
    for s in mosaic.slots:
        if s.angle in texts:
            text, conf = texts[s.angle]
            out.append((s.sheet, OcrWord(text, conf, Box(s.x0 + 1, s.y0 + 1, s.x0 + s.w - 1,
                                                         s.y0 + s.h - 1))))
    return out


@pytest.mark.parametrize(("upright", "turned", "wins"), [
    (("OO", 57.0), ("C37", 35.0), 90),  # junk upright reads a little more, turned wins
    (("A7", 90.0), ("LV", 30.0), 0),  # a clearly better upright read still wins
])
def test_best_direction_prefers_turned_reads_of_a_vertical_candidate(upright, turned, wins):
    from locator.pipeline import best_direction as _best_direction

    img = np.full((300, 100), 255, np.uint8)
    region = Box(40, 50, 60, 250)
    m = Mosaic(img, [(region, a) for a in (90, 270, 0)], margin=2, gap=8)
    words = _best_direction(m, _read_as(m, {0: upright, 90: turned}))
    assert {a for *_rest, a in words} == {wins}


def test_text_on_a_dark_background_is_found_after_flattening(tmp_path):
    # A photo's "paper" is darker than the ink level in places (a receipt on a
    # grey table, a shadow): there the text must still be found.
    from locator.regions import clean_for_ocr, flatten_background, text_regions

    def draw(page):
        page.draw_rect(pymupdf.Rect(0, 0, 200, 300), color=None, fill=(0.45, 0.45, 0.45))
        page.insert_text((40, 100), "PT-2034", fontsize=9, color=(0.1, 0.1, 0.1))
        page.insert_text((240, 100), "LT-3307", fontsize=9)
    img, dpi = _render(tmp_path, draw, dpi=200)

    def found(im):
        regions = text_regions(clean_for_ocr(im, dpi), dpi).horizontal
        return [x < 200 * dpi / 72 for r in regions for x in [(r.x0 + r.x1) / 2]
                if r.width > 20 and r.height < 40]

    assert found(img) == [False]  # only the word on white: the grey half is one blob of "ink"
    flat = flatten_background(img, dpi)
    assert sorted(found(flat)) == [False, True]
    assert flatten_background(np.full((400, 400), 240, np.uint8), dpi).mean() == 240  # light: as is


def _covers(regions, x_pt, y0_pt, y1_pt, dpi):
    """Is the vertical span x, y0..y1 (points) inside one region (pixels)?"""
    k = dpi / 72
    return any(r.x0 - 2 <= x_pt * k <= r.x1 + 2 and r.y0 - 2 <= y0_pt * k
               and y1_pt * k <= r.y1 + 2 for r in regions)


def test_a_parts_vertical_name_and_value_side_by_side_are_one_candidate(tmp_path):
    # KiCad: "C29" and "100n" turned, a glyph's width apart, beside the part:
    # each glyph has a neighbour across, so neither column is "alone".
    # (Courier: spaced letters like KiCad's stroke font.)
    def draw(page):
        page.insert_text((100, 160), "C29", fontsize=5, rotate=90, fontname="cour")
        page.insert_text((106, 160), "100n", fontsize=5, rotate=90, fontname="cour")
        page.draw_line((116, 130), (116.01, 170), width=0.6)  # the part's wire
    img, dpi = _render(tmp_path, draw, dpi=200)
    regions = vertical_text_regions(img, dpi)
    assert _covers(regions, 98, 151, 159, dpi) and _covers(regions, 104, 149, 159, dpi)
    # one region holds both columns: turned upright, two lines of one block
    assert any(r.x0 <= 97.5 * dpi / 72 and r.x1 >= 105 * dpi / 72 for r in regions)


def test_a_two_character_vertical_label_is_a_candidate(tmp_path):
    def draw(page):
        page.insert_text((100, 160), "R1", fontsize=6, rotate=90, fontname="cour")
    img, dpi = _render(tmp_path, draw, dpi=200)
    assert _covers(vertical_text_regions(img, dpi), 98, 153, 159, dpi)


def test_stacked_upright_pin_names_are_not_candidates(tmp_path):
    def draw(page):
        for i, name in enumerate(["A7", "B7", "A6", "B6", "A5"]):
            page.insert_text((100, 100 + 7.2 * i), name, fontsize=5)
    img, dpi = _render(tmp_path, draw, dpi=200)
    assert vertical_text_regions(img, dpi) == []


def _resistor(page, x, y, w=15, h=5):
    """A resistor body (an outline smaller than text's size limit) with its wires."""
    page.draw_rect(pymupdf.Rect(x, y, x + w, y + h), width=0.6)
    page.draw_line((x - 30, y + h / 2), (x, y + h / 2), width=0.6)
    page.draw_line((x + w, y + h / 2), (x + w + 30, y + h / 2), width=0.6)


def test_rows_of_labels_joined_by_resistor_bodies_are_each_a_region(tmp_path):
    # The iCEBreaker schematic: R21A [] 33E / R21C [] 33E / ... at a 7.2 pt
    # pitch. Each body overlaps the rows above and below it, which joined the
    # rows into one blob taller than any text: it was dropped whole.
    from locator.regions import clean_for_ocr, text_regions

    rows = ["R21A", "R21C", "R24A", "R24C", "R20B"]

    def draw(page):
        for i, name in enumerate(rows):
            y = 100 + 7.2 * i
            page.insert_text((60, y), name, fontsize=6.5, fontname="cour")
            _resistor(page, 80, y - 0.7)
            page.insert_text((99, y), "33E", fontsize=6.5, fontname="cour")
    img, dpi = _render(tmp_path, draw, w=300, h=200, dpi=200)
    regs = text_regions(clean_for_ocr(img, dpi), dpi)
    k = dpi / 72
    for i in range(len(rows)):
        y = (100 + 7.2 * i - 2) * k  # the row's middle, in pixels
        for x in (66, 104):  # the name and the value
            assert any(r.x0 <= x * k <= r.x1 and r.y0 <= y <= r.y1 and r.height < 7 * k
                       for r in regs.horizontal), (rows[i], x)


def test_turned_labels_of_a_resistor_array_are_candidates(tmp_path):
    # A resistor array's turned names and values side by side at a 7.2 pt
    # pitch (R17D 330E R18 330E R17C 330E): every glyph has more than
    # NEIGHBOURS_ACROSS neighbours across -- but nearly all of them are wide
    # (turned), unlike upright text.
    labels = ["R17D", "330E", "R18", "330E", "R17C", "330E"]

    def draw(page):
        for i, name in enumerate(labels):
            page.insert_text((60 + 7.2 * i, 160), name, fontsize=6.5, rotate=90, fontname="cour")
    img, dpi = _render(tmp_path, draw, dpi=200)
    regions = vertical_text_regions(img, dpi)
    for i, name in enumerate(labels):
        assert _covers(regions, 60 + 7.2 * i - 2, 160 - 3.5 * len(name), 157, dpi), name


def test_upright_lowercase_text_is_not_a_turned_array(tmp_path):
    # Lowercase letters are wide too; a paragraph of them is not turned labels.
    def draw(page):
        for i in range(6):
            page.insert_text((40, 100 + 8 * i), "came some more wax on a moon", fontsize=6)
    img, dpi = _render(tmp_path, draw, dpi=200)
    assert vertical_text_regions(img, dpi) == []


class _Recorder(EngineBase):
    """Records how it was called: whole images (read) or mosaics (read_block)."""

    name = "rec"

    def __init__(self):
        self.calls = []

    def version(self):
        return "rec 1"

    def read(self, image, *, dpi):
        self.calls.append(("read", image.shape))
        return []

    def read_block(self, image, *, dpi):
        self.calls.append(("block", image.shape))
        return []


def _page_tile(tmp_path, draw, w=300, h=300, dpi=200):
    img, dpi = _render(tmp_path, draw, w=w, h=h, dpi=dpi)
    tile = Tile(page=1, rect_px=(0, 0, img.shape[1], img.shape[0]), dpi=dpi,
                frame=PageFrame(w, h))
    return img, tile


def test_a_tile_of_dense_text_is_read_whole_and_a_drawing_as_a_mosaic(tmp_path):
    from locator.pipeline import dense_text, read_tile
    from locator.regions import text_regions
    from locator.settings import Settings

    def prose(page):  # a form's paragraph: lines of 8 pt text filling the tile
        for i in range(26):
            page.insert_text((10, 20 + 10.5 * i), "The person named on line 1 must provide "
                             "a TIN W-9 form 1099-MISC to the requester", fontsize=8)

    def drawing(page):  # a few tags among line art
        page.insert_text((40, 60), "FIC-101", fontsize=7)
        page.insert_text((180, 200), "PT-2034", fontsize=7)
        page.draw_rect(pymupdf.Rect(30, 80, 120, 160), width=0.8)
        page.draw_line((10, 250), (290, 250), width=0.8)

    settings = Settings(rotations=(0, 90, 270))
    img, tile = _page_tile(tmp_path, prose)
    assert dense_text(text_regions(img, tile.dpi), img)
    layout, detector = _Recorder(), _Recorder()
    layout.reads_layout = True  # as Tesseract
    read_tile(img, tile, [layout, detector], settings)
    assert ("read", img.shape) in layout.calls  # upright: the whole tile, once
    assert sum(kind == "read" for kind, _ in layout.calls) == 1
    # a detector engine (RapidOCR) still reads the enlarged lines of the mosaic
    assert [kind for kind, _ in detector.calls] == ["block"]

    img, tile = _page_tile(tmp_path, drawing)
    assert not dense_text(text_regions(img, tile.dpi), img)
    rec = _Recorder()
    read_tile(img, tile, [rec], settings)
    assert [kind for kind, _ in rec.calls] == ["block"]  # one mosaic of its regions


@pytest.mark.parametrize(("right", "wrong", "kept"), [
    # A vertical AB002 read right at 51 %, upside down as "Z008V" at 63 %: both go on.
    (("AB002", 51.0), ("Z008V", 63.0), {90, 270}),
    # The wrong way round read much weaker: only the winner.
    (("AB002", 80.0), ("Zo", 30.0), {90}),
])
def test_best_direction_keeps_an_opposite_read_that_is_nearly_as_strong(right, wrong, kept):
    from locator.pipeline import best_direction as _best_direction

    img = np.full((300, 100), 255, np.uint8)
    region = Box(40, 50, 60, 250)
    m = Mosaic(img, [(region, a) for a in (90, 270, 0)], margin=2, gap=8)
    words = _best_direction(m, _read_as(m, {90: right, 270: wrong, 0: ("N", 40.0)}))
    assert {a for *_rest, a in words} == kept


def test_a_crops_margin_shows_no_text_of_the_lines_above_and_below():
    # schematic 02's pin names, 7 pt apart: a 2 pt margin held half of the
    # neighbouring lines, and their cut glyphs were misread into this one's
    # (ADBUS0 "ApBuso"). A region beside the crop on its own line stays.
    img = np.full((120, 200), 255, np.uint8)
    above, line, below = Box(20, 20, 80, 31), Box(20, 40, 80, 51), Box(20, 60, 80, 71)
    beside = Box(84, 41, 100, 50)  # the rest of the word, found as its own region
    for b in (above, line, below, beside):
        img[int(b.y0):int(b.y1), int(b.x0):int(b.x1)] = 0
    m = Mosaic(img, [(b, 0) for b in (above, line, below, beside)], margin=11, gap=4,
               glyph_px=8.0)
    s = m.slots[1]
    assert s.scale == 1.0
    piece = m.image[s.y0:s.y0 + s.h, s.x0:s.x0 + s.w]
    ys, xs = np.nonzero(piece < 128)
    # the crop starts 11 px above and left of its region
    assert (ys.min(), ys.max() + 1) == (11, 22)           # its own line only
    assert xs.max() + 1 == 91 - 9   # ... and the region beside it, to the margin's end
