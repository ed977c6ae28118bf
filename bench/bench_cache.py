"""Cache-hit benchmark (issues 8 and 17): a re-run with an edited catalog against the first run.

    python -m bench.bench_cache --doc samples/generated/drawing-a0-scan200.pdf \
        --patterns patterns/sample-a0.yaml --dpi 200 [--python .venv/bin/python ...] [--repeat 3]

Each figure is the wall time of the ``locate`` command as a user runs it
(``python -m locator``, a fresh process: interpreter start, imports, reading,
matching, writing the table), because that is what a re-run costs the user;
the import of the PDF library counts. For every interpreter given (one per
virtual environment, for example one with PyMuPDF 1.28 and one with 2.0), in
one run and interleaved: a first run with an empty cache folder, then
``--repeat`` re-runs with the catalog minus its last entry (the cache hit);
the best re-run is reported, and its ratio to the first run, in wall
seconds and in CPU seconds (user + system of the command and its workers,
which a busy machine disturbs less). The same pair is then measured as issue
8 did: one ``locator.pipeline.run`` call timed inside a fresh interpreter
(its lazy imports, the PDF library's among them, count; the interpreter's
start and the command line do not).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _edited_catalog(src: Path, dst: Path) -> Path:
    import yaml

    data = yaml.safe_load(src.read_text())
    data["patterns"] = data["patterns"][:-1]
    dst.write_text(yaml.safe_dump(data, sort_keys=False))
    return dst


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _locate(python: str, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (the process and its workers) of one ``locate`` run."""
    t, c = time.perf_counter(), _cpu()
    r = subprocess.run([python, "-m", "locator", *args], cwd=ROOT, capture_output=True,
                       text=True)
    sec, cpu = time.perf_counter() - t, _cpu() - c
    if r.returncode != 0:
        raise SystemExit(f"{python}: locate failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return sec, cpu


_IN_PROCESS = """
import json, sys, time
sys.path.insert(0, {root!r})
from locator.pipeline import run
from locator.settings import Settings
t = time.perf_counter()
res = run({doc!r}, {patterns!r}, Settings(dpi={dpi}, cache=True, cache_dir={cache!r}))
print(json.dumps({{"seconds": time.perf_counter() - t, "hits": len(res.hits)}}))
"""


def _run_in_process(python: str, doc: Path, patterns: Path, dpi: float, cache: Path) -> float:
    """Seconds of one ``locator.pipeline.run`` call in a fresh interpreter (issue 8's measure:
    the lazy imports the run makes count, the interpreter's start and the CLI do not)."""
    code = _IN_PROCESS.format(root=str(ROOT), doc=str(doc), patterns=str(patterns), dpi=dpi,
                              cache=str(cache))
    r = subprocess.run([python, "-c", code], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{python}: run() failed:\n{r.stderr[-2000:]}")
    return float(json.loads(r.stdout.strip().splitlines()[-1])["seconds"])


def _pdf_library(python: str) -> str:
    r = subprocess.run([python, "-c", "import pymupdf; print(pymupdf.VersionBind)"],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--doc", type=Path, required=True)
    ap.add_argument("--patterns", type=Path, required=True)
    ap.add_argument("--dpi", type=float, default=200)
    ap.add_argument("--python", action="append",
                    help="an interpreter to measure (repeatable; default: this one)")
    ap.add_argument("--repeat", type=int, default=3, help="cache-hit re-runs (best kept)")
    a = ap.parse_args(argv)
    pythons = a.python or [sys.executable]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        edited = _edited_catalog(a.patterns, tmp_path / "edited.yaml")
        first: dict[str, tuple[float, float]] = {}
        hits: dict[str, list[tuple[float, float]]] = {p: [] for p in pythons}
        common = ["--dpi", f"{a.dpi:g}", "-q"]
        for k, py in enumerate(pythons):
            cache = tmp_path / f"cache{k}"
            first[py] = _locate(py, [str(a.doc), "--patterns", str(a.patterns), *common,
                                     "--cache", str(cache), "-o", str(tmp_path / "a.csv")])
        run_first = {py: _run_in_process(py, a.doc, a.patterns, a.dpi, tmp_path / f"run{k}")
                     for k, py in enumerate(pythons)}
        run_hits: dict[str, list[float]] = {p: [] for p in pythons}
        for _ in range(a.repeat):  # interleaved, so a busy moment hits every interpreter
            for k, py in enumerate(pythons):
                cache = tmp_path / f"cache{k}"
                hits[py].append(_locate(py, [str(a.doc), "--patterns", str(edited), *common,
                                             "--cache", str(cache),
                                             "-o", str(tmp_path / "b.csv")]))
                run_hits[py].append(_run_in_process(py, a.doc, edited, a.dpi,
                                                    tmp_path / f"run{k}"))
        print(f"{'interpreter':34s} {'PyMuPDF':>8s} {'first s':>8s} {'hit s':>6s} "
              f"{'ratio':>6s} {'first CPU':>9s} {'hit CPU':>7s} {'ratio':>6s}")
        for py in pythons:
            (fw, fc), (hw, hc) = first[py], min(hits[py])
            print(f"{py:34s} {_pdf_library(py):>8s} {fw:8.2f} {hw:6.2f} {hw / fw:6.3f} "
                  f"{fc:9.2f} {hc:7.2f} {hc / fc:6.3f}")
        print("\nlocator.pipeline.run() in a fresh interpreter (issue 8's measure)")
        print(f"{'interpreter':34s} {'PyMuPDF':>8s} {'first s':>8s} {'hit s':>6s} {'ratio':>6s}")
        for py in pythons:
            fw, hw = run_first[py], min(run_hits[py])
            print(f"{py:34s} {_pdf_library(py):>8s} {fw:8.2f} {hw:6.2f} {hw / fw:6.3f}")
        print("target: ratio <= 0.05 (wall seconds; CPU seconds: user+system of the same runs)")


if __name__ == "__main__":
    main()
