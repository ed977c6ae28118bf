"""Speed and memory benchmark (issue 8): every figure a ratio measured in one run.

    python -m bench.bench_speed --doc samples/generated/drawing-a0-scan200.pdf \
        --truth samples/drawing-a0.truth.csv --patterns patterns/sample-a0.yaml --dpi 200 \
        [--big samples/generated/drawing-a0-scan300.pdf] [--multi samples/drawing-a2-scan200.pdf]

1. The default pipeline (tiles, workers, rotated-text mosaics) against a naive
   whole-page ``pytesseract.image_to_data`` at the same DPI: wall time and recall.
2. A second run with an edited catalog (OCR cache hit) against the first run.
3. Peak RSS of one A0 page at 300 dpi with Tesseract (``--big``), in a fresh process.
4. 2 workers against 1 on a multi-page document (``--multi`` repeated to 4 pages).

Each configuration runs in its own subprocess so peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last."""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"benchmark child failed:\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


_PRELUDE = """
import json, resource, time, sys
sys.path.insert(0, {root!r})
def peak_mb():
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return round(self_mb, 1), round(kids_mb, 1)
"""


def pipeline_child(doc, patterns, truth, dpi, **settings) -> dict:
    code = _PRELUDE.format(root=str(ROOT)) + f"""
from locator.pipeline import run
from locator.settings import Settings
from locator.export.table import hits_frame
t = time.perf_counter()
res = run({str(doc)!r}, {str(patterns)!r}, Settings(dpi={dpi}, **{settings!r}))
sec = time.perf_counter() - t
out = {{"seconds": sec, "hits": len(res.hits), "tiles": res.report.tiles,
        "skipped": res.report.tiles_skipped, "cached_pages": res.report.pages_cached}}
if {str(truth) if truth else ""!r}:
    from locator.evaluate import evaluate, load_table
    ev = evaluate(hits_frame(res.hits), load_table({str(truth)!r}))
    out.update(precision=ev.precision, recall=ev.recall, f1=ev.f1)
out["peak_self_mb"], out["peak_children_mb"] = peak_mb()
print(json.dumps(out))
"""
    return _child(code)


def naive_child(doc, patterns, truth, dpi) -> dict:
    """Whole page rendered at ``dpi`` and read by one image_to_data call (Tesseract's default)."""
    code = _PRELUDE.format(root=str(ROOT)) + f"""
import numpy as np, pymupdf, pytesseract
from locator.catalog import load_catalog
from locator.match import match
from locator.model import Word
from locator.geometry import Box
from locator.export.table import hits_frame
from locator.evaluate import evaluate, load_table
t = time.perf_counter()
doc = pymupdf.open({str(doc)!r})
words = []
for pno, page in enumerate(doc, 1):
    pix = page.get_pixmap(dpi={int(dpi)}, colorspace=pymupdf.csGRAY)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]
    d = pytesseract.image_to_data(img, config="--dpi {int(dpi)}", output_type=pytesseract.Output.DICT)
    s = 72 / {dpi}
    for txt, conf, x, y, w, h in zip(d["text"], d["conf"], d["left"], d["top"], d["width"], d["height"]):
        if txt.strip() and float(conf) >= 0:
            words.append(Word(txt.strip(), float(conf), Box(x*s, y*s, (x+w)*s, (y+h)*s), pno, "tesseract"))
hits = match(words, load_catalog({str(patterns)!r}))
sec = time.perf_counter() - t
ev = evaluate(hits_frame(hits), load_table({str(truth)!r}))
out = {{"seconds": sec, "hits": len(hits), "precision": ev.precision, "recall": ev.recall, "f1": ev.f1}}
out["peak_self_mb"], out["peak_children_mb"] = peak_mb()
print(json.dumps(out))
"""
    return _child(code)


def _repeat_pages(src: Path, n: int, out: Path) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for _ in range(n):
        doc.insert_pdf(pymupdf.open(src))
    doc.save(out)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--doc", type=Path, required=True)
    ap.add_argument("--truth", type=Path, required=True)
    ap.add_argument("--patterns", type=Path, required=True)
    ap.add_argument("--dpi", type=float, default=200)
    ap.add_argument("--big", type=Path, help="an A0 page for the 300-dpi memory figure")
    ap.add_argument("--multi", type=Path, help="a page to repeat into a 4-page document")
    ap.add_argument("--only", choices=["main", "big", "multi"], action="append",
                    help="run only these parts (repeatable; default: all)")
    ap.add_argument("--edited-patterns", type=Path,
                    help="the catalog for the cache-hit run (default: --patterns minus its "
                         "last entry)")
    a = ap.parse_args(argv)
    parts = set(a.only or ["main", "big", "multi"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if "main" in parts:
            _main_part(a, tmp)
        if a.big and "big" in parts:
            # One process does everything (workers=1): its peak RSS is the
            # pipeline's, Tesseract's model included (it reads in process;
            # with LOCATOR_TESSERACT=cli it runs as a child, reported apart).
            big = pipeline_child(a.big, a.patterns, None, 300, cache=False, workers=1)
            print(f"A0 at 300 dpi, Tesseract, 1 worker: {big['seconds']:.1f} s, peak RSS "
                  f"{big['peak_self_mb']:.0f} MB (locator process; target <= 700), "
                  f"largest child process {big['peak_children_mb']:.0f} MB")
        if a.multi and "multi" in parts:
            multi = _repeat_pages(a.multi, 4, tmp / "multi.pdf")
            one = pipeline_child(multi, a.patterns, None, a.dpi, cache=False, workers=1)
            two = pipeline_child(multi, a.patterns, None, a.dpi, cache=False, workers=2)
            print(f"4-page document: 1 worker {one['seconds']:.1f} s, 2 workers "
                  f"{two['seconds']:.1f} s: speed-up {one['seconds'] / two['seconds']:.2f}x "
                  f"(target >= 1.7)")


def _main_part(a, tmp: Path) -> None:
    rows = []
    naive = naive_child(a.doc, a.patterns, a.truth, a.dpi)
    rows.append(("naive whole-page image_to_data", naive))
    default = pipeline_child(a.doc, a.patterns, a.truth, a.dpi, cache=True,
                             cache_dir=str(tmp / "cache"))
    rows.append(("locator default (first run, cache empty)", default))
    edited = a.edited_patterns or _edited_catalog(a.patterns, tmp / "edited.yaml")
    again = pipeline_child(a.doc, edited, None, a.dpi, cache=True,
                           cache_dir=str(tmp / "cache"))
    rows.append(("locator, edited catalog (cache hit)", again))
    print(f"\n{'configuration':45s} {'seconds':>8s} {'recall':>7s} {'prec.':>7s} "
          f"{'peak MB (py/ocr)':>17s}")
    for name, r in rows:
        print(f"{name:45s} {r['seconds']:8.2f} {r.get('recall', float('nan')):7.3f} "
              f"{r.get('precision', float('nan')):7.3f} "
              f"{r['peak_self_mb']:8.0f}/{r['peak_children_mb']:.0f}")
    print(f"\ntime ratio default/naive: {default['seconds'] / naive['seconds']:.2f} "
          f"(target <= 0.6); recall {naive['recall']:.3f} -> {default['recall']:.3f} "
          f"(target >= 0.97)")
    print(f"time ratio cache hit/first run: {again['seconds'] / default['seconds']:.3f} "
          f"(target <= 0.05)")


def _edited_catalog(src: Path, dst: Path) -> Path:
    import yaml

    data = yaml.safe_load(src.read_text())
    data["patterns"] = data["patterns"][:-1]
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


if __name__ == "__main__":
    main()
