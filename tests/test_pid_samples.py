"""Tests for the generated P&ID sheets (``samples/make_samples.py --pid``).

An A3 sheet is generated once into a temporary directory (born-digital, and
grey and colour scans at 200 dpi); the tests check that a seed reproduces it
byte for byte, that its truth is what its own text layer says, that every
feature of real P&IDs it is meant to have is there (checked on the drawing
itself, not on the generator's say-so), the scans' size and colour mode, and
that locator reading the text layer finds every single-word code in place.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pymupdf
import pytest
import yaml

import locator
from locator.geometry import Box, PageFrame
from locator.tiling import view_size_px

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "samples"))

import make_samples  # noqa: E402
from samplegen.pidtruth import FEATURES, PID_COLUMNS  # noqa: E402
from samplegen.truth import CSV_COLUMNS  # noqa: E402

SEED = 4
SHAPES = {"circle", "circle-bar", "box", "hexagon", "diamond"}


def generate(out: Path, *args: str) -> None:
    assert make_samples.main(["--pid-only", "--size", "A3", "--seed", str(SEED),
                              "--out", str(out), *args]) == 0


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def box(row: dict, prefix: str = "") -> Box:
    return Box(*(float(row[prefix + k]) for k in ("x0", "y0", "x1", "y1")))


def contains(outer: Box, inner: Box) -> bool:
    return (outer.x0 <= inner.x0 and outer.y0 <= inner.y0 and inner.x1 <= outer.x1
            and inner.y1 <= outer.y1)


def close(a: Box, b: Box, tol: float) -> bool:
    return all(abs(p - q) <= tol for p, q in zip((a.x0, a.y0, a.x1, a.y1),
                                                  (b.x0, b.y0, b.x1, b.y1)))


@pytest.fixture(scope="module")
def a3(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pid")
    generate(out, "--scan-dpi", "200")
    return out


@pytest.fixture(scope="module")
def truth(a3) -> list[dict]:
    return read_csv(a3 / "pid-a3.truth.csv")


@pytest.fixture(scope="module")
def page(a3):
    doc = pymupdf.open(a3 / "pid-a3.pdf")
    yield doc[0]
    doc.close()


def test_writes_every_file(a3):
    assert {p.name for p in a3.iterdir()} == {
        "pid-a3.pdf", "pid-a3.truth.csv", "pid-a3.yaml",
        "pid-a3-scan200-grey.pdf", "pid-a3-scan200-colour.pdf"}


def test_same_seed_same_bytes(a3, tmp_path):
    generate(tmp_path, "--scan-dpi", "200")
    for f in a3.iterdir():
        assert (tmp_path / f.name).read_bytes() == f.read_bytes(), f.name


def test_another_seed_another_sheet(a3, tmp_path):
    assert make_samples.main(["--pid-only", "--size", "A3", "--seed", str(SEED + 1),
                              "--out", str(tmp_path), "--no-scan"]) == 0
    assert (tmp_path / "pid-a3.truth.csv").read_text() != (a3 / "pid-a3.truth.csv").read_text()


def test_columns_extend_the_drawing_truth(truth):
    assert list(truth[0]) == PID_COLUMNS
    assert PID_COLUMNS[:len(CSV_COLUMNS)] == CSV_COLUMNS


def test_every_truth_box_is_the_text_layer_box(truth, page):
    """Re-read independently of the generator: the words in each box are its code."""
    words = page.get_text("words")

    def at(b: Box) -> list[tuple]:
        return [w for w in words if b.grow(0.5).contains_point((w[0] + w[2]) / 2,
                                                                (w[1] + w[3]) / 2)]

    for r in truth:
        if r["feature"] == "bubble":
            continue  # its box is the outline's, checked below
        [w] = at(box(r))
        assert w[4] == r["matched"]
        assert close(Box(*w[:4]), box(r), 0.5), r["matched"]
    for r in (r for r in truth if r["feature"] in ("bubble", "loop")):
        for part in ("letters", "number"):
            [w] = at(box(r, part + "_"))
            assert w[4] == r[part] and close(Box(*w[:4]), box(r, part + "_"), 0.5)
        assert r["tag"] == f"{r['letters']}-{r['number']}"
        outline = box(r, "bubble_")
        for part in ("letters_", "number_"):  # inside; the digits may touch the outline
            assert outline.contains_point(*box(r, part).center)
            assert box(r, part).width < outline.width + 1.0
    for r in (r for r in truth if r["feature"] == "bubble"):
        assert r["matched"] == r["tag"] and close(box(r), box(r, "bubble_"), 1e-9)


def test_bubble_boxes_are_their_outlines(truth, page):
    """Each bubble's box is the extent of a drawn outline there; a bar where the shape says."""
    paths = page.get_drawings()
    for r in (r for r in truth if r["feature"] == "bubble"):
        b = box(r)
        inside = [p for p in paths if contains(b.grow(0.5), Box(*p["rect"]))]
        assert any(close(Box(*p["rect"]).grow(p["width"] / 2), b, 0.3) for p in inside), \
            r["matched"]
        kinds = [it[0] for p in inside for it in p["items"]]
        if r["shape"] in ("circle", "circle-bar", "box"):
            assert "c" in kinds, r["matched"]  # the circle is drawn with curves
        if r["shape"] == "circle-bar":
            bars = [it for p in inside for it in p["items"] if it[0] == "l"
                    and _is_bar(it, b, r["angle"])]
            assert bars, r["matched"]


