"""Review: the workbook, the marked-up PDF, Parquet output, and reading verdicts back.

Hits are made by hand from the generated documents' true boxes, so these tests
need neither OCR nor the catalog; the end-to-end CLI tests at the bottom need
both and skip without them.
"""

from __future__ import annotations

import io
import time

import numpy as np
import openpyxl
import pandas as pd
import pymupdf
import pytest
from PIL import Image

from locator.cli import main
from locator.documents import Document
from locator.errors import ExportError, InputFileError
from locator.export.annotate import ANNOT_TITLE, annotate_pdf
from locator.export.review import TRUTH_COLUMNS, normalise_verdict, read_review
from locator.export.table import hits_frame, write_table
from locator.export.workbook import (HITS_SHEET_COLUMNS, MARKER, make_thumbnail, missing_frame,
                                     write_workbook)
from locator.geometry import Box
from locator.model import HIT_COLUMNS, Hit
from locator.pipeline import RunReport
from locator.settings import Settings
from tests.conftest import SMALL_PAGE_CODES, draw_codes

COL = {c: i + 1 for i, c in enumerate(HITS_SHEET_COLUMNS)}  # openpyxl columns are 1-based
LETTER = {c: openpyxl.utils.get_column_letter(i) for c, i in COL.items()}


def make_hits(truth: dict[str, Box], rotation: int = 0, page: int = 1) -> list[Hit]:
    # a hit's angle is the text's in unrotated page space, whatever the page's /Rotate
    angles = {c[0]: c[4] for c in SMALL_PAGE_CODES}
    labels = {"AB-12345-C": "part", "XY-55210-K": "part"}
    return [Hit(pattern_id=code, label=labels.get(code, "instrument"), matched=code,
                text=code, score=100.0 - 3 * i, box=box, page=page, engine="tesseract",
                conf=90.0, angle=angles[code])
            for i, (code, box) in enumerate(truth.items())]


def make_report(hits, **kw) -> RunReport:
    return RunReport(file="drawing.pdf", pages=1, tiles=4, tiles_read=3, tiles_skipped=1,
                     words=57, hits=len(hits), missing=["ZZ-9999"], seconds=12.5,
                     warnings=["page 1 tile (0, 0, 1600, 1600): engine crashed"],
                     engines={"tesseract": "tesseract 5.3.0"},
                     settings=Settings(password="s3cret", **kw))


@pytest.fixture(params=[0, 90], ids=["upright", "rotate90"])
def drawing(request, tmp_path):
    rotation = request.param
    pdf = tmp_path / "drawing.pdf"
    truth = draw_codes(pdf, SMALL_PAGE_CODES, rotation=rotation)
    return pdf, make_hits(truth, rotation), rotation


class _Pattern:
    def __init__(self, id, label, text=None, regex=None):
        self.id, self.label, self.text, self.regex = id, label, text, regex


class _Catalog:
    patterns = [_Pattern("FIC-101", "instrument", text="FIC-101"),
                _Pattern("ZZ-9999", "instrument", text="ZZ-9999"),
                _Pattern("any-psv", "valve", regex=r"PSV-\d{4}")]


def col_hidden(ws, name: str) -> bool:
    # openpyxl keeps runs of alike columns as one dimension keyed by the first letter.
    i = COL[name]
    return any(d.min <= i <= d.max and d.hidden for d in ws.column_dimensions.values()
               if d.min is not None)


def png_size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


# ---------------------------------------------------------------- the workbook

