"""Merging tiles' words: seams, overlaps, cut words, stitching — with the scripted fake engine."""

from __future__ import annotations

import pymupdf
import pytest

from locator.geometry import Box, PageFrame
from locator.merge import Candidate, is_cut, merge_page, stitch_text
from locator.model import Word
from locator.pipeline import read_document
from locator.settings import Settings
from locator.tiling import grid
from tests.fakes import ScriptedEngine

DPI, TILE, OVERLAP = 72, 400, 100  # 1 px = 1 pt: seams are easy to place by hand


def _blank_pdf(path, w=1000, h=700, pages=1):
    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=w, height=h)
    doc.save(path)
    return path


def _run(tmp_path, words, w=1000, h=700, **kw):
    pdf = _blank_pdf(tmp_path / "blank.pdf", w, h)
    frames = {1: PageFrame(w, h, 0)}
    eng = ScriptedEngine(words, frames, dpi=DPI, tile=TILE, overlap=OVERLAP, **kw)
    s = Settings(dpi=DPI, tile=TILE, overlap=OVERLAP, rotations=(0,), skip_blank=False,
                 text_regions=False, clean=False)
    return read_document(pdf, s, engines=[eng]), eng


def test_seams_of_the_test_grid():
    xs = sorted({t.rect_px[0] for t in grid(1, PageFrame(1000, 700), DPI, TILE, OVERLAP)})
    assert xs == [0, 300, 600]  # interior edges at x=300, 400, 600, 700


def test_word_away_from_seams_is_read_once(tmp_path):
    words, eng = _run(tmp_path, {1: [("FIC-101", Box(100, 100, 150, 108))]})
    assert [(w.text, w.box) for w in words] == [("FIC-101", Box(100, 100, 150, 108))]


def test_word_in_overlap_seen_by_two_tiles_is_kept_once(tmp_path):
    # x 320-360 lies inside both the first tile (0-400) and the second (300-700)
    words, _ = _run(tmp_path, {1: [("PT-2034", Box(320, 100, 360, 108))]})
    assert [w.text for w in words] == ["PT-2034"]
    assert words[0].box == Box(320, 100, 360, 108)


def test_word_cut_by_an_edge_keeps_the_whole_copy(tmp_path):
    # crosses x=400 (the first tile's right edge); whole in the second tile
    words, _ = _run(tmp_path, {1: [("LT-3307", Box(380, 200, 420, 208))]})
    assert [w.text for w in words] == ["LT-3307"]
    assert words[0].box == Box(380, 200, 420, 208)


def test_word_wider_than_the_overlap_is_stitched(tmp_path):
    # 290-410 crosses the second tile's left edge (300) and the first's right edge (400):
    # no tile holds it whole; the two cut reads are stitched into one word
    text = "HV-96160-01-ABCD"
    words, _ = _run(tmp_path, {1: [(text, Box(290, 300, 410, 308))]})
    assert len(words) == 1
    assert words[0].text == text
    assert words[0].box == Box(290, 300, 410, 308)


def test_word_on_a_four_tile_corner(tmp_path):
    words, _ = _run(tmp_path, {1: [("TI-55", Box(385, 295, 415, 305))]})
    assert [w.text for w in words] == ["TI-55"]


