"""The command line: output formats, the summary, and every error's message and exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from locator.cli import main
from tests.conftest import draw_codes, write_catalog

CODES = [("FIC-101", 40, 60, 9, 0), ("PT-2034", 200, 120, 8, 0), ("AB-12345-C", 60, 200, 10, 0)]


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


@pytest.fixture
def tiny(tmp_path):
    pdf = tmp_path / "tiny.pdf"
    draw_codes(pdf, CODES, width=420, height=300)
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for c in CODES] + ["ZZ-9999"])
    return pdf, cat


FAST = ["--dpi", "200", "--rotations", "0", "--source", "ocr"]  # the pages have a text layer


@pytest.mark.parametrize("suffix", [".csv", ".json", ".xlsx"])
def test_output_formats(capsys, tmp_path, tiny, suffix):
    pdf, cat = tiny
    out = tmp_path / f"hits{suffix}"
    code, stdout, stderr = run_cli(capsys, pdf, "--patterns", cat, "-o", out, *FAST)
    assert code == 0, stderr
    if suffix == ".csv":
        df = pd.read_csv(out)
    elif suffix == ".json":
        df = pd.DataFrame(json.loads(out.read_text()))
    else:
        df = pd.read_excel(out)
    for col in ["pattern_id", "label", "matched", "text", "score", "page",
                "x0", "y0", "x1", "y1", "engine", "conf"]:
        assert col in df.columns
    assert sorted(df["matched"]) == ["AB-12345-C", "FIC-101", "PT-2034"]
    assert set(df["page"]) == {1}
    assert "ZZ-9999" in stderr  # the summary names what was never found
    assert "hits" in stderr and "tiles" in stderr and "seconds" in stderr
    assert not list(tmp_path.glob(".hits*"))  # no temporary file left behind


def test_table_on_stdout_without_output(capsys, tiny):
    pdf, cat = tiny
    code, stdout, stderr = run_cli(capsys, pdf, "--patterns", cat, *FAST)
    assert code == 0, stderr
    assert "FIC-101" in stdout and "PT-2034" in stdout and "pattern_id" in stdout


def test_missing_list_written(capsys, tmp_path, tiny):
    pdf, cat = tiny
    miss = tmp_path / "missing.csv"
    code, _, stderr = run_cli(capsys, pdf, "--patterns", cat, "--missing", miss, "-q", *FAST)
    assert code == 0, stderr
    assert list(pd.read_csv(miss)["pattern_id"]) == ["ZZ-9999"]


def test_pages_option(capsys, tmp_path, tiny):
    pdf, cat = tiny
    out = tmp_path / "h.csv"
    code, _, err = run_cli(capsys, pdf, "--patterns", cat, "--pages", "1", "-o", out, *FAST)
    assert code == 0, err


# ---- errors: one clear line, a distinct exit code, no traceback, no output file -------

def _bad(capsys, tmp_path, *args):
    out = tmp_path / "never.csv"
    code, stdout, stderr = run_cli(capsys, *args, "-o", out)
    assert "Traceback" not in stderr
    assert not out.exists()
    return code, stderr


def test_missing_document(capsys, tmp_path, tiny):
    _, cat = tiny
    code, err = _bad(capsys, tmp_path, tmp_path / "nope.pdf", "--patterns", cat)
    assert code == 3 and "no such file" in err


def test_not_a_document(capsys, tmp_path, tiny):
    _, cat = tiny
    f = tmp_path / "notes.pdf"
    f.write_text("just some text, not a PDF")
    code, err = _bad(capsys, tmp_path, f, "--patterns", cat)
    assert code == 4 and "not a PDF or an image" in err


def test_empty_document_file(capsys, tmp_path, tiny):
    _, cat = tiny
    f = tmp_path / "empty.pdf"
    f.write_bytes(b"")
    code, err = _bad(capsys, tmp_path, f, "--patterns", cat)
    assert code == 3 and "empty" in err


@pytest.mark.parametrize("text,expect", [
    ("patterns: [\n  - id: A\n    text: [unclosed\n", "line"),
    ("patterns:\n  - id: A\n    label: x\n", "text"),
    ("patterns:\n  - id: A\n    regex: '[A-Z'\n", "regex"),
    ("patterns:\n  - id: A\n    text: A1\n  - id: A\n    text: A2\n", "duplicate"),
    ("patterns: []\n", "empty"),
])
def test_bad_catalogs(capsys, tmp_path, tiny, text, expect):
    pdf, _ = tiny
    cat = tmp_path / "bad.yaml"
    cat.write_text(text)
    code, err = _bad(capsys, tmp_path, pdf, "--patterns", cat)
    assert code == 5
    assert "bad.yaml" in err and expect in err.lower()


def test_catalog_error_names_the_line(capsys, tmp_path, tiny):
    pdf, _ = tiny
    cat = tmp_path / "bad.yaml"
    cat.write_text("patterns:\n  - id: A\n    text: A1\n  - id: B\n    label: x\n")
    code, err = _bad(capsys, tmp_path, pdf, "--patterns", cat)
    assert code == 5 and "line 4" in err


@pytest.mark.parametrize("pages", ["0", "2", "3-1", "a-b", "1,,2"])
def test_bad_pages(capsys, tmp_path, tiny, pages):
    pdf, cat = tiny
    code, err = _bad(capsys, tmp_path, pdf, "--patterns", cat, "--pages", pages)
    assert code == 2 and "--pages" in err


def test_tesseract_not_installed(capsys, tmp_path, tiny, monkeypatch):
    import pytesseract

    from locator.engines import _tessapi

    # Neither the library (for the in-process API) nor the binary.
    def gone():
        raise _tessapi.ApiUnavailable("libtesseract not found")
    monkeypatch.setattr(_tessapi, "_load", gone)
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    pdf, cat = tiny
    code, err = _bad(capsys, tmp_path, pdf, "--patterns", cat, "--source", "ocr")
    assert code == 6 and "tesseract-ocr" in err


def test_unknown_engine_and_bad_output_suffix(capsys, tmp_path, tiny):
    pdf, cat = tiny
    code, err = _bad(capsys, tmp_path, pdf, "--patterns", cat, "--engine", "nosuch")
    assert code == 2 and "unknown engine" in err
    code, _, err = run_cli(capsys, pdf, "--patterns", cat, "-o", tmp_path / "x.docx")
    assert code == 2 and ".docx" in err


def test_missing_catalog_option_and_file(capsys, tmp_path, tiny):
    pdf, _ = tiny
    code, err = _bad(capsys, tmp_path, pdf)
    assert code == 2 and "--patterns" in err
    code, err = _bad(capsys, tmp_path, pdf, "--patterns", tmp_path / "none.yaml")
    assert code == 5 and "none.yaml" in err


def test_help_is_fast_and_light():
    code = ("import sys, time; t=time.perf_counter(); from locator.cli import app; "
            "import locator.cli; "
            "heavy=[m for m in ('pandas','torch','pymupdf','pytesseract','easyocr') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    r = subprocess.run([sys.executable, "-m", "locator", "--help"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "Usage" in r.stdout


def test_code_list_instead_of_yaml(capsys, tmp_path, tiny):
    pdf, _ = tiny
    codes = tmp_path / "tags.csv"
    codes.write_text("Tag,Type\nFIC-101,instrument\nAB-12345-C,part\nQQ-0000,none\n")
    out = tmp_path / "h.csv"
    code, _, err = run_cli(capsys, pdf, "--codes", codes, "--column", "Tag",
                           "--label-column", "Type", "-o", out, *FAST)
    assert code == 0, err
    df = pd.read_csv(out)
    assert sorted(df["matched"]) == ["AB-12345-C", "FIC-101"]
    assert set(df["label"]) == {"instrument", "part"}
    assert "QQ-0000" in err


def test_code_list_errors(capsys, tmp_path, tiny):
    pdf, cat = tiny
    codes = tmp_path / "tags.csv"
    codes.write_text("Tag\nFIC-101\n")
    code, err = _bad(capsys, tmp_path, pdf, "--codes", codes)
    assert code == 2 and "--column" in err
    code, err = _bad(capsys, tmp_path, pdf, "--codes", codes, "--column", "Nope")
    assert code == 5 and "Nope" in err
    code, err = _bad(capsys, tmp_path, pdf, "--patterns", cat, "--codes", codes,
                     "--column", "Tag")
    assert code == 5 and "FIC-101" in err  # the same id in both: a duplicate


def test_unknown_option_and_missing_argument_are_usage_errors(capsys, tmp_path, tiny):
    pdf, cat = tiny
    code, _, err = run_cli(capsys, pdf, "--patterns", cat, "--bogus")
    assert code == 2 and "--bogus" in err and "internal error" not in err
    code, _, err = run_cli(capsys, "review")
    assert code == 2 and "internal error" not in err


def test_whole_tiles_option_reads_the_codes(capsys, tmp_path, tiny):
    pdf, cat = tiny
    out = tmp_path / "h.csv"
    code, _, err = run_cli(capsys, pdf, "--patterns", cat, "--whole-tiles", "-o", out, *FAST)
    assert code == 0, err
    assert sorted(pd.read_csv(out)["matched"]) == ["AB-12345-C", "FIC-101", "PT-2034"]


def test_a_neighbouring_tag_is_not_reported(capsys, tmp_path):
    # Issue 20 through the command line: the drawing holds LA01-BA007; a catalog
    # listing its neighbours LA01-BA002 and LA01-WA007 (not it) gets no hit for them.
    pdf = tmp_path / "pid.pdf"
    draw_codes(pdf, [("LA01-BA007", 40, 60, 9, 0), ("FIC-101", 40, 120, 9, 0)],
               width=420, height=300)
    cat = write_catalog(tmp_path / "codes.yaml", ["FIC-101", "LA01-BA002", "LA01-WA007"])
    out = tmp_path / "hits.csv"
    code, _, stderr = run_cli(capsys, pdf, "--patterns", cat, "-o", out, "--no-cache")
    assert code == 0, stderr
    assert list(pd.read_csv(out)["pattern_id"]) == ["FIC-101"]