def test_workbook_sheets_pictures_and_validation(tmp_path, drawing):
    pdf, hits, _ = drawing
    out = tmp_path / "review.xlsx"
    res = write_workbook(out, hits, document=pdf, report=make_report(hits),
                         missing=missing_frame(_Catalog, ["ZZ-9999", "any-psv"]))
    assert res.thumbnails == len(hits) and not res.warnings
    assert not list(tmp_path.glob(".review*"))  # no temporary file left behind

    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Hits", "Missing", "Missed", "Summary", "Pages"]
    ws = wb["Hits"]
    assert [c.value for c in ws[1]] == HITS_SHEET_COLUMNS
    assert set(HIT_COLUMNS) <= set(HITS_SHEET_COLUMNS)
    assert ws.max_row == len(hits) + 1
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{LETTER['y1']}{len(hits) + 1}"
    for c in ("x0", "y0", "x1", "y1"):
        assert col_hidden(ws, c)
    for c in ("verdict", "pattern_id", "matched", "page", "position", "score"):
        assert not col_hidden(ws, c)

    # One picture per hit, anchored in its own row in the snippet column, row tall enough.
    images = ws._images
    assert len(images) == len(hits)
    rows = sorted(im.anchor._from.row for im in images)  # 0-based: row 1 is the first hit
    assert rows == list(range(1, len(hits) + 1))
    widest = 0
    for im in images:
        assert im.anchor._from.col == COL["snippet"] - 1
        r = im.anchor._from.row + 1
        w, h = png_size(im._data())
        assert w <= 400 and h <= 160
        assert ws.row_dimensions[r].height * 96 / 72 >= h  # the row is tall enough
        widest = max(widest, w)
    assert ws.column_dimensions[LETTER["snippet"]].width * 7 + 5 >= widest  # and wide enough

    # Values a program reads back: the exact boxes, pages, ids.
    for r, hit in enumerate(hits, start=2):
        assert ws.cell(r, COL["pattern_id"]).value == hit.pattern_id
        assert ws.cell(r, COL["page"]).value == 1
        assert ws.cell(r, COL["x0"]).value == pytest.approx(hit.box.x0, abs=0.01)
        assert ws.cell(r, COL["y1"]).value == pytest.approx(hit.box.y1, abs=0.01)
        assert "across" in ws.cell(r, COL["position"]).value
        assert ws.cell(r, COL["verdict"]).value is None

    # The verdict drop-down.
    dvs = ws.data_validations.dataValidation
    assert len(dvs) == 1
    dv = dvs[0]
    assert dv.type == "list" and dv.formula1 == '"correct,wrong,unsure"'
    assert str(dv.sqref) == f"A2:A{len(hits) + 1}"
    # A colour scale on the score column, and colours for the verdicts.
    rules = {str(rng.sqref): [r.type for r in rng.rules] for rng in ws.conditional_formatting}
    assert rules[f"{LETTER['score']}2:{LETTER['score']}{len(hits) + 1}"] == ["colorScale"]
    assert rules[f"A2:A{len(hits) + 1}"] == ["cellIs"] * 3

    miss = list(wb["Missing"].iter_rows(values_only=True))
    assert miss[0] == ("pattern_id", "label", "text", "regex", "min_score")
    assert miss[1:] == [("ZZ-9999", "instrument", "ZZ-9999", None, None),
                        ("any-psv", "valve", None, r"PSV-\d{4}", None)]


def test_workbook_summary_numbers(tmp_path):
    pdf = tmp_path / "drawing.pdf"
    hits = make_hits(draw_codes(pdf, SMALL_PAGE_CODES))
    hits.append(Hit("FIC-101", "instrument", "FIC-101", "FlC-101", 88.0,
                    Box(400, 400, 430, 410), 1, "tesseract", 70.0))
    out = tmp_path / "review.xlsx"
    write_workbook(out, hits, document=pdf, report=make_report(hits, dpi=250))
    ws = openpyxl.load_workbook(out)["Summary"]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    kv = {r[0]: r[1] for r in cells if r[0] is not None}
    assert cells[0][0] == MARKER
    assert kv["hits"] == len(hits) == 11
    assert kv["pages read"] == 1 and kv["words"] == 57 and kv["never found"] == 1
    assert kv["seconds"] == 12.5
    assert kv["tesseract"] == "tesseract 5.3.0"
    assert kv["dpi"] == 250 and kv["rotations"] == "0,90,270"
    assert kv["password"] == "(given)"
    assert not any("s3cret" in str(v) for r in cells for v in r)  # never leak the password
    assert kv["warnings"] == 1
    assert any("engine crashed" in str(r[1]) for r in cells if r[0] == "warning")
    assert "250 dpi" in kv["thumbnails"]

    def table(title):
        i = next(i for i, r in enumerate(cells) if r[0] == title)
        head = cells[i + 1]
        out = {}
        for r in cells[i + 2:]:
            if r[0] is None:
                break
            out[r[0]] = dict(zip(head, r))
        return out

    per_label = table("hits per label")
    assert {k: v["hits"] for k, v in per_label.items()} == {"instrument": 9, "part": 2}
    assert per_label["part"]["correct"].startswith("=SUMPRODUCT(")  # live verdict counts
    per_pattern = table("hits per pattern")
    assert per_pattern["FIC-101"]["hits"] == 2 and per_pattern["PT-2034"]["hits"] == 1
    assert per_pattern["AB-12345-C"]["label"] == "part"
    assert sum(v["hits"] for v in per_pattern.values()) == 11


def test_workbook_without_document_or_hits(tmp_path):
    out = tmp_path / "r.xlsx"
    hits = [Hit("A-1", "x", "A-1", "A-1", 99.0, Box(10, 10, 30, 18), 1, "t", 90.0)]
    res = write_workbook(out, hits)  # no document: no pictures, everything else
    assert res.thumbnails == 0
    ws = openpyxl.load_workbook(out)["Hits"]
    assert len(ws._images) == 0 and ws.cell(2, COL["pattern_id"]).value == "A-1"
    assert ws.cell(2, COL["position"]).value == "x 20, y 14 pt"
    write_workbook(out, [], document=None)
    wb = openpyxl.load_workbook(out)
    assert wb["Hits"].max_row == 1 and wb.sheetnames == ["Hits", "Missing", "Missed", "Summary", "Pages"]


def test_workbook_text_stays_text(tmp_path):
    # Codes that look like numbers, formulas or links must come back as written.
    codes = ["0805", "=SUM(A1)", "+12-3", "http://x", "1E5"]
    hits = [Hit(c, "odd", c, c, 90.0, Box(10, 10 + 20 * i, 40, 18 + 20 * i), 1, "t", 80.0)
            for i, c in enumerate(codes)]
    out = tmp_path / "r.xlsx"
    write_workbook(out, hits)
    ws = openpyxl.load_workbook(out)["Hits"]
    assert [ws.cell(r, COL["matched"]).value for r in range(2, 7)] == codes
    rv = read_review(out)
    assert list(rv.rows["matched"]) == codes


