"""The blank-tile test (issue 18, item 2): a tile is skipped only when it holds no
mark of glyph size, judged in physical units at the tile's DPI -- never by the
share of the tile that is dark, which dropped lone small codes on big tiles."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from locator.cli import main
from locator.tiling import is_blank
from tests.conftest import write_catalog
from tests.docmaker import scan_pdf

# Six lone 10-pt codes, far apart on an A3 scan at 300 dpi: each has 390-500
# dark pixels, under the old test's 512 (0.0002 of a 1600 px tile), so every
# tile holding one was skipped and none was read.
LONE = [("R1", 120, 150, 10, 0), ("L3", 650, 200, 10, 0), ("T4", 400, 560, 10, 0),
        ("J5", 100, 900, 10, 0), ("F7", 700, 1000, 10, 0), ("X1", 420, 1120, 10, 0)]


def _cli(capsys, *args):
    from locator.cli import err

    width, err.width = err.width, 1000
    try:
        with pytest.raises(SystemExit) as e:
            main([str(a) for a in args])
    finally:
        err.width = width
    cap = capsys.readouterr()
    return e.value.code, " ".join(cap.err.split())


def test_lone_small_codes_on_a_sparse_scan_are_all_read(capsys, tmp_path):
    import pandas as pd

    pdf = tmp_path / "sparse-a3.pdf"
    scan_pdf(pdf, LONE, width=842, height=1191, dpi=300)
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for c in LONE], min_score=100)
    out = tmp_path / "hits.csv"
    code, err = _cli(capsys, pdf, "--patterns", cat, "-o", out, "--rotations", "0",
                     "--no-cache")  # the default tile size (1600 px) and dpi (300)
    assert code == 0, err
    assert sorted(pd.read_csv(out)["matched"]) == sorted(c[0] for c in LONE), err
    assert "never found none" in err
    read, skipped = map(int, re.search(r"tiles (\d+) read, (\d+) blank skipped", err).groups())
    assert read > 0 and skipped > 0  # the empty tiles of the page are still skipped


def test_a_noisy_blank_scan_is_still_skipped(capsys, tmp_path):
    # salt-and-pepper noise (1 pixel in 500) and dust specks up to 3 px across
    # on an A4 page at 300 dpi: nothing to read on any of its six tiles
    rnd = np.random.default_rng(7)
    img = np.full((3508, 2480), 255, np.uint8)
    img[rnd.random(img.shape) < 0.002] = 0
    for y, x in rnd.integers(0, 3500, size=(300, 2)):
        s = int(rnd.integers(2, 4))
        img[y:y + s, min(x, 2470):min(x, 2470) + s] = 40
    img[rnd.random(img.shape) < 0.01] = 200  # light grey grain: not ink
    path = tmp_path / "noise.png"
    Image.fromarray(img).save(path, dpi=(300, 300))
    cat = write_catalog(tmp_path / "codes.yaml", ["R1"])
    code, err = _cli(capsys, path, "--patterns", cat, "--rotations", "0", "--no-cache")
    assert code == 0, err
    assert "tiles 0 read, 6 blank skipped" in err


@pytest.mark.parametrize("dpi", [100, 150, 300, 600])
@pytest.mark.parametrize("tile", [400, 1600, 4000])
def test_one_small_glyph_is_never_blank_whatever_the_tile_size(dpi, tile):
    import pymupdf

    # a 4-pt "1" (the thinnest glyph of small text) alone on a tile of any size (at
    # 72 dpi it has no pixel darker than the ink level at all: not a DPI to read it at)
    doc = pymupdf.open()
    page = doc.new_page(width=tile * 72 / dpi, height=tile * 72 / dpi)
    page.insert_text((page.rect.width / 2, page.rect.height / 2), "1", fontsize=4)
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]
    assert not is_blank(img, dpi=dpi)
    assert is_blank(np.full_like(img, 255), dpi=dpi)
    noisy = np.full_like(img, 255)
    noisy[np.random.default_rng(1).random(img.shape) < 0.002] = 0
    # pepper is no glyph at scan DPIs (below, a 4-pt glyph is 4 px: three specks in a row
    # may be one, and the tile is read)
    assert is_blank(noisy, dpi=dpi) or dpi < 150
