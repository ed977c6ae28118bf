"""Outputs through ``main()``: never over an input or each other, checked before reading,
disk full, no formulas, the umask, stdout and --format, -h/-v, typos, and the review loop."""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from locator.cli import main
from tests.conftest import draw_codes, write_catalog

pytestmark = pytest.mark.timeout(120)

CODES = [("FIC-101", 40, 60, 9, 0), ("PT-2034", 200, 120, 8, 0), ("=A1+L2-K3", 60, 200, 10, 0)]
TEXT = ["--source", "text"]  # the generated pages have a text layer: no OCR, fast
ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


@pytest.fixture
def doc(tmp_path):
    pdf = tmp_path / "doc.pdf"
    draw_codes(pdf, CODES, width=420, height=300)
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for c in CODES] + ["ZZ-9999"])
    return pdf, cat


@pytest.fixture
def tags(tmp_path):
    p = tmp_path / "tags.csv"
    p.write_text("Tag\nFIC-101\nPT-2034\n")
    return p


@pytest.fixture
def no_reading(monkeypatch):
    """Any attempt to read a document fails the test: the checks come first."""
    import locator.pipeline

    def boom(*a, **k):
        raise AssertionError("the document was read before the outputs were checked")

    monkeypatch.setattr(locator.pipeline, "run", boom)
    monkeypatch.setattr(locator.pipeline, "run_many", boom)


# ---------------------------------------------------------------- item 1: clashes

@pytest.mark.parametrize("case", ["missing-is-codes", "output-is-xlsx-codes", "warnings-is-output",
                                  "output-is-doc", "output-is-catalog-via-symlink",
                                  "output-is-doc-via-relative-path", "output-is-hard-link",
                                  "annotate-is-output"])
def test_an_output_that_is_an_input_or_another_output_is_refused(capsys, tmp_path, doc, tags,
                                                                 no_reading, monkeypatch, case):
    pdf, cat = doc
    sub = tmp_path / "sub"
    sub.mkdir()
    xlsx = tmp_path / "tags.xlsx"
    pd.DataFrame({"Tag": ["FIC-101"]}).to_excel(xlsx, index=False)
    named_csv = tmp_path / "d.csv"  # a PDF named .csv
    named_csv.write_bytes(pdf.read_bytes())
    (tmp_path / "link.yaml").symlink_to(cat)
    os.link(pdf, tmp_path / "hard.pdf")
    monkeypatch.chdir(sub)
    args = {
        "missing-is-codes": [pdf, "--codes", tags, "--column", "Tag", "--missing", tags],
        "output-is-xlsx-codes": [pdf, "--codes", xlsx, "--column", "Tag", "-o", xlsx],
        "warnings-is-output": [pdf, "-p", cat, "-o", "same.csv", "--warnings", "./same.csv"],
        "output-is-doc": [named_csv, "-p", cat, "-o", named_csv],
        "output-is-catalog-via-symlink": [pdf, "-p", cat, "--missing", "../link.yaml",
                                          "--format", "csv"],
        "output-is-doc-via-relative-path": [pdf, "-p", cat, "--annotate", "../sub/../doc.pdf"],
        "output-is-hard-link": [pdf, "-p", cat, "--annotate", tmp_path / "hard.pdf"],
        "annotate-is-output": [pdf, "-p", cat, "-o", "m.csv", "--warnings", "w.csv",
                               "--missing", "../sub/w.csv"],
    }[case]
    if case == "output-is-catalog-via-symlink":  # a .yaml name: give the format via a table name
        args = [pdf, "-p", cat, "--missing", tmp_path / "cat.csv"]
        (tmp_path / "cat.csv").symlink_to(cat)
    before = snapshot(tmp_path)
    code, out, err = run_cli(capsys, *args, *TEXT)
    assert code == 2, err
    assert "would be overwritten" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(tmp_path) == before  # nothing written, nothing left