def test_workbook_is_a_hits_table_for_eval(tmp_path, drawing):
    evaluate = pytest.importorskip("locator.evaluate")
    pdf, hits, _ = drawing
    out = tmp_path / "review.xlsx"
    write_workbook(out, hits, document=pdf)
    df = evaluate.load_table(out)  # what `locate eval review.xlsx truth.csv` reads
    assert len(df) == len(hits) and set(df["matched"]) == {h.matched for h in hits}


def test_thumbnail_dpi_context_and_upright(tmp_path):
    pdf = tmp_path / "d.pdf"
    truth = draw_codes(pdf, [("FIC-101", 100, 100, 8, 0), ("TIC-7781", 300, 300, 8, 90)])
    with Document(pdf) as doc:
        b = truth["FIC-101"]
        t = make_thumbnail(doc, 1, b, 0, 300)
        # Cut at the OCR's dpi with one text height of context on every side.
        assert t.height == pytest.approx(3 * b.height * 300 / 72, abs=3)
        assert t.width == pytest.approx((b.width + 2 * b.height) * 300 / 72, abs=3)
        img = np.asarray(Image.open(io.BytesIO(t.png)).convert("RGB")).astype(int)
        red = (img[..., 0] > 180) & (img[..., 1] < 90) & (img[..., 2] < 90)
        dark = img.sum(axis=2) < 200
        assert red.sum() > 50 and dark.sum() > 50  # the outline, and the text inside it
        ys, xs = np.nonzero(dark)
        ry, rx = np.nonzero(red)
        assert rx.min() <= xs.min() and xs.max() <= rx.max()  # text within the outline
        assert ry.min() <= ys.min() and ys.max() <= ry.max()
        # Vertical text is turned upright: wider than tall, like the upright one.
        v = truth["TIC-7781"]
        assert v.height > v.width
        tv = make_thumbnail(doc, 1, v, 90, 300)
        assert tv.width > tv.height
        assert tv.height == pytest.approx(3 * v.width * 300 / 72, abs=3)
        # Bounded: a long snippet is scaled to fit, not cut.
        long = make_thumbnail(doc, 1, Box(20, 100, 800, 110), 0, 300)
        assert long.width <= 400 and long.height <= 160
        assert make_thumbnail(doc, 1, Box(900, 700, 950, 710), 0, 300) is None  # off page


def test_thumbnail_upright_on_rotated_page_matches_unrotated(tmp_path):
    # The same drawing with and without /Rotate 90 gives the same upright pictures:
    # a hit's angle is in unrotated page space, the same on both pages.
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    codes = [("FIC-101", 100, 100, 8, 0), ("TIC-7781", 300, 300, 8, 90)]
    ta = draw_codes(a, codes)
    tb = draw_codes(b, codes, rotation=90)
    with Document(a) as da, Document(b) as db:
        for code, angle in (("FIC-101", 0), ("TIC-7781", 90)):
            pa = make_thumbnail(da, 1, ta[code], angle, 200, outline=False)
            pb = make_thumbnail(db, 1, tb[code], angle, 200, outline=False)
            ia = np.asarray(Image.open(io.BytesIO(pa.png)).convert("L")).astype(int)
            ib = np.asarray(Image.open(io.BytesIO(pb.png)).convert("L")).astype(int)
            h, w = min(ia.shape[0], ib.shape[0]), min(ia.shape[1], ib.shape[1])
            assert abs(ia.shape[0] - ib.shape[0]) <= 2 and abs(ia.shape[1] - ib.shape[1]) <= 2
            assert np.abs(ia[:h, :w] - ib[:h, :w]).mean() < 12, code


def test_thumbnails_of_an_image_use_its_pixels(tmp_path):
    pdf = tmp_path / "d.pdf"
    truth = draw_codes(pdf, [("FIC-101", 100, 100, 8, 0)])
    png = tmp_path / "scan.png"
    pymupdf.open(pdf)[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY).save(png)
    out = tmp_path / "r.xlsx"
    with Document(png) as doc:
        assert doc.frame(1).width == pytest.approx(842, abs=1)  # the same page size in pt
    hits = [Hit("FIC-101", "i", "FIC-101", "FIC-101", 99.0, truth["FIC-101"], 1, "t", 90.0)]
    res = write_workbook(out, hits, document=png, dpi=150)
    assert res.thumbnails == 1
    im = openpyxl.load_workbook(out)["Hits"]._images[0]
    w, h = png_size(im._data())
    b = truth["FIC-101"]
    assert h == pytest.approx(3 * b.height * 150 / 72, abs=3)


