"""Documents as they come, through ``locate`` itself: every input type, several
files at once, and every kind of bad input (a clear line, its exit code, no
traceback, no output file)."""

from __future__ import annotations

import struct
import time
import zlib

import pandas as pd
import pymupdf
import pytest
from PIL import Image

from locator.cli import main
from locator.documents import expand_inputs
from locator.errors import InputFileError
from tests.conftest import draw_codes, write_catalog
from tests.docmaker import image_file, layer_boxes, scan_pdf, tiff_file

CODES = [("FIC-101", 40, 60, 11, 0), ("PT-2034", 200, 120, 10, 0), ("LT-3307", 60, 200, 11, 0)]
OTHER = [("XV-5521", 30, 80, 11, 0), ("HS-6620", 60, 300, 10, 0)]
ALL = [c[0] for c in CODES + OTHER]
FAST = ["--rotations", "0", "-q"]


@pytest.fixture(autouse=True)
def _wide_console():
    """A wide stderr console, so long file names in warnings are not cut."""
    from locator.cli import err

    old = err.width
    err.width = 400
    yield
    err.width = old


def cli(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return e.value.code, cap.out, " ".join(cap.err.split())  # rich wraps long lines


@pytest.fixture
def catalog(tmp_path):
    return write_catalog(tmp_path / "codes.yaml", ALL)


def _table(path):
    df = pd.read_csv(path)
    assert list(df.columns[:2]) == ["file", "pattern_id"]
    return df


# -- every input type -------------------------------------------------------------

@pytest.mark.parametrize("suffix,fmt", [(".png", "PNG"), (".jpg", "JPEG")])
def test_single_images(capsys, tmp_path, catalog, suffix, fmt):
    img = tmp_path / f"scan{suffix}"
    truth = image_file(img, CODES, fmt=fmt)
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, img, "--patterns", catalog, "-o", out, *FAST)
    assert code == 0, err
    df = _table(out)
    assert sorted(df["matched"]) == sorted(truth)
    assert set(df["file"]) == {str(img)} and set(df["source"]) == {"ocr"}
    for row in df.itertuples():
        t = truth[row.matched]
        assert abs((row.x0 + row.x1) / 2 - (t.x0 + t.x1) / 2) < 2
        assert abs((row.y0 + row.y1) / 2 - (t.y0 + t.y1) / 2) < 2


def test_multipage_tiff_pages_and_page_option(capsys, tmp_path, catalog):
    tif = tmp_path / "scans.tif"
    tiff_file(tif, [CODES, OTHER], sizes=((500, 350), (350, 500)))
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, tif, "--patterns", catalog, "-o", out, *FAST)
    assert code == 0, err
    df = _table(out)
    assert {(r.matched, r.page) for r in df.itertuples()} == \
        {(c[0], 1) for c in CODES} | {(c[0], 2) for c in OTHER}
    code, _, err = cli(capsys, tif, "--patterns", catalog, "-o", out, "--pages", "2", *FAST)
    assert code == 0, err
    assert set(_table(out)["matched"]) == {c[0] for c in OTHER}


def test_folder_glob_and_several_files_in_one_run(capsys, tmp_path, catalog):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    draw_codes(folder / "vector.pdf", CODES, width=420, height=300)
    image_file(folder / "sub" / "scan.png", OTHER, width=350, height=400)
    (folder / "notes.txt").write_text("not a document")
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, folder, "--patterns", catalog, "-o", out, *FAST)
    assert code == 0, err
    df = _table(out)
    assert sorted(df["matched"]) == sorted(ALL)
    by_file = df.groupby("file")["source"].agg(set).to_dict()
    assert by_file == {str(folder / "vector.pdf"): {"text"},
                       str(folder / "sub" / "scan.png"): {"ocr"}}
    # a quoted glob, and files named one by one, give the same files
    assert expand_inputs([str(folder / "**" / "*.p*")]) == [folder / "sub" / "scan.png",
                                                            folder / "vector.pdf"]
    code, _, err = cli(capsys, folder / "vector.pdf", folder / "sub" / "scan.png",
                       "--patterns", catalog, "-o", out, *FAST)
    assert code == 0, err and sorted(_table(out)["matched"]) == sorted(ALL)


def test_glob_matching_nothing_and_empty_folder(capsys, tmp_path, catalog):
    (tmp_path / "empty").mkdir()
    code, _, err = cli(capsys, tmp_path / "empty", "--patterns", catalog)
    assert code == 3 and "holds no PDF or image" in err
    code, _, err = cli(capsys, tmp_path / "*.tif", "--patterns", catalog)
    assert code == 3 and "no PDF or image matches" in err


