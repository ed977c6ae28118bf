"""Property (fuzz) tests: catalog parsing never fails with anything but
CatalogError; matching never crashes and its hits lie on the words; engine
answers, however broken, come out clean; a grid over a region covers it.

The longer catalog fuzz run is ``bench/fuzz_catalog.py`` (bench/README-fuzz.md).
"""

from __future__ import annotations

import math
import os
import unicodedata

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from locator.catalog import Catalog, parse_catalog
from locator.engines.base import OcrWord, checked_words
from locator.errors import CatalogError, EngineError
from locator.geometry import Box, PageFrame
from locator.match import match
from locator.model import Word
from locator.tiling import grid, view_size_px

pytestmark = pytest.mark.timeout(int(os.environ.get("LOCATOR_FUZZ_TIMEOUT", "120")))
#: LOCATOR_FUZZ_EXAMPLES=5000 makes this a longer fuzz run (bench/README-fuzz.md).
FAST = settings(max_examples=int(os.environ.get("LOCATOR_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# -- catalog parsing --------------------------------------------------------------------

# Text made of YAML's own punctuation, indentation and a few words, so random
# documents reach the parser's corners (flow and block collections, anchors,
# tags, quotes, block scalars, directives).
YAMLISH = st.lists(st.sampled_from(
    list(":-[]{},&*!|>'\"#%@`?\n \t") + ["  ", "\n  ", "- ", ": ", "patterns", "defaults",
                                         "text", "regex", "id", "label", "file", "near",
                                         "exclude", "min_score", "&a", "*a", "!!", "---",
                                         "...", "A1", "0", "1e9", ".nan", "~", "\u00e9",
                                         "\ufeff", "\x00", "\x85", "\u2028", "(a+)+$"]),
    max_size=120).map("".join)

FIELDS = ["id", "text", "regex", "symbol", "file", "column", "label", "label_column", "sheet",
          "encoding", "near", "exclude", "min_score", "case_sensitive", "whole_word",
          "confusions", "ignore", "timeout", "scales", "rotations", "bogus"]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["FIC-101", "[A-Z]{2}", "(", "a{1,99999}", "\\", "(?i)x", "(?<=a)b",
                     "x{e<=2}", "O0", "codes.csv", "", " ", "-1", "1e400"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(FIELDS + ["pattern", "within"]), inner, max_size=4)),
    max_leaves=12)
entries = st.one_of(
    scalars,
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=6),
    st.fixed_dictionaries({"id": st.text(min_size=1, max_size=8), "regex": st.text(max_size=12)}),
    st.fixed_dictionaries({"text": st.text(max_size=12)}, optional={
        "near": st.fixed_dictionaries({"pattern": st.text(max_size=5), "within": scalars}),
        "confusions": values, "ignore": st.text(max_size=4), "exclude": values}))
catalogs = st.fixed_dictionaries({"patterns": st.one_of(st.lists(entries, max_size=6), values)},
                                 optional={"defaults": values, "description": values,
                                           "extra": values})


def _parse(text: str):
    try:
        return parse_catalog(text, name="fuzz.yaml", base_dir="/nonexistent-fuzz-folder")
    except CatalogError as e:
        assert str(e).startswith("fuzz.yaml"), str(e)
        return None


@FAST
@given(YAMLISH)
def test_yaml_ish_text_gives_a_catalog_or_a_catalog_error(text):
    _parse(text)


@FAST
@given(catalogs, st.integers(0, 3), st.data())
def test_catalog_shaped_documents_give_a_catalog_or_a_catalog_error(doc, damage, data):
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if damage == 1:  # cut short
        text = text[: data.draw(st.integers(0, len(text)))]
    elif damage == 2:  # a character slipped in
        i = data.draw(st.integers(0, len(text)))
        text = text[:i] + data.draw(st.sampled_from(list(":-[]{}&*!|>'\"#\t\n"))) + text[i:]
    cat = _parse(text)
    if cat is not None:  # what loads is usable
        assert len(cat) > 0 and len(set(cat.ids)) == len(cat.ids)
        match([Word("FIC-101", 90, Box(0, 0, 40, 8), 1, "t")], cat)


# -- matching ----------------------------------------------------------------------------

CHARS = st.sampled_from(list("FIC-101PT2034ABOlI5S8 .,()|") + ["\u0421", "\uff11", "\u2013",
                                                                 "\u00a0", "\u200b", "\x00"])
texts = st.text(alphabet=CHARS, min_size=0, max_size=14)
coords = st.floats(0, 1000, allow_nan=False)


