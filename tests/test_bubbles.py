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