def test_a_bad_file_among_good_ones_is_skipped_and_named(capsys, tmp_path, catalog):
    folder = tmp_path / "docs"
    folder.mkdir()
    draw_codes(folder / "a.pdf", CODES, width=420, height=300)
    (folder / "b.pdf").write_bytes(b"%PDF-1.4 nothing else")
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, folder, "--patterns", catalog, "-o", out, "--rotations", "0")
    assert code == 0, err
    assert "b.pdf: skipped" in err
    assert sorted(_table(out)["matched"]) == sorted(c[0] for c in CODES)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_pages_text_and_scan(capsys, tmp_path, catalog, rotation):
    """/Rotate pages: the text layer's boxes and OCR'd boxes, both in unrotated space."""
    vec = tmp_path / "vec.pdf"
    draw_codes(vec, CODES, width=420, height=300, rotation=rotation)
    truth = layer_boxes(vec)
    scan = tmp_path / "scan.pdf"
    # as scanners write a sheet: upright as shown, the page's /Rotate turning it so
    truth_scan = scan_pdf(scan, OTHER, width=350, height=400, rotation=rotation,
                          upright_in_view=True)
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, vec, scan, "--patterns", catalog, "-o", out, *FAST)
    assert code == 0, err
    df = _table(out)
    for row in df.itertuples():
        t = (truth if row.file == str(vec) else truth_scan)[row.matched]
        if row.source == "text":
            assert (row.x0, row.y0, row.x1, row.y1) == pytest.approx((t.x0, t.y0, t.x1, t.y1),
                                                                     abs=0.01)
        else:
            assert abs((row.x0 + row.x1) / 2 - (t.x0 + t.x1) / 2) < 2.5
            assert abs((row.y0 + row.y1) / 2 - (t.y0 + t.y1) / 2) < 2.5
    assert sorted(df["matched"]) == sorted(ALL)


def test_source_option(capsys, tmp_path, catalog):
    vec = tmp_path / "vec.pdf"
    draw_codes(vec, CODES, width=420, height=300)
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, vec, "--patterns", catalog, "-o", out, "--source", "ocr", *FAST)
    assert code == 0 and set(_table(out)["source"]) == {"ocr"}
    code, _, err = cli(capsys, vec, "--patterns", catalog, "-o", out, "--source", "text",
                       "--rotations", "0")
    assert code == 0 and set(_table(out)["source"]) == {"text"}
    assert "1 page text" in err  # the summary says where words came from
    code, _, err = cli(capsys, vec, "--patterns", catalog, "--source", "pdf")
    assert code == 2


# -- bad input ---------------------------------------------------------------------------

def _bad(capsys, tmp_path, doc, catalog, *args):
    out = tmp_path / "never.csv"
    t = time.perf_counter()
    code, _, err = cli(capsys, doc, "--patterns", catalog, "-o", out, *args, *FAST)
    assert time.perf_counter() - t < 60, "took too long"
    assert "Traceback" not in err and "internal error" not in err
    assert not out.exists() and not list(tmp_path.glob(".never*"))
    return code, err


def _encrypted(path):
    doc = pymupdf.open()
    doc.new_page(width=300, height=200).insert_text((40, 60), "FIC-101", fontsize=10)
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")


def test_encrypted_pdf(capsys, tmp_path, catalog):
    pdf = tmp_path / "locked.pdf"
    _encrypted(pdf)
    code, err = _bad(capsys, tmp_path, pdf, catalog)
    assert code == 3 and "encrypted" in err and "--password" in err
    code, err = _bad(capsys, tmp_path, pdf, catalog, "--password", "wrong")
    assert code == 3 and "password is wrong" in err
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, pdf, "--patterns", catalog, "-o", out, "--password", "secret",
                       *FAST)
    assert code == 0, err
    assert list(_table(out)["matched"]) == ["FIC-101"]


def _five_pages(path):
    doc = pymupdf.open()
    for i in range(5):
        doc.new_page(width=300, height=200).insert_text((40, 60), f"CODE-{i + 1}1", fontsize=10)
    doc.save(path)
    return path.read_bytes()