@st.composite
def words(draw):
    x, y = draw(coords), draw(coords)
    w, h = draw(st.floats(0, 200)), draw(st.floats(0, 30))
    return Word(draw(texts), draw(st.floats(0, 100)), Box(x, y, x + w, y + h),
                draw(st.integers(1, 3)), draw(st.sampled_from(["t", "e"])),
                draw(st.sampled_from([0, 90, 270])), draw(st.sampled_from(["ocr", "text"])))


FUZZ_CATALOG = parse_catalog(
    "defaults: {min_score: 60}\npatterns:\n"
    "  - FIC-101\n  - PT-2034\n  - {text: 'AB 5', whole_word: false}\n  - I\n"
    "  - {id: rx, regex: '[A-Z]{2,3}-\\d+'}\n  - {id: fz, regex: '(?:FIC-1O1){e<=2}'}\n"
    "  - {id: near, text: '101', near: {pattern: FIC-101, within: 50}}\n"
    "  - {text: '(1)', ignore: ' -'}\n", name="fuzz.yaml")


@FAST
@given(st.lists(words(), max_size=40))
def test_match_never_crashes_and_hits_lie_within_the_words(ws):
    hits = match(ws, FUZZ_CATALOG)
    for h in hits:
        on_page = [w.box for w in ws if w.page == h.page]
        assert on_page
        x0 = min(b.x0 for b in on_page)
        y0 = min(b.y0 for b in on_page)
        x1 = max(b.x1 for b in on_page)
        y1 = max(b.y1 for b in on_page)
        eps = 1e-6
        assert x0 - eps <= h.box.x0 <= h.box.x1 <= x1 + eps
        assert y0 - eps <= h.box.y0 <= h.box.y1 <= y1 + eps
        # the box is the union of whole words: each edge is some word's edge
        assert any(abs(b.x0 - h.box.x0) < eps for b in on_page)
        assert any(abs(b.x1 - h.box.x1) < eps for b in on_page)
        assert 0 <= h.score <= 100 and h.pattern_id in FUZZ_CATALOG.ids


@FAST
@given(st.lists(texts, max_size=8), st.lists(words(), max_size=10))
def test_any_list_of_codes_matches_any_words_without_crashing(codes, ws):
    codes = [c for c in codes if c.strip(" .,()|\u200b\x00\u00a0")]
    try:
        cat = Catalog.from_texts(list(dict.fromkeys(codes)))
    except CatalogError:
        return
    match(ws, cat)


# -- engine answers ------------------------------------------------------------------------

junk = st.one_of(st.none(), st.text(max_size=6), st.binary(max_size=4), st.integers(),
                 st.floats(allow_nan=True, allow_infinity=True), st.lists(st.floats(), max_size=5))
nums = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6),
                 st.sampled_from(["12", "x", None]))
boxes = st.one_of(st.builds(Box, nums, nums, nums, nums), st.tuples(nums, nums, nums, nums), junk)


@FAST
@given(st.lists(st.builds(OcrWord, st.one_of(st.text(max_size=8), junk), nums, boxes),
                max_size=20), st.integers(1, 3000), st.integers(1, 3000))
def test_engine_answers_come_out_clean(raw, width, height):
    out, note = checked_words(raw, width, height, "eng")
    assert len(out) <= len(raw) and (note is None) == (len(out) == len(raw) and all(
        isinstance(r.text, str) and r.text == o.text for r, o in zip(raw, out)) and note is None)
    for w in out:
        assert isinstance(w.text, str) and w.text
        assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in w.text)
        assert w.text == w.text.strip()
        assert 0 <= w.conf <= 100
        b = w.box
        assert all(math.isfinite(v) for v in (b.x0, b.y0, b.x1, b.y1))
        assert 0 <= b.x0 < b.x1 <= width and 0 <= b.y0 < b.y1 <= height
        w.text.encode("utf-8")  # no lone surrogates: every output format can hold it


@given(junk)
def test_an_answer_that_is_not_a_list_raises_engine_error_or_is_empty(raw):
    try:
        out, _ = checked_words(raw, 10, 10, "eng")
    except EngineError:
        return
    assert all(isinstance(w, OcrWord) for w in out)


# -- the grid over a region ------------------------------------------------------------------


@given(w=st.floats(50, 3000), h=st.floats(50, 3000), rot=st.sampled_from([0, 90, 180, 270]),
       dpi=st.sampled_from([72, 150, 300]), tile=st.integers(100, 1600),
       frac=st.floats(0, 0.45), r=st.tuples(*[st.floats(-0.2, 1.2)] * 4),
       fx=st.floats(0, 1), fy=st.floats(0, 1))