def _is_bar(item, b: Box, angle: str) -> bool:
    (_, p, q) = item
    if angle == "0":
        return abs(p.y - q.y) < 0.01 and abs(p.x - q.x) > 0.8 * b.width
    return abs(p.x - q.x) < 0.01 and abs(p.y - q.y) > 0.8 * b.height


def test_every_feature_occurs(truth, page):
    feats = {r["feature"] for r in truth}
    assert feats == set(FEATURES)
    bubbles = [r for r in truth if r["feature"] == "bubble"]
    assert {r["shape"] for r in bubbles} == SHAPES
    assert {r["shape"] for r in bubbles if r["angle"] == "0"} == SHAPES
    assert {r["angle"] for r in bubbles} == {"0", "90", "270"}
    # both numbering styles: FIC over F0001 and TI over 96101-01
    assert any(r["number"][0].isalpha() for r in bubbles)
    assert any(r["number"][0].isdigit() and "-" in r["number"] for r in bubbles)
    by = {f: [r for r in truth if r["feature"] == f] for f in FEATURES}
    assert {r["angle"] for r in by["valve"]} == {"0", "90"}
    for r in (r for r in by["valve"] if r["angle"] == "90"):
        b = box(r)  # turned valve tags are narrow and tall: 5 pt wide, 12+ pt tall
        assert b.width < 7.5 and b.height > 11
    for f in ("line", "line-on-pipe"):
        assert {r["angle"] for r in by[f]} == {"0", "90"}
        assert all(len(r["matched"]) >= 20 for r in by[f])
    assert all(len(r["matched"]) == 2 for r in by["nozzle"])
    assert [float(r["size_pt"]) for r in by["title"]] == [31.0]
    assert min(float(r["size_pt"]) for r in by["title-small"]) == 3.0
    assert max(float(r["size_pt"]) for r in by["equipment"]) > 9


def _near(paths, b: Box, d: float):
    return [p for p in paths if Box(*p["rect"]).distance(b) <= d]


def test_text_touches_line_art_as_on_real_sheets(truth, page):
    """Valve tags beside a bow-tie, line numbers on or along a pipe, hatching by its tag."""
    paths = page.get_drawings()
    for r in truth:
        b, f = box(r), r["feature"]
        if f == "valve":  # the bow-tie: a filled 4-line polygon within 3 pt of the tag
            assert any(p["type"] == "fs" and [it[0] for it in p["items"]] == ["l"] * 4
                       for p in _near(paths, b, 3.0)), r["matched"]
        elif f in ("line", "line-on-pipe"):
            assert _pipe_along(paths, b, float(r["size_pt"]), r["angle"] == "90",
                               inline=f == "line-on-pipe"), r["matched"]
        elif f == "hatch":  # a 4-sided outline within 3 pt, filled with 45-degree lines
            outlines = [Box(*p["rect"]) for p in _near(paths, b, 3.0)
                        if [it[0] for it in p["items"]] in (["l"] * 4, ["re"])]
            assert any(sum(_diagonal(p) and contains(o.grow(0.1), Box(*p["rect"]))
                           for p in paths) >= 5 for o in outlines), r["matched"]
        elif f == "hexagon":
            assert any(len(p["items"]) == 6 and contains(Box(*p["rect"]), b)
                       for p in _near(paths, b, 0.0))