def test_truncated_pdf_reads_what_it_can_and_names_the_lost_pages(capsys, tmp_path):
    raw = _five_pages(tmp_path / "full.pdf")
    pdf = tmp_path / "cut.pdf"
    pdf.write_bytes(raw[: len(raw) // 2])
    cat = write_catalog(tmp_path / "c.yaml", [f"CODE-{i}1" for i in range(1, 6)])
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, pdf, "--patterns", cat, "-o", out, "--rotations", "0")
    assert code == 0, err
    found = set(_table(out)["matched"])
    assert {"CODE-11", "CODE-21"} <= found and not {"CODE-41", "CODE-51"} & found
    assert "damaged" in err and "page 4" in err and "page 5" in err


def test_pdf_damaged_beyond_repair(capsys, tmp_path, catalog):
    raw = _five_pages(tmp_path / "full.pdf")
    pdf = tmp_path / "cut.pdf"
    pdf.write_bytes(raw[: int(len(raw) * 0.3)])
    code, err = _bad(capsys, tmp_path, pdf, catalog)
    assert code == 3 and "damaged or truncated" in err


def test_empty_document(capsys, tmp_path, catalog):
    pdf = tmp_path / "nopages.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
                    b"2 0 obj <</Type/Pages/Kids[]/Count 0>> endobj\n"
                    b"trailer <</Root 1 0 R>>\n%%EOF\n")
    code, err = _bad(capsys, tmp_path, pdf, catalog)
    assert code == 3 and "no pages" in err
    empty = tmp_path / "zero-bytes.pdf"
    empty.write_bytes(b"")
    code, err = _bad(capsys, tmp_path, empty, catalog)
    assert code == 3 and "empty" in err


def test_zero_size_page_is_named(capsys, tmp_path, catalog):
    doc = pymupdf.open()
    doc.new_page(width=300, height=200).insert_text((40, 60), "FIC-101", fontsize=10)
    doc.save(tmp_path / "ok.pdf")
    raw = (tmp_path / "ok.pdf").read_bytes()
    pdf = tmp_path / "zero.pdf"
    pdf.write_bytes(raw.replace(b"/MediaBox[0 0 300 200]", b"/MediaBox[0 0 0 0]    "))
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, pdf, "--patterns", catalog, "-o", out, "--rotations", "0")
    assert code == 0, err
    assert "page 1: its MediaBox [0 0 0 0] is empty" in err


def _png_header(path, w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))


def test_image_whose_header_claims_ten_gigapixels_is_refused_before_decoding(capsys, tmp_path,
                                                                              catalog):
    png = tmp_path / "bomb.png"
    _png_header(png, 100_000, 100_000)
    code, err = _bad(capsys, tmp_path, png, catalog)
    assert code == 3 and "too large" in err and "downsample" in err


def test_one_pixel_image(capsys, tmp_path, catalog):
    png = tmp_path / "dot.png"
    Image.new("L", (1, 1), 255).save(png)
    code, err = _bad(capsys, tmp_path, png, catalog)
    assert code == 3 and "1 x 1 px" in err


def test_very_wide_image_is_read_at_a_capped_dpi(capsys, tmp_path, catalog):
    png = tmp_path / "strip.png"
    Image.new("L", (60_000, 40), 255).save(png, dpi=(300, 300))
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, png, "--patterns", catalog, "-o", out, "--rotations", "0")
    assert code == 0, err
    assert "30,000 px cap" in err and "150 dpi" in err


def test_truncated_image(capsys, tmp_path, catalog):
    png = tmp_path / "cut.png"
    Image.effect_noise((400, 300), 60).save(tmp_path / "full.png")
    raw = (tmp_path / "full.png").read_bytes()
    png.write_bytes(raw[: len(raw) // 2])
    code, err = _bad(capsys, tmp_path, png, catalog)
    assert code == 3 and "cut.png" in err


def test_expand_inputs_errors(tmp_path):
    with pytest.raises(InputFileError):
        expand_inputs([tmp_path / "nothing-*.pdf"])
    # a missing plain name is passed through: opening it says "no such file"
    assert expand_inputs([tmp_path / "missing.pdf"]) == [tmp_path / "missing.pdf"]


def test_pages_option_across_several_files(capsys, tmp_path, catalog):
    folder = tmp_path / "docs"
    folder.mkdir()
    image_file(folder / "one.png", CODES)
    tiff_file(folder / "two.tif", [CODES, OTHER])
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, folder, "--patterns", catalog, "-o", out, "--pages", "2",
                       "--rotations", "0")
    assert code == 0, err
    assert "one.png: skipped" in err and "page 2 does not exist" in err
    df = _table(out)
    assert set(df["matched"]) == {c[0] for c in OTHER} and set(df["page"]) == {2}
    code, _, err = cli(capsys, folder, "--patterns", catalog, "--pages", "2-x")
    assert code == 2  # a malformed range fails before any file is read


def test_library_call_on_a_folder(tmp_path, catalog):
    import locator

    folder = tmp_path / "docs"
    folder.mkdir()
    draw_codes(folder / "a.pdf", CODES, width=420, height=300)
    draw_codes(folder / "b.pdf", CODES[:1], width=420, height=300)
    df = locator.locate(folder, catalog)
    assert list(df.columns[:2]) == ["file", "pattern_id"]
    assert df.groupby("file").size().to_dict() == {str(folder / "a.pdf"): 3,
                                                   str(folder / "b.pdf"): 1}
    assert set(df["source"]) == {"text"}