def test_eval_crop_review_tune_batch_refuse_clashes(capsys, tmp_path, doc):
    pdf, cat = doc
    hits = tmp_path / "h.csv"
    truth = tmp_path / "truth.csv"
    for p in (hits, truth):
        p.write_text("matched,page,x0,y0,x1,y1\nFIC-101,1,40,50,72,62\n")
    png = tmp_path / "page.png"
    from PIL import Image

    Image.new("L", (200, 100), 255).save(png)
    wb = tmp_path / "review.xlsx"
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(pdf.read_bytes())
    before = snapshot(tmp_path)
    for args in (["eval", hits, "--truth", truth, "-o", truth.with_suffix(".csv")],
                 ["eval", hits, "--truth", truth, "-o", hits],
                 ["crop", png, "--box", "0,0,10,10", "-o", png],
                 ["review", wb, "--truth-out", wb],
                 ["tune", pdf, "-p", cat, "--truth", truth, "-o", truth],
                 ["batch", folder, "-p", cat, "-o", tmp_path / "x.csv", "--warnings",
                  tmp_path / "x.csv"],
                 ["batch", folder, "-p", cat, "-o", folder / "a.pdf", "--format", "csv"]):
        code, _, err = run_cli(capsys, *args)
        assert code == 2, (args, err)
        assert "would be overwritten" in err, err
    assert snapshot(tmp_path) == before


def test_a_bad_second_output_fails_before_reading_and_names_its_option(capsys, tmp_path, doc,
                                                                      no_reading):
    pdf, cat = doc
    (tmp_path / "afolder.csv").mkdir()
    cases = [("--missing", tmp_path / "nope" / "m.csv", "does not exist"),
             ("--warnings", tmp_path / "afolder.csv", "is a folder"),
             ("--warnings", tmp_path / "w.docx", "unknown format"),
             ("--annotate", tmp_path / "nope" / "m.pdf", "does not exist")]
    for option, path, why in cases:
        code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "h.csv", option, path,
                               *TEXT)
        assert code == 2, err
        assert err.startswith(f"locate: error: {option} ") and why in err, err
        assert not (tmp_path / "h.csv").exists()  # -o was not written first


# ---------------------------------------------------------------- item 10: disk full