def _diagonal(path) -> bool:
    [it, *more] = path["items"]
    if more or it[0] != "l":
        return False
    dx, dy = it[2].x - it[1].x, it[2].y - it[1].y
    return abs(abs(dx) - abs(dy)) < 0.01 and abs(dx) > 0.5


def _pipe_along(paths, b: Box, size: float, vertical: bool, inline: bool) -> bool:
    """A straight pipe just below (right of, turned) the text, or through its ink's middle."""
    mid = (0.357 + 0.718 / 2) * size  # from the box's ascent edge to the middle of the ink
    for p in _near(paths, b, 2.5):
        for it in p["items"]:
            if it[0] != "l":
                continue
            a, z = it[1], it[2]
            if vertical and abs(a.x - z.x) < 0.01:
                if (abs(a.x - (b.x0 + mid)) < 0.5) if inline else (b.x1 < a.x < b.x1 + 2.5):
                    return True
            if not vertical and abs(a.y - z.y) < 0.01:
                if (abs(a.y - (b.y0 + mid)) < 0.5) if inline else (b.y1 < a.y < b.y1 + 2.5):
                    return True
    return False


def test_colours_of_real_sheets(page):
    """Coloured text (from the text layer) and lines (from the drawing)."""
    text = {s["color"] for b in page.get_text("dict")["blocks"] for ln in b.get("lines", ())
            for s in ln["spans"]}
    lines = {tuple(round(c, 2) for c in p["color"]) for p in page.get_drawings() if p["color"]}
    wanted = {"cyan": (0.0, 1.0, 1.0), "green": (0.0, 0.6, 0.0), "red": (1.0, 0.0, 0.0),
              "yellow-ish": (0.8, 0.6, 0.0)}
    assert all(rgb in lines for rgb in wanted.values()), lines
    assert 0x00FFFF in text and 0x009900 in text and 0xFF0000 in text


def test_scans_grey_and_colour(a3, page, truth):
    frame = PageFrame(page.rect.width, page.rect.height)
    W, H = view_size_px(frame, 200)
    for mode, n in (("grey", 1), ("colour", 3)):
        doc = pymupdf.open(a3 / f"pid-a3-scan200-{mode}.pdf")
        scan = doc[0]
        assert len(doc) == 1 and scan.rect == page.rect and scan.get_text("words") == []
        imgs = [doc.extract_image(x[0]) for x in scan.get_images()]
        assert {i["colorspace"] for i in imgs} == {n}
        assert {i["width"] for i in imgs} == {W}
        assert sum(i["height"] for i in imgs) - (len(imgs) - 1) == H  # strips share a row
    # Cyan text stays cyan in the colour scan: red absorbed, green and blue not.
    doc = pymupdf.open(a3 / "pid-a3-scan200-colour.pdf")
    cyan = [r for r in truth if r["colour"] == "#00ffff"]
    assert cyan
    for r in cyan:
        b = box(r)
        pix = doc[0].get_pixmap(dpi=200, clip=pymupdf.Rect(b.x0, b.y0, b.x1, b.y1))
        rgb = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3)
        ink = rgb[..., 0] < 150
        assert ink.any(), r["matched"]
        assert rgb[ink][:, 1].mean() > 150 and rgb[ink][:, 2].mean() > 150, r["matched"]


