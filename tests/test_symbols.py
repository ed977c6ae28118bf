"""Symbols found by example (issue 9): template matching, NMS, crop, catalog end to end.

Pages are drawn here with PyMuPDF (filled and empty triangles, arrows with a
filled head) so every true box is exact: the vertices' box of a filled
polygon, grown by half the line width for a stroked one (round joins).
Examples are cut out of a separate example sheet with :func:`locator.examples.crop`,
as a user would with ``locate crop``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pymupdf
import pytest
import yaml
from PIL import Image

from locator.errors import CatalogError
from locator.geometry import Box
from locator.settings import Settings
from locator.examples import crop, load_example, save_example
from locator.symbols import Detection, SymbolSet, SymbolSpec, nms, scale_steps

TRI_H = math.sqrt(3) / 2
# Unit shapes: centred on (0, 0), y down, pointing up, 1 unit tall (triangles: side 1).
SHAPES = {
    "filled_triangle": ([(0, -TRI_H / 2), (0.5, TRI_H / 2), (-0.5, TRI_H / 2)], True),
    "empty_triangle": ([(0, -TRI_H / 2), (0.5, TRI_H / 2), (-0.5, TRI_H / 2)], False),
    "up_arrow": ([(0, -0.5), (0.22, -0.1), (0.05, -0.1), (0.05, 0.5), (-0.05, 0.5),
                  (-0.05, -0.1), (-0.22, -0.1)], True),
    "down_arrow": ([(0, 0.5), (0.22, 0.1), (0.05, 0.1), (0.05, -0.5), (-0.05, -0.5),
                    (-0.05, 0.1), (-0.22, 0.1)], True),
}
EXAMPLE_PT = 10.0  # the examples are drawn this size
EXAMPLE_DPI = 300
STROKE = 0.08  # the empty triangle's line width, as a share of its size


def draw_symbol(page: pymupdf.Page, name: str, cx: float, cy: float, size: float,
                angle: int) -> Box:
    """Draw one symbol turned ``angle`` degrees counter-clockwise; return its exact box."""
    pts, filled = SHAPES[name]
    a = math.radians(angle)
    c, s = math.cos(a), math.sin(a)
    # Counter-clockwise as seen (the page's y axis points down).
    P = [pymupdf.Point(cx + size * (dx * c + dy * s), cy + size * (-dx * s + dy * c))
         for dx, dy in pts]
    sh = page.new_shape()
    sh.draw_polyline(P + [P[0]])
    w = 0.0 if filled else STROKE * size
    if filled:
        sh.finish(color=None, fill=(0, 0, 0), closePath=True, width=0)
    else:
        sh.finish(color=(0, 0, 0), fill=None, closePath=True, width=w, lineJoin=1)
    sh.commit()
    return Box(min(p.x for p in P), min(p.y for p in P),
               max(p.x for p in P), max(p.y for p in P)).grow(w / 2)


@pytest.fixture(scope="module")
def examples(tmp_path_factory) -> dict[str, Path]:
    """One example PNG per symbol, cut out of an example sheet at EXAMPLE_DPI."""
    folder = tmp_path_factory.mktemp("examples")
    pdf = folder / "sheet.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=200, height=60)
    boxes = {name: draw_symbol(page, name, 25 + 45 * i, 30, EXAMPLE_PT, 0)
             for i, name in enumerate(SHAPES)}
    doc.save(pdf)
    out = {}
    for name, b in boxes.items():
        img, dpi = crop(pdf, 1, b.grow(2.0), dpi=EXAMPLE_DPI)
        out[name] = save_example(img, dpi, folder / "symbols" / f"{name}.png")
    return out


def spec(examples, name, *, rotations=(0, 90, 180, 270), scales=(0.8, 1.25), min_score=80):
    return SymbolSpec(id=name, label=name.replace("_", " "), path=str(examples[name]),
                      scales=tuple(scales), rotations=tuple(rotations), min_score=min_score)


def render(pdf: Path, dpi: float) -> np.ndarray:
    with pymupdf.open(pdf) as doc:
        pix = doc[0].get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
        return np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]


def to_points(b: Box, dpi: float) -> Box:
    k = 72.0 / dpi
    return Box(b.x0 * k, b.y0 * k, b.x1 * k, b.y1 * k)


def edge_error(a: Box, b: Box) -> float:
    return max(abs(a.x0 - b.x0), abs(a.y0 - b.y0), abs(a.x1 - b.x1), abs(a.y1 - b.y1))


def scanned(img: np.ndarray, seed: int = 0) -> np.ndarray:
    """Grey paper, softened ink, sensor noise: a cheap scan."""
    import cv2

    rng = np.random.default_rng(seed)
    ink = 1.0 - cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.7) / 255.0
    out = 236.0 - (236.0 - 40.0) * ink + rng.normal(0, 4.0, img.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


# -- pure functions -------------------------------------------------------------

def test_scale_steps_range_and_list():
    steps = scale_steps([0.8, 1.25], 1.1)
    assert steps[0] == pytest.approx(0.8) and steps[-1] == pytest.approx(1.25)
    assert all(b / a <= 1.1 + 1e-9 for a, b in zip(steps, steps[1:]))
    assert scale_steps([1.0, 0.5, 2.0], 1.1) == [0.5, 1.0, 2.0]  # three values: a list
    assert scale_steps([1.0], 1.1) == [1.0]


def test_nms_keeps_the_best_of_overlapping_boxes_only():
    a = Detection(0, 90.0, Box(0, 0, 10, 10), 0, 1.0)
    b = Detection(1, 80.0, Box(1, 1, 11, 11), 0, 1.0)   # same place, other symbol
    c = Detection(1, 85.0, Box(3, 3, 6, 6), 0, 1.0)      # inside a: the same place
    d = Detection(0, 70.0, Box(30, 0, 40, 10), 0, 1.0)   # elsewhere
    assert nms([b, d, c, a]) == [a, d]


def test_example_keeps_its_dpi_and_ignores_specks(tmp_path, examples):
    ex = load_example(examples["filled_triangle"])
    assert ex.dpi == pytest.approx(EXAMPLE_DPI, abs=0.1)
    # The ink box is the triangle: EXAMPLE_PT wide at EXAMPLE_DPI, within a pixel.
    assert ex.ink_box.width == pytest.approx(EXAMPLE_PT * EXAMPLE_DPI / 72, abs=1.5)
    # A speck of dirt in a corner of the crop does not widen the symbol.
    img = np.asarray(Image.open(examples["filled_triangle"])).copy()
    img[0, 0] = 0
    dirty = save_example(img, EXAMPLE_DPI, tmp_path / "dirty.png")
    assert load_example(dirty).ink_box.width == ex.ink_box.width


def test_example_without_ink_is_a_catalog_error(tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (30, 30), 255).save(blank, dpi=(200, 200))
    with pytest.raises(CatalogError, match="no symbol"):
        load_example(blank)
    with pytest.raises(CatalogError, match="cannot read"):
        load_example(tmp_path / "missing.png")


# -- finding ------------------------------------------------------------------------

def _sheet(tmp_path, items, *, width=420, height=300) -> tuple[Path, list[tuple[str, Box, int]]]:
    pdf = tmp_path / "page.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    page.insert_text((20, height - 20), "FIC-101 A V ^ > TAG 1I7", fontsize=8)
    truth = [(name, draw_symbol(page, name, x, y, size, angle), angle)
             for name, x, y, size, angle in items]
    doc.save(pdf)
    return pdf, truth


@pytest.mark.parametrize("noisy", [False, True], ids=["vector", "scan"])
def test_found_at_known_places_over_rotations_and_scales(tmp_path, examples, noisy):
    items = []
    for k, (name, rots) in enumerate([("filled_triangle", (0, 90, 180, 270)),
                                      ("empty_triangle", (0, 90, 180, 270)),
                                      ("up_arrow", (0, 90)), ("down_arrow", (0, 90))]):
        for j, (angle, size) in enumerate(zip(rots * 2, (8, 10, 12.5, 9, 11, 8.5, 12, 10))):
            items.append((name, 30 + 45 * j, 40 + 55 * k, size, angle))
    pdf, truth = _sheet(tmp_path, items)
    dpi = 200
    img = render(pdf, dpi)
    if noisy:
        img = scanned(img)
    names = list(SHAPES)
    rotations = {"up_arrow": (0, 90), "down_arrow": (0, 90)}
    symset = SymbolSet([spec(examples, n, rotations=rotations.get(n, (0, 90, 180, 270)))
                        for n in names])
    found = [d for d in symset.find(img, dpi) if symset.passes(d)]
    assert len(found) == len(truth)
    for name, box, angle in truth:
        mine = [d for d in found if to_points(d.box, dpi).iou(box) > 0.3]
        assert len(mine) == 1, (name, box)
        d = mine[0]
        assert names[d.index] == name
        assert d.angle == angle
        assert edge_error(to_points(d.box, dpi), box) <= 1.0, (name, box, to_points(d.box, dpi))


def test_filled_and_empty_triangles_are_told_apart(tmp_path, examples):
    items = [(name, 40 + 50 * i, 40 + 60 * j, size, angle)
             for j, (size, angle) in enumerate([(9, 0), (11, 180), (12.5, 90)])
             for i, name in enumerate(["filled_triangle", "empty_triangle"] * 3)]
    pdf, truth = _sheet(tmp_path, items, height=240)
    img = scanned(render(pdf, 200), seed=3)
    both = SymbolSet([spec(examples, "filled_triangle"), spec(examples, "empty_triangle")])
    found = [d for d in both.find(img, 200) if both.passes(d)]
    assert len(found) == len(truth)
    for name, box, _ in truth:
        (d,) = [d for d in found if to_points(d.box, 200).iou(box) > 0.3]
        assert both.specs[d.index].id == name
    # Alone, neither template takes the other shape: the mask holds the inside.
    for name in ("filled_triangle", "empty_triangle"):
        alone = SymbolSet([spec(examples, name)])
        hits = [d for d in alone.find(img, 200) if alone.passes(d)]
        assert len(hits) == len([t for t in truth if t[0] == name])
        assert all(any(to_points(d.box, 200).iou(b) > 0.3 for n, b, _ in truth if n == name)
                   for d in hits)


def test_example_without_dpi_is_taken_pixel_for_pixel(tmp_path, examples):
    pdf, truth = _sheet(tmp_path, [("filled_triangle", 60, 60, EXAMPLE_PT * EXAMPLE_DPI / 150, 0)],
                        width=150, height=120)
    # The 300-dpi example with no dpi in the file is matched as if rendered at 150 dpi.
    img = np.asarray(Image.open(examples["filled_triangle"]))
    bare = tmp_path / "bare.png"
    Image.fromarray(img).save(bare)
    symset = SymbolSet([SymbolSpec("t", "t", str(bare), (0.9, 1.1), (0,), 80)])
    (d,) = [d for d in symset.find(render(pdf, 150), 150) if symset.passes(d)]
    assert edge_error(to_points(d.box, 150), truth[0][1]) <= 1.0


# -- crop --------------------------------------------------------------------------

def test_crop_writes_png_of_the_right_size_and_dpi(tmp_path):
    pdf, truth = _sheet(tmp_path, [("up_arrow", 60, 60, 10, 0)], width=150, height=120)
    out = tmp_path / "symbols" / "up.png"  # the folder is made
    img, dpi = crop(pdf, 1, Box(10, 20, 30, 30), dpi=144)
    save_example(img, dpi, out)
    with Image.open(out) as im:
        assert im.size == (40, 20) and im.mode == "L"
        assert im.info["dpi"][0] == pytest.approx(144, abs=0.01)
    # The box is in unrotated page points: on a /Rotate 90 page the crop is turned.
    doc = pymupdf.open(pdf)
    doc[0].set_rotation(90)
    turned = tmp_path / "turned.pdf"
    doc.save(turned)
    img, _ = crop(turned, 1, Box(10, 20, 30, 30), dpi=144)
    assert img.shape == (40, 20)


def test_crop_command(tmp_path):
    from locator.cli import main

    pdf, truth = _sheet(tmp_path, [("down_arrow", 60, 60, 10, 0)], width=150, height=120)
    b = truth[0][1].grow(2)
    out = tmp_path / "down.png"
    with pytest.raises(SystemExit) as e:
        main(["crop", str(pdf), "--page", "1", "--box", f"{b.x0},{b.y0},{b.x1},{b.y1}",
              "-o", str(out), "--dpi", "200"])
    assert e.value.code == 0
    with Image.open(out) as im:
        assert im.size == (round(b.x1 * 200 / 72) - round(b.x0 * 200 / 72),
                           round(b.y1 * 200 / 72) - round(b.y0 * 200 / 72))
        assert im.info["dpi"][0] == pytest.approx(200, abs=0.01)
    for args, code in ((["--page", "2", "--box", "1,1,20,20"], 2),
                       (["--box", "1,1,20"], 2),
                       (["--box", "500,500,520,520"], 2)):
        with pytest.raises(SystemExit) as e:
            main(["crop", str(pdf), *args, "-o", str(tmp_path / "x.png")])
        assert e.value.code == code, args
    with pytest.raises(SystemExit) as e:
        main(["crop", str(tmp_path / "nope.pdf"), "--box", "1,1,20,20", "-o", str(out)])
    assert e.value.code == 3


# -- pipeline ------------------------------------------------------------------------

def _catalog(tmp_path, examples, names, **extra) -> Path:
    folder = tmp_path / "cat"
    (folder / "symbols").mkdir(parents=True, exist_ok=True)
    pats = []
    for n in names:
        rel = Path("symbols") / f"{n}.png"
        (folder / rel).write_bytes(examples[n].read_bytes())
        pats.append({"symbol": rel.as_posix(), "label": n.replace("_", " "), "min_score": 80,
                     "scales": [0.8, 1.25],
                     "rotations": [0, 90] if n.endswith("arrow") else [0, 90, 180, 270],
                     **extra})
    path = folder / "symbols.yaml"
    path.write_text(yaml.safe_dump({"patterns": pats}, sort_keys=False))
    return path


def test_catalog_symbol_entries_end_to_end(tmp_path, examples):
    from locator.export.table import hits_frame
    from locator.pipeline import run

    items = [("filled_triangle", 60, 60, 10, 90), ("empty_triangle", 140, 60, 12, 0),
             ("up_arrow", 220, 60, 9, 0), ("down_arrow", 300, 60, 11, 90),
             ("empty_triangle", 60, 150, 8.5, 270)]
    pdf, truth = _sheet(tmp_path, items, width=360, height=220)
    cat = _catalog(tmp_path, examples, list(SHAPES))
    res = run(pdf, cat, Settings(dpi=150, workers=1, cache=False))
    df = hits_frame(res.hits)
    assert len(df) == len(truth)
    assert set(df["engine"]) == {"template"} and set(df["source"]) == {"image"}
    assert set(df["text"]) == {""}
    assert (df["matched"] == df["pattern_id"]).all() and (df["score"] >= 80).all()
    for name, box, angle in truth:
        (h,) = [h for h in res.hits if h.box.iou(box) > 0.3]
        assert (h.pattern_id, h.label, h.angle) == (name, name.replace("_", " "), angle)
        assert edge_error(h.box, box) <= 1.0
    assert res.report.missing == [] and res.report.pages == 1 and res.words == []


def test_symbol_on_a_tile_seam_is_one_hit(tmp_path, examples):
    from locator.pipeline import read_symbols
    from locator.tiling import grid
    from locator.geometry import PageFrame

    # 300 px tiles with 100 px overlap at 150 dpi: the overlap band of the first
    # two columns is x = 200..300 px = 96..144 pt. A symbol inside it is seen by
    # both tiles; one straddling x = 300 px is cut in the first and whole in the second.
    settings = Settings(dpi=150, tile=300, overlap=100, workers=1, cache=False)
    tiles = grid(1, PageFrame(300, 140), 150, 300, 100)
    assert tiles[0].rect_px[2] == 300 and tiles[1].rect_px[0] == 200
    items = [("filled_triangle", 120, 40, 10, 0), ("up_arrow", 144, 100, 12, 90)]
    pdf, truth = _sheet(tmp_path, items, width=300, height=140)
    symset = SymbolSet([spec(examples, "filled_triangle"),
                        spec(examples, "up_arrow", rotations=(0, 90))])
    # Both tiles see the triangle in the overlap ...
    from locator.documents import Document
    from locator.pipeline import symbols_in_tile

    with Document(pdf) as doc:
        per_tile = [[h for h in symbols_in_tile(doc.render(t), t, symset)
                     if h.score >= 80 and h.box.iou(truth[0][1]) > 0.3] for t in tiles[:2]]
    assert [len(p) for p in per_tile] == [1, 1]
    # ... and the page has it once.
    hits = read_symbols(pdf, symset, settings)
    assert len(hits) == 2
    for name, box, _ in truth:
        (h,) = [h for h in hits if h.box.iou(box) > 0.3]
        assert h.pattern_id == name and edge_error(h.box, box) <= 1.0


def test_symbol_pass_in_worker_processes(tmp_path, examples):
    from locator.pipeline import read_symbols

    items = [("filled_triangle", 60 + 70 * i, 50 + 60 * j, 10, 90 * ((i + j) % 4))
             for i in range(4) for j in range(2)]
    pdf, truth = _sheet(tmp_path, items, width=320, height=180)
    symset = SymbolSet([spec(examples, "filled_triangle")])
    symset.find(np.full((50, 50), 255, np.uint8), 150)  # OpenCV used here before forking
    one = read_symbols(pdf, symset, Settings(dpi=150, tile=300, overlap=100, workers=1))
    two = read_symbols(pdf, symset, Settings(dpi=150, tile=300, overlap=100, workers=2))
    assert len(one) == len(truth) and one == two
