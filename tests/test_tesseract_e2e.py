"""End to end with real Tesseract on generated pages: found, in place, nothing false.

The pages are generated with a text layer; ``source="ocr"`` makes Tesseract read them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from locator.pipeline import run
from locator.settings import Settings
from tests.conftest import SMALL_PAGE_CODES, draw_codes, write_catalog


def _assert_found_in_place(hits, truth, *, tol=2.0):
    by_code = {}
    for h in hits:
        assert h.matched in truth, f"false hit {h.matched!r} read as {h.text!r}"
        by_code.setdefault(h.matched, []).append(h)
    missing = sorted(set(truth) - set(by_code))
    assert not missing, f"not found: {missing}"
    for code, hs in by_code.items():
        assert len(hs) == 1, f"{code} reported {len(hs)} times"
        b, t = hs[0].box, truth[code]
        for a, e in zip((b.x0, b.y0, b.x1, b.y1), (t.x0, t.y0, t.x1, t.y1)):
            assert abs(a - e) <= tol, f"{code}: box {b} is not within {tol} pt of {t}"


def test_upright_and_rotated_codes_found_in_place_at_300_dpi(small_drawing):
    pdf, truth, cat = small_drawing
    # a small tile forces several seams across this A4 page
    result = run(pdf, cat, Settings(dpi=300, tile=1200, overlap=200, source="ocr"))
    assert result.report.tiles > 4
    _assert_found_in_place(result.hits, truth)
    assert {h.angle for h in result.hits} == {0, 90, 270}


def test_upright_only_setting_finds_upright_codes(small_drawing):
    pdf, truth, cat = small_drawing
    upright = {c[0] for c in SMALL_PAGE_CODES if c[4] == 0 and c[3] >= 6}
    result = run(pdf, cat, Settings(dpi=300, rotations=(0,), source="ocr"))
    found = {h.matched for h in result.hits}
    assert upright <= found
    assert found <= set(truth)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotate_page_upright_in_view_boxes_land_on_the_text(tmp_path, rotation):
    """A /Rotate page whose text stands upright when viewed (a scanner's usual output):
    boxes come back in unrotated space, on the ink."""
    codes = [("FIC-101", 80, 100, 10, rotation), ("PT-2034", 300, 250, 9, rotation),
             ("LT-3307", 500, 400, 10, rotation)]
    pdf = tmp_path / f"rot{rotation}.pdf"
    truth = draw_codes(pdf, codes, width=700, height=500, rotation=rotation)
    cat = write_catalog(tmp_path / "c.yaml", list(truth))
    result = run(pdf, cat, Settings(dpi=300, rotations=(0,), source="ocr"))  # upright in view
    _assert_found_in_place(result.hits, truth)


@pytest.mark.parametrize("rotation", [90, 270])
def test_rotate_page_text_vertical_in_view(tmp_path, rotation):
    """Text upright in unrotated space shows vertical once /Rotate turns the page:
    the rotated-text passes read it and boxes still land on the ink."""
    codes = [("FIC-101", 80, 100, 10, 0), ("PT-2034", 300, 250, 9, 0),
             ("LT-3307", 500, 400, 10, 0)]
    pdf = tmp_path / f"rot{rotation}.pdf"
    truth = draw_codes(pdf, codes, width=700, height=500, rotation=rotation)
    cat = write_catalog(tmp_path / "c.yaml", list(truth))
    result = run(pdf, cat, Settings(dpi=300, source="ocr"))
    _assert_found_in_place(result.hits, truth)


def test_the_committed_scan_is_read_whole():
    """The README's first run, for real: the scanned A2 sample (grain, blur, JPEG)
    with its catalog at 200 dpi. A change that made the scan's grain black lost 24
    of its 60 codes (and 34 of the A0's 118) while every generated-page test passed."""
    import pandas as pd

    from locator import locate
    from locator.evaluate import evaluate
    root = Path(__file__).resolve().parents[1]
    hits = locate(root / "samples" / "drawing-a2-scan200.pdf", root / "patterns" / "sample-a2.yaml",
                  dpi=200, cache=False)
    ev = evaluate(hits, pd.read_csv(root / "samples" / "drawing-a2.truth.csv"))
    assert ev.precision == 1.0, ev.false_hits
    assert ev.recall >= 0.95, ev.misses


@pytest.mark.parametrize("rotation,upright_in_view", [(90, False), (270, False), (90, True),
                                                      (180, True)])
def test_rotate_page_ocr_angle_is_the_text_layers(tmp_path, rotation, upright_in_view):
    """A hit's angle is in unrotated page space, like its box: OCR of a /Rotate
    page gives each code the direction its text layer gives it. (OCR angles were
    the rendered view's: on a /Rotate 90 scan two stacked lines then grouped as
    one line and a bubble's two words matched as a phrase with the wrong box.)"""
    angle = rotation if upright_in_view else 0
    codes = [("FIC-101", 80, 100, 10, angle), ("PT-2034", 300, 250, 9, angle),
             ("LT-3307", 500, 400, 10, angle)]
    pdf = tmp_path / f"rot{rotation}.pdf"
    truth = draw_codes(pdf, codes, width=700, height=500, rotation=rotation)
    cat = write_catalog(tmp_path / "c.yaml", list(truth))
    text = {h.matched: h.angle for h in run(pdf, cat, Settings(source="text")).hits}
    ocr = {h.matched: h.angle for h in run(pdf, cat, Settings(dpi=300, source="ocr")).hits}
    assert set(text) == set(truth) and set(ocr) == set(truth)
    # the text layer's angle is the page's; the view shows the text turned by
    # the page's rotation, so a view-space angle would differ from it
    assert ocr == text
    assert set(text.values()) == {angle}
