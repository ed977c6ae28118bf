"""Boxes, page frames, lifting and the tile grid, mostly as property tests."""

from __future__ import annotations

import pymupdf
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from locator.geometry import (Box, GridIndex, PageFrame, Tile, connected_groups, lift,
                              overlap_groups, overlap_pairs, pt_to_px, rotate_image_box_back,
                               to_tile_px)
from locator.tiling import grid, interior_edges, is_blank, starts, view_size_px

sizes = st.floats(min_value=50, max_value=3400, allow_nan=False)
rotations = st.sampled_from([0, 90, 180, 270])
dpis = st.sampled_from([72, 100, 150, 200, 300])


def test_box_measures():
    a, b = Box(0, 0, 10, 10), Box(5, 5, 15, 15)
    assert a.area == 100
    assert a.iou(b) == pytest.approx(25 / 175)
    assert a.ios(b) == pytest.approx(0.25)
    assert a.union(b) == Box(0, 0, 15, 15)
    assert a.ios(Box(2, 2, 4, 4)) == 1.0
    assert a.iou(Box(20, 20, 30, 30)) == 0.0
    assert a.distance(Box(13, 14, 20, 20)) == pytest.approx(5.0)


@pytest.mark.parametrize("rot", [0, 90, 180, 270])
def test_frame_matches_pymupdf(rot):
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    page.set_rotation(rot)
    frame = PageFrame(600, 400, rot)
    assert frame.view_size == (page.rect.width, page.rect.height)
    for x, y in [(0, 0), (600, 400), (123.5, 77.25)]:
        v = pymupdf.Point(x, y) * page.rotation_matrix
        assert frame.to_view(x, y) == pytest.approx((v.x, v.y))
        assert frame.to_page(v.x, v.y) == pytest.approx((x, y))


@given(w=sizes, h=sizes, rot=rotations, dpi=dpis,
       tile=st.integers(200, 2000), frac=st.floats(0, 0.45),
       fx=st.floats(0, 1), fy=st.floats(0, 1))
@settings(max_examples=200, deadline=None)
def test_every_point_of_the_page_lies_in_some_tile(w, h, rot, dpi, tile, frac, fx, fy):
    overlap = int(tile * frac)
    frame = PageFrame(w, h, rot)
    tiles = grid(1, frame, dpi, tile, overlap)
    x, y = fx * w, fy * h
    assert any(t.clip.grow(1e-6).contains_point(x, y) for t in tiles)


@given(w=sizes, h=sizes, dpi=dpis, tile=st.integers(200, 2000), frac=st.floats(0, 0.45))
@settings(max_examples=200, deadline=None)
def test_tiles_same_size_inside_page_and_overlapping(w, h, dpi, tile, frac):
    overlap = int(tile * frac)
    frame = PageFrame(w, h, 0)
    tiles = grid(1, frame, dpi, tile, overlap)
    W, H = view_size_px(frame, dpi)
    assert len({t.size_px for t in tiles}) == 1
    for t in tiles:
        x0, y0, x1, y1 = t.rect_px
        assert 0 <= x0 < x1 <= max(W, 1) and 0 <= y0 < y1 <= max(H, 1)
    xs = sorted({t.rect_px[0] for t in tiles})
    tw = tiles[0].size_px[0]
    for a, b in zip(xs, xs[1:]):
        assert a + tw - b >= overlap  # neighbours overlap by at least `overlap`


def test_blank_outside_keeps_only_the_tile_regions():
    import numpy as np

    from locator.tiling import blank_outside

    frame = PageFrame(200, 100, 0)
    tile = Tile(page=1, rect_px=(0, 0, 200, 100), dpi=72.0, frame=frame)
    img = np.zeros((100, 200), dtype=np.uint8)
    assert blank_outside(img, tile) is img  # no regions: the whole tile is read
    kept = Tile(page=1, rect_px=(0, 0, 200, 100), dpi=72.0, frame=frame,
                keep=(Box(10, 10, 20.5, 30), Box(150, 50, 160, 60)))
    out = blank_outside(img, kept)
    assert (out[10:30, 10:21] == 0).all() and (out[50:60, 150:160] == 0).all()
    assert int((out == 0).sum()) == 20 * 11 + 10 * 10  # a pixel partly inside is kept
    assert (img == 0).all()  # the rendered tile is not changed in place


def test_starts_snaps_edge_tile_inward():
    assert starts(4000, 1600, 200) == [0, 1400, 2400]
    assert starts(1600, 1600, 200) == [0]
    assert starts(900, 1600, 200) == [0]


@given(w=sizes, h=sizes, rot=rotations, dpi=dpis, tile=st.integers(200, 1600),
       fx=st.floats(0, 1), fy=st.floats(0, 1), bw=st.floats(1, 60), bh=st.floats(1, 20))