@pytest.fixture(scope="module")
def a0_page(tmp_path_factory):
    """An A0 page with 1,000 small codes (a quarter of them vertical) and their hits."""
    import random

    rnd = random.Random(7)
    doc = pymupdf.open()
    page = doc.new_page(width=3370, height=2384)  # A0 landscape
    for x in range(0, 3370, 40):
        page.draw_line((x, 0), (x, 2384), width=0.3)
    for i in range(1000):
        page.insert_text((rnd.uniform(40, 3200), rnd.uniform(40, 2350)), f"FT-{i:04d}",
                         fontsize=rnd.choice([4.5, 6, 8]), rotate=rnd.choice([0, 0, 0, 90]))
    pdf = tmp_path_factory.mktemp("a0") / "a0.pdf"
    doc.save(pdf)
    hits = []
    for w in page.get_text("words"):
        b = Box(*w[:4])
        hits.append(Hit(w[4], "FT", w[4], w[4], 95.0, b, 1, "tesseract", 90.0,
                        angle=90 if b.height > b.width else 0))
    assert len(hits) == 1000
    return pdf, hits


def test_workbook_1000_hits_is_fast(tmp_path, a0_page):
    pdf, hits = a0_page
    t0 = time.perf_counter()
    res = write_workbook(tmp_path / "r.xlsx", hits, document=pdf, dpi=300)
    seconds = time.perf_counter() - t0
    print(f"workbook with 1000 hits and pictures: {seconds:.2f} s")
    assert res.thumbnails == 1000
    assert seconds < 30  # about 1.5 s on a laptop; generous for slow CI machines
    assert len(openpyxl.load_workbook(tmp_path / "r.xlsx")["Hits"]._images) == 1000


def test_annotate_1000_hits_is_fast(tmp_path, a0_page):
    # PyMuPDF's add_*_annot is quadratic per page (about a minute for this page).
    pdf, hits = a0_page
    t0 = time.perf_counter()
    res = annotate_pdf(pdf, hits, tmp_path / "m.pdf")
    seconds = time.perf_counter() - t0
    print(f"marked-up PDF with 1000 hits: {seconds:.2f} s")
    assert res.annotated == 1000 and seconds < 20
    page = pymupdf.open(tmp_path / "m.pdf")[0]
    assert sum(1 for _ in page.annots()) == 2000


# ---------------------------------------------------------------- the marked-up PDF

def _annots(pdf_path):
    doc = pymupdf.open(pdf_path)
    out = [(a.type[1], a.rect, a.info) for a in doc[0].annots()]
    return doc, out


def test_annotate_one_mark_per_hit_at_its_box(tmp_path, drawing):
    pdf, hits, rotation = drawing
    out = tmp_path / "marked.pdf"
    res = annotate_pdf(pdf, hits, out)
    assert res.annotated == len(hits) and not res.skipped
    doc, annots = _annots(out)
    assert doc[0].rotation == rotation
    squares = [a for a in annots if a[0] == "Square"]
    labels = [a for a in annots if a[0] == "FreeText"]
    assert len(squares) == len(hits) and len(labels) == len(hits)
    for hit, (_, rect, info) in zip(hits, squares):
        b = hit.box
        # At the hit's box (PyMuPDF widens the rectangle by about the border width).
        assert rect.x0 <= b.x0 + 0.01 and rect.y0 <= b.y0 + 0.01
        assert rect.x1 >= b.x1 - 0.01 and rect.y1 >= b.y1 - 0.01
        assert max(b.x0 - rect.x0, b.y0 - rect.y0, rect.x1 - b.x1, rect.y1 - b.y1) < 2
        assert info["title"] == ANNOT_TITLE and info["subject"] == hit.pattern_id
        assert hit.pattern_id in info["content"] and f"{hit.score:.1f}" in info["content"]
    for hit, (_, rect, info) in zip(hits, labels):
        assert info["content"] == f"{hit.pattern_id} {hit.score:.0f}"
        grown = hit.box.grow(15)
        assert grown.intersection_area(Box(rect.x0, rect.y0, rect.x1, rect.y1)) > 0  # nearby
    # The text of the drawing is untouched and still where it was (the labels add words).
    words = doc[0].get_text("words")
    for hit in hits:
        assert any(w[4] == hit.pattern_id and hit.box.ios(Box(*w[:4])) > 0.99 for w in words)


def test_annotate_labels_read_upright(tmp_path):
    # On a /Rotate 90 page the label text must run upright in the view.
    pdf = tmp_path / "d.pdf"
    truth = draw_codes(pdf, [("FIC-101", 100, 100, 10, 0)], rotation=90)
    out = tmp_path / "m.pdf"
    annotate_pdf(pdf, [Hit("FIC-101", "i", "FIC-101", "FIC-101", 97.0, truth["FIC-101"], 1,
                           "t", 90.0, angle=270)], out)
    page = pymupdf.open(out)[0]
    ft = next(a for a in page.annots() if a.type[1] == "FreeText")
    view = ft.rect * page.rotation_matrix
    assert view.width > view.height  # a line of text, lying flat as the page is shown


