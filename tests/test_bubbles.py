"""Instrument bubbles: outlines classified, their lines composed into one tag, matched (issue 21).

Generated P&ID sheets (samples/samplegen's generator, A3, born-digital) carry
every bubble shape upright and at 90/270; each tag must be found with its
bubble's box and shape. The catalog options (``tag_format`` separators,
``prefix``, ``stacked``) are tested on small documents made here.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pymupdf
import pytest

import locator
from locator.bubbles import Bubble, Shape, compose, find_bubbles, outline_kind
from locator.catalog import Catalog, parse_catalog
from locator.errors import CatalogError
from locator.geometry import Box
from locator.model import Word
from locator.pdf import PathOutline
from locator.tags import match_tags

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "samples"))

from samplegen.pid import build_pid, render_pid  # noqa: E402

SHAPES = {s.value for s in Shape}


def make_pid(path: Path, seed: int, size: str = "A3"):
    """A generated P&ID sheet saved at ``path``; its bubbles (the truth)."""
    pid = build_pid(size, seed, random.Random(f"test-bubbles/{size}/{seed}"))
    doc = pymupdf.open()
    page = doc.new_page(width=pid.sheet.width, height=pid.sheet.height)
    render_pid(page, pid)
    doc.save(path)
    doc.close()
    return pid.bubbles


def close(a: Box, b: Box, tol: float = 1.0) -> bool:
    return all(abs(p - q) <= tol for p, q in zip((a.x0, a.y0, a.x1, a.y1),
                                                  (b.x0, b.y0, b.x1, b.y1)))


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    path = tmp_path_factory.mktemp("pid") / "pid-a3.pdf"
    return path, make_pid(path, seed=7)


def test_generated_sheet_covers_every_shape_and_direction(sheet):
    _path, bubbles = sheet
    assert {b.shape for b in bubbles} == SHAPES
    assert {b.letters.angle for b in bubbles} >= {0, 90, 270}
    turned = {b.shape for b in bubbles if b.letters.angle in (90, 270)}
    assert len(turned) >= 3, turned


def test_every_bubble_tag_found_with_its_box_and_shape(sheet):
    path, bubbles = sheet
    tags = {f"{b.letters.text}-{b.number.text}": b for b in bubbles}
    df = locator.locate(path, Catalog.from_texts(sorted(tags), label="instrument"))
    bubble_hits = df[df["form"] == "bubble"]
    found = {r.pattern_id: r for r in bubble_hits.itertuples()}
    assert set(found) == set(tags), set(tags) - set(found)
    assert len(bubble_hits) == len(tags)  # precision: one hit per tag, none elsewhere
    for tag, b in tags.items():
        r = found[tag]
        assert r.shape == b.shape, (tag, r.shape, b.shape)
        assert close(Box(r.x0, r.y0, r.x1, r.y1), b.box), (tag, r, b.box)
        assert r.angle == b.letters.angle


def test_separators_of_the_catalog_do_not_matter(sheet):
    path, bubbles = sheet
    b = next(b for b in bubbles if b.letters.angle == 90)
    forms = [f"{b.letters.text} {b.number.text}", f"{b.letters.text}{b.number.text}",
             f"{b.letters.text}_{b.number.text}"]
    df = locator.locate(path, Catalog.from_texts(forms))
    assert set(df["pattern_id"]) == set(forms)
    assert set(df["form"]) == {"bubble"} and set(df["shape"]) == {b.shape}


def test_tag_format_writes_the_composed_text(sheet):
    path, bubbles = sheet
    b = bubbles[0]
    cat = parse_catalog(f"defaults: {{tag_format: '{{letters}} {{number}}'}}\n"
                        f"patterns:\n- text: {b.letters.text}-{b.number.text}\n")
    df = locator.locate(path, cat)
    assert list(df["text"]) == [f"{b.letters.text} {b.number.text}"]


def test_a_bad_tag_format_is_refused():
    with pytest.raises(CatalogError, match="tag_format"):
        parse_catalog("defaults: {tag_format: '{letters}'}\npatterns:\n- text: A\n")


def test_implied_prefix_found_and_flagged(sheet):
    path, bubbles = sheet
    tags = [f"23-{b.letters.text}-{b.number.text}" for b in bubbles[:4]]
    strict = locator.locate(path, Catalog.from_texts(tags))
    assert strict.empty  # the default stays strict
    df = locator.locate(path, Catalog.from_texts(tags, prefix="23-"))
    assert sorted(df["pattern_id"]) == sorted(tags)
    assert set(df["form"]) == {"bubble+no-prefix"}
    assert set(df["matched"]) == set(tags)


def test_single_word_codes_still_match_beside_the_bubble(sheet):
    path, bubbles = sheet
    b = bubbles[0]
    tag = f"{b.letters.text}-{b.number.text}"
    df = locator.locate(path, Catalog.from_texts([tag, b.number.text]))
    got = {r.pattern_id: r.form for r in df.itertuples()}
    assert got[tag] == "bubble" and got[b.number.text] == "word"


def _outline(points, curved=False):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return PathOutline(Box(min(xs), min(ys), max(xs), max(ys)), tuple(points), curved)


def test_outline_kinds():
    sq = [(0, 0), (20, 0), (20, 20), (0, 20), (0, 0)]
    dia = [(10, 0), (20, 10), (10, 20), (0, 10), (10, 0)]
    hexa = [(0, 10), (6, 0), (24, 0), (30, 10), (24, 20), (6, 20), (0, 10)]
    assert outline_kind(_outline(sq).box, sq, False) == "square"
    assert outline_kind(_outline(dia).box, dia, False) == "diamond"
    assert outline_kind(_outline(dia).box, dia, True) == "round"  # Bezier quarters
    assert outline_kind(_outline(hexa).box, hexa, False) == "hexagon"
    assert outline_kind(_outline(sq[:3]).box, sq[:3], False) is None  # open
    found = find_bubbles([_outline(sq), _outline(dia, curved=True)], 1)
    assert [b.shape for b in found] == [Shape.box]  # a circle in a square


def test_compose_at_90_and_270():
    b = Bubble(Box(0, 0, 30, 30), Shape.circle, 1)
    # reading bottom to top: the top line (letters) is on the left
    up = [Word("F0001", 100, Box(15, 5, 22, 25), 1, "text", angle=90, source="text"),
          Word("FIC", 100, Box(8, 10, 15, 20), 1, "text", angle=90, source="text")]
    assert [w.text for w in compose(up, [b])] == ["FIC-F0001"]
    down = [Word("F0001", 100, Box(8, 5, 15, 25), 1, "text", angle=270, source="text"),
            Word("FIC", 100, Box(15, 10, 22, 20), 1, "text", angle=270, source="text")]
    (w,) = compose(down, [b])
    assert (w.text, w.box, w.shape, w.form) == ("FIC-F0001", b.box, "circle", "bubble")


def test_stacked_lines_compose_only_when_asked():
    words = [Word("P", 100, Box(10, 10, 16, 18), 1, "text", source="text"),
             Word("101A", 100, Box(5, 19, 21, 27), 1, "text", source="text")]
    assert match_tags(words, Catalog.from_texts(["P-101A"])) == []
    (h,) = match_tags(words, Catalog.from_texts(["P-101A"], stacked=True))
    assert (h.form, h.box, h.shape) == ("stacked", Box(5, 10, 21, 27), "")


# ----------------------------------------------------------- scanned pages

def _drawn(shape: str, angle: int = 0, dpi: float = 200.0):
    """A grey image (paper 236, ink 60) of one bubble outline of 30 pt at ``dpi``,
    two lines of 'text' (dark bars) inside, and a signal line touching it."""
    import cv2
    import numpy as np

    px = dpi / 72
    n = int(90 * px)
    img = np.full((n, n), 236, np.uint8)
    c, r, t = n // 2, int(15 * px), max(1, round(0.5 * px))
    ink = 60
    if shape in ("circle", "circle-bar", "box"):
        cv2.circle(img, (c, c), r, ink, t, cv2.LINE_AA)
    if shape == "box":
        cv2.rectangle(img, (c - r, c - r), (c + r, c + r), ink, t)
    if shape == "circle-bar":
        a, b = ((c - r, c), (c + r, c)) if angle == 0 else ((c, c - r), (c, c + r))
        cv2.line(img, a, b, ink, t)
    if shape == "diamond":
        pts = np.array([(c, c - r), (c + r, c), (c, c + r), (c - r, c)], np.int32)
        cv2.polylines(img, [pts], True, ink, t, cv2.LINE_AA)
        cv2.rectangle(img, (c - r, c - r), (c + r, c + r), ink, t)
    if shape == "hexagon":
        h, b = int(9 * px), int(10 * px)
        a = b + int(0.6 * h)
        pts = [(-a, 0), (-b, -h), (b, -h), (a, 0), (b, h), (-b, h)]
        if angle:
            pts = [(v, u) for u, v in pts]
        cv2.polylines(img, [np.array([(c + u, c + v) for u, v in pts], np.int32)], True, ink, t,
                      cv2.LINE_AA)
    cv2.line(img, (c, c + r), (c, n - 2), ink, t)  # the signal line
    # two lines of text: letters over a number (upright), or side by side (turned)
    g = int(3 * px)
    for k in (-1, 1):
        if angle == 0:
            cv2.rectangle(img, (c - g, c + k * g - g // 2), (c + g, c + k * g + g // 2), ink, -1)
        else:
            cv2.rectangle(img, (c + k * g - g // 2, c - g), (c + k * g + g // 2, c + g), ink, -1)
    return img


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("angle", [0, 90])
def test_image_bubble_shapes(shape, angle):
    from locator.bubbleimage import find_in_image
    from locator.geometry import PageFrame, Tile

    img = _drawn(shape, angle)
    h, w = img.shape
    tile = Tile(1, (0, 0, w, h), 200.0, PageFrame(w * 72 / 200, h * 72 / 200))
    found = find_in_image(img, tile)
    big = [f for f in found if max(f.bubble.box.width, f.bubble.box.height) > 20]
    assert [f.bubble.shape.value for f in big] == [shape]
    box = big[0].bubble.box
    centre = w * 72 / 200 / 2
    assert abs(box.center[0] - centre) < 1.5 and abs(box.center[1] - centre) < 1.5
    assert 28 <= max(box.width, box.height) <= 33  # the 30 pt outline (the square's for box)
    inside = big[0].inside
    assert inside.min() < 100 and (inside == 255).any()  # the text kept, the outline painted out


def _scan(src: Path, dst: Path, dpi: int = 200):
    """``src`` as an image-only PDF (grey, ``dpi``), same page size."""
    doc = pymupdf.open(src)
    out = pymupdf.open()
    for page in doc:
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        p = out.new_page(width=page.rect.width, height=page.rect.height)
        p.insert_image(p.rect, pixmap=pix)
    out.save(dst)


def test_scanned_sheet_bubbles(sheet, tmp_path):
    """The generated sheet rasterised at 200 dpi: bubble tags composed from the
    image, each read alone; no hit is wrong (tag at another bubble, wrong shape)."""
    path, bubbles = sheet
    scan = tmp_path / "scan.pdf"
    _scan(path, scan)
    tags = {f"{b.letters.text}-{b.number.text}": b for b in bubbles}
    df = locator.locate(scan, Catalog.from_texts(sorted(tags), label="instrument"), cache=False)
    hits = df[df["form"] == "bubble"]
    assert len(hits) == len(df)
    right = 0
    for r in hits.itertuples():
        b = tags[r.pattern_id]
        assert Box(r.x0, r.y0, r.x1, r.y1).iou(b.box) > 0.5, (r.pattern_id, r)
        assert r.shape == b.shape, (r.pattern_id, r.shape, b.shape)
        assert r.source == "ocr"
        right += 1
    assert right >= 0.6 * len(tags), (right, len(tags))  # bench/README-bubbles.md has the figures


# ----------------------------------------------------------- --words, 0 hits

@pytest.mark.parametrize("suffix", [".csv", ".json", ".hocr", ".xml"])
def test_words_file_holds_words_and_composed_tags(sheet, tmp_path, capsys, suffix):
    import json
    import xml.etree.ElementTree as ET

    from locator.cli import main

    path, bubbles = sheet
    b = bubbles[0]
    tag = f"{b.letters.text}-{b.number.text}"
    cat = tmp_path / "c.yaml"
    cat.write_text("patterns:\n- text: NOT-ON-THE-SHEET-1\n")
    words = tmp_path / f"words{suffix}"
    with pytest.raises(SystemExit) as e:
        main([str(path), "--patterns", str(cat), "-o", str(tmp_path / "h.csv"),
              "--words", str(words)])
    assert e.value.code == 0
    err = capsys.readouterr().err
    assert "no hits" in err and str(words) in err  # 0 hits: said, and where to look
    if suffix == ".csv":
        import pandas as pd

        df = pd.read_csv(words)
        row = df[df["text"] == tag].iloc[0]
        assert (row["form"], row["shape"]) == ("bubble", b.shape)
        assert close(Box(row.x0, row.y0, row.x1, row.y1), b.box)
        assert b.number.text in set(df["text"])  # the single words too
    elif suffix == ".json":
        rows = json.loads(words.read_text())
        assert any(r["text"] == tag and r["form"] == "bubble" for r in rows)
    elif suffix == ".hocr":
        root = ET.parse(words).getroot()
        spans = [s for s in root.iter() if s.get("class") == "ocrx_word"]
        hit = [s for s in spans if s.text == tag]
        assert hit and "x_form bubble" in hit[0].get("title")
        assert any(s.get("class") == "ocr_page" for s in root.iter())
    else:
        ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
        root = ET.parse(words).getroot()
        strings = root.findall(".//a:String", ns)
        hit = [s for s in strings if s.get("CONTENT") == tag]
        assert hit and hit[0].get("TAGREFS", "").startswith("form_bubble")
        x = float(hit[0].get("HPOS")) * 72 / 1200
        assert abs(x - b.box.x0) < 1.0


def test_words_for_one_document_only(sheet, tmp_path, capsys):
    from locator.cli import main

    import shutil

    path, _ = sheet
    two = [shutil.copy(path, tmp_path / f"{n}.pdf") for n in ("a", "b")]
    cat = tmp_path / "c.yaml"
    cat.write_text("patterns:\n- text: X-1\n")
    with pytest.raises(SystemExit) as e:
        main([*map(str, two), "--patterns", str(cat), "--words", str(tmp_path / "w.csv")])
    assert e.value.code == 2
    assert "for one document; 2 were given" in capsys.readouterr().err
    assert not (tmp_path / "w.csv").exists()


def test_summary_counts_how_tags_were_found(sheet, tmp_path, capsys):
    from locator.cli import main

    path, bubbles = sheet
    tags = [f"23-{b.letters.text}-{b.number.text}" for b in bubbles[:3]]
    cat = tmp_path / "c.yaml"
    cat.write_text("defaults: {prefix: '23-'}\npatterns:\n"
                   + "".join(f"- text: {t}\n" for t in tags)
                   + f"- text: {bubbles[3].number.text}\n")
    with pytest.raises(SystemExit) as e:
        main([str(path), "--patterns", str(cat), "-o", str(tmp_path / "h.csv")])
    assert e.value.code == 0
    err = capsys.readouterr().err
    assert "found as: 3 bubble, 1 word (3 without the catalog's prefix)" in err


def test_an_engine_failing_on_a_bubble_is_a_warning(sheet, tmp_path):
    """The bubble pass reads in this process: a crash there is one warning for
    the page, and the run's words and other hits still come back."""
    from locator.engines.base import EngineBase
    from locator.pipeline.runs import run
    from locator.settings import Settings

    class CrashOnBlocks(EngineBase):
        name = "crashy"

        def version(self) -> str:
            return "crashy 1"

        def read(self, image, *, dpi):
            return []

        def read_block(self, image, *, dpi):
            raise RuntimeError("simulated crash")

    path, bubbles = sheet
    scan = tmp_path / "scan.pdf"
    _scan(path, scan)
    r = run(scan, Catalog.from_texts(["X-1"]), Settings(rotations=(0,)), engines=[CrashOnBlocks()])
    msgs = [str(w) for w in r.report.warnings if "instrument bubbles" in str(w)]
    assert len(msgs) == 1 and "simulated crash" in msgs[0], r.report.warnings
    assert not [w for w in r.words if w.form]


