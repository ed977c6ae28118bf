"""Tests for the sample generator (samples/make_samples.py).

Runs the script for a small sheet (A3) into a temporary directory and checks
the ground truth, the scan and the catalogs; then that a seed reproduces its
files byte for byte, and that the committed samples still match the generator.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pymupdf
import pytest
import yaml

from locator.geometry import Box, PageFrame
from locator.tiling import grid

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "samples" / "make_samples.py"
sys.path.insert(0, str(REPO / "samples"))

import make_samples  # noqa: E402
from samplegen.drawing import CODE_COUNT, confusable  # noqa: E402

SEED = 3


def run(out: Path, *args: str) -> None:
    """The generator as a user runs it: a subprocess, no PYTHONPATH, an A3 sheet."""
    subprocess.run([sys.executable, str(SCRIPT), "--size", "A3", "--seed", str(SEED),
                    "--out", str(out), *args], check=True, capture_output=True, cwd=out)


def run_here(out: Path, *args: str) -> None:
    """The same in this process: spares the interpreter start and the imports (~2 s)."""
    assert make_samples.main(["--out", str(out), *args]) == 0


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def box(row: dict) -> Box:
    return Box(*(float(row[k]) for k in ("x0", "y0", "x1", "y1")))


@pytest.fixture(scope="module")
def a3(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("a3")
    run_here(out, "--size", "A3", "--seed", str(SEED), "--scan-dpi", "200", "--symbols")
    return out


@pytest.fixture(scope="module")
def truth(a3) -> list[dict]:
    return read_csv(a3 / "drawing-a3.truth.csv")


@pytest.fixture(scope="module")
def page(a3):
    doc = pymupdf.open(a3 / "drawing-a3.pdf")
    yield doc[0]
    doc.close()


def test_writes_every_file(a3):
    names = {p.relative_to(a3).as_posix() for p in a3.rglob("*") if p.is_file()}
    assert names == {
        "drawing-a3.pdf", "drawing-a3.truth.csv", "drawing-a3-scan200.pdf", "sample-a3.yaml",
        "symbols-a3.pdf", "symbols-a3.truth.csv", "symbols-a3-scan200.pdf", "symbols.yaml",
        "symbols/filled_triangle.png", "symbols/empty_triangle.png",
        "symbols/up_arrow.png", "symbols/down_arrow.png"}


def test_truth_columns_and_count(truth):
    assert list(truth[0]) == ["pattern_id", "label", "matched", "page", "x0", "y0", "x1", "y1",
                              "size_pt", "angle", "on_seam"]
    assert len(truth) == CODE_COUNT["A3"]
    assert {r["label"] for r in truth} == {"instrument", "part", "valve"}
    assert all(r["pattern_id"] == r["matched"] and r["page"] == "1" for r in truth)
    assert all(4.5 <= float(r["size_pt"]) <= 8.0 for r in truth)


def test_truth_boxes_on_page_and_apart(truth, page):
    w, h = page.rect.width, page.rect.height
    boxes = [box(r) for r in truth]
    for b in boxes:
        assert 0 <= b.x0 < b.x1 <= w and 0 <= b.y0 < b.y1 <= h
    for i, a in enumerate(boxes):
        assert all(a.distance(b) > 8.0 for b in boxes[i + 1:])  # >= 2 x 4.5 pt


def test_truth_is_what_the_text_layer_says(truth, page):
    """Re-read each box independently of the generator: the words in it are the code."""
    for r in truth:
        b = box(r).grow(0.5)
        words = page.get_text("words", clip=pymupdf.Rect(b.x0, b.y0, b.x1, b.y1))
        got = sorted(words, key=(lambda w: w[0]) if r["angle"] == "0" else (lambda w: -w[3]))
        assert " ".join(w[4] for w in got) == r["matched"]
        union = Box.union_all([Box(*w[:4]) for w in got])
        assert union.iou(box(r)) > 0.999


def test_codes_unique_and_not_confusable(truth):
    codes = [r["matched"] for r in truth]
    assert len(set(codes)) == len(codes)
    for i, a in enumerate(codes):
        assert not any(confusable(a, b) for b in codes[i + 1:]), a


def test_about_twelve_percent_rotated(truth):
    rotated = [r for r in truth if r["angle"] == "90"]
    assert {r["angle"] for r in truth} == {"0", "90"}
    assert 0.08 <= len(rotated) / len(truth) <= 0.16
    for r in rotated:  # rotated boxes stand upright
        assert box(r).height > box(r).width


def _cut_and_holding(b: Box, tiles):
    def holds(c):
        return c.x0 <= b.x0 and c.y0 <= b.y0 and b.x1 <= c.x1 and b.y1 <= c.y1
    cut = [t for t in tiles if b.intersection_area(t.clip) > 0 and not holds(t.clip)]
    return cut, [t for t in tiles if holds(t.clip)]


def test_codes_on_seams(truth, page):
    frame = PageFrame(page.rect.width, page.rect.height)
    flags = [int(r["on_seam"]) for r in truth]
    assert sum(1 for f in flags if f) >= 8
    for dpi, bit in ((300, 1), (200, 2)):
        tiles = grid(1, frame, dpi, 1600, 200)
        nowhere = []
        for r, f in zip(truth, flags):
            cut, holding = _cut_and_holding(box(r), tiles)
            assert bool(cut) == bool(f & bit), r["matched"]
            if cut and not holding:
                nowhere.append(r)
        assert sum(1 for f in flags if f & bit) >= 4
        # Exactly the two long valve tags are cut in every tile, and only at 300 dpi.
        assert len(nowhere) == (2 if dpi == 300 else 0)
        assert all(box(r).width > 48 for r in nowhere)


def test_scan_is_image_only_and_same_size(a3, page, truth):
    doc = pymupdf.open(a3 / "drawing-a3-scan200.pdf")
    scan = doc[0]
    assert len(doc) == 1
    assert scan.rect == page.rect
    assert scan.get_text("words") == []
    assert scan.get_images()
    # The truth applies unchanged: each code's box is darker than the paper
    # around it.
    for r in truth[:10]:
        b = box(r)
        pix = scan.get_pixmap(dpi=200, clip=pymupdf.Rect(b.x0, b.y0, b.x1, b.y1),
                              colorspace=pymupdf.csGRAY)
        assert min(pix.samples) < 120, r["matched"]


def test_catalog(a3, truth):
    cat = yaml.safe_load((a3 / "sample-a3.yaml").read_text())
    assert cat["defaults"] == {"min_score": 85}
    literals = {p["id"]: p for p in cat["patterns"] if "text" in p}
    assert set(literals) == {r["matched"] for r in truth}
    assert all(p["text"] == p["id"] for p in literals.values())
    [regex] = [p for p in cat["patterns"] if "regex" in p]
    parts = {r["matched"] for r in truth if r["label"] == "part"}
    assert {c for c in literals if re.fullmatch(regex["regex"], c)} == parts


def test_symbols_sheet(a3):
    rows = read_csv(a3 / "symbols-a3.truth.csv")
    names = ["filled_triangle", "empty_triangle", "up_arrow", "down_arrow"]
    assert sorted({r["label"] for r in rows}) == sorted(names)
    assert all(sum(r["label"] == n for r in rows) == 16 for n in names)
    assert all(r["pattern_id"] == r["label"] == r["matched"] for r in rows)
    assert {float(r["size_pt"]) for r in rows} == {6.0, 8.0, 12.0, 16.0}
    assert {r["angle"] for r in rows if "triangle" in r["label"]} == {"0", "90", "180", "270"}
    page = pymupdf.open(a3 / "symbols-a3.pdf")[0]
    for r in rows:
        b = box(r)
        assert 0 <= b.x0 < b.x1 <= page.rect.width and 0 <= b.y0 < b.y1 <= page.rect.height
    cat = yaml.safe_load((a3 / "symbols.yaml").read_text())
    for p in cat["patterns"]:
        assert (a3 / p["symbol"]).is_file()


def test_runs_as_a_script(a3, tmp_path):
    """From any directory, without PYTHONPATH; a fresh process makes the same truth."""
    run(tmp_path, "--no-scan", "--no-check")
    for name in ("drawing-a3.pdf", "drawing-a3.truth.csv", "sample-a3.yaml"):
        assert (tmp_path / name).read_bytes() == (a3 / name).read_bytes(), name


def test_same_seed_same_bytes(a3, tmp_path):
    run_here(tmp_path, "--size", "A3", "--seed", str(SEED), "--scan-dpi", "200", "--symbols")
    for f in a3.rglob("*"):
        if f.is_file():
            assert (tmp_path / f.relative_to(a3)).read_bytes() == f.read_bytes(), f.name


def test_committed_samples_are_reproducible(tmp_path):
    """The committed A2 / A0 truth and catalogs are what the generator makes now."""
    for size, seed in (("A2", 2), ("A0", 0)):
        run_here(tmp_path, "--size", size, "--seed", str(seed), "--no-scan", "--no-check")
        tag = size.lower()
        assert (tmp_path / f"drawing-{tag}.truth.csv").read_text() == \
            (REPO / "samples" / f"drawing-{tag}.truth.csv").read_text()
        assert (tmp_path / f"sample-{tag}.yaml").read_text() == \
            (REPO / "patterns" / f"sample-{tag}.yaml").read_text()
