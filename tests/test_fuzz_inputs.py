"""Short property runs of the two fuzz harnesses (issue 18): the OCR cache reader
(bench/fuzz_cache.py) and the PDF page planner (bench/fuzz_planner.py). Seconds
here; the 20-minute atheris runs and what they found are in bench/README-fuzz.md."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import fuzz_cache, fuzz_planner

pytestmark = pytest.mark.timeout(int(os.environ.get("LOCATOR_FUZZ_TIMEOUT", "120")))
N = int(os.environ.get("LOCATOR_FUZZ_EXAMPLES", "150"))
BOUNDED = dict(deadline=None, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@settings(max_examples=N, **BOUNDED)
@given(fuzz_cache.entries())
def test_the_cache_reader_gives_a_miss_or_usable_words(data):
    cache, Box, Word = fuzz_cache._imports()
    fuzz_cache.one_input(data, cache, Box, Word)


def test_the_cache_harness_accepts_good_entries_and_refuses_bad_ones(tmp_path):
    # the property above is only worth something if it sees both hits and misses
    import json

    cache, Box, Word = fuzz_cache._imports()
    key = cache.CacheKey("ab" + "0" * 62, fuzz_cache.PAGE)
    good = [Word("FIC-101", 91.5, Box(10, 20, 40.25, 28), fuzz_cache.PAGE, "tesseract", 0, "ocr")]
    rows = cache.entry_data(key, fuzz_cache.PAGE, good)["words"]
    assert fuzz_cache.entry_bytes(b"\x01" + json.dumps(rows).encode(), cache, key)
    store = cache.OcrCache(tmp_path)
    for blob, ok in ((b"\x01" + json.dumps(rows).encode(), True),
                     (b"\x01" + json.dumps([[*rows[0][:6], 99, *rows[0][7:]]]).encode(), False),
                     (b"\x00{}", False)):
        path = tmp_path / key[:2] / f"{key}.json"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(fuzz_cache.entry_bytes(blob, cache, key))
        assert (store.get(key) == good) is ok


@settings(max_examples=max(10, N // 5), **BOUNDED)
@given(st.binary(min_size=8, max_size=300))
def test_the_page_planner_plans_well_formed_pages_or_refuses_the_file(data):
    fuzz_planner.one_input(data)


def test_the_planner_harness_builds_pages_that_need_each_kind_of_plan():
    # seeds that reach a text-only page, an OCR'd page and an image region
    from locator.documents import Document
    from locator.settings import Settings

    plan_sources, _tiles, RunReport = fuzz_planner._planner()
    kinds = set()
    # one A4 page (bytes 0-4); then "FIC-101" at 12 pt, and a 40 x 40 px image not covered
    text = [0, 0x5B, 0x6D, 0x5B, 0x6D, 0, 0x4A, 0x88, 0, 0]
    image = [1, 0x7F, 0xFF, 0x7F, 0xFF, 0x4C, 0x90, 0x33, 0x14, 0x9E, 0x7A, 0x9E, 0x7A, 0,
             0x00, 0x80, 0xFF, 0x40, 0x20, 0x10, 0xC0, 0x60, 0, 0]
    for data in (bytes([0, 4, 5, 0, 2, *text, *image, 0, 0, 0, 0]),
                 bytes([0, 4, 5, 0, 1, *text, 0, 0, 0, 0]), bytes([0, 4, 5, 0, 0, 0, 0, 0, 0])):
        path = fuzz_planner.FOLDER / "kinds.pdf"
        path.write_bytes(fuzz_planner.build_pdf(data))
        with Document(path) as doc:
            plans = plan_sources(doc, [1], Settings(dpi=72, workers=1), RunReport(file="k"))
            kinds |= {p.ocr for p in plans.values()}
    assert kinds == {"none", "page", "regions"}, kinds