def test_scanned_bubbles_come_from_the_ocr_cache_on_a_rerun(tmp_path, monkeypatch):
    """A re-run (an edited catalog) takes a scanned page's composed bubble words from
    the OCR cache with the page's words: no render, no read; the same hits."""
    import locator.pipeline.bubblepass as bp

    src, scan = tmp_path / "one.pdf", tmp_path / "one-scan.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=200, height=160)
    page.draw_circle((100, 80), 22, color=(0, 0, 0), width=0.8)
    page.insert_text((89, 76), "FIC", fontsize=9)
    page.insert_text((87, 90), "2041", fontsize=9)
    doc.save(src)
    _scan(src, scan)
    kw = dict(cache=True, cache_dir=str(tmp_path / "cache"), workers=1)
    first = locator.locate(scan, Catalog.from_texts(["FIC-2041", "X-1"]), **kw)
    assert first[first["form"] == "bubble"]["pattern_id"].tolist() == ["FIC-2041"], first

    def not_again(*a, **k):
        raise AssertionError("the scanned bubbles were read again")

    monkeypatch.setattr(bp, "_scanned", not_again)
    again = locator.locate(scan, Catalog.from_texts(["FIC-2041"]), **kw)
    cols = ["pattern_id", "matched", "text", "x0", "y0", "x1", "y1", "shape", "form"]
    assert again[cols].values.tolist() == first[first["pattern_id"] == "FIC-2041"][cols].values.tolist()