@pytest.mark.parametrize("what", ["eval", "run", "missing"])
def test_disk_full_while_writing_xlsx_is_exit_8_without_a_traceback(tmp_path, doc, what):
    pdf, cat = doc
    full = tmp_path / "full.xlsx"
    full.symlink_to("/dev/full")  # every write there fails with ENOSPC
    h = tmp_path / "h.csv"
    h.write_text("matched,page,x0,y0,x1,y1\nFIC-101,1,40,50,72,62\n")
    args = {"eval": ["eval", h, "--truth", h.with_name("t.csv"), "-o", full],
            "run": [pdf, "-p", cat, "-o", full, *TEXT],
            "missing": [pdf, "-p", cat, "-o", tmp_path / "h.json", "--missing", full,
                        *TEXT]}[what]
    h.with_name("t.csv").write_text(h.read_text())
    r = subprocess.run([sys.executable, "-m", "locator", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=100)
    assert r.returncode == 8, r.stderr
    assert "No space left on device" in r.stderr
    assert "Exception ignored" not in r.stderr and "Traceback" not in r.stderr
    assert full.is_symlink()  # the link is not replaced by a file
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(capsys, tmp_path, doc, monkeypatch):
    import locator.export.files as files

    pdf, cat = doc
    out = tmp_path / "hits.xlsx"
    out.write_bytes(b"the user's old file")

    def enospc(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", enospc)
    code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", out, *TEXT)
    assert code == 8 and "No space left on device" in err
    assert out.read_bytes() == b"the user's old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.yaml", "doc.pdf", "hits.xlsx"]


# ---------------------------------------------------------------- item 11: formulas

def _cells(path: Path, sheet: str | None = None):
    wb = openpyxl.load_workbook(path)
    for ws in ([wb[sheet]] if sheet else wb.worksheets):
        for row in ws.iter_rows():
            yield from row


def _no_formula_from_data(path: Path, sheet: str | None = None) -> list[str]:
    texts = []
    for c in _cells(path, sheet):
        if isinstance(c.value, str) and c.value.startswith("="):
            assert c.data_type == "s", (path.name, c.coordinate, c.value)
            texts.append(c.value)
    return texts


def test_no_xlsx_cell_written_from_data_is_a_formula(capsys, tmp_path, doc):
    pdf, cat = doc
    tags = tmp_path / "more.csv"
    pd.DataFrame({"Tag": ["QQ-1", '=HYPERLINK("http://x","y")']}).to_csv(tags, index=False)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.pdf").write_bytes(pdf.read_bytes())
    miss, warn = tmp_path / "missing.xlsx", tmp_path / "warnings.xlsx"
    code, _, err = run_cli(capsys, pdf, "--codes", tags, "--column", "Tag", "-p", cat,
                           "-o", tmp_path / "review.xlsx", "--missing", miss, *TEXT)
    assert code == 0, err
    assert '=HYPERLINK("http://x","y")' in _no_formula_from_data(miss)
    assert "=A1+L2-K3" in _no_formula_from_data(tmp_path / "review.xlsx", "Hits")
    code, _, err = run_cli(capsys, "batch", folder, "-p", cat, "-o", tmp_path / "b.xlsx",
                           "--warnings", warn, *TEXT)
    assert code == 0, err
    assert "=A1+L2-K3" in _no_formula_from_data(tmp_path / "b.xlsx")
    _no_formula_from_data(warn)
    # eval's report lists the hit as a false hit: text there too
    pd.read_excel(tmp_path / "b.xlsx").to_csv(tmp_path / "b.csv", index=False)
    t = tmp_path / "t.csv"
    t.write_text("matched,page,x0,y0,x1,y1\nFIC-101,1,40,50,72,62\n")
    code, _, err = run_cli(capsys, "eval", tmp_path / "b.csv", "-t", t, "-o", tmp_path / "e.xlsx")
    assert code == 0, err
    assert "=A1+L2-K3" in _no_formula_from_data(tmp_path / "e.xlsx")


def test_csv_safe_neutralises_formula_cells_and_is_opt_in(capsys, tmp_path, doc):
    pdf, cat = doc
    plain, safe = tmp_path / "plain.csv", tmp_path / "safe.csv"
    assert run_cli(capsys, pdf, "-p", cat, "-o", plain, *TEXT)[0] == 0
    assert run_cli(capsys, pdf, "-p", cat, "-o", safe, "--csv-safe", *TEXT)[0] == 0
    p = pd.read_csv(plain, dtype=str, keep_default_na=False)
    s = pd.read_csv(safe, dtype=str, keep_default_na=False)
    assert "=A1+L2-K3" in set(p["matched"])
    assert "'=A1+L2-K3" in set(s["matched"]) and "=A1+L2-K3" not in set(s["matched"])
    assert set(s["x0"]) == set(p["x0"])  # numbers are left alone
    assert "FIC-101" in set(s["matched"])


# ---------------------------------------------------------------- item 12: the umask

@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(capsys, tmp_path, doc, mask, mode):
    pdf, cat = doc
    old = os.umask(mask)
    try:
        outs = {"-o": tmp_path / "h.csv", "--missing": tmp_path / "m.xlsx",
                "--warnings": tmp_path / "w.json", "--annotate": tmp_path / "marked.pdf"}
        code, _, err = run_cli(capsys, pdf, "-p", cat, *[x for kv in outs.items() for x in kv],
                               *TEXT)
        assert code == 0, err
        code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "r.xlsx", *TEXT)
        assert code == 0, err
        paths = [*outs.values(), tmp_path / "r.xlsx"]
        code, _, err = run_cli(capsys, "crop", pdf, "--box", "30,40,80,70", "-o",
                               tmp_path / "sym.png")
        assert code == 0, err
        paths.append(tmp_path / "sym.png")
        for p in paths:
            assert stat.S_IMODE(p.stat().st_mode) == mode, p.name
    finally:
        os.umask(old)


def test_a_replaced_file_keeps_its_mode(capsys, tmp_path, doc):
    pdf, cat = doc
    out = tmp_path / "h.csv"
    out.write_text("old")
    out.chmod(0o640)
    assert run_cli(capsys, pdf, "-p", cat, "-o", out, *TEXT)[0] == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 and "FIC-101" in out.read_text()