@settings(max_examples=300, deadline=None)
def test_a_box_read_from_any_tile_that_holds_it_lifts_back(w, h, rot, dpi, tile, fx, fy, bw, bh):
    frame = PageFrame(w, h, rot)
    assume(bw < w and bh < h)
    drawn = Box(fx * (w - bw), fy * (h - bh), fx * (w - bw) + bw, fy * (h - bh) + bh)
    view = frame.box_to_view(drawn)
    holders = [t for t in grid(1, frame, dpi, tile, tile // 5)
               if t.view_clip.grow(1e-9).ios(view) == pytest.approx(1.0)
               and t.view_clip.x0 <= view.x0 and view.x1 <= t.view_clip.x1 + 1e-9
               and t.view_clip.y0 <= view.y0 and view.y1 <= t.view_clip.y1 + 1e-9]
    for t in holders:
        # what an engine reports: the box in the tile image's pixels
        px = Box(pt_to_px(view.x0, dpi) - t.rect_px[0], pt_to_px(view.y0, dpi) - t.rect_px[1],
                 pt_to_px(view.x1, dpi) - t.rect_px[0], pt_to_px(view.y1, dpi) - t.rect_px[1])
        mapped = to_tile_px(drawn, t)  # the inverse of lift, used to blank tiles
        for a, b in zip((mapped.x0, mapped.y0, mapped.x1, mapped.y1), (px.x0, px.y0, px.x1, px.y1)):
            assert a == pytest.approx(b, abs=1e-6)
        back = lift(px, t)
        for a, b in zip((back.x0, back.y0, back.x1, back.y1),
                        (drawn.x0, drawn.y0, drawn.x1, drawn.y1)):
            assert a == pytest.approx(b, abs=1e-6)


@given(angle=st.sampled_from([0, 90, 180, 270]), w=st.integers(5, 300), h=st.integers(5, 300),
       fx=st.floats(0, 0.9), fy=st.floats(0, 0.9))
def test_rotated_pass_boxes_map_back(angle, w, h, fx, fy):
    import numpy as np

    img = np.zeros((h, w), dtype=np.uint8)
    x0, y0 = int(fx * w), int(fy * h)
    x1, y1 = min(w, x0 + 3), min(h, y0 + 2)
    img[y0:y1, x0:x1] = 255
    turned = np.rot90(img, k=-(angle // 90))
    ys, xs = np.nonzero(turned)
    found = Box(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert rotate_image_box_back(found, angle, w, h) == Box(x0, y0, x1, y1)


def test_interior_edges_and_blank():
    import numpy as np

    frame = PageFrame(1000, 500, 0)
    tiles = grid(1, frame, 72, 400, 100)
    first, last = tiles[0], tiles[-1]
    assert interior_edges(first, frame) == (False, False, True, True)
    assert interior_edges(last, frame) == (True, True, False, False)
    blank = np.full((100, 100), 250, np.uint8)
    assert is_blank(blank)
    blank[10:14, 10:30] = 0  # a few dark pixels: a tiny word
    assert not is_blank(blank)


def test_tile_clip_is_unrotated_space():
    frame = PageFrame(600, 400, 90)  # view is 400 x 600
    t = Tile(page=1, rect_px=(0, 0, 100, 50), dpi=72, frame=frame)
    assert t.view_clip == Box(0, 0, 100, 50)
    assert t.clip == Box(0, 300, 50, 400)


boxes_st = st.lists(st.tuples(st.floats(-50, 500), st.floats(-50, 500),
                              st.floats(0.5, 120), st.floats(0.5, 120)),
                    max_size=30).map(lambda ts: [Box(x, y, x + w, y + h) for x, y, w, h in ts])


@given(boxes_st, st.floats(1.0, 200.0), st.integers(0, 29))
@settings(max_examples=150, deadline=None)
def test_grid_index_finds_every_overlapping_box(boxes, cell, q):
    """near() holds every filed box that intersects the query, once, ascending."""
    grid = GridIndex(cell)
    for k, b in enumerate(boxes):
        grid.add(k, b)
    query = boxes[q] if q < len(boxes) else Box(0, 0, 10, 10)
    near = grid.near(query)
    assert near == sorted(set(near))
    assert {k for k, b in enumerate(boxes) if b.intersection_area(query) > 0} <= set(near)


def test_grid_index_rejects_a_cell_of_zero():
    with pytest.raises(ValueError):
        GridIndex(0)


@given(boxes_st, st.sampled_from([0.01, 0.5, 0.9]))
@settings(max_examples=150, deadline=None)
def test_overlap_pairs_equal_all_pairs(boxes, min_ios):
    brute = [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
             if boxes[i].ios(boxes[j]) >= min_ios]
    assert overlap_pairs(boxes, min_ios) == brute


def test_connected_groups_are_transitive_and_ordered():
    assert connected_groups(6, [(4, 5), (0, 2), (2, 5)]) == [[0, 2, 4, 5], [1], [3]]
    assert connected_groups(0, []) == []
    boxes = [Box(0, 0, 10, 10), Box(50, 0, 60, 10), Box(5, 0, 15, 10), Box(9, 0, 19, 10)]
    assert overlap_groups(boxes, 0.5) == [[0, 2, 3], [1]]
