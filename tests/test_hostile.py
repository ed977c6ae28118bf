"""Hostile input through ``locator.cli.main``: each gives its exit code and one
clear line on stderr, no traceback, no hang, and nothing written but the
output asked for.

Already covered elsewhere (not repeated here): a truncated PDF and one
damaged beyond repair, an encrypted PDF, a 0-byte file, a PNG header claiming
100,000 x 100,000 px (tests/test_inputs.py); a text file named .pdf
(tests/test_cli.py); billion laughs, recursive aliases and deep nesting at
the library level, a non-UTF-8 catalog and code list, unsafe tags
(tests/test_catalog.py); a regex over its time limit and look-alike reads in
the matcher (tests/test_match.py).
"""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile
from pathlib import Path

import pandas as pd
import pymupdf
import pytest

from locator.cli import main
from tests.conftest import write_catalog

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _wide_console():
    from locator.cli import err

    old, err.width = err.width, 400
    yield
    err.width = old


def _files(*folders: Path) -> set[Path]:
    return {p for f in folders if f.exists() for p in f.rglob("*") if p.is_file()}


def hostile(capsys, tmp_path, *args, expect: int, writes: tuple[str, ...] = ()):
    """Run ``locate *args -o out.csv``; check the exit code, one stderr line,
    no traceback, a bounded time, and that nothing appeared in ``tmp_path`` or
    the OCR cache but ``writes``. Returns the stderr line."""
    out = tmp_path / "out.csv"
    cache = Path(os.environ["LOCATOR_CACHE_DIR"])
    before = _files(tmp_path, cache)
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args] + ["-o", str(out), "-q"])
    secs = time.perf_counter() - t0
    cap = capsys.readouterr()
    err = cap.err.strip()
    assert e.value.code == expect, err
    assert secs < 30, f"took {secs:.0f} s"
    assert "Traceback" not in err and "internal error" not in err
    new = {p.relative_to(tmp_path).as_posix() for p in _files(tmp_path, cache) - before
           if tmp_path in p.parents}
    assert new == set(writes), new
    assert not (_files(cache) - before), "the OCR cache was written"
    if expect:
        assert len(err.splitlines()) == 1 and err.startswith("locate: error: "), err
    return err


@pytest.fixture
def catalog(tmp_path):
    return write_catalog(tmp_path / "codes.yaml", ["FIC-101", "PT-2034"])


def _pdf(path, pages=("FIC-101",), **kw):
    doc = pymupdf.open()
    for text in pages:
        doc.new_page(width=300, height=200).insert_text((40, 60), text, fontsize=10, **kw)
    doc.save(path)
    return path


# -- documents -----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["auto", "ocr"])  # found interpreting it / decoding it
def test_a_page_with_a_broken_content_stream_is_named_and_the_rest_comes_back(capsys, tmp_path,
                                                                               catalog, source):
    pdf = _pdf(tmp_path / "ok.pdf", ["FIC-101", "XX-0000", "PT-2034"])
    doc = pymupdf.open(pdf)
    xref = doc[1].get_contents()[0]
    doc.update_stream(xref, b"x\x9c\x00not zlib at all" * 20, compress=False)
    doc.xref_set_key(xref, "Filter", "/FlateDecode")
    doc.save(tmp_path / "broken.pdf")
    err = hostile(capsys, tmp_path, tmp_path / "broken.pdf", "--patterns", catalog,
                  "--rotations", "0", "--no-cache", "--warnings", tmp_path / "w.csv",
                  "--source", source, expect=0, writes=("out.csv", "w.csv"))
    # -q shows the warning alone (issue 18: -q never hides what went wrong)
    assert err.startswith("warning: page 2: ") and "cannot be decoded" in err
    assert len(err.splitlines()) == 1
    assert sorted(pd.read_csv(tmp_path / "out.csv")["page"]) == [1, 3]
    [w] = pd.read_csv(tmp_path / "w.csv").itertuples()
    assert w.page == 2 and "cannot be decoded" in w.message


def test_a_page_with_garbage_operators_still_reads(capsys, tmp_path, catalog):
    pdf = _pdf(tmp_path / "ok.pdf", ["FIC-101", "PT-2034"])
    doc = pymupdf.open(pdf)
    xref = doc[1].get_contents()[0]
    doc.update_stream(xref, doc.xref_stream(xref) + b" ((( [[[ <<>> ]] Do BI ID \x00\xff EI zz 1 2 re")
    doc.save(tmp_path / "ops.pdf")
    hostile(capsys, tmp_path, tmp_path / "ops.pdf", "--patterns", catalog, "--rotations", "0",
            "--no-cache", expect=0, writes=("out.csv",))
    assert sorted(pd.read_csv(tmp_path / "out.csv")["page"]) == [1, 2]


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_zip_renamed_pdf_is_refused(capsys, tmp_path, catalog, method):
    # stored, the PDF inside begins within the first 1024 bytes: still refused,
    # not scanned for PDF objects
    inner = _pdf(tmp_path / "inner.pdf").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        zf.writestr("a.pdf", inner)
        zf.writestr("b.pdf", inner)
    (tmp_path / "archive.pdf").write_bytes(buf.getvalue())
    err = hostile(capsys, tmp_path, tmp_path / "archive.pdf", "--patterns", catalog, expect=4)
    assert "archive.pdf: a zip archive" in err and "unzip" in err