def test_one_atomic_write_helper():
    # The writers all go through locator.export.files.atomic_write: nobody else renames.
    users = []
    for p in (ROOT / "locator").rglob("*.py"):
        text = p.read_text()
        if "os.replace(" in text or "mkstemp(" in text:
            users.append(p.relative_to(ROOT).as_posix())
    assert set(users) <= {"locator/export/files.py", "locator/cli_options.py",
                          "locator/cache.py"}, users


# ---------------------------------------------------------------- conventions

def test_dash_h_and_version(capsys):
    for args in (["-h"], ["run", "-h"], ["eval", "-h"], ["review", "-h"], ["batch", "-h"]):
        code, out, err = run_cli(capsys, *args)
        assert code == 0 and "Usage" in out, (args, err)
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith("locate ")


def test_stdout_csv_and_formats(capsys, tmp_path, doc):
    pdf, cat = doc
    code, out, err = run_cli(capsys, pdf, "-p", cat, "-o", "-", *TEXT)
    assert code == 0, err
    df = pd.read_csv(io.StringIO(out))
    assert "FIC-101" in set(df["matched"]) and "wrote" not in err
    code, out, _ = run_cli(capsys, pdf, "-p", cat, *TEXT)  # a pipe (not a terminal): CSV
    assert code == 0 and list(pd.read_csv(io.StringIO(out)).columns)[:2] == ["file",
                                                                          "pattern_id"]
    code, out, _ = run_cli(capsys, pdf, "-p", cat, "-o", "-", "--format", "json", *TEXT)
    assert code == 0 and {r["matched"] for r in json.loads(out)} >= {"FIC-101", "PT-2034"}
    code, out, _ = run_cli(capsys, pdf, "-p", cat, "--format", "jsonl", *TEXT)
    assert code == 0 and all(json.loads(line)["page"] == 1 for line in out.splitlines())
    code, _, _ = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "h.jsonl", *TEXT)
    assert code == 0 and len((tmp_path / "h.jsonl").read_text().splitlines()) == 3
    code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "h.csv", "--format", "json")
    assert code == 2 and "the file name says csv" in err
    code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "hits.txt", "--format",
                           "json", *TEXT)
    assert code == 0 and json.loads((tmp_path / "hits.txt").read_text())


def test_only_one_output_goes_to_stdout(capsys, doc, no_reading):
    pdf, cat = doc
    code, _, err = run_cli(capsys, pdf, "-p", cat, "--missing", "-", *TEXT)
    assert code == 2 and "-o and --missing both write to stdout" in err
    code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", "-", "--warnings", "-", *TEXT)
    assert code == 2 and "--warnings both write to stdout" in err


def test_verbose_sets_the_log_level_of_the_one_logger(capsys, tmp_path, doc):
    pdf, cat = doc
    code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "h.csv", "-v", *TEXT)
    assert code == 0 and "locate: INFO: settings: Settings(" in err
    assert "locate: INFO: wrote " in err and "DEBUG" not in err  # wrote: from locator.export
    code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "h.csv", "-q", *TEXT)
    assert code == 0 and "INFO" not in err
    code, _, err = run_cli(capsys, pdf, "-p", cat, "-o", tmp_path / "h.csv", "-vv", *TEXT)
    assert code == 0 and "locate: DEBUG: documents: " in err
    # main() leaves the logger as a library has it: no level, no handler of its own.
    assert logging.getLogger("locator").level == logging.NOTSET
    assert not logging.getLogger("locator").handlers
    # Every module's logger is a child of it.
    for p in (ROOT / "locator").rglob("*.py"):
        for name in _logger_names(p):
            assert name == "locator" or name.startswith("locator."), (p, name)


def _logger_names(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "getLogger":
            for a in node.args:
                if isinstance(a, ast.Constant):
                    names.append(a.value)
    return names


def test_a_mistyped_subcommand_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "evall", "h.csv", "--truth", "t.csv")
    assert code == 2 and "did you mean 'locate eval'" in err
    code, _, err = run_cli(capsys, "reveiw", "wb.xlsx")
    assert code == 2 and "did you mean 'locate review'" in err
    (tmp_path / "evall").write_text("not a document")  # a file by that name: it is the document
    code, _, err = run_cli(capsys, "evall", "-p", "c.yaml")
    assert "did you mean" not in err and code != 0


