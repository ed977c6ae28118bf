"""Matching only: the words of earlier runs matched again against catalog variants.

Where a catalog sits next to tags it does not list, a matcher that names the
neighbouring tag shows as false hits (issue 20). This script takes the words
``bench.bench_accuracy`` saved (``OUT/words/KEY-tiled-DPI.csv``: page points)
or a PDF's own text layer (``--text-layer``: exact words), and matches them
against three catalogs built from each document's truth
(``bench.realdoc_inputs``):

* ``all``: every code (the benchmark's catalog);
* ``once``: the codes that occur once (the issue's catalogs: a code drawn
  twice is not listed, so its reads sit next to listed codes);
* ``half``: every other code of the catalog (its neighbours left out).

The truth is cut to the codes of the catalog; scored as ``bench_accuracy``
does (exact ties collapsed). No OCR: a second run over the same words costs
seconds, so the matcher of another commit can be compared by running this
script with that commit's ``locator`` first on ``PYTHONPATH``.

Run (from the repository root)::

    python -m bench.bench_catalogs --words bench-out/accuracy/words \\
        --realdocs-out bench-out/realdocs --only 09,10,11,15,02,03
    python -m bench.bench_catalogs --text-layer ../shared/realdocs \\
        --realdocs-out bench-out/realdocs --only 09,10,11,15,02,03
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

VARIANTS = ("all", "once", "half")


def load_words(path: Path) -> list:
    """Words from a ``bench_accuracy`` words CSV (page points)."""
    import pandas as pd

    from locator.geometry import Box
    from locator.model import Word

    df = pd.read_csv(path, dtype={"text": str}, keep_default_na=False)
    return [Word(str(r.text), float(r.conf), Box(r.x0, r.y0, r.x1, r.y1), int(r.page),
                 str(r.engine), int(r.angle), str(r.source)) for r in df.itertuples()]


def text_layer_words(pdf: Path) -> list:
    """A PDF's text-layer words (``--source text``)."""
    from locator.pipeline import read_document
    from locator.settings import Settings

    return read_document(pdf, Settings(workers=1, cache=False, source="text"))


def variant(catalog, truth, name: str):
    """(catalog, truth) of one variant (module docstring)."""
    from locator.catalog import Catalog

    if name == "all":
        keep = set(catalog.ids)
    elif name == "once":
        n = truth["pattern_id"].value_counts()
        keep = set(n[n == 1].index)
    else:
        keep = {p.id for i, p in enumerate(catalog.patterns) if i % 2 == 0}
    cat = Catalog([p for p in catalog.patterns if p.id in keep], catalog.source)
    return cat, truth[truth["pattern_id"].isin(keep)].reset_index(drop=True)


def score(words: list, catalog, truth, tmp: Path) -> tuple[int, int, int]:
    """(tp, fp, fn) of matching ``words`` against ``catalog``."""
    from bench.bench_accuracy import collapse_ties
    from locator.evaluate import evaluate, load_table
    from locator.export.table import hits_frame, write_table
    from locator.match import match

    write_table(hits_frame(match(words, catalog)), tmp)
    hits, _ = collapse_ties(load_table(tmp, role="hits"))
    ev = evaluate(hits, truth)
    return ev.tp, ev.fp, ev.fn


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_catalogs",
                                 description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--words", type=Path, help="bench_accuracy's OUT/words folder")
    src.add_argument("--text-layer", type=Path, help="the realdocs folder: read the PDFs' text")
    ap.add_argument("--realdocs-out", type=Path, required=True,
                    help="bench.realdoc_inputs' output (catalogs, truth)")
    ap.add_argument("--only", default="09,10,11,15,02,03", help="document keys")
    ap.add_argument("--dpi", default="200", help="the DPI in the words files' names")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out" / "catalogs")
    args = ap.parse_args(argv)

    import warnings

    from locator.catalog import load_catalog
    from locator.evaluate import load_table

    warnings.simplefilter("ignore")  # a regex over its time limit is noted, not fatal here
    args.out.mkdir(parents=True, exist_ok=True)
    totals = {v: [0, 0, 0] for v in VARIANTS}
    print("| document | catalog | codes | tp | fp | fn | P | R |\n|---|---|---:|---:|---:|---:|---:|---:|")
    for key in args.only.split(","):
        name = Path(glob.glob(str(args.realdocs_out / f"{key}_*.catalog.yaml"))[0]).name
        name = name[:-len(".catalog.yaml")]
        if args.words is not None:
            words = load_words(args.words / f"{key}-tiled-{args.dpi}.csv")
        else:
            words = text_layer_words(Path(glob.glob(str(args.text_layer / f"{key}_*.pdf"))[0]))
        catalog = load_catalog(args.realdocs_out / f"{name}.catalog.yaml")
        truth = load_table(args.realdocs_out / f"{name}.truth.csv", role="truth")
        for v in VARIANTS:
            cat, tr = variant(catalog, truth, v)
            tp, fp, fn = score(words, cat, tr, args.out / f"{key}-{v}.csv")
            for k, x in enumerate((tp, fp, fn)):
                totals[v][k] += x
            print(f"| {key} | {v} | {len(cat)} | {tp} | {fp} | {fn} | "
                  f"{tp / max(1, tp + fp):.3f} | {tp / max(1, tp + fn):.3f} |")
    for v, (tp, fp, fn) in totals.items():
        print(f"| all | {v} | | {tp} | {fp} | {fn} | {tp / max(1, tp + fp):.3f} | "
              f"{tp / max(1, tp + fn):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
