"""Scoring hits against truth: every branch of the rule, on tables with known answers."""

from __future__ import annotations

import json
import os

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from locator.errors import ExportError, InputFileError
from locator.evaluate import (OVERALL, Evaluation, derive_label, evaluate, format_report,
                              load_table, normalize_code, write_report)
from locator.model import HIT_COLUMNS

TRUTH_COLUMNS = ["pattern_id", "label", "matched", "page", "x0", "y0", "x1", "y1",
                 "size_pt", "angle", "on_seam"]


def truth(*rows) -> pd.DataFrame:
    """Rows as (matched, page, x0, y0, x1, y1[, label]) in the sample generator's format."""
    out = []
    for r in rows:
        m, page, x0, y0, x1, y1, *rest = r
        out.append({"pattern_id": m, "label": rest[0] if rest else "tag", "matched": m,
                    "page": page, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                    "size_pt": 6.0, "angle": 0, "on_seam": False})
    return pd.DataFrame(out, columns=TRUTH_COLUMNS)


def hits(*rows) -> pd.DataFrame:
    """Rows as (matched, page, x0, y0, x1, y1[, label[, text]]) with every hit column."""
    out = []
    for r in rows:
        m, page, x0, y0, x1, y1, *rest = r
        label = rest[0] if rest else "tag"
        text = rest[1] if len(rest) > 1 else m
        out.append({"pattern_id": m, "label": label, "matched": m, "text": text,
                    "score": 100.0, "page": page, "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                    "engine": "fake", "conf": 90.0, "source": "ocr", "angle": 0})
    return pd.DataFrame(out, columns=HIT_COLUMNS)


def counts(ev: Evaluation) -> tuple[int, int, int]:
    return ev.tp, ev.fp, ev.fn


T1 = ("R26", 1, 0, 0, 10, 10)  # a 10 x 10 pt truth box


# ------------------------------------------------------------ the rule, branch by branch

def test_exact_match():
    ev = evaluate(hits(T1), truth(T1))
    assert counts(ev) == (1, 0, 0)
    assert (ev.precision, ev.recall, ev.f1) == (1.0, 1.0, 1.0)
    m = ev.matches.iloc[0]
    assert (m.hit_row, m.truth_row, m.page, m.matched) == (0, 0, 1, "R26")
    assert m.iou == pytest.approx(1.0) and m.offset == pytest.approx(0.0) and m.centre_in
    assert ev.misses.empty and ev.false_hits.empty


@pytest.mark.parametrize("width, found", [(33, True), (34, False)])
def test_iou_just_above_and_below_threshold(width, found):
    # Hit (0,0,W,10) holds the truth (0,0,10,10): IoU = 10/W -> 0.303 / 0.294.
    # Its centre (W/2, 5) is beyond x = 12, outside the grown box, so only IoU decides.
    h = hits(("R26", 1, 0, 0, width, 10))
    ev = evaluate(h, truth(T1))
    assert counts(ev) == ((1, 0, 0) if found else (0, 1, 1))
    if found:
        assert ev.matches.iloc[0].iou == pytest.approx(10 / 33)
        assert not ev.matches.iloc[0].centre_in
    else:
        assert ev.false_hits.iloc[0].reason == "box"
        assert ev.misses.iloc[0].reason == "box"


def test_iou_exactly_at_threshold_counts():
    # Hit (0,0,10,10) vs truth (0,0,10,y1): IoU = 10*3 / 10*10 = 0.3 exactly; centre (5,5) is
    # outside truth (0,0,10,3) grown by 2 (y <= 5 inclusive -> inside!), so use grow=0.
    ev = evaluate(hits(("R26", 1, 0, 0, 10, 10)), truth(("R26", 1, 0, 0, 10, 3)), grow=0.0)
    assert counts(ev) == (1, 0, 0)
    ev = evaluate(hits(("R26", 1, 0, 0, 10, 10)), truth(("R26", 1, 0, 0, 10, 2.9)), grow=0.0)
    assert counts(ev) == (0, 1, 1)


def test_centre_inside_truth_box_with_low_iou():
    # A tiny hit inside a long truth box: IoU = 4/400 = 0.01, centre (19, 5) inside.
    ev = evaluate(hits(("FT-101", 1, 18, 4, 20, 6)), truth(("FT-101", 1, 0, 0, 40, 10)))
    assert counts(ev) == (1, 0, 0)
    m = ev.matches.iloc[0]
    assert m.iou == pytest.approx(0.01) and m.centre_in


def test_centre_inside_grown_margin_counts_edge_inclusive():
    # Hit (11,0,13,10) does not overlap the truth (IoU 0); its centre x = 12 = 10 + 2.
    ev = evaluate(hits(("R26", 1, 11, 0, 13, 10)), truth(T1))
    assert counts(ev) == (1, 0, 0)
    assert ev.matches.iloc[0].iou == 0.0
    # The same hit with no growth is outside.
    ev0 = evaluate(hits(("R26", 1, 11, 0, 13, 10)), truth(T1), grow=0.0)
    assert counts(ev0) == (0, 1, 1)


def test_centre_outside_grown_box():
    ev = evaluate(hits(("R26", 1, 11.5, 0, 13.5, 10)), truth(T1))  # centre x = 12.5 > 12
    assert counts(ev) == (0, 1, 1)
    assert ev.false_hits.loc[0, "reason"] == "box"
    assert ev.misses.loc[0, "reason"] == "box"


def test_right_box_wrong_page():
    ev = evaluate(hits(("R26", 2, 0, 0, 10, 10)), truth(T1))
    assert counts(ev) == (0, 1, 1)
    assert ev.false_hits.loc[0, "reason"] == "page"
    assert ev.false_hits.loc[0, "page"] == 2
    assert ev.misses.loc[0, "reason"] == "missing"


def test_right_box_wrong_code():
    ev = evaluate(hits(("R28", 1, 0, 0, 10, 10)), truth(T1))
    assert counts(ev) == (0, 1, 1)
    assert ev.false_hits.loc[0, "reason"] == "code"
    assert ev.misses.loc[0, "matched"] == "R26"


def test_duplicate_hits_best_iou_wins():
    h = hits(("R26", 1, 1, 0, 11, 10),   # IoU 9/11
             ("R26", 1, 0, 0, 10, 10),   # IoU 1: taken first
             ("R26", 1, 0.5, 0, 10.5, 10))
    ev = evaluate(h, truth(T1))
    assert counts(ev) == (1, 2, 0)
    assert ev.matches.iloc[0].hit_row == 1
    assert list(ev.false_hits["hit_row"]) == [0, 2]
    assert set(ev.false_hits["reason"]) == {"duplicate"}
    assert ev.precision == pytest.approx(1 / 3) and ev.recall == 1.0


def test_one_to_one_two_occurrences_of_the_same_code():
    # Two R26 truth rows side by side; each hit must land on its own row.
    t = truth(("R26", 1, 0, 0, 10, 10), ("R26", 1, 20, 0, 30, 10))
    h = hits(("R26", 1, 21, 0, 31, 10), ("R26", 1, 1, 0, 11, 10))
    ev = evaluate(h, t)
    assert counts(ev) == (2, 0, 0)
    pairs = set(zip(ev.matches["hit_row"], ev.matches["truth_row"]))
    assert pairs == {(0, 1), (1, 0)}
    # One hit between two truth rows of the same code finds one; the other is a miss.
    ev = evaluate(hits(("R26", 1, 4, 0, 14, 10)), t)
    assert counts(ev) == (1, 0, 1)
    assert ev.misses.loc[0, "reason"] == "box"


@pytest.mark.parametrize("hit_code, truth_code", [
    ("ft-101", "FT\u2013101"),        # case and en dash
    ("FT-101", "FT\u2212101"),        # minus sign
    ("FT\u2011101", "ft-101"),        # non-breaking hyphen
    ("ＦＴ－１０１", "FT-101"),       # full width (NFKC)
    ("FT  101", " ft 101 "),           # whitespace collapsed and stripped
])
def test_normalisation(hit_code, truth_code):
    ev = evaluate(hits((hit_code, 1, 0, 0, 10, 10)), truth((truth_code, 1, 0, 0, 10, 10)))
    assert counts(ev) == (1, 0, 0)


def test_normalize_code_and_derive_label():
    assert normalize_code(" Ab\u2014c\t d ") == "ab-c d"
    assert normalize_code(None) == "" and normalize_code(float("nan")) == ""
    assert derive_label("R26") == "R" and derive_label("ft-101") == "FT"
    assert derive_label("2k2") == "code" and derive_label("") == "code"


# ------------------------------------------------------------ edge cases

@pytest.mark.parametrize("empty", [pd.DataFrame(), hits()])
def test_empty_hits(empty):
    ev = evaluate(empty, truth(T1, ("C3", 1, 50, 50, 60, 60)))
    assert counts(ev) == (0, 0, 2)
    assert (ev.precision, ev.recall, ev.f1) == (0.0, 0.0, 0.0)
    assert len(ev.misses) == 2 and set(ev.misses["reason"]) == {"missing"}
    assert ev.false_hits.empty and ev.matches.empty


@pytest.mark.parametrize("empty", [pd.DataFrame(), truth()])
def test_empty_truth(empty):
    ev = evaluate(hits(T1), empty)
    assert counts(ev) == (0, 1, 0)
    assert (ev.precision, ev.recall, ev.f1) == (0.0, 0.0, 0.0)
    assert ev.false_hits.loc[0, "reason"] == "code"


def test_nothing_expected_nothing_found_is_perfect():
    ev = evaluate(hits(), truth())
    assert counts(ev) == (0, 0, 0)
    assert (ev.precision, ev.recall, ev.f1) == (1.0, 1.0, 1.0)
    assert ev.per_label.empty and ev.per_pattern.empty
    assert "tp 0, fp 0, fn 0" in format_report(ev)


def test_bad_parameters():
    with pytest.raises(ValueError):
        evaluate(hits(), truth(), iou=1.5)
    with pytest.raises(ValueError):
        evaluate(hits(), truth(), grow=-1)


# ------------------------------------------------------------ per-label / per-pattern

def test_per_label_and_per_pattern_numbers():
    t = truth(("R1", 1, 0, 0, 10, 10, "res"), ("R2", 1, 20, 0, 30, 10, "res"),
              ("R3", 2, 0, 0, 10, 10, "res"), ("C1", 1, 0, 50, 10, 60, "cap"),
              ("C2", 1, 20, 50, 30, 60, "cap"))
    h = hits(("R1", 1, 0, 0, 10, 10, "res"),       # tp
             ("R2", 1, 20, 0, 30, 10, "res"),      # tp
             ("R2", 1, 20, 0, 30, 10, "res"),      # fp duplicate
             ("C1", 1, 0, 50, 10, 60, "cap"),      # tp
             ("C9", 1, 100, 100, 110, 110, "cap"),  # fp code
             ("U1", 3, 0, 0, 10, 10, "ic"))        # fp code, label only among hits
    ev = evaluate(h, t)                             # misses: R3, C2
    assert counts(ev) == (3, 3, 2)
    assert ev.precision == pytest.approx(0.5) and ev.recall == pytest.approx(0.6)
    assert ev.f1 == pytest.approx(2 * 0.5 * 0.6 / 1.1)

    lab = ev.per_label.set_index("label")
    assert list(ev.per_label.columns) == ["label", "tp", "fp", "fn", "precision", "recall", "f1"]
    assert list(lab.index) == ["cap", "ic", "res"]
    assert tuple(lab.loc["res", ["tp", "fp", "fn"]]) == (2, 1, 1)
    assert lab.loc["res", "precision"] == pytest.approx(2 / 3)
    assert lab.loc["res", "recall"] == pytest.approx(2 / 3)
    assert tuple(lab.loc["cap", ["tp", "fp", "fn"]]) == (1, 1, 1)
    assert lab.loc["cap", "f1"] == pytest.approx(0.5)
    assert tuple(lab.loc["ic", ["tp", "fp", "fn"]]) == (0, 1, 0)
    assert tuple(lab.loc["ic", ["precision", "recall", "f1"]]) == (0.0, 0.0, 0.0)

    pat = ev.per_pattern.set_index("pattern_id")
    assert list(ev.per_pattern.columns) == ["pattern_id", "tp", "fp", "fn", "precision", "recall", "f1"]
    assert list(pat.index) == ["C1", "C2", "C9", "R1", "R2", "R3", "U1"]
    assert tuple(pat.loc["R2", ["tp", "fp", "fn"]]) == (1, 1, 0)
    assert pat.loc["R2", "precision"] == pytest.approx(0.5) and pat.loc["R2", "recall"] == 1.0
    assert tuple(pat.loc["R3", ["tp", "fp", "fn", "precision", "recall", "f1"]]) == (0, 0, 1, 0.0, 0.0, 0.0)
    assert tuple(pat.loc["R1", ["precision", "recall", "f1"]]) == (1.0, 1.0, 1.0)
    assert pat[["tp", "fp", "fn"]].sum().tolist() == [3, 3, 2]
    assert pat["tp"].dtype.kind == "i"
    assert sorted(ev.misses["matched"]) == ["C2", "R3"]
    assert dict(zip(ev.false_hits["matched"], ev.false_hits["reason"])) == {
        "R2": "duplicate", "C9": "code", "U1": "code"}


def test_tp_counts_under_truth_label_fp_under_hit_label():
    ev = evaluate(hits(("R1", 1, 0, 0, 10, 10, "whatever"), ("R1", 1, 0, 0, 10, 10, "other")),
                  truth(("R1", 1, 0, 0, 10, 10, "res")))
    lab = ev.per_label.set_index("label")
    assert tuple(lab.loc["res", ["tp", "fp", "fn"]]) == (1, 0, 0)
    assert tuple(lab.loc["other", ["tp", "fp", "fn"]]) == (0, 1, 0)


def test_truth_without_label_or_pattern_id_is_derived():
    t = truth(("FT-101", 1, 0, 0, 10, 10), ("2k2", 1, 20, 0, 30, 10)).drop(columns=["label", "pattern_id"])
    ev = evaluate(hits(("FT-101", 1, 0, 0, 10, 10)), t)
    assert counts(ev) == (1, 0, 1)
    assert list(ev.per_label["label"]) == ["FT", "code"]
    assert set(ev.per_pattern["pattern_id"]) == {"FT-101", "2k2"}


# ------------------------------------------------------------ validation and loading

def test_missing_columns_error_names_them():
    t = truth(T1).drop(columns=["x1", "page"])
    with pytest.raises(InputFileError) as e:
        evaluate(hits(T1), t)
    assert "truth" in str(e.value) and "page" in str(e.value) and "x1" in str(e.value)
    assert e.value.exit_code == InputFileError.exit_code


def test_non_numeric_box_is_an_input_error():
    t = truth(T1).astype({"y0": object})
    t.loc[0, "y0"] = "top"
    with pytest.raises(InputFileError, match="'y0'"):
        evaluate(hits(T1), t)


def test_load_table_missing_columns(tmp_path):
    p = tmp_path / "truth.csv"
    p.write_text("matched,page,x0,y0\nR26,1,0,0\n")
    with pytest.raises(InputFileError) as e:
        load_table(p, role="truth")
    assert "x1, y1" in str(e.value) and "truth.csv" in str(e.value)


@pytest.mark.parametrize("suffix", [".csv", ".json", ".xlsx", ".parquet"])
def test_load_table_formats_keep_codes_as_text(tmp_path, suffix):
    t = truth(("0805", 1, 0, 0, 10, 10), ("R26", 2, 1.5, 2.5, 3.5, 4.5))
    p = tmp_path / f"truth{suffix}"
    if suffix == ".csv":
        t.to_csv(p, index=False)
    elif suffix == ".json":
        p.write_text(json.dumps(t.to_dict(orient="records")))
    elif suffix == ".xlsx":
        t.to_excel(p, index=False)
    else:
        pytest.importorskip("pyarrow")
        t.to_parquet(p, index=False)
    got = load_table(p)
    assert list(got["matched"]) == ["0805", "R26"]
    assert list(got["page"]) == [1, 2]
    assert got.loc[1, ["x0", "y0", "x1", "y1"]].tolist() == [1.5, 2.5, 3.5, 4.5]
    assert counts(evaluate(hits(("0805", 1, 0, 0, 10, 10)), got)) == (1, 0, 1)


def test_load_table_hits_json_object_and_workbook_sheet_choice(tmp_path):
    h = hits(T1)
    pj = tmp_path / "hits.json"
    pj.write_text(json.dumps({"hits": h.to_dict(orient="records")}))
    assert load_table(pj)["matched"].tolist() == ["R26"]
    px = tmp_path / "review.xlsx"
    with pd.ExcelWriter(px) as xw:
        pd.DataFrame({"note": ["summary"]}).to_excel(xw, sheet_name="Summary", index=False)
        h.to_excel(xw, sheet_name="Hits", index=False)
    assert load_table(px)["text"].tolist() == ["R26"]


def test_load_table_file_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_table(tmp_path / "nope.csv")
    bad = tmp_path / "t.txt"
    bad.write_text("x")
    with pytest.raises(InputFileError, match="unsupported"):
        load_table(bad)
    corrupt = tmp_path / "t.xlsx"
    corrupt.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="cannot read"):
        load_table(corrupt)
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(InputFileError):
        load_table(empty)


def test_load_table_header_only_is_empty(tmp_path):
    p = tmp_path / "hits.csv"
    p.write_text(",".join(HIT_COLUMNS) + "\n")
    ev = evaluate(load_table(p), truth(T1))
    assert counts(ev) == (0, 0, 1)


# ------------------------------------------------------------ reports

def _sample_eval() -> Evaluation:
    t = truth(("R1", 1, 0, 0, 10, 10, "res"), ("C2", 1, 20, 50, 30, 60, "cap"))
    h = hits(("R1", 1, 0, 0, 10, 10, "res"), ("=5V", 2, 0, 0, 10, 10, "net", "=5V"),
             ("C9", 1, 0, 0, 9, 9, "cap", "C8"))
    return evaluate(h, t)


def test_write_report_xlsx_round_trip(tmp_path):
    ev = _sample_eval()
    out = write_report(ev, tmp_path / "sub" / "report.xlsx")
    assert out.exists() and sorted(os.listdir(out.parent)) == ["report.xlsx"]
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Summary", "PerLabel", "PerPattern", "Misses", "FalseHits"]
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert (summary["tp"], summary["fp"], summary["fn"]) == (1, 2, 1)
    assert summary["precision"] == pytest.approx(1 / 3)
    rows = list(wb["PerPattern"].iter_rows(values_only=True))
    assert rows[0] == ("pattern_id", "tp", "fp", "fn", "precision", "recall", "f1")
    assert [r[0] for r in rows[1:]] == ["=5V", "C2", "C9", "R1"]
    fh = list(wb["FalseHits"].iter_rows(values_only=True))
    head = fh[0]
    texts = [r[head.index("text")] for r in fh[1:]]
    assert texts == ["=5V", "C8"]  # a leading '=' stays text, not a formula
    assert wb["FalseHits"].cell(row=2, column=head.index("text") + 1).data_type == "s"
    misses = list(wb["Misses"].iter_rows(values_only=True))
    assert misses[1][misses[0].index("matched")] == "C2"
    # and it reads back as a table of the evaluation's rows
    back = pd.read_excel(out, sheet_name="PerLabel")
    assert back.set_index("label").loc["res", "tp"] == 1


def test_write_report_csv_has_overall_row(tmp_path):
    ev = _sample_eval()
    out = write_report(ev, tmp_path / "report.csv")
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns) == ["pattern_id", "tp", "fp", "fn", "precision", "recall", "f1"]
    assert df.iloc[-1]["pattern_id"] == OVERALL
    assert tuple(df.iloc[-1][["tp", "fp", "fn"]]) == (1, 2, 1)
    assert len(df) == len(ev.per_pattern) + 1