@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff"])
def test_annotate_image_input(tmp_path, fmt):
    pdf = tmp_path / "d.pdf"
    draw_codes(pdf, [("FIC-101", 100, 100, 10, 0), ("PT-2034", 400, 300, 10, 0)])
    pix = pymupdf.open(pdf)[0].get_pixmap(dpi=150)
    img = tmp_path / f"scan.{fmt}"
    pix.pil_save(img, format=fmt.upper(), dpi=(150, 150))
    with Document(img) as d:
        frame = d.frame(1)
        scale = frame.width / 842
    src = pymupdf.open(pdf)[0]
    hits = [Hit(c, "i", c, c, 96.0, Box(*(v * scale for v in src.search_for(c)[0])), 1, "t",
                90.0) for c in ("FIC-101", "PT-2034")]
    out = tmp_path / "marked.pdf"
    annotate_pdf(img, hits, out)
    doc = pymupdf.open(out)
    assert doc.is_pdf and doc.page_count == 1
    assert doc[0].rect.width == pytest.approx(frame.width, abs=0.01)
    assert doc[0].rect.height == pytest.approx(frame.height, abs=0.01)
    squares = [a.rect for a in doc[0].annots() if a.type[1] == "Square"]
    assert len(squares) == 2
    for hit, rect in zip(hits, squares):
        assert Box(rect.x0, rect.y0, rect.x1, rect.y1).ios(hit.box) > 0.99
    # The marks surround the text in the picture: dark pixels of the scan inside the box.
    b = hits[0].box
    grey = doc[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY, annots=False,
                             clip=pymupdf.Rect(b.x0, b.y0, b.x1, b.y1))
    assert min(grey.samples) < 100


def test_annotate_errors(tmp_path):
    pdf = tmp_path / "d.pdf"
    truth = draw_codes(pdf, [("FIC-101", 100, 100, 10, 0)])
    hits = [Hit("FIC-101", "i", "FIC-101", "FIC-101", 97.0, truth["FIC-101"], 1, "t", 90.0),
            Hit("FIC-101", "i", "FIC-101", "FIC-101", 97.0, truth["FIC-101"], 5, "t", 90.0)]
    with pytest.raises(ExportError, match="overwrite the input"):
        annotate_pdf(pdf, hits, pdf)
    with pytest.raises(ExportError, match="does not exist"):
        annotate_pdf(pdf, hits, tmp_path / "nope" / "m.pdf")
    assert not list(tmp_path.glob("*.part*"))
    with pytest.raises(InputFileError):
        annotate_pdf(tmp_path / "missing.pdf", hits, tmp_path / "m.pdf")
    res = annotate_pdf(pdf, hits, tmp_path / "m.pdf")  # a page it lacks: skipped, said so
    assert res.annotated == 1 and len(res.skipped) == 1 and "page 5" in res.skipped[0]


def test_annotate_from_a_dataframe(tmp_path):
    pdf = tmp_path / "d.pdf"
    truth = draw_codes(pdf, [("FIC-101", 100, 100, 10, 0)])
    df = hits_frame([Hit("FIC-101", "i", "FIC-101", "FIC-101", 97.0, truth["FIC-101"], 1,
                         "t", 90.0)])
    res = annotate_pdf(pdf, df, tmp_path / "m.pdf")
    assert res.annotated == 1


def test_annotate_page_with_offset_boxes_and_rotation(tmp_path):
    # MediaBox not at the origin, a CropBox inside it, /Rotate 270, an annotation already
    # there: the marks still land on the text, and what was there stays.
    src = pymupdf.open()
    page = src.new_page(width=600, height=800)
    page.insert_text((120, 150), "PT-2034", fontsize=10)
    page.insert_text((300, 500), "FIC-101", fontsize=10, rotate=90)
    page.add_text_annot((50, 50), "a reviewer's note")
    page.set_mediabox(pymupdf.Rect(-20, -30, 620, 820))
    page.set_cropbox(pymupdf.Rect(50, 60, 550, 760))
    page.set_rotation(270)
    pdf = tmp_path / "offset.pdf"
    src.save(pdf)
    words = {w[4]: Box(*w[:4]) for w in pymupdf.open(pdf)[0].get_text("words")}
    hits = [Hit(c, "i", c, c, 90.0, words[c], 1, "t", 80.0, angle=a)
            for c, a in (("PT-2034", 90), ("FIC-101", 180))]
    out = tmp_path / "m.pdf"
    annotate_pdf(pdf, hits, out)
    page = pymupdf.open(out)[0]
    assert page.rotation == 270
    kinds = [a.type[1] for a in page.annots()]
    assert kinds.count("Text") == 1 and kinds.count("Square") == 2
    squares = [a.rect for a in page.annots() if a.type[1] == "Square"]
    for hit, rect in zip(hits, squares):
        r = Box(rect.x0, rect.y0, rect.x1, rect.y1)
        assert r.ios(hit.box) > 0.99 and r.area < hit.box.grow(2).area
    # Seen by a renderer: coloured pixels around the box with annotations, none without.
    b = hits[0].box.grow(2)
    clip = pymupdf.Rect(b.x0, b.y0, b.x1, b.y1) * page.rotation_matrix
    on = page.get_pixmap(dpi=144, clip=clip, annots=True)
    off = page.get_pixmap(dpi=144, clip=clip, annots=False)
    colour = lambda pix: sum(1 for i in range(0, len(pix.samples), 3)  # noqa: E731
                             if max(pix.samples[i:i + 3]) - min(pix.samples[i:i + 3]) > 80)
    assert colour(on) > 20 and colour(off) == 0