def test_review_of_bubble_hits(sheet, tmp_path):
    """Marked-up PDF: each bubble hit's label lies outside its bubble (it covers
    no text it marks); thumbnails are made around the whole bubble."""
    from locator.documents import Document
    from locator.export.annotate import annotate_pdf
    from locator.export.thumbnails import make_thumbnail

    path, bubbles = sheet
    tags = {f"{b.letters.text}-{b.number.text}": b for b in bubbles}
    df = locator.locate(path, Catalog.from_texts(sorted(tags)))
    out = tmp_path / "marked.pdf"
    assert annotate_pdf(path, df, out).annotated == len(df)
    doc = pymupdf.open(out)
    labels = [a.rect for a in doc[0].annots() if a.type[1] == "FreeText"]
    assert len(labels) == len(df)
    for r in df.itertuples():
        bubble = pymupdf.Rect(r.x0, r.y0, r.x1, r.y1)
        assert not any(lb.intersects(bubble) for lb in labels), r.pattern_id
    with Document(path) as d:
        r = df.iloc[0]
        t = make_thumbnail(d, 1, Box(r.x0, r.y0, r.x1, r.y1), int(r.angle), 150.0)
    assert t is not None
    # the hit's red outline (just outside the bubble's box) lies whole inside the picture
    import io

    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(t.png)).convert("RGB")).astype(int)
    red = (img[..., 0] > 180) & (img[..., 1] < 90) & (img[..., 2] < 90)
    ys, xs = np.nonzero(red)
    assert xs.min() > 0 and ys.min() > 0 and xs.max() < t.width - 1 and ys.max() < t.height - 1
    assert xs.max() - xs.min() > 0.25 * t.width and ys.max() - ys.min() > 0.25 * t.height
