"""File names and kinds of file as they come (issue 18, items 4 and 6): names that
are not UTF-8, globs over symlink loops, FIFOs, devices and dangling links --
through ``locate`` itself, each read or refused by name, within seconds."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from locator.cli import main
from locator.inputs import display_name, expand_inputs, find_inputs
from tests.conftest import draw_codes, write_catalog

pytestmark = pytest.mark.timeout(120)

A = [("FIC-101", 40, 60, 11, 0), ("PT-2034", 200, 120, 10, 0)]
B = [("LT-3307", 60, 200, 11, 0)]
CODES = [c[0] for c in A + B]


def cli(capsys, *args):
    from locator.cli import err

    width, err.width = err.width, 1000
    try:
        with pytest.raises(SystemExit) as e:
            main([a if isinstance(a, str) else os.fspath(a) for a in args])
    finally:
        err.width = width
    cap = capsys.readouterr()
    return e.value.code, cap.out, " ".join(cap.err.split())


@pytest.fixture
def catalog(tmp_path):
    return write_catalog(tmp_path / "codes.yaml", CODES)


def _odd(folder, raw: bytes):
    """A path in ``folder`` whose name is the bytes ``raw`` (not UTF-8)."""
    return folder / os.fsdecode(raw)


def _draw_odd(folder, raw: bytes, codes):
    """A PDF of ``codes`` named ``raw`` (made under an ASCII name: MuPDF cannot save to it)."""
    tmp = folder / "being-made.pdf"
    draw_codes(tmp, codes, width=420, height=300)
    os.rename(tmp, _odd(folder, raw))
    return _odd(folder, raw)


# -- names that are not UTF-8 (item 4) ---------------------------------------------------

def test_a_file_whose_name_is_not_utf8_is_read(capsys, tmp_path, catalog):
    doc = _draw_odd(tmp_path, b"a\xffb.pdf", A)
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, doc, "--patterns", catalog, "-o", out, "-q")
    assert code == 0, err
    df = pd.read_csv(out)
    assert sorted(df["matched"]) == ["FIC-101", "PT-2034"]
    assert set(df["file"]) == {str(tmp_path / "a\\xffb.pdf")}  # the bytes escaped
    assert display_name(doc) == str(tmp_path / "a\\xffb.pdf")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv", ".json"])
def test_a_folder_run_with_names_that_are_not_utf8(capsys, tmp_path, catalog, suffix):
    from PIL import Image

    folder = tmp_path / "docs"
    folder.mkdir()
    _draw_odd(folder, b"a\xffb.pdf", A)
    draw_codes(folder / "good.pdf", B, width=420, height=300)
    _odd(folder, b"bad\xfe.pdf").write_bytes(b"%PDF-1.4 nothing else")
    Image.new("L", (4, 4), 255).save(_odd(folder, b"tiny\xe9.png"))  # refused: too small
    out, warn = tmp_path / f"hits{suffix}", tmp_path / f"warnings{suffix}"
    code, _, err = cli(capsys, folder, "--patterns", catalog, "-o", out, "--warnings", warn)
    assert code == 0, err
    if suffix == ".xlsx":
        df = pd.read_excel(out, sheet_name="Hits")
        warnings = pd.read_excel(warn)
    elif suffix == ".csv":
        df, warnings = pd.read_csv(out), pd.read_csv(warn)
    else:
        df, warnings = pd.read_json(out), pd.read_json(warn)
    by_file = df.groupby("file")["matched"].agg(sorted).to_dict()
    assert by_file == {str(folder / "a\\xffb.pdf"): ["FIC-101", "PT-2034"],
                       str(folder / "good.pdf"): ["LT-3307"]}
    named = set(warnings["file"])
    assert {str(folder / "bad\\xfe.pdf"), str(folder / "tiny\\xe9.png")} <= named, warnings
    assert "bad\\xfe.pdf: skipped" in err and "damaged or truncated" in err


# -- symlink loops, FIFOs, devices, dangling links (item 6) ------------------------------

def _loops(tmp_path):
    """``d/x.pdf``, ``d/a/y.pdf``, and two links back up: d/a/up -> .., d/b/up -> .."""
    d = tmp_path / "d"
    (d / "a").mkdir(parents=True)
    (d / "b").mkdir()
    os.symlink("..", d / "a" / "up")
    os.symlink("..", d / "b" / "up")
    draw_codes(d / "x.pdf", A, width=420, height=300)
    draw_codes(d / "a" / "y.pdf", B, width=420, height=300)
    return d


@pytest.mark.parametrize("how", ["glob", "folder"])
def test_symlink_loops_are_not_followed_and_each_file_is_read_once(capsys, tmp_path, catalog,
                                                                   how):
    d = _loops(tmp_path)
    out = tmp_path / "hits.csv"
    arg = str(d / "**" / "*.pdf") if how == "glob" else d
    t0 = time.monotonic()
    code, _, err = cli(capsys, arg, "--patterns", catalog, "-o", out)
    assert time.monotonic() - t0 < 60
    assert code == 0, err
    df = pd.read_csv(out)
    assert df.groupby("file")["matched"].agg(sorted).to_dict() == {
        str(d / "a" / "y.pdf"): ["LT-3307"], str(d / "x.pdf"): ["FIC-101", "PT-2034"]}
    assert f"{d / 'a' / 'up'}: skipped: a link back to {d} (a loop)" in err
    assert f"{d / 'b' / 'up'}: skipped: a link back to {d} (a loop)" in err


def test_a_linked_folder_elsewhere_is_read_once(tmp_path):
    d, elsewhere = tmp_path / "d", tmp_path / "elsewhere"
    d.mkdir()
    (elsewhere / "sub").mkdir(parents=True)
    draw_codes(elsewhere / "sub" / "z.pdf", B, width=420, height=300)
    os.symlink(elsewhere, d / "link")
    os.symlink(elsewhere, d / "again")  # a second way in: not read twice, not a loop
    found = find_inputs([d])
    assert found.files == (d / "again" / "sub" / "z.pdf",)
    assert found.skipped == ()
    assert expand_inputs([str(d / "**" / "*.pdf")]) == [d / "again" / "sub" / "z.pdf"]


def test_fifos_devices_and_dangling_links_in_a_folder_are_skipped_and_named(capsys, tmp_path,
                                                                           catalog):
    folder = tmp_path / "docs"
    folder.mkdir()
    draw_codes(folder / "good.pdf", A, width=420, height=300)
    os.mkfifo(folder / "pipe.pdf")
    os.symlink(folder / "gone.pdf", folder / "dangling.pdf")
    os.symlink("self.pdf", folder / "self.pdf")  # a link to itself
    os.mkfifo(folder / "notes.fifo")  # not named like a document: not a candidate at all
    out = tmp_path / "hits.csv"
    for arg in (folder, str(folder / "*.pdf")):
        code, _, err = cli(capsys, arg, "--patterns", catalog, "-o", out)
        assert code == 0, err
        assert sorted(pd.read_csv(out)["matched"]) == ["FIC-101", "PT-2034"]
        assert f"{folder / 'pipe.pdf'}: skipped: a FIFO (named pipe), not a document file" in err
        assert f"{folder / 'dangling.pdf'}: skipped: a dangling link (to {folder / 'gone.pdf'})" \
            in err
        assert f"{folder / 'self.pdf'}: skipped: a link loop" in err
        assert "notes.fifo" not in err


def test_a_fifo_given_as_the_document_is_refused_by_name(capsys, tmp_path, catalog):
    fifo = tmp_path / "scan.pdf"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    code, _, err = cli(capsys, fifo, "--patterns", catalog)
    assert code == 3, err
    assert f"{fifo}: a FIFO (named pipe), not a document file" in err
    assert time.monotonic() - t0 < 30  # it did not block waiting for a writer
    code, _, err = cli(capsys, "/dev/zero", "--patterns", catalog)
    assert code == 3 and "/dev/zero: a device, not a document file" in err


def test_a_fifo_among_named_files_is_skipped(capsys, tmp_path, catalog):
    draw_codes(tmp_path / "good.pdf", A, width=420, height=300)
    os.mkfifo(tmp_path / "pipe.pdf")
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, tmp_path / "good.pdf", tmp_path / "pipe.pdf", "--patterns",
                       catalog, "-o", out)
    assert code == 0, err
    assert f"{tmp_path / 'pipe.pdf'}: skipped:" in err and "FIFO" in err
    assert sorted(pd.read_csv(out)["matched"]) == ["FIC-101", "PT-2034"]


def test_a_folder_holding_only_a_fifo_says_so(capsys, tmp_path, catalog):
    folder = tmp_path / "docs"
    folder.mkdir()
    os.mkfifo(folder / "pipe.pdf")
    code, _, err = cli(capsys, folder, "--patterns", catalog)
    assert code == 3 and "holds no PDF or image" in err and "FIFO" in err


def test_batch_skips_loops_fifos_and_dangling_links_and_names_them(capsys, tmp_path, catalog):
    d = _loops(tmp_path)
    os.mkfifo(d / "pipe.pdf")
    os.symlink(d / "gone.pdf", d / "b" / "dangling.pdf")
    out, warn = tmp_path / "hits.csv", tmp_path / "warnings.csv"
    code, _, err = cli(capsys, "batch", d, "--patterns", catalog, "-o", out, "--warnings", warn,
                       "--workers", "1")
    assert code == 0, err
    assert sorted(pd.read_csv(out)["matched"]) == sorted(CODES)
    assert "2 files" in err
    for name in ("a/up", "b/up", "pipe.pdf", "b/dangling.pdf"):
        assert f"{d}/{name}: skipped" in err, name
    assert {f"{d}/a/up", f"{d}/pipe.pdf"} <= set(pd.read_csv(warn)["file"])


def test_a_single_file_not_utf8_gives_a_workbook_and_a_marked_up_copy(capsys, tmp_path,
                                                                      catalog):
    doc = _draw_odd(tmp_path, b"a\xffb.pdf", A)
    out, marked = tmp_path / "review.xlsx", tmp_path / "marked.pdf"
    code, _, err = cli(capsys, doc, "--patterns", catalog, "-o", out, "--annotate", marked)
    assert code == 0, err
    df = pd.read_excel(out, sheet_name="Hits")
    assert sorted(df["matched"]) == ["FIC-101", "PT-2034"]
    assert set(df["file"]) == {str(tmp_path / "a\\xffb.pdf")}
    import pymupdf

    with pymupdf.open(marked) as m:
        assert len(list(m[0].annots())) >= 2