def test_an_empty_zip_and_a_docx_named_pdf_are_refused(capsys, tmp_path, catalog):
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").close()
    (tmp_path / "empty.pdf").write_bytes(buf.getvalue())
    err = hostile(capsys, tmp_path, tmp_path / "empty.pdf", "--patterns", catalog, expect=4)
    assert "zip archive" in err


def _bmp(w, h):
    return (b"BM" + struct.pack("<IHHI", 54, 0, 0, 54)
            + struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 0, 2835, 2835, 0, 0))


def _jpeg(w, h):
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def _tiff(w, h):
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 8), (278, 4, 1, h), (279, 4, 1, 0xFFFFFFFF)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, typ, n, v) for tag, typ, n, v in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd


def _gif(w, h):
    return (b"GIF89a" + struct.pack("<HHBBB", w, h, 0, 0, 0)
            + b"," + struct.pack("<HHHHB", 0, 0, w, h, 0) + b"\x08\x01\x00\x00;")


@pytest.mark.parametrize("name,data", [
    ("bomb.bmp", _bmp(100_000, 100_000)),
    ("bomb.jpg", _jpeg(65_000, 65_000)),
    ("bomb.tif", _tiff(100_000, 100_000)),
    ("bomb.gif", _gif(65_000, 65_000)),  # (PNG: tests/test_inputs.py)
])
def test_image_headers_claiming_gigapixels_are_refused_before_decoding(capsys, tmp_path,
                                                                       catalog, name, data):
    (tmp_path / name).write_bytes(data)
    err = hostile(capsys, tmp_path, tmp_path / name, "--patterns", catalog, expect=3)
    assert name in err and "too large" in err and "downsample" in err


# -- catalogs -------------------------------------------------------------------------


@pytest.fixture
def doc(tmp_path):
    return _pdf(tmp_path / "doc.pdf")


def _laughs(levels=10, width=10):
    lines = ['a0: &a0 ["lol"]']
    for k in range(1, levels):
        lines.append(f"a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * width) + "]")
    return "\n".join(lines) + f"\npatterns: *a{levels - 1}\n"


@pytest.mark.parametrize("name,text,says", [
    ("laughs.yaml", _laughs(), "alias bomb"),
    ("wide-laughs.yaml", _laughs(levels=4, width=2000), "alias bomb"),
    # Deep nesting: PyYAML may refuse it itself (6.0.4 does, for flow collections)
    # before locator's own depth check; either way the promise is exit 5 naming
    # the file and line, so the wording is not asserted.
    ("nested.yaml", "patterns: " + "[" * 100_000 + "]" * 100_000 + "\n", ""),
    ("open.yaml", "patterns:\n" + "- " * 50_000 + "x\n", ""),
    ("maps.yaml", "patterns:\n" + "".join("  " * k + f"k{k}:\n" for k in range(5000)), ""),
    ("self.yaml", "a: &a [*a]\npatterns: [x]\n", "alias"),
    ("tag.yaml", "patterns:\n  - !!python/object/apply:os.system ['touch pwned']\n",
     "unsupported YAML tag"),
])
def test_yaml_bombs_are_refused_quickly(capsys, tmp_path, doc, name, text, says):
    (tmp_path / name).write_text(text)
    err = hostile(capsys, tmp_path, doc, "--patterns", tmp_path / name, expect=5)
    assert name in err and says in err and "line" in err
    assert not (tmp_path / "pwned").exists()


def test_catastrophic_regex_is_bounded_by_its_time_limit(capsys, tmp_path):
    doc = pymupdf.open()
    page = doc.new_page(width=14_400, height=200)
    page.insert_text((10, 60), "a" * 4000 + "!", fontsize=5)
    page.insert_text((10, 120), "FIC-101", fontsize=10)
    doc.save(tmp_path / "aaa.pdf")
    cat = tmp_path / "slow.yaml"
    # whole_word: false, else the regex only starts at word starts, which the
    # regex module's backtracking handles fast
    cat.write_text("patterns:\n  - {id: slow, regex: '(a+)+$', timeout: 0.3, whole_word: false}\n"
                   "  - {id: ok, regex: 'FIC-\\d+'}\n")
    t0 = time.perf_counter()
    err = hostile(capsys, tmp_path, tmp_path / "aaa.pdf", "--patterns", cat, "--no-cache",
                  "--warnings", tmp_path / "w.csv", expect=0, writes=("out.csv", "w.csv"))
    assert time.perf_counter() - t0 < 15
    assert err.startswith("warning: pattern 'slow'") and len(err.splitlines()) == 1
    assert list(pd.read_csv(tmp_path / "out.csv")["pattern_id"]) == ["ok"]
    [w] = pd.read_csv(tmp_path / "w.csv").itertuples()
    assert "slow" in w.message and "0.3 s" in w.message