def test_many_words_none_lost_none_doubled(tmp_path):
    drawn = [(f"C{i:03d}", Box(20 + (i % 16) * 60, 20 + (i // 16) * 40,
                               50 + (i % 16) * 60, 28 + (i // 16) * 40)) for i in range(160)]
    words, _ = _run(tmp_path, {1: drawn})
    assert sorted(w.text for w in words) == sorted(t for t, _ in drawn)


def test_stitch_text():
    assert stitch_text("FIC-1", "C-101") == "FIC-101"
    assert stitch_text("ABC", "XYZ") == "ABC"
    assert stitch_text("AB", "ABCD") == "ABCD"


def test_is_cut_only_on_interior_edges():
    frame = PageFrame(1000, 700)
    first = grid(1, frame, DPI, TILE, OVERLAP)[0]
    assert is_cut(Box(390, 10, 400, 20), first)  # right edge is interior
    assert not is_cut(Box(0, 10, 30, 20), first)  # left edge is the page border
    assert not is_cut(Box(100, 100, 200, 120), first)


def _w(text, box, conf=90, engine="tesseract", angle=0):
    return Word(text=text, conf=conf, box=box, page=1, engine=engine, angle=angle)


def test_duplicate_reads_keep_the_most_confident():
    a = _w("FIC-101", Box(10, 10, 50, 18), conf=95)
    b = _w("F1C-101", Box(10.5, 10, 50.5, 18), conf=60)
    out = merge_page([Candidate(b, False), Candidate(a, False)])
    assert [w.text for w in out] == ["FIC-101"]


def test_garbage_from_a_rotation_pass_loses_to_the_upright_read():
    upright = _w("PT-2034", Box(10, 10, 50, 18), conf=93)
    garbage = _w("L8", Box(12, 8, 20, 20), conf=35, angle=90)
    assert [w.text for w in merge_page([Candidate(garbage, False),
                                        Candidate(upright, False)])] == ["PT-2034"]


def test_neighbouring_words_both_kept():
    a = _w("HV", Box(10, 10, 20, 18))
    b = _w("96160-01", Box(22, 10, 60, 18))
    assert [w.text for w in merge_page([Candidate(a, False), Candidate(b, False)])] == \
        ["HV", "96160-01"]


def test_tile_failure_is_recorded_and_the_rest_comes_back(tmp_path):
    from locator.errors import EngineError
    from locator.pipeline import RunReport

    def fault(n):
        if n in (0, 1):  # first tile fails twice: its one retry fails too
            raise EngineError("simulated crash")

    pdf = _blank_pdf(tmp_path / "b.pdf")
    eng = ScriptedEngine({1: [("FIC-101", Box(100, 100, 150, 108)),
                              ("PT-2034", Box(800, 600, 850, 608))]},
                         {1: PageFrame(1000, 700)}, dpi=DPI, tile=TILE, overlap=OVERLAP,
                         fault=fault)
    # the retry re-reads tile 0, so the script for later calls is shifted by one
    eng.tiles = [eng.tiles[0], eng.tiles[0]] + eng.tiles[1:]
    report = RunReport(file="b.pdf")
    s = Settings(dpi=DPI, tile=TILE, overlap=OVERLAP, rotations=(0,), skip_blank=False,
                 text_regions=False, clean=False)
    words = read_document(pdf, s, engines=[eng], report=report)
    assert [w.text for w in words] == ["PT-2034"]
    assert len(report.warnings) == 1 and "simulated crash" in report.warnings[0]
    assert report.tiles_read == report.tiles - 1


@pytest.mark.parametrize("rot", [90, 180, 270])
def test_rotated_page_real_render_lift(tmp_path, rot):
    """Render a /Rotate page tile and find a black box where it was drawn (unrotated space)."""
    import numpy as np

    from locator.documents import Document
    from locator.geometry import lift

    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    drawn = Box(100, 50, 160, 70)
    page.draw_rect(pymupdf.Rect(drawn.x0, drawn.y0, drawn.x1, drawn.y1), color=(0, 0, 0),
                   fill=(0, 0, 0))
    page.set_rotation(rot)
    doc.save(tmp_path / "r.pdf")
    with Document(tmp_path / "r.pdf") as d:
        frame = d.frame(1)
        assert (frame.width, frame.height, frame.rotation) == (600, 400, rot)
        for t in grid(1, frame, 144, 256, 64):
            img = d.render(t)
            ys, xs = np.nonzero(img < 128)
            if len(xs) == 0:
                continue
            b = lift(Box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), t)
            if is_cut(Box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), t):
                continue
            assert b.x0 == pytest.approx(drawn.x0, abs=0.6)
            assert b.y0 == pytest.approx(drawn.y0, abs=0.6)
            assert b.x1 == pytest.approx(drawn.x1, abs=0.6)
            assert b.y1 == pytest.approx(drawn.y1, abs=0.6)
            break
        else:
            pytest.fail("no tile saw the box whole")


def test_another_engines_fragment_inside_a_word_is_dropped_but_a_word_over_fragments_kept():
    # EasyOCR saw ".50-" in two pieces, more confidently than Tesseract saw it whole.
    pieces = [_w("50", Box(307.5, 301.9, 318.3, 310.9), conf=85, engine="easyocr"),
              _w("-", Box(320.3, 306.7, 324.2, 308.2), conf=85, engine="easyocr")]
    whole = _w(".50-", Box(302.7, 301.6, 324.4, 310.9), conf=60, engine="tesseract")
    out = merge_page([Candidate(w, False) for w in [*pieces, whole]])
    assert sorted(w.text for w in out) == sorted(["50", "-", ".50-"])
    # The other way round: a junk fragment inside a kept word is no reading of it.
    word = _w("83702-24", Box(10, 10, 60, 18), conf=90, engine="easyocr")
    junk = _w("pd", Box(30, 10, 38, 18), conf=70, engine="tesseract")
    assert [w.text for w in merge_page([Candidate(word, False), Candidate(junk, False)])] == \
        ["83702-24"]


def test_engine_names_are_read_and_joined_in_one_place():
    from locator.model import join_names, names

    assert names("tesseract+rapidocr") == ("tesseract", "rapidocr")
    assert join_names(["tesseract", "rapidocr+tesseract", "easyocr"]) == "tesseract+rapidocr+easyocr"
    w = Word("A1", 90.0, Box(0, 0, 1, 1), 1, "rapidocr+tesseract")
    assert w.engines == frozenset({"tesseract", "rapidocr"})


def test_a_longer_read_over_a_more_confident_fragment_is_kept():
    # Tesseract read ":" at 93 % from one crop and "=A10.A20.C03" at 82 % from
    # another at the same place: the fragment must not take the whole word's place.
    colon = _w(":", Box(1575.4, 1121.1, 1576.1, 1123.7), conf=93)
    whole = _w("=A10.A20.C03", Box(1575.4, 1119.3, 1628.4, 1125.4), conf=82)
    out = merge_page([Candidate(whole, False), Candidate(colon, False)])
    assert sorted(w.text for w in out) == [":", "=A10.A20.C03"]
    # A read about as long as the kept one is a rival reading: the more confident stays.
    rival = _w("=A1O.A2O.CO3", Box(1576, 1119.3, 1628, 1125.4), conf=60)
    out = merge_page([Candidate(whole, False), Candidate(rival, False)])
    assert [w.text for w in out] == ["=A10.A20.C03"]


def test_a_turned_junk_read_inside_a_word_does_not_take_its_place():
    bar = _w("|", Box(544.3, 577.7, 545.9, 578.2), conf=74, angle=270)
    word = _w("NO2", Box(544.3, 577.1, 561.5, 584.3), conf=69)
    out = merge_page([Candidate(bar, False), Candidate(word, False)])
    assert "NO2" in [w.text for w in out]