def test_annotate_encrypted_pdf_stays_encrypted(tmp_path):
    pdf = tmp_path / "d.pdf"
    truth = draw_codes(pdf, [("FIC-101", 100, 100, 10, 0)])
    enc = tmp_path / "enc.pdf"
    pymupdf.open(pdf).save(enc, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw",
                           owner_pw="owner")
    hits = [Hit("FIC-101", "i", "FIC-101", "FIC-101", 97.0, truth["FIC-101"], 1, "t", 90.0)]
    with pytest.raises(InputFileError, match="password"):
        annotate_pdf(enc, hits, tmp_path / "m.pdf")
    annotate_pdf(enc, hits, tmp_path / "m.pdf", password="pw")
    doc = pymupdf.open(tmp_path / "m.pdf")
    assert doc.needs_pass and doc.authenticate("pw")
    assert sum(a.type[1] == "Square" for a in doc[0].annots()) == 1


def test_annotate_labels_any_characters(tmp_path):
    pdf = tmp_path / "d.pdf"
    truth = draw_codes(pdf, [("FIC-101", 100, 100, 10, 0)])
    hits = [Hit("Ω-ß (x)", "µ", "Ω-ß", "FIC-101", 97.0, truth["FIC-101"], 1, "t", 90.0)]
    annotate_pdf(pdf, hits, tmp_path / "m.pdf")
    page = pymupdf.open(tmp_path / "m.pdf")[0]
    sq = next(a for a in page.annots() if a.type[1] == "Square")
    assert sq.info["subject"] == "Ω-ß (x)" and "Ω-ß" in sq.info["content"]
    page.get_pixmap(dpi=50)  # renders


# ---------------------------------------------------------------- Parquet

def test_parquet_output_round_trips(tmp_path):
    pytest.importorskip("pyarrow")
    hits = [Hit(f"C-{i}", "lab", f"C-{i}", f"C-{i}", 90.0 + i % 10,
                Box(i, i, i + 10, i + 5), 1 + i % 3, "tesseract", 80.0, angle=90 * (i % 2))
            for i in range(5000)]
    hits.append(Hit("0805", "lab", "0805", "0805", 91.0, Box(1, 1, 2, 2), 1, "t", 1.0))
    df = hits_frame(hits)
    out = tmp_path / "hits.parquet"
    write_table(df, out)
    back = pd.read_parquet(out)
    assert list(back.columns) == HIT_COLUMNS
    pd.testing.assert_frame_equal(back, df)
    assert back["matched"].iloc[-1] == "0805"  # text stays text
    assert not list(tmp_path.glob(".hits*"))


# ---------------------------------------------------------------- reading verdicts back