def test_catalog_has_composed_tags_loop_numbers_and_the_rest(a3, truth):
    cat = yaml.safe_load((a3 / "pid-a3.yaml").read_text())
    ids = [p["id"] for p in cat["patterns"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == {r["matched"] for r in truth}
    assert all(p["text"] == p["id"] for p in cat["patterns"])
    for r in (r for r in truth if r["feature"] == "bubble"):
        assert r["tag"] in ids and r["number"] in ids


def test_text_layer_read_finds_every_single_word_code_in_place(a3, truth):
    """locator on the born-digital sheet, words from its text layer: every code at its box."""
    hits = locator.locate(a3 / "pid-a3.pdf", a3 / "pid-a3.yaml", source="text",
                          engine=("tesseract",), cache=False)
    got = [(h.matched, Box(h.x0, h.y0, h.x1, h.y1)) for h in hits.itertuples()]
    single = [r for r in truth if r["feature"] != "bubble"]
    assert len(single) > 40
    missing = [r["matched"] for r in single
               if not any(m == r["matched"] and close(b, box(r), 0.5) for m, b in got)]
    assert not missing


def test_committed_pid_sample_is_reproducible(tmp_path):
    """The committed A1 sheet, truth and catalog are what the generator makes now."""
    assert make_samples.main(["--pid-only", "--size", "A1", "--seed", "1", "--no-scan",
                              "--out", str(tmp_path)]) == 0
    for name, where in (("pid-a1.truth.csv", "samples"), ("pid-a1.yaml", "patterns")):
        assert (tmp_path / name).read_bytes() == (REPO / where / name).read_bytes(), name
    # The PDF's bytes name the MuPDF version that wrote them; what is drawn must agree.
    made, kept = (pymupdf.open(d / "pid-a1.pdf")[0] for d in (tmp_path, REPO / "samples"))
    assert made.get_text("words") == kept.get_text("words")
    assert len(made.get_drawings()) == len(kept.get_drawings())


def test_pid_flag_leaves_the_drawing_as_it_was(tmp_path):
    """``--pid`` adds the P&ID sheet; the drawing beside it is the one made without it."""
    for sub, extra in (("plain", []), ("with", ["--pid"])):
        assert make_samples.main(["--size", "A3", "--seed", str(SEED), "--no-scan",
                                  "--out", str(tmp_path / sub), *extra]) == 0
    for name in ("drawing-a3.pdf", "drawing-a3.truth.csv", "sample-a3.yaml"):
        assert (tmp_path / "with" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    assert (tmp_path / "with" / "pid-a3.truth.csv").is_file()
    assert not (tmp_path / "plain" / "pid-a3.truth.csv").exists()


def test_baseline_counts_a_code_found_only_on_its_box(truth):
    """samples/pid_baseline.py's rule: same matched, hit centre within 2 pt of the box."""
    import pandas as pd

    import pid_baseline

    valve = next(r for r in truth if r["feature"] == "valve")
    b = box(valve)
    on = {"matched": valve["matched"], "x0": b.x0 + 2.5, "y0": b.y0, "x1": b.x1 + 2.5,
          "y1": b.y1}  # centre 2.5 pt right of the box's: still within 2 pt of its edge
    off = {**on, "x0": b.x1 + 4, "x1": b.x1 + 4}
    other = {**on, "matched": "AB99999"}
    per, false = pid_baseline.score(pd.DataFrame([on]), truth)
    assert per["valve"] == 1 and sum(per.values()) == 1 and false == 0
    per, false = pid_baseline.score(pd.DataFrame([off, other]), truth)
    assert sum(per.values()) == 0 and false == 2


def test_turned_sheet_same_drawing_and_truth_found_in_place(a3, tmp_path):
    """``--pid-rotation 270``: the page and its scans get /Rotate 270; words, truth boxes
    and the text-layer read are those of the upright sheet."""
    generate(tmp_path, "--scan-dpi", "200", "--pid-rotation", "270")
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {n.replace("pid-a3", "pid-a3-rot270") for n in
                     {p.name for p in a3.iterdir()}}
    upright = pymupdf.open(a3 / "pid-a3.pdf")[0]
    for name in ("pid-a3-rot270.pdf", "pid-a3-rot270-scan200-grey.pdf",
                 "pid-a3-rot270-scan200-colour.pdf"):
        page = pymupdf.open(tmp_path / name)[0]
        assert page.rotation == 270 and page.mediabox == upright.rect
    assert pymupdf.open(tmp_path / "pid-a3-rot270.pdf")[0].get_text("words") == \
        upright.get_text("words")
    turned = read_csv(tmp_path / "pid-a3-rot270.truth.csv")
    same = read_csv(a3 / "pid-a3.truth.csv")
    drop = lambda rows: [{k: v for k, v in r.items() if k != "on_seam"} for r in rows]  # noqa: E731
    assert drop(turned) == drop(same)
    hits = locator.locate(tmp_path / "pid-a3-rot270.pdf", tmp_path / "pid-a3-rot270.yaml",
                          source="text", cache=False)
    got = [(h.matched, Box(h.x0, h.y0, h.x1, h.y1)) for h in hits.itertuples()]
    assert all(any(m == r["matched"] and close(b, box(r), 0.5) for m, b in got)
               for r in turned if r["feature"] != "bubble")
