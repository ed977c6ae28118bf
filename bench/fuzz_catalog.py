"""A long fuzz run of the catalog loader: YAML catalogs, code lists (CSV), and
catalogs naming a code list, fed arbitrary bytes.

The property: loading either gives a catalog or raises
:class:`~locator.errors.CatalogError` -- never another exception, never a
hang (libFuzzer's ``-timeout``), never a memory blow-up (``-rss_limit_mb``).

With atheris (coverage-guided, libFuzzer)::

    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz_catalog.py -max_total_time=900 -timeout=20 \\
        -rss_limit_mb=3000 -max_len=8192 -dict=bench/fuzz_catalog.dict FUZZ_CORPUS

Without atheris, the same property with hypothesis (random, not guided)::

    .venv/bin/python bench/fuzz_catalog.py --hypothesis 20000

The first byte of an input picks what is loaded (0: YAML catalog, 1: CSV code
list, 2: a YAML catalog whose ``file:`` entry reads the rest as CSV); the seed
corpus is written from ``patterns/`` on the first run. Results are in
bench/README-fuzz.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-catalog-"))
(FOLDER / "codes.csv").write_text("Tag,Type\nFIC-101,instrument\nPT-7,\n")
(FOLDER / "sym.png").write_bytes(
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    b":~\x9bU\x00\x00\x00\nIDATx\x9cc\xf8\x0f\x00\x01\x01\x01\x00\x18\xdd\x8d\xb0\x00\x00\x00"
    b"\x00IEND\xaeB`\x82")
CSV = FOLDER / "fuzz.csv"
WITH_FILE = FOLDER / "with-file.yaml"
WITH_FILE.write_text("defaults: {min_score: 80}\npatterns:\n  - FIC-1\n"
                     "  - {file: fuzz.csv, column: Tag, label_column: Type}\n")


def _imports():
    from locator import catalog
    from locator.errors import CatalogError

    return catalog, CatalogError


def one_input(data: bytes, catalog, CatalogError) -> None:
    """Load ``data`` as the first byte says; anything but CatalogError escapes."""
    if not data:
        return
    mode, rest = data[0] % 3, data[1:]
    try:
        if mode == 0:
            text = catalog.tables.decode_text(rest, "fuzz.yaml", None)
            cat = catalog.parse_catalog(text, name="fuzz.yaml", base_dir=FOLDER)
        elif mode == 1:
            CSV.write_bytes(rest)
            cat = catalog.load_codes(CSV, column="Tag", label_column="Type")
        else:
            CSV.write_bytes(rest)
            cat = catalog.load_catalog(WITH_FILE)
    except CatalogError:
        return
    # what loads must be usable: ids unique, every pattern matchable
    assert len(cat) > 0 and len(set(cat.ids)) == len(cat.ids)
    from locator.geometry import Box
    from locator.match import match
    from locator.model import Word

    match([Word("FIC-101", 90, Box(0, 0, 40, 8), 1, "t")], cat)


def seeds(corpus: Path) -> None:
    """Seed the corpus from the example catalogs and code lists (first run only)."""
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    n = 0
    for p in sorted((ROOT / "patterns").glob("*.yaml")):
        (corpus / f"seed-{n}").write_bytes(b"\x00" + p.read_bytes()[:8000])
        n += 1
    for p in sorted((ROOT / "patterns").glob("*.csv")):
        (corpus / f"seed-{n}").write_bytes(b"\x01" + p.read_bytes()[:8000])
        (corpus / f"seed-{n + 1}").write_bytes(b"\x02" + p.read_bytes()[:8000])
        n += 2
    (corpus / f"seed-{n}").write_bytes(
        b"\x00defaults: {min_score: 90, confusions: [O0, I1]}\npatterns:\n"
        b"  - id: a\n    regex: '[A-Z]{2}-\\d+'\n    near: {pattern: b, within: 20}\n"
        b"  - {id: b, text: 'PUMP ROOM', exclude: [PUMP], ignore: ' -'}\n"
        b"  - {symbol: sym.png, scales: [1, 2], rotations: [0, 90]}\n"
        b"x: &a [1, 2]\ny: *a\n")


def run_atheris(argv: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=["locator"]):
        catalog, CatalogError = _imports()
    corpus = [a for a in argv[1:] if not a.startswith("-")]
    for c in corpus:
        seeds(Path(c))
    atheris.Setup(argv, lambda data: one_input(data, catalog, CatalogError))
    atheris.Fuzz()


def run_hypothesis(n: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.test_fuzz import YAMLISH, catalogs

    catalog, CatalogError = _imports()
    import yaml

    docs = st.one_of(
        st.binary(max_size=400),
        YAMLISH.map(lambda t: b"\x00" + t.encode("utf-8", "surrogatepass")),
        catalogs.map(lambda d: b"\x00" + yaml.safe_dump(d, allow_unicode=True).encode()),
        st.lists(st.lists(st.text(max_size=8), max_size=4), max_size=6).map(
            lambda rows: bytes([1 + len(rows) % 2]) + "\n".join(
                ",".join(r) for r in [["Tag", "Type"], *rows]).encode("utf-8", "surrogatepass")))

    t0 = time.time()

    @settings(max_examples=n, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(docs)
    def prop(data):
        one_input(data, catalog, CatalogError)

    prop()
    print(f"hypothesis: {n} examples in {time.time() - t0:.0f} s, no failure")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fuzzmain import fuzz_main

    fuzz_main(run_hypothesis, run_atheris)
