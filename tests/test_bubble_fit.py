"""Bubble outlines fitted by the ink along their ring (issue 21's scan misses).

Two cases the white-inside finder (:func:`locator.bubbleimage.find_in_image`)
cannot see: digits touching the outline at both ends (the inside cut in
pieces) and a faint outline broken in places (the inside leaks out). The
generator's bubbles (``samples/samplegen``) are drawn on small pages, scanned
by its scanner (grey, blur, noise, JPEG) and searched with real Tesseract;
the faint broken ring is also drawn directly, to test the fit alone.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pymupdf
import pytest

import locator
from locator.catalog import Catalog
from locator.geometry import Box, PageFrame, Tile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "samples"))

from samplegen.pid import C  # noqa: E402
from samplegen.pidshapes import BLACK, bubble, draw  # noqa: E402
from samplegen.scan import make_scan  # noqa: E402

#: Bubbles whose digits touch the outline (``snug`` under 1: the outline passes
#: inside the widest line's ink), every shape the fit covers, upright and turned.
TOUCHING = [("FI", "96119-09", "box", 0), ("US", "U0001", "box", 0),
            ("LI", "96123-06", "hexagon", 0), ("PT", "96106-05", "hexagon", 90),
            ("TI", "96131-02", "hexagon", 270), ("FT", "96141-07", "circle", 90),
            ("PI", "96151-04", "box", 270)]


def _sheet(path: Path, specs, snug: float, colour) -> list:
    doc = pymupdf.open()
    page = doc.new_page(width=120 * len(specs) + 40, height=160)
    out = []
    for i, (letters, number, shape, angle) in enumerate(specs):
        b = bubble(80 + 120 * i, 80, letters, number, shape, angle, 6.0, snug, colour,
                   BLACK, i, bar=False)
        draw(page, list(b.strokes), [b.letters, b.number])
        out.append(b)
    doc.save(path)
    return out


@pytest.fixture(scope="module")
def touching(tmp_path_factory):
    d = tmp_path_factory.mktemp("touching")
    src, scan = d / "touching.pdf", d / "touching-scan200.pdf"
    # lime outlines: some 15 grey levels under the paper on the grey scan, broken in places
    bubbles = _sheet(src, TOUCHING, snug=0.95, colour=C["lime"])
    make_scan(src, scan, 200, seed=3, keep_out=[b.box for b in bubbles])
    return scan, bubbles


def test_faint_outlines_digits_touching_found_with_box_and_shape(touching):
    scan, bubbles = touching
    tags = {f"{b.letters.text}-{b.number.text}": b for b in bubbles}
    df = locator.locate(scan, Catalog.from_texts(sorted(tags), label="instrument"), cache=False)
    hits = df[df["form"] == "bubble"]
    assert len(hits) == len(df)  # nothing but bubble hits
    got = {}
    for r in hits.itertuples():
        b = tags[r.pattern_id]
        assert Box(r.x0, r.y0, r.x1, r.y1).iou(b.box) > 0.5, (r.pattern_id, r)
        got[r.pattern_id] = r.shape
    # every hit with its bubble's box and shape; 6 of the 7 found (the white-inside
    # finder alone: 1), US-U0001 is read wrong (bench/README-bubbles.md)
    assert all(got[t] == tags[t].shape for t in got), got
    assert len(got) >= 6, sorted(set(tags) - set(got))


def _ring_image(shape: str, gaps: int, depth: int = 13, touch: bool = False, seed: int = 0):
    """A grey image (paper 236) of one 30 pt outline at 200 dpi only ``depth``
    levels under the paper, cut by ``gaps`` breaks of 2 pt, two lines of dark
    'text' inside (the lower one touching the outline at both ends when
    ``touch``), sensor noise; and the text's box (the seed, px)."""
    import cv2

    px = 200 / 72
    n = int(80 * px)
    img = np.full((n, n), 236.0, np.float32)
    ring = np.zeros((n, n), np.uint8)
    c, r, t = n // 2, int(15 * px), 2  # 0.5 pt is 1.4 px: drawn 2 px, the render's spread
    if shape == "circle":
        cv2.circle(ring, (c, c), r, 1, t, cv2.LINE_AA)
    elif shape == "hexagon":
        h, b = int(9 * px), int(10 * px)
        a = b + int(0.6 * h)
        pts = np.array([(c + u, c + v) for u, v in
                        [(-a, 0), (-b, -h), (b, -h), (a, 0), (b, h), (-b, h)]], np.int32)
        cv2.polylines(ring, [pts], True, 1, t, cv2.LINE_AA)
    rng = np.random.default_rng(seed)
    for ang in rng.uniform(0, 2 * np.pi, gaps):  # breaks: wedges of paper through the ring
        x, y = c + int(1.1 * r * np.cos(ang)), c + int(1.1 * r * np.sin(ang))
        cv2.line(ring, (c, c), (x, y), 0, int(2 * px))
    img[ring > 0] -= depth
    # two lines of 4 pt 'characters' (strokes 2 px apart 5): 10 pt over 20 pt,
    # or the lower line reaching the outline at both ends
    lines = []
    for v, half in ((-3.0, 5.0), (3.0, 10.0)):
        if touch and v > 0:
            half = (math.sqrt(15.0 ** 2 - (v + 2) ** 2) if shape == "circle" else 12.2) + 0.3
        x0, x1 = int(c - half * px), int(c + half * px)
        y0, y1 = int(c + (v - 2) * px), int(c + (v + 2) * px)
        for k, x in enumerate(range(x0, x1 - 6, 9)):  # 'H' and 'I' in turn
            img[y0:y1, x:x + 2] = 60
            if k % 2 == 0:
                img[y0:y1, x + 5:x + 7] = 60
                img[(y0 + y1) // 2:(y0 + y1) // 2 + 2, x:x + 7] = 60
        img[y0:y1, x1 - 2:x1] = 60
        lines.append((x0, y0, x1, y1))
    img += rng.normal(0, 3.5, img.shape)
    img = cv2.GaussianBlur(np.clip(img, 0, 255), (0, 0), 0.6).astype(np.uint8)
    seed_box = (min(b[0] for b in lines), lines[0][1], max(b[2] for b in lines), lines[1][3])
    return img, seed_box


# (a hexagon whose number reaches both slanted sides is fitted a size too small
# here, along the number's edge: bench/README-bubbles.md)
@pytest.mark.parametrize(("shape", "touch"), [("circle", False), ("circle", True),
                                              ("hexagon", False)])
def test_faint_broken_outline_fitted(shape, touch):
    from locator.bubbleimage import find_in_image, fit_outline

    img, seed = _ring_image(shape, gaps=4, touch=touch)
    h, w = img.shape
    tile = Tile(1, (0, 0, w, h), 200.0, PageFrame(w * 72 / 200, h * 72 / 200))
    # no white inside of its own: the white-inside finder sees nothing of its size
    assert not [f for f in find_in_image(img, tile) if f.bubble.box.width > 20]
    ib = fit_outline(img, tile, seed)
    assert ib is not None and ib.bubble.shape.value == shape
    centre = w * 72 / 200 / 2
    box = ib.bubble.box
    assert abs(box.center[0] - centre) < 1.0 and abs(box.center[1] - centre) < 1.0
    assert box.width == pytest.approx(30 if shape == "circle" else 30.8, abs=2.0)
    assert box.height == pytest.approx(30 if shape == "circle" else 18, abs=2.0)
    assert ib.inside.min() < 100  # the text kept to read


def test_no_ring_no_bubble():
    """Text alone (no outline) or a broken ring of too little ink: nothing fitted."""
    from locator.bubbleimage import fit_outline

    for gaps, depth in ((0, 0), (14, 13)):
        img, seed = _ring_image("circle", gaps=gaps, depth=depth)
        h, w = img.shape
        tile = Tile(1, (0, 0, w, h), 200.0, PageFrame(w * 72 / 200, h * 72 / 200))
        assert fit_outline(img, tile, seed) is None, (gaps, depth)
