"""``locate eval`` on hand-made tables and ``locate tune`` on a small generated page."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest

from locator.cli import main
from locator.errors import UsageError
from locator.model import HIT_COLUMNS
from locator.tune import (TILED, WHOLE, WHOLE_ROT, Config, Outcome, baseline_configs,
                          make_grid, parse_engines, parse_numbers, parse_sets, recommend,
                          tree_rss_kib, whole_page_tile)
from tests.conftest import draw_codes, write_catalog

TRUTH_COLUMNS = ["pattern_id", "label", "matched", "page", "x0", "y0", "x1", "y1",
                 "size_pt", "angle", "on_seam"]


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def _truth_rows(rows):
    return pd.DataFrame([{"pattern_id": m, "label": lb, "matched": m, "page": p, "x0": x0,
                          "y0": y0, "x1": x1, "y1": y1, "size_pt": 6.0, "angle": 0,
                          "on_seam": False} for m, lb, p, x0, y0, x1, y1 in rows],
                        columns=TRUTH_COLUMNS)


def _hit_rows(rows):
    return pd.DataFrame([{"pattern_id": m, "label": lb, "matched": m, "text": text,
                          "score": 100.0, "page": p, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                          "engine": "tesseract", "conf": 90.0, "source": "ocr", "angle": 0}
                         for m, lb, text, p, x0, y0, x1, y1 in rows], columns=HIT_COLUMNS)


@pytest.fixture
def tables(tmp_path):
    """Truth: 4 codes (3 instruments, 1 valve). Hits: 3 right, one duplicate, one
    unknown code, one in the wrong place. So tp 3, fp 3, fn 1."""
    truth = _truth_rows([("FIC-101", "instrument", 1, 10, 10, 40, 18),
                         ("PT-2034", "instrument", 1, 100, 10, 130, 18),
                         ("LT-3307", "instrument", 2, 10, 50, 40, 58),
                         ("XV-0805", "valve", 1, 200, 200, 230, 208)])
    hits = _hit_rows([("FIC-101", "instrument", "FIC-101", 1, 10.5, 10, 40.5, 18),
                      ("FIC-101", "instrument", "FIC-1O1", 1, 11, 10, 41, 18),    # duplicate
                      ("PT-2034", "instrument", "PT-2034", 1, 100, 10, 130, 18),
                      ("LT-3307", "instrument", "LT-3307", 2, 10, 50, 40, 58),
                      ("ZZ-9999", "instrument", "ZZ-9999", 1, 300, 300, 330, 308),  # code
                      ("XV-0805", "valve", "XV-O805", 1, 400, 400, 430, 408)])      # box
    t, h = tmp_path / "truth.csv", tmp_path / "hits.csv"
    truth.to_csv(t, index=False)
    hits.to_csv(h, index=False)
    return h, t


# ------------------------------------------------------------------ eval

def test_eval_prints_overall_per_label_per_pattern_misses_and_false_hits(capsys, tables):
    h, t = tables
    code, out, err = run_cli(capsys, "eval", h, "--truth", t)
    assert code == 0, err
    # tp 3, fp 3, fn 1: P 0.5, R 0.75, F1 0.6
    assert "precision 0.500  recall 0.750  F1 0.600" in out
    assert "tp 3, fp 3, fn 1" in out
    assert "per label" in out and "per pattern" in out
    lines = out.splitlines()

    def row(key):
        return next(ln.split() for ln in lines if ln.split()[:1] == [key])

    # label: truth hits tp fp fn P R F1
    assert row("instrument") == ["instrument", "3", "5", "3", "2", "0", "0.600", "1.000", "0.750"]
    assert row("valve") == ["valve", "1", "1", "0", "1", "1", "0.000", "0.000", "0.000"]
    assert row("ZZ-9999")[1:6] == ["0", "1", "0", "1", "0"]
    assert row("FIC-101")[1:6] == ["1", "2", "1", "1", "0"]
    assert "misses (1):" in out
    assert re.search(r"p1\s+'XV-0805'\s+\(200\.0, 200\.0, 230\.0, 208\.0\)\s+\[box\]", out)
    assert "false hits (3):" in out
    assert "read 'FIC-1O1'" in out and "[duplicate]" in out
    assert "'ZZ-9999'" in out and "[code]" in out


def test_eval_writes_xlsx_and_csv_reports(capsys, tables, tmp_path):
    h, t = tables
    xlsx = tmp_path / "out" / "report.xlsx"
    code, _, err = run_cli(capsys, "eval", h, "-t", t, "-o", xlsx)
    assert code == 0, err
    assert set(openpyxl.load_workbook(xlsx).sheetnames) >= {"Summary", "PerLabel", "PerPattern",
                                                              "Misses", "FalseHits"}
    assert "report.xlsx" in err
    csv = tmp_path / "report.csv"
    code, _, err = run_cli(capsys, "eval", h, "-t", t, "-o", csv)
    assert code == 0, err
    df = pd.read_csv(csv)
    overall = df[df["pattern_id"] == "(overall)"].iloc[0]
    assert (overall.tp, overall.fp, overall.fn) == (3, 3, 1)
    assert overall.f1 == pytest.approx(0.6)


def test_eval_reads_json_hits_and_perfect_score(capsys, tmp_path, tables):
    _, t = tables
    truth = pd.read_csv(t)
    hits = truth.assign(text=truth["matched"])
    j = tmp_path / "hits.json"
    hits.to_json(j, orient="records")
    code, out, err = run_cli(capsys, "eval", j, "--truth", t, "--max-rows", "0")
    assert code == 0, err
    assert "precision 1.000  recall 1.000  F1 1.000" in out
    assert "misses: none" in out and "false hits: none" in out


@pytest.mark.parametrize("case, want", [
    ("no-truth-option", 2), ("truth-missing", 3), ("hits-missing", 3), ("bad-suffix", 2),
    ("bad-columns", 3), ("bad-iou", 2), ("unwritable", 8),
])
def test_eval_errors_exit_codes(capsys, tables, tmp_path, case, want):
    h, t = tables
    args = {"no-truth-option": ["eval", h],
            "truth-missing": ["eval", h, "-t", tmp_path / "nope.csv"],
            "hits-missing": ["eval", tmp_path / "nope.csv", "-t", t],
            "bad-suffix": ["eval", h, "-t", t, "-o", tmp_path / "r.json"],
            "bad-columns": ["eval", h, "-t", tmp_path / "bad.csv"],
            "bad-iou": ["eval", h, "-t", t, "--iou", "1.5"],
            "unwritable": ["eval", h, "-t", t, "-o", tmp_path / "ro" / "r.csv"]}[case]
    (tmp_path / "bad.csv").write_text("code,where\nFIC-101,1\n")
    if case == "unwritable":
        (tmp_path / "ro").write_text("a file, not a folder")
    code, out, err = run_cli(capsys, *args)
    assert code == want, err
    assert "Traceback" not in err
    assert err.strip()  # one line naming the problem


# ------------------------------------------------------------------ the grid (no OCR)

def test_parse_numbers_and_engines():
    assert parse_numbers("1600, 1200,1600", "--tiles") == (1200, 1600)
    assert parse_numbers("200,300.5", "--dpis", float) == (200.0, 300.5)
    with pytest.raises(UsageError, match="--tiles"):
        parse_numbers("12x", "--tiles")
    with pytest.raises(UsageError):
        parse_numbers(" , ", "--tiles")
    assert parse_engines("tesseract") == (("tesseract",),)
    with pytest.raises(UsageError, match="unknown engine"):
        parse_engines("nosuchocr")


def test_make_grid_skips_overlaps_not_smaller_than_the_tile():
    g = make_grid(tiles=(300, 1600), overlaps=(200, 400), dpis=(200.0,),
                  engines=(("tesseract",),), rotations=(0, 90))
    assert [(c.tile, c.overlap) for c in g] == [(300, 200), (1600, 200), (1600, 400)]
    assert all(c.kind == TILED and c.rotations == (0, 90) for c in g)
    with pytest.raises(UsageError, match="empty"):
        make_grid(tiles=(200,), overlaps=(200,))
    thorough = make_grid(tiles=(1600,), rotated_regions=False)[0]
    assert "thorough" in thorough.name and thorough.options().endswith("--thorough-rotations")
    assert thorough.settings_kwargs()["rotated_regions"] is False


def test_whole_page_baseline_is_one_tile_holding_the_page(tmp_path):
    pdf = tmp_path / "p.pdf"
    draw_codes(pdf, [("FIC-101", 40, 60, 9, 0)], width=420, height=300, rotation=90)
    # 420 pt at 150 dpi = 875 px: the longer side, whatever the /Rotate
    assert whole_page_tile(pdf, 150) == 875
    grid = make_grid(tiles=(400, 600), overlaps=(100,), dpis=(150.0,), rotations=(0, 90, 270))
    b = baseline_configs(pdf, grid, mode="both")
    assert [(c.kind, c.tile, c.overlap, c.rotations) for c in b] == [
        (WHOLE, 875, 0, (0,)), (WHOLE_ROT, 875, 0, (0, 90, 270))]
    for c in b:  # the page image read as it is, the whole page turned for vertical text
        kw = c.settings_kwargs()
        assert (kw["text_regions"], kw["clean"], kw["rotated_regions"]) == (False, False, False)
    assert grid[0].settings_kwargs().get("text_regions", True) is True
    assert baseline_configs(pdf, grid, mode="none") == []
    from locator.documents import Document
    from locator.tiling import grid as tile_grid

    with Document(pdf) as d:
        assert len(tile_grid(1, d.frame(1), 150, b[0].tile, b[0].overlap)) == 1


def test_parse_sets_types_and_checks_settings():
    assert parse_sets(["glyph_px=40", "clean=false", "source=ocr"]) == {
        "glyph_px": 40.0, "clean": False, "source": "ocr"}
    g = make_grid(tiles=(1600,), extra=parse_sets(["clean=no"]))[0]
    assert g.settings_kwargs()["clean"] is False and "clean=False" in g.name
    for bad, msg in [("glyph_px", "NAME=VALUE"), ("nosuch=1", "unknown setting"),
                     ("clean=maybe", "not a bool"), ("tile=800", "own option"),
                     ("source=paper", "source")]:
        with pytest.raises(UsageError, match=msg):
            parse_sets([bad])


def test_recommend_highest_f1_then_fastest():
    c = Config(dpi=200.0, tile=1600, overlap=200, engine=("tesseract",), rotations=(0,))
    slow = Outcome(c, f1=0.9804, seconds=20.0)
    fast = Outcome(c, f1=0.9801, seconds=10.0)   # the same F1 to three decimals
    worse = Outcome(c, f1=0.95, seconds=1.0)
    failed = Outcome(c, error="boom", exit_code=7)
    assert recommend([slow, worse, fast, failed]) is fast
    assert recommend([failed]) is None


def test_tree_rss_counts_this_process():
    import os

    assert tree_rss_kib(os.getpid()) > 1000


# ------------------------------------------------------------------ tune, for real

CODES = [("FIC-101", 40, 60, 10, 0), ("PT-2034", 230, 150, 9, 0),
         ("AB-12345-C", 60, 240, 10, 0), ("TIC-7781", 380, 250, 10, 90)]


@pytest.fixture
def page(tmp_path):
    pytest.importorskip("locator.match")
    pdf = tmp_path / "page.pdf"
    truth = draw_codes(pdf, CODES, width=420, height=300)
    rows = [(k, "instrument", 1, b.x0, b.y0, b.x1, b.y1) for k, b in truth.items()]
    t = tmp_path / "truth.csv"
    _truth_rows(rows).to_csv(t, index=False)
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for c in CODES])
    return pdf, cat, t


def test_tune_two_point_grid_with_baseline(capsys, tmp_path, page):
    pdf, cat, t = page
    out_csv = tmp_path / "tune.csv"
    code, out, err = run_cli(capsys, "tune", pdf, "-p", cat, "-t", t, "--tiles", "500,700",
                             "--overlaps", "150", "--dpis", "150", "--rotations", "0,90",
                             "--workers", "1", "--set", "source=ocr", "-o", out_csv)
    assert code == 0, err
    df = pd.read_csv(out_csv)
    assert list(df["kind"]) == [WHOLE, TILED, TILED]
    assert list(df["tile"]) == [875, 500, 700]
    assert df.loc[0, "rotations"] == "0"
    assert (df["settings"] == "source=ocr").all()  # OCR, not the page's text layer
    for col in ("precision", "recall", "f1"):
        assert df[col].between(0, 1).all(), df[col]
    assert (df["seconds"] > 0).all() and (df["peak_mb"] > 20).all()
    assert (df["tp"] + df["fn"] == len(CODES)).all()
    assert df["recommended"].sum() == 1
    best = df[df["recommended"]].iloc[0]
    assert best.f1 == df["f1"].max()
    # the rotated code needs the 90-degree reading: the tiled rows find it, upright cannot
    assert df.loc[1:, "recall"].min() == 1.0 and df.loc[0, "recall"] <= 0.75
    assert "recommended (highest F1, then fastest)" in out
    assert "whole page" in out and "--tile" in out
    assert out.count("tesseract") >= 3          # three rows in the printed table
    assert "[1/3]" in err and "[3/3]" in err


@pytest.mark.parametrize("case, want", [("no-truth", 2), ("bad-catalog", 5), ("empty-grid", 2),
                                        ("bad-engine", 2), ("missing-doc", 3), ("bad-o", 2)])
def test_tune_fails_fast_before_any_ocr(capsys, tmp_path, page, case, want):
    pdf, cat, t = page
    bad = tmp_path / "bad.yaml"
    bad.write_text("patterns: [\n")
    base = ["tune", pdf, "-p", cat, "-t", t, "--dpis", "150"]
    args = {"no-truth": ["tune", pdf, "-p", cat],
            "bad-catalog": ["tune", pdf, "-p", bad, "-t", t],
            "empty-grid": [*base, "--tiles", "300", "--overlaps", "300"],
            "bad-engine": [*base, "--engines", "nosuchocr"],
            "missing-doc": ["tune", tmp_path / "nope.pdf", "-p", cat, "-t", t],
            "bad-o": [*base, "-o", tmp_path / "t.txt"]}[case]
    code, out, err = run_cli(capsys, *args)
    assert code == want, err
    assert "[1/" not in err  # nothing was run


def test_tune_every_configuration_failing_is_an_error(capsys, page):
    pdf, cat, t = page
    code, out, err = run_cli(capsys, "tune", pdf, "-p", cat, "-t", t, "--tiles", "600",
                             "--dpis", "150", "--baseline", "none", "--timeout", "0.001")
    assert code == 1
    assert "every configuration failed" in err and "timed out" in err