def test_reversed_page_range_is_named(capsys, doc):
    pdf, cat = doc
    code, _, err = run_cli(capsys, pdf, "-p", cat, "--pages", "3-1", *TEXT)
    assert code == 2 and "reversed" in err and "1-3" in err


def test_documented_names_are_public():
    import locator

    for name in ("load_codes", "load_catalog", "Catalog", "Settings", "load_table",
                 "write_table", "write_workbook", "read_review", "annotate_pdf"):
        assert name in locator.__all__ and callable(getattr(locator, name)), name
    import locator.evaluate as ev  # a submodule is still the module

    assert hasattr(ev, "evaluate")


def test_cli_modules_are_small():
    for name in ("cli.py", "cli_options.py", "cli_views.py", "outputs.py", "evaluate.py",
                 "tables.py", "tune.py", "tune_grid.py", "memory.py", "export/files.py",
                 "export/review.py", "export/workbook.py", "export/thumbnails.py",
                 "export/annotate.py", "export/table.py"):
        path = ROOT / "locator" / name
        text = path.read_text()
        assert len(text.splitlines()) < 500, name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                assert node.end_lineno - node.lineno < 85, (name, node.name)


def test_a_reader_that_leaves_the_pipe_early_is_no_error(tmp_path, doc):
    # `locate ... | head -1`: the reader is gone before the table is written.
    pdf, cat = doc
    p = subprocess.Popen([sys.executable, "-m", "locator", str(pdf), "-p", str(cat), *TEXT,
                          "-q"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=100) == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err and "Broken" not in err


# -- CSV without pandas: the same bytes ---------------------------------------------------

_CELL_TEXT = ["CODE-1", 'a "quoted", comma', "line\nbreak", "cr\rhere", "=1+2", "-12V", "",
              "é ü 中", "\\xff escaped", " lead space", "tab\there"]


@pytest.mark.parametrize("csv_safe", [False, True])
def test_hits_as_csv_are_the_bytes_pandas_writes(tmp_path, csv_safe):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from locator.export.files import write_table
    from locator.export.rows import hits_rows
    from locator.geometry import Box
    from locator.model import Hit

    text = st.sampled_from(_CELL_TEXT) | st.text(max_size=8)
    num = st.floats(min_value=0, max_value=1e5, allow_nan=False) | st.integers(0, 3000).map(float)

    @st.composite
    def hits(draw):
        x0, y0 = draw(num), draw(num)
        return Hit(pattern_id=draw(text), label=draw(text), matched=draw(text), text=draw(text),
                   score=draw(num), box=Box(x0, y0, x0 + draw(num), y0 + draw(num)),
                   page=draw(st.integers(1, 999)), engine=draw(text), conf=draw(num),
                   source=draw(st.sampled_from(["ocr", "text", "ocr+text"])),
                   angle=draw(st.sampled_from([0, 90, 180, 270])), file=draw(text),
                   shape=draw(st.sampled_from(["", "circle", "circle-bar"])),
                   form=draw(st.sampled_from(["", "word", "bubble+no-prefix"])))

    @settings(max_examples=60, deadline=None)
    @given(st.lists(hits(), max_size=6))
    def check(hs):
        rows = hits_rows(hs)
        a, b = tmp_path / "rows.csv", tmp_path / "frame.csv"
        write_table(rows, a, csv_safe=csv_safe)
        write_table(rows.frame(), b, csv_safe=csv_safe)
        assert a.read_bytes() == b.read_bytes()

    check()


def test_a_run_writing_csv_does_not_import_pandas(tmp_path):
    pdf = tmp_path / "d.pdf"
    draw_codes(pdf, [("FIC-101", 60, 80, 12, 0)])
    cat = write_catalog(tmp_path / "x.yaml", ["FIC-101"])
    code = ("import sys; from locator.cli import main\n"
            "try: main(sys.argv[1:])\n"
            "except SystemExit as e: assert e.code == 0, e.code\n"
            "print('pandas' in sys.modules)")
    args = [str(pdf), "--patterns", str(cat), "-o", str(tmp_path / "h.csv"), "--source", "text", "-q"]
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False", r.stderr
    assert pd.read_csv(tmp_path / "h.csv")["matched"].tolist() == ["FIC-101"]