def test_a_regex_that_explodes_on_the_empty_check_is_refused(capsys, tmp_path, doc):
    cat = tmp_path / "empty.yaml"
    cat.write_text("patterns:\n  - {id: e, regex: '(a*)*'}\n")
    err = hostile(capsys, tmp_path, doc, "--patterns", cat, expect=5)
    assert "matches the empty string" in err and "empty.yaml line 2" in err


def test_a_non_utf8_code_list(capsys, tmp_path):
    doc = _pdf(tmp_path / "doc.pdf", ["PUMP\u00c9-1"])
    codes = tmp_path / "tags.csv"
    codes.write_bytes("Tag;Type\nPUMP\u00c9-1;pump\nVALVE-2;valve\n".encode("cp1252"))
    err = hostile(capsys, tmp_path, doc, "--codes", codes, "--column", "Tag", expect=5)
    assert "tags.csv line 2: not UTF-8" in err and "cp1252" in err
    err = hostile(capsys, tmp_path, doc, "--codes", codes, "--column", "Tag",
                  "--encoding", "cp1252", "--label-column", "Type", "--rotations", "0",
                  expect=0, writes=("out.csv",))
    df = pd.read_csv(tmp_path / "out.csv")
    assert list(df["pattern_id"]) == ["PUMP\u00c9-1"] and list(df["label"]) == ["pump"]
    err = hostile(capsys, tmp_path, doc, "--codes", codes, "--column", "Tag",
                  "--encoding", "no-such-codec", expect=5)
    assert "unknown encoding" in err


def test_a_non_utf8_yaml_catalog(capsys, tmp_path, doc):
    cat = tmp_path / "latin.yaml"
    cat.write_bytes("patterns:\n  - PUMP\u00c9-1\n".encode("latin-1"))
    err = hostile(capsys, tmp_path, doc, "--patterns", cat, expect=5)
    assert "latin.yaml line 2: not UTF-8" in err


def test_binary_garbage_as_a_catalog(capsys, tmp_path, doc):
    cat = tmp_path / "noise.yaml"
    cat.write_bytes(os.urandom(4096))
    err = hostile(capsys, tmp_path, doc, "--patterns", cat, expect=5)
    assert "noise.yaml" in err


# -- look-alikes ----------------------------------------------------------------------

# Cyrillic А В С Р Т and full-width digits and dash
CYR_A, CYR_B, CYR_C, CYR_P, CYR_T = "\u0410", "\u0412", "\u0421", "\u0420", "\u0422"


def _fw(s):  # full-width digits and hyphen
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else ("\uff0d" if c == "-" else c)
                   for c in s)


def test_look_alike_codes_match_their_latin_ascii_equivalents_end_to_end(capsys, tmp_path):
    """Look-alikes in the catalog match plain text in the document, and plain
    codes in the catalog match look-alikes in the document (a text layer)."""
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    drawn = {  # what the page says -> what the catalog asks for
        "FIC-101": f"FI{CYR_C}-{_fw('101')}",           # catalog in look-alikes
        "PT-2034": f"{CYR_P}{CYR_T}{_fw('-2034')}",
        f"{CYR_T}{CYR_T}-{_fw('3307')}": "TT-3307",      # page in look-alikes
        f"{CYR_A}{CYR_B}-12345-{CYR_C}": "AB-12345-C",
    }
    for i, text in enumerate(drawn):
        page.insert_text((30, 40 + 50 * i), text, fontsize=11, fontname="japan")
    doc.save(tmp_path / "mixed.pdf")
    assert {w[4] for w in pymupdf.open(tmp_path / "mixed.pdf")[0].get_text("words")} == set(drawn)
    cat = write_catalog(tmp_path / "codes.yaml", list(drawn.values()))
    hostile(capsys, tmp_path, tmp_path / "mixed.pdf", "--patterns", cat, "--rotations", "0",
            expect=0, writes=("out.csv",))
    df = pd.read_csv(tmp_path / "out.csv")
    assert sorted(df["pattern_id"]) == sorted(drawn.values())
    assert set(df["score"]) == {100.0}
    assert dict(zip(df["pattern_id"], df["text"])) == {v: k for k, v in drawn.items()}


def test_damaged_image_metadata_makes_no_noise(tmp_path):
    import warnings

    from locator.documents import check_image

    good = _tiff(100, 50)
    # StripByteCounts claims 1,000 values past the end of the file
    bad = good.replace(struct.pack("<HHII", 279, 4, 1, 0xFFFFFFFF),
                       struct.pack("<HHII", 279, 4, 1000, 10**6))
    assert bad != good
    (tmp_path / "meta.tif").write_bytes(bad)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            check_image(tmp_path / "meta.tif")
        except Exception as e:
            assert type(e).__name__ == "InputFileError"
    assert rec == []
