"""The review loop through ``main()``: verdicts not understood, tags the run missed added on the
Missed sheet, a truth file that says what was reviewed, and eval scoring the reviewed part."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from locator.cli import main
from locator.documents import Document
from locator.export.workbook import HITS_SHEET_COLUMNS, MISSED_COLUMNS, write_workbook
from locator.geometry import Box
from locator.model import Hit
from tests.conftest import SMALL_PAGE_CODES, draw_codes, write_catalog

pytestmark = pytest.mark.timeout(120)
COL = {c: i + 1 for i, c in enumerate(HITS_SHEET_COLUMNS)}


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def hits_of(truth: dict[str, Box]) -> list[Hit]:
    return [Hit(code, "instrument", code, code, 99.0, box, 1, "tesseract", 90.0)
            for code, box in truth.items()]


def fill(path, verdicts: dict[int, object], missed: list[dict] = ()) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Hits"]
    for row, v in verdicts.items():
        ws.cell(row, COL["verdict"]).value = v
    ms = wb["Missed"]
    for r, rec in enumerate(missed, start=2):
        for c, name in enumerate(MISSED_COLUMNS, start=1):
            if name in rec:
                ms.cell(r, c).value = rec[name]
    wb.save(path)


@pytest.fixture
def drawing(tmp_path):
    pdf = tmp_path / "drawing.pdf"
    truth = draw_codes(pdf, SMALL_PAGE_CODES, rotation=90)
    return pdf, truth


def test_a_verdict_not_among_the_choices_is_warned_about_by_row(capsys, tmp_path, drawing):
    pdf, truth = drawing
    wb = tmp_path / "r.xlsx"
    write_workbook(wb, hits_of(truth), document=pdf)
    fill(wb, {2: "correct", 3: "yes please", 4: "wrong"})
    code, out, err = run_cli(capsys, "review", wb, "--truth-out", tmp_path / "t.csv")
    assert code == 0, err
    assert "row 3: verdict 'yes please' is not one of correct, wrong, unsure" in err
    t = pd.read_csv(tmp_path / "t.csv")
    assert t["review"].tolist()[:3] == ["correct", "unreviewed", "wrong"]


def test_missed_tags_go_into_the_truth_file_and_count_in_eval(capsys, tmp_path, drawing):
    pdf, truth = drawing
    found = {k: v for k, v in truth.items() if k not in ("LT-3307", "TV-4410")}
    wb = tmp_path / "r.xlsx"
    write_workbook(wb, hits_of(found), document=pdf)
    lt, tv = truth["LT-3307"], truth["TV-4410"]
    with Document(pdf) as d:
        frame = d.frame(1)
    u, v = frame.box_to_view(tv).center
    vw, vh = frame.view_size
    position = f"{100 * u / vw:.0f}% across, {100 * v / vh:.0f}% down"
    fill(wb, {r: "correct" for r in range(2, 2 + len(found))}, missed=[
        {"code": "LT-3307", "page": 1, "x0": lt.x0, "y0": lt.y0, "x1": lt.x1, "y1": lt.y1},
        {"code": "TV-4410", "page": 1, "position": position},
        {"code": "QQ-1"},  # no page, no place: named and left out
        {},
        {"code": "ZZ-2", "page": 1, "position": "somewhere left"},
    ])
    out_csv = tmp_path / "truth.csv"
    code, _, err = run_cli(capsys, "review", wb, "--truth-out", out_csv)
    assert code == 0, err
    assert "'Missed' row 4: page '' is not a page number" in err
    assert "'Missed' row 6: position 'somewhere left' is not like" in err
    assert "and 2 missed tags" in err
    t = pd.read_csv(out_csv)
    missed = t[t["review"] == "missed"].set_index("matched")
    assert sorted(missed.index) == ["LT-3307", "TV-4410"]
    assert missed.loc["LT-3307", ["x0", "y0", "x1", "y1"]].tolist() == pytest.approx(
        [lt.x0, lt.y0, lt.x1, lt.y1])
    got = Box(*missed.loc["TV-4410", ["x0", "y0", "x1", "y1"]].tolist())
    assert got.contains_point(*tv.center)  # the position, on a /Rotate 90 page
    assert missed.loc["TV-4410", "pattern_id"] == "TV-4410"
    # Scored against it, the run's hits miss the two tags it never found.
    pd.DataFrame([{"pattern_id": h.pattern_id, "label": h.label, "matched": h.matched,
                   "page": 1, "x0": h.box.x0, "y0": h.box.y0, "x1": h.box.x1, "y1": h.box.y1}
                  for h in hits_of(found)]).to_csv(tmp_path / "hits.csv", index=False)
    code, out, err = run_cli(capsys, "eval", tmp_path / "hits.csv", "--truth", out_csv)
    assert code == 0, err
    assert f"tp {len(found)}, fp 0, fn 2" in out
    assert "'LT-3307'" in out and "'TV-4410'" in out


def test_eval_scores_the_reviewed_part_of_a_half_reviewed_run(capsys, tmp_path, drawing):
    pdf, truth = drawing
    hits = hits_of(truth)  # 10 hits
    wb = tmp_path / "r.xlsx"
    write_workbook(wb, hits, document=pdf)
    # Half reviewed: 4 correct, 1 wrong; the other 5 not judged.
    fill(wb, {2: "correct", 3: "correct", 4: "correct", 5: "correct", 6: "wrong"})
    code, out, err = run_cli(capsys, "review", wb, "--truth-out", tmp_path / "t.csv")
    assert code == 0 and "overall: precision 80.0%" in out
    code, out, err = run_cli(capsys, "eval", wb, "--truth", tmp_path / "t.csv")
    assert code == 0, err
    # Not 4 / 10 = 0.400 (every unjudged hit a false hit): the reviewed rows' 4 / 5.
    assert "precision 0.800  recall 1.000" in out and "tp 4, fp 1, fn 0" in out
    assert "5 hit(s) on rows the review left unjudged are not scored" in out


def test_a_truth_row_with_a_blank_matched_is_refused(capsys, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text("matched,page,x0,y0,x1,y1\nFIC-101,1,40,50,72,62\n")
    t = tmp_path / "t.csv"
    t.write_text("matched,page,x0,y0,x1,y1\nFIC-101,1,40,50,72,62\n,1,10,10,20,20\n")
    code, out, err = run_cli(capsys, "eval", h, "--truth", t)
    assert code == 3, err
    assert "data row(s) 2" in err and "blank 'matched'" in err and "Traceback" not in err


def test_marked_is_said_once(capsys, tmp_path):
    pdf = tmp_path / "d.pdf"
    draw_codes(pdf, [("FIC-101", 40, 60, 9, 0), ("PT-2034", 200, 120, 8, 0)], width=420,
               height=300)
    cat = write_catalog(tmp_path / "c.yaml", ["FIC-101", "PT-2034"])
    code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "r.xlsx", "--annotate",
                           tmp_path / "m.pdf", "--source", "text")
    assert code == 0, err
    assert err.count("marked 2 hits") == 1


def test_truth_out_formats_and_stdout_kept_for_the_tables(capsys, tmp_path, drawing):
    pdf, truth = drawing
    wb = tmp_path / "r.xlsx"
    write_workbook(wb, hits_of(truth), document=pdf)
    fill(wb, {2: "correct"})
    code, out, err = run_cli(capsys, "review", wb, "--truth-out", "-")
    assert code == 2 and "the precision tables go to stdout" in err
    code, out, err = run_cli(capsys, "tune", pdf, "-p", tmp_path / "c.yaml", "--truth",
                             tmp_path / "t.csv", "-o", "-")
    assert code == 2 and "the tune table and advice go to stdout" in err
    dest = tmp_path / "truth.txt"
    code, out, err = run_cli(capsys, "review", wb, "--truth-out", dest, "--format", "jsonl")
    assert code == 0, err
    rows = [json.loads(line) for line in dest.read_text().splitlines()]
    assert len(rows) == len(truth) and rows[0]["review"] == "correct"
