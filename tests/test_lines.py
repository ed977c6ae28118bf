"""Grouping words into text lines (hand-built words, page points)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from locator.geometry import Box
from locator.lines import group_lines, snap_angle
from locator.model import Word


def w(text, x0, y0, x1, y1, page=1, angle=0):
    return Word(text, 90.0, Box(x0, y0, x1, y1), page, "t", angle)


def texts(lines):
    return [ln.text for ln in lines]


def test_words_on_one_baseline_form_one_line_in_reading_order():
    ws = [w("ROOM", 40, 10, 64, 20), w("PUMP", 10, 11, 36, 21)]
    lines = group_lines(ws)
    assert texts(lines) == ["PUMP ROOM"]
    assert lines[0].box == Box(10, 10, 64, 21)
    assert lines[0].page == 1 and lines[0].angle == 0


def test_a_wide_gap_splits_a_baseline_into_two_lines():
    ws = [w("FIC", 10, 10, 28, 20), w("101", 200, 10, 218, 20)]
    assert texts(group_lines(ws)) == ["FIC", "101"]


def test_separate_baselines_are_separate_lines():
    ws = [w("PUMP", 10, 10, 36, 20), w("ROOM", 10, 24, 36, 34), w("A", 40, 10, 46, 20)]
    assert texts(group_lines(ws)) == ["PUMP A", "ROOM"]


def test_small_vertical_jitter_stays_on_the_line():
    ws = [w("HV", 10, 10, 22, 20), w("96160-01", 25, 12, 70, 22)]
    assert texts(group_lines(ws)) == ["HV 96160-01"]


def test_vertical_text_bottom_to_top():
    # angle 90 reads bottom to top: the word lower on the page comes first
    ws = [w("101", 100, 50, 110, 68, angle=90), w("FIC-", 100, 72, 110, 95, angle=90)]
    lines = group_lines(ws)
    assert texts(lines) == ["FIC- 101"]
    assert lines[0].angle == 90


def test_vertical_text_top_to_bottom():
    ws = [w("101", 100, 72, 110, 90, angle=270), w("FIC-", 100, 50, 110, 68, angle=270)]
    assert texts(group_lines(ws)) == ["FIC- 101"]


def test_upside_down_text_reads_right_to_left():
    ws = [w("101", 10, 10, 28, 20, angle=180), w("FIC-", 31, 10, 55, 20, angle=180)]
    assert texts(group_lines(ws)) == ["FIC- 101"]


def test_directions_and_pages_never_mix():
    ws = [w("A", 10, 10, 16, 20), w("B", 18, 10, 24, 20, angle=90),
          w("C", 18, 10, 24, 20, page=2)]
    lines = group_lines(ws)
    assert sorted((ln.page, ln.angle, ln.text) for ln in lines) == [
        (1, 0, "A"), (1, 90, "B"), (2, 0, "C")]


def test_lines_sorted_by_page_then_position():
    ws = [w("Z", 10, 100, 16, 110, page=2), w("Y", 10, 50, 16, 60), w("X", 10, 10, 16, 20)]
    assert texts(group_lines(ws)) == ["X", "Y", "Z"]


def test_angles_snap():
    assert [snap_angle(a) for a in (0, 3, 88, 181, 268, 359, -90)] == [0, 0, 90, 180, 270, 0, 270]


def test_no_words_no_lines():
    assert group_lines([]) == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 40), st.integers(1, 3),
                          st.sampled_from([0, 90, 270])), max_size=40),
       st.randoms())
def test_every_word_lands_in_exactly_one_line_whatever_the_order(specs, rnd: random.Random):
    ws = [w(f"w{k}", x * 10, y * 9, x * 10 + 8, y * 9 + 7, page=p, angle=a)
          for k, (x, y, p, a) in enumerate(specs)]
    lines = group_lines(ws)
    seen = [id(x) for ln in lines for x in ln.words]
    assert sorted(seen) == sorted(id(x) for x in ws)
    shuffled = ws[:]
    rnd.shuffle(shuffled)
    assert sorted(ln.text for ln in group_lines(shuffled)) == sorted(ln.text for ln in lines)