def fill_verdicts(path, verdicts: dict[int, object]) -> None:
    """Set the verdict of sheet rows (2 = first hit) the way a person would, and save."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Hits"]
    for row, v in verdicts.items():
        ws.cell(row, COL["verdict"]).value = v
    wb.save(path)


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


@pytest.fixture
def reviewed(tmp_path):
    """A workbook of 11 hits (10 true, 1 false) with verdicts filled in."""
    pdf = tmp_path / "drawing.pdf"
    truth = draw_codes(pdf, SMALL_PAGE_CODES)
    hits = make_hits(truth)
    # A false hit: FIC-101 read somewhere it is not.
    hits.append(Hit("FIC-101", "instrument", "FIC-101", "FlC-1O1", 86.0,
                    Box(500, 500, 530, 510), 1, "tesseract", 40.0))
    wb = tmp_path / "review.xlsx"
    write_workbook(wb, hits, document=pdf, report=make_report(hits))
    # rows: 2 FIC-101, 3 PT-2034, 4 LT-3307, 5 TV-4410, 6 PSV-5521, 7 AB-12345-C (part),
    # 8 XY-55210-K (part), 9 HS-6620, 10 TIC-7781, 11 FT-8890, 12 the false FIC-101
    fill_verdicts(wb, {2: "correct", 3: "correct", 4: " Correct ", 5: "OK", 6: "unsure",
                       7: "correct", 8: "wrong", 12: "wrong"})
    return wb, hits, pdf


def test_review_precision_and_truth(reviewed):
    wb, hits, _ = reviewed
    rv = read_review(wb)
    assert not rv.warnings
    lab = rv.per_label.set_index("label")
    assert lab.loc["instrument", ["correct", "wrong", "unsure", "blank"]].tolist() == \
        [4, 1, 1, 3]
    assert lab.loc["instrument", "precision"] == pytest.approx(4 / 5)
    assert lab.loc["part", ["correct", "wrong"]].tolist() == [1, 1]
    assert lab.loc["part", "precision"] == pytest.approx(0.5)
    pat = rv.per_pattern.set_index("pattern_id")
    assert pat.loc["FIC-101", ["correct", "wrong"]].tolist() == [1, 1]
    assert pat.loc["FIC-101", "precision"] == pytest.approx(0.5)
    assert pat.loc["PSV-5521", "reviewed"] == 1 and np.isnan(pat.loc["PSV-5521", "precision"])
    assert np.isnan(pat.loc["HS-6620", "precision"])  # blank: no verdict, no precision
    assert rv.overall["correct"] == 5 and rv.overall["wrong"] == 2
    assert rv.overall["precision"] == pytest.approx(5 / 7)
    assert list(rv.truth.columns) == TRUTH_COLUMNS
    assert sorted(rv.truth["matched"]) == sorted(
        ["FIC-101", "PT-2034", "LT-3307", "TV-4410", "AB-12345-C"])
    first = rv.truth.iloc[0]
    assert first["page"] == 1 and first["x0"] == pytest.approx(hits[0].box.x0, abs=0.01)


def test_review_cli_round_trip_into_evaluate(capsys, tmp_path, reviewed):
    wb, hits, _ = reviewed
    truth_csv = tmp_path / "truth.csv"
    code, out, err = run_cli(capsys, "review", wb, "--truth-out", truth_csv)
    assert code == 0, err
    assert "precision per label" in out and "instrument" in out and "80.0%" in out
    assert "precision per pattern" in out and "50.0%" in out
    assert "overall: precision 71.4%" in out and "5 correct, 2 wrong" in out
    assert "wrote 5 truth rows" in err
    truth = pd.read_csv(truth_csv, dtype={"pattern_id": str, "matched": str})
    # Every row, saying what it is: 5 correct, 2 wrong, 4 not judged (unsure, blank).
    assert list(truth.columns) == TRUTH_COLUMNS + ["review"] and len(truth) == len(hits)
    assert truth["review"].value_counts().to_dict() == {"correct": 5, "unreviewed": 4,
                                                        "wrong": 2}
    assert "4 unreviewed rows are marked" in err

    evaluate = pytest.importorskip("locator.evaluate")
    t = evaluate.load_table(truth_csv, role="truth")
    ev = evaluate.evaluate(hits_frame(hits), t)
    # Every hit marked correct is a true positive against the truth it wrote; the
    # two marked wrong are false hits; the four nobody judged are not scored.
    assert ev.tp == 5 and ev.fn == 0
    assert ev.fp == 2 and ev.unreviewed == 4
    assert ev.precision == pytest.approx(5 / 7)
    # And the workbook itself reads as the hits table.
    ev2 = evaluate.evaluate(evaluate.load_table(wb), t)
    assert ev2.tp == 5


def test_review_truth_formats(tmp_path, reviewed, capsys):
    wb, _, _ = reviewed
    for suffix in (".json", ".xlsx", ".parquet"):
        dest = tmp_path / f"truth{suffix}"
        code, _, err = run_cli(capsys, "review", wb, "--truth-out", dest)
        assert code == 0, err
        assert dest.exists()
    got = pd.read_parquet(tmp_path / "truth.parquet")
    assert (got["review"] == "correct").sum() == 5 and len(got) == 11


def test_review_survives_a_person_sorting_and_adding_rows(tmp_path, reviewed):
    # A reviewer deletes a row, leaves an empty line and types a note; rows still match.
    wb, _, _ = reviewed
    book = openpyxl.load_workbook(wb)
    ws = book["Hits"]
    ws.cell(3, COL["note"]).value = "label is faded"
    ws.delete_rows(9)  # HS-6620, unreviewed
    book.save(wb)
    rv = read_review(wb)
    assert len(rv.rows) == 10 and rv.overall["correct"] == 5


def test_review_unknown_verdict_is_warned_and_left_out(tmp_path, reviewed, capsys):
    wb, _, _ = reviewed
    fill_verdicts(wb, {9: "dunno"})
    rv = read_review(wb)
    assert len(rv.warnings) == 1 and "row 9" in rv.warnings[0] and "dunno" in rv.warnings[0]
    assert len(rv.rows) == 10
    code, out, err = run_cli(capsys, "review", wb)
    assert code == 0 and "dunno" in err


def test_normalise_verdict():
    assert normalise_verdict(" CORRECT ") == "correct"
    assert normalise_verdict("n") == "wrong"
    assert normalise_verdict("?") == "unsure"
    assert normalise_verdict(None) == "" and normalise_verdict(float("nan")) == ""
    assert normalise_verdict("  ") == ""
    assert normalise_verdict("maybe not") is None


def test_review_no_verdicts_yet(capsys, tmp_path):
    wb = tmp_path / "r.xlsx"
    write_workbook(wb, [Hit("A-1", "x", "A-1", "A-1", 99.0, Box(10, 10, 30, 18), 1, "t", 9.0)])
    code, out, err = run_cli(capsys, "review", wb, "--truth-out", tmp_path / "t.csv")
    assert code == 0
    assert "no row has a verdict" in err
    assert list(pd.read_csv(tmp_path / "t.csv").columns) == TRUTH_COLUMNS + ["review"]


def _plain_xlsx(path, df, sheet="Sheet1"):
    with pd.ExcelWriter(path) as xw:
        df.to_excel(xw, sheet_name=sheet, index=False)


@pytest.mark.parametrize("case, code, words", [
    ("missing file", 3, "no such file"),
    ("csv", 3, "review workbook is an .xlsx"),
    ("not a zip", 3, "cannot read as an Excel workbook"),
    ("no Hits sheet", 3, "not a locator review workbook"),
    ("plain hits table", 3, "not a locator review workbook"),
    ("column deleted", 3, "lacks the column(s) x0"),
    ("bad page", 3, "column page is not a number in row(s) 2"),
    ("bad truth suffix", 2, "--truth-out"),
])
def test_review_errors(capsys, tmp_path, reviewed, case, code, words):
    wb, _, _ = reviewed
    args = []
    if case == "missing file":
        target = tmp_path / "nope.xlsx"
    elif case == "csv":
        target = tmp_path / "hits.csv"
        target.write_text("a,b\n1,2\n")
    elif case == "not a zip":
        target = tmp_path / "broken.xlsx"
        target.write_bytes(b"this is not a workbook")
    elif case == "no Hits sheet":
        target = tmp_path / "other.xlsx"
        _plain_xlsx(target, pd.DataFrame({"a": [1]}))
    elif case == "plain hits table":  # the old plain table: a 'Hits' sheet without verdicts
        target = tmp_path / "plain.xlsx"
        _plain_xlsx(target, hits_frame([Hit("A", "x", "A", "A", 90, Box(0, 0, 1, 1), 1, "t",
                                            1)]), sheet="Hits")
    elif case == "column deleted":
        book = openpyxl.load_workbook(wb)
        book["Hits"].delete_cols(COL["x0"])
        book.save(wb)
        target = wb
    elif case == "bad page":
        fill_page = openpyxl.load_workbook(wb)
        fill_page["Hits"].cell(2, COL["page"]).value = "one"
        fill_page.save(wb)
        target = wb
    else:
        target = wb
        args = ["--truth-out", tmp_path / "truth.txt"]
    rc, out, err = run_cli(capsys, "review", target, *args)
    assert rc == code, err
    err = " ".join(err.split())  # the console wraps long lines
    assert words in err
    if code == 3:
        assert err.startswith("locate: error:")
    assert "Traceback" not in err


# ---------------------------------------------------------------- end to end (OCR)

@pytest.fixture
def ocr_ready():
    pytest.importorskip("locator.catalog")
    pytest.importorskip("locator.match")
    from locator.engines import get_engine
    from locator.errors import MissingEngineError

    try:
        get_engine("tesseract")
    except MissingEngineError:
        pytest.skip("tesseract is not installed")


FAST = ["--dpi", "200", "--rotations", "0,90,270"]


def test_cli_run_writes_workbook_and_marked_pdf(capsys, tmp_path, ocr_ready):
    from tests.conftest import write_catalog

    codes = [("FIC-101", 40, 60, 9, 0), ("PT-2034", 200, 120, 8, 0),
             ("TIC-7781", 330, 150, 9, 90)]
    pdf = tmp_path / "tiny.pdf"
    draw_codes(pdf, codes, width=420, height=300, rotation=90)
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for c in codes] + ["ZZ-9999"])
    wb, marked = tmp_path / "review.xlsx", tmp_path / "marked.pdf"
    code, out, err = run_cli(capsys, pdf, "--patterns", cat, "-o", wb, "--annotate", marked,
                             *FAST)
    assert code == 0, err
    book = openpyxl.load_workbook(wb)
    hits = pd.read_excel(wb, sheet_name="Hits")
    assert sorted(hits["matched"]) == ["FIC-101", "PT-2034", "TIC-7781"]
    assert len(book["Hits"]._images) == len(hits)
    assert [r[0] for r in book["Missing"].iter_rows(min_row=2, values_only=True)] == \
        ["ZZ-9999"]
    page = pymupdf.open(marked)[0]
    assert page.rotation == 90
    assert sum(a.type[1] == "Square" for a in page.annots()) == len(hits)


def test_cli_annotate_needs_a_pdf_name(capsys, tmp_path, ocr_ready):
    from tests.conftest import write_catalog

    pdf = tmp_path / "tiny.pdf"
    draw_codes(pdf, [("FIC-101", 40, 60, 9, 0)], width=420, height=300)
    cat = write_catalog(tmp_path / "codes.yaml", ["FIC-101"])
    code, _, err = run_cli(capsys, pdf, "--patterns", cat, "--annotate", tmp_path / "m.png")
    assert code == 2 and "--annotate" in err


def test_summary_skips_live_counts_when_too_large(tmp_path, monkeypatch):
    import locator.export.workbook as wbmod

    monkeypatch.setattr(wbmod, "_MAX_LIVE_CELLS", 1)
    hits = [Hit(f"A-{i}", "x", f"A-{i}", f"A-{i}", 99.0, Box(10, 10, 30, 18), 1, "t", 9.0)
            for i in range(3)]
    out = tmp_path / "r.xlsx"
    write_workbook(out, hits)
    cells = [c.value for row in openpyxl.load_workbook(out)["Summary"].iter_rows()
             for c in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in cells)
    assert any(isinstance(v, str) and "locate review" in v for v in cells)