def test_write_report_overwrites_atomically_and_fails_cleanly(tmp_path):
    ev = _sample_eval()
    p = tmp_path / "r.csv"
    p.write_text("old")
    write_report(ev, p)
    assert p.read_text().startswith("pattern_id")
    assert sorted(os.listdir(tmp_path)) == ["r.csv"]
    with pytest.raises(ExportError, match="use .xlsx or .csv"):
        write_report(ev, tmp_path / "r.pdf")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ExportError):
        write_report(ev, blocker / "r.xlsx")  # parent is a file
    d = tmp_path / "dir.xlsx"
    d.mkdir()
    with pytest.raises(ExportError):
        write_report(ev, d)  # cannot replace a folder
    assert sorted(os.listdir(tmp_path)) == ["dir.xlsx", "file", "r.csv"]
    assert os.listdir(d) == []


def test_format_report():
    text = format_report(_sample_eval(), max_rows=1)
    assert text.splitlines()[0].startswith("hits 3, truth 2: tp 1, fp 2, fn 1")
    assert "precision 0.333" in text and "recall 0.500" in text
    assert "per label:" in text and "res" in text
    assert "misses (1):" in text and "'C2'" in text and "[missing]" in text
    assert "false hits (2, first 1):" in text
    full = format_report(_sample_eval())
    assert "'C9' read 'C8'" in full and "[code]" in full