@settings(max_examples=200, deadline=None)
def test_a_grid_within_a_region_covers_it_and_stays_on_the_page(w, h, rot, dpi, tile, frac, r,
                                                                 fx, fy):
    frame = PageFrame(w, h, rot)
    W, H = view_size_px(frame, dpi)
    x0, x1 = sorted((int(r[0] * W), int(r[2] * W)))
    y0, y1 = sorted((int(r[1] * H), int(r[3] * H)))
    tiles = grid(1, frame, dpi, tile, int(tile * frac), within=(x0, y0, x1, y1))
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        assert tiles == []
        return
    sizes = {t.size_px for t in tiles}
    assert len(sizes) == 1
    for t in tiles:
        a, b, c, d = t.rect_px
        assert cx0 <= a < c <= cx1 and cy0 <= b < d <= cy1
    px, py = cx0 + fx * (cx1 - cx0), cy0 + fy * (cy1 - cy0)
    assert any(t.rect_px[0] <= px <= t.rect_px[2] and t.rect_px[1] <= py <= t.rect_px[3]
               for t in tiles)


# -- what the long fuzz run found (bench/README-fuzz.md) ------------------------------------


@pytest.mark.parametrize("text", [
    "\t!!timestamp",                          # atheris: AttributeError inside PyYAML
    "patterns:\n  - !!int abc\n", "patterns:\n  - !!bool x\n",
    "patterns:\n  - {text: A, min_score: !!float x}\n",
    "patterns:\n  - {text: A, min_score: 2001-13-45}\n",
])
def test_fuzz_findings_are_catalog_errors(text):
    _parse(text)


def test_a_code_that_looks_like_an_impossible_date_is_a_code():
    assert parse_catalog("patterns:\n  - 2001-13-45\n  - text: 2024-02-30\n").ids == [
        "2001-13-45", "2024-02-30"]


@pytest.mark.parametrize("data", [b"\xff\xfeT\x00a\x00g\x00\n\x00A\x00>",    # odd length
                                  b"\xff\xfeT\x00a\x00g\x00\n\x00\x00\xd8A\x00"])  # lone surrogate
def test_broken_utf16_code_list_is_a_catalog_error(tmp_path, data):
    from locator.catalog import load_codes

    (tmp_path / "c.csv").write_bytes(data)
    with pytest.raises(CatalogError, match=r"c.csv line 2: starts like UTF-16 .*not valid"):
        load_codes(tmp_path / "c.csv", column="Tag")


@pytest.mark.parametrize("encoding", ["undefined", "idna", "unicode_escape", "utf_32", "rot13"])
def test_odd_encodings_of_a_code_list_are_catalog_errors(tmp_path, encoding):
    from locator.catalog import load_codes

    (tmp_path / "c.csv").write_bytes(b"Tag\nA\\x\n\xff\xfe")
    with pytest.raises(CatalogError, match="c.csv"):
        load_codes(tmp_path / "c.csv", column="Tag", encoding=encoding)


@pytest.mark.parametrize("victim,junk", [("xl/worksheets/sheet1.xml", b"<not xml"),
                                         ("xl/workbook.xml", b""),
                                         ("xl/workbook.xml", b"<?xml version='1.0'?><a/>"),
                                         ("[Content_Types].xml", b"<not xml"),
                                         ("xl/styles.xml", b"")])
def test_a_damaged_xlsx_code_list_is_a_catalog_error(tmp_path, victim, junk):
    import zipfile

    import openpyxl

    from locator.catalog import load_codes

    wb = openpyxl.Workbook()
    wb.active.append(["Tag"])
    wb.active.append(["A-1"])
    wb.save(tmp_path / "ok.xlsx")
    src = zipfile.ZipFile(tmp_path / "ok.xlsx")
    with zipfile.ZipFile(tmp_path / "bad.xlsx", "w") as z:
        for n in src.namelist():
            z.writestr(n, junk if n == victim else src.read(n))
    with pytest.raises(CatalogError, match="bad.xlsx: not a readable .xlsx workbook"):
        load_codes(tmp_path / "bad.xlsx", column="Tag")


@pytest.mark.parametrize("text", ["\r", "\t\n", " \r\n "])
def test_a_word_of_white_space_alone_is_dropped(text):
    """Found by the hypothesis run above: an engine's "\\r" came out as a word with no text."""
    out, note = checked_words([OcrWord(text, 90.0, Box(0, 0, 5, 5))], 10, 10, "eng")
    assert out == [] and note is not None and "dropped" in note
