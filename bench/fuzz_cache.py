"""A long fuzz run of the OCR cache reader: entry files of arbitrary bytes, and
well-formed entries (checksum right) holding arbitrary JSON words.

The property: :meth:`locator.cache.OcrCache.get` returns None (a miss) or a
list of words that are usable -- text a non-empty string, confidence 0-100,
a finite, ordered box, the page asked for, a known source -- and never raises;
an accepted entry is exactly what :meth:`~locator.cache.OcrCache.put` writes
for those words. Inputs that break it are libFuzzer's crash files.

With atheris (coverage-guided, libFuzzer)::

    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz_cache.py -max_total_time=1200 -timeout=20 \\
        -rss_limit_mb=3000 -max_len=4096 FUZZ_CORPUS

Without atheris, the same property with hypothesis (random, not guided)::

    .venv/bin/python bench/fuzz_cache.py --hypothesis 20000

The first byte of an input picks what the rest is: 0, the entry file's bytes
as they are; 1, JSON for the entry's ``words``, sealed with the right key,
page and checksum (so the word checks, not the checksum, are what is tried);
2, a JSON entry whose checksum is recomputed over whatever it holds. The seed
corpus (good entries and near misses) is written on the first run. Results
are in bench/README-fuzz.md.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-cache-"))
PAGE = 3


def _imports():
    from locator import cache
    from locator.geometry import Box
    from locator.model import Word

    return cache, Box, Word


def _sealed(cache, key: str, page, words) -> bytes:
    data = {"format": cache.CACHE_FORMAT, "key": key, "page": page, "words": words}
    try:
        data["sha256"] = cache.entry_checksum(key, page, words)
    except (TypeError, ValueError):  # not JSON-able (NaN): an unsealed entry then
        data["sha256"] = ""
    return json.dumps(data).encode()


def entry_bytes(data: bytes, cache, key: str) -> bytes | None:
    """The entry file an input stands for (None: the input says nothing)."""
    if not data:
        return None
    mode, rest = data[0] % 3, data[1:]
    if mode == 0:
        return rest
    try:
        value = json.loads(rest.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):
        return None
    if mode == 1:
        return _sealed(cache, key, PAGE, value)
    if isinstance(value, dict) and "words" in value:
        return _sealed(cache, value.get("key", key) if isinstance(value.get("key"), str) else key,
                       value.get("page", PAGE), value["words"])
    return json.dumps(value).encode()


def check(words, Box, Word, cache, key) -> None:
    """What ``get`` returned must be a miss or usable words."""
    if words is None:
        return
    assert isinstance(words, list)
    for w in words:
        assert isinstance(w, Word) and isinstance(w.box, Box)
        assert isinstance(w.text, str) and w.text
        assert isinstance(w.conf, float) and 0 <= w.conf <= 100
        b = w.box
        assert all(isinstance(v, float) and math.isfinite(v) for v in (b.x0, b.y0, b.x1, b.y1))
        assert b.x0 <= b.x1 and b.y0 <= b.y1
        assert w.page == PAGE and isinstance(w.engine, str) and w.engine
        assert isinstance(w.angle, int) and w.source in ("ocr", "text")
    # an accepted entry survives being written again unchanged
    again = cache.OcrCache(FOLDER / "again")
    again.put(key, words)
    assert again.get(key) == words and not again.damaged and again.write_warning is None


def one_input(data: bytes, cache, Box, Word) -> None:
    key = cache.CacheKey("ab" + "0" * 62, PAGE)
    blob = entry_bytes(data, cache, key)
    if blob is None:
        return
    store = cache.OcrCache(FOLDER / "entries")
    path = store.folder / key[:2] / f"{key}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    words = store.get(key)
    assert (words is None) == bool(store.damaged), "a miss must be recorded, a hit must not"
    check(words, Box, Word, cache, key)


def seeds(corpus: Path) -> None:
    """Seed the corpus with good entries and a few near misses (first run only)."""
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    cache, Box, Word = _imports()
    key = cache.CacheKey("ab" + "0" * 62, PAGE)
    words = [Word("FIC-101", 91.5, Box(10, 20, 40.25, 28), PAGE, "tesseract", 0, "ocr"),
             Word("PT-7", 100.0, Box(0, 0, 1e-3, 5), PAGE, "text", 90, "text"),
             Word("ü-Ω", 0.0, Box(5, 5, 5, 5), PAGE, "tesseract+easyocr", 270, "ocr")]
    good = json.dumps(cache.entry_data(key, PAGE, words)).encode()
    rows = json.dumps(cache.entry_data(key, PAGE, words)["words"]).encode()
    samples = [b"\x00" + good, b"\x00{}", b"\x00[]", b"\x01" + rows, b"\x01[]",
               b"\x01[[\"A\", 50, 0, 0, 1, 1, 3, \"t\", 0, \"ocr\"]]",
               b"\x01[[\"A\", NaN, 0, 0, 1, 1, 3, \"t\", 0, \"ocr\"]]",
               b"\x01[[\"A\", 50, 0, 0, 1, 1, 3, \"t\", 1e999, \"ocr\"]]",
               b"\x01[[\"A\", 1" + b"0" * 400 + b", 0, 0, 1, 1, 3, \"t\", 0, \"ocr\"]]",
               b"\x02" + good, b"\x02{\"words\": [], \"page\": true}"]
    for n, s in enumerate(samples):
        (corpus / f"seed-{n}").write_bytes(s)


def run_atheris(argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["locator"]):
        cache, Box, Word = _imports()
    for c in (a for a in argv[1:] if not a.startswith("-")):
        seeds(Path(c))
    atheris.Setup(argv, lambda data: one_input(data, cache, Box, Word))
    atheris.Fuzz()


def entries():
    """Hypothesis inputs in the format :func:`one_input` takes (also used by the tests)."""
    from hypothesis import strategies as st

    scalar = st.one_of(st.none(), st.booleans(), st.integers(),
                       st.sampled_from([10**400, -10**400, 2**63, 10**15]),
                       st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                       st.sampled_from(["ocr", "text", "tesseract", "", PAGE, 0, 100]))
    field_values = [st.text(max_size=10), st.floats(-1, 101), st.floats(-10, 2000),
                    st.floats(-10, 2000), st.floats(-10, 2000), st.floats(-10, 2000),
                    st.sampled_from([PAGE, PAGE, 1, 99, True, "3"]),
                    st.sampled_from(["tesseract", "", "text", 7]),
                    st.sampled_from([0, 90, 270, 45, -400, 1.5, True]),
                    st.sampled_from(["ocr", "text", "OCR", None])]
    row = st.one_of(st.tuples(*[st.one_of(v, scalar) for v in field_values]).map(list),
                    st.lists(scalar, max_size=12))
    words = st.recursive(st.lists(row, max_size=5),
                         lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                 st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3)),
                         max_leaves=8)

    def as_json(mode: int):
        return lambda v: bytes([mode]) + json.dumps(v).encode("utf-8", "surrogatepass")

    return st.one_of(
        st.binary(max_size=300).map(lambda b: b"\x00" + b),
        words.map(as_json(1)),
        st.fixed_dictionaries({"words": words},
                              optional={"page": scalar, "key": st.text(max_size=4),
                                        "format": scalar, "extra": scalar}).map(as_json(2)))


def run_hypothesis(n: int) -> None:
    from hypothesis import HealthCheck, given, settings

    cache, Box, Word = _imports()
    t0 = time.time()

    @settings(max_examples=n, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(entries())
    def prop(data):
        one_input(data, cache, Box, Word)

    prop()
    print(f"hypothesis: {n} examples in {time.time() - t0:.0f} s, no failure")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fuzzmain import fuzz_main

    fuzz_main(run_hypothesis, run_atheris)