# ------------------------------------------------------------ properties

box = st.tuples(st.integers(1, 3), st.floats(0, 500), st.floats(0, 500),
                st.floats(1, 40), st.floats(1, 40))
codes = st.sampled_from(["R1", "R2", "C1", "FT-101"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(codes, box), max_size=12), st.lists(st.tuples(codes, box), max_size=12))
def test_counts_are_consistent(trows, hrows):
    def rows(rs):
        return [(c, p, x, y, x + w, y + h) for c, (p, x, y, w, h) in rs]
    t, h = truth(*rows(trows)), hits(*rows(hrows))
    ev = evaluate(h, t)
    assert ev.tp + ev.fp == len(h) and ev.tp + ev.fn == len(t)
    assert len(ev.matches) == ev.tp and len(ev.misses) == ev.fn and len(ev.false_hits) == ev.fp
    assert ev.matches["hit_row"].is_unique and ev.matches["truth_row"].is_unique
    assert ev.per_pattern[["tp", "fp", "fn"]].sum().tolist() == [ev.tp, ev.fp, ev.fn]
    assert ev.per_label[["tp", "fp", "fn"]].sum().tolist() == [ev.tp, ev.fp, ev.fn]
    self_ev = evaluate(t, t)  # truth scored against itself is perfect
    assert (self_ev.tp, self_ev.fp, self_ev.fn) == (len(t), 0, 0)
