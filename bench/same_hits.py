"""Same hits before and after a restructuring (issue 19): run a fixed set of documents, compare two runs.

    python -m bench.same_hits run --realdocs ../shared/realdocs --inputs DIR --out OUT
    python -m bench.same_hits compare OUT_BEFORE OUT_AFTER

``run`` reads the born-digital 02, 03, 05 and 09 (``--source auto``: the text
layer, and OCR of what it lacks) with catalogs of their codes
(``python -m bench.realdoc_inputs --out DIR`` writes ``NAME.catalog.yaml``),
and the generated A0 scan at 200 dpi (Tesseract OCR, one worker, no cache),
each into ``OUT/NAME.csv``. ``compare`` says, per document, whether the two
runs have the same rows (pattern, matched, text, page, box to 0.01 pt,
source, angle) and prints the differences.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = ["02_schematic_icebreaker_v1.1a_A3", "03_schematic_olimex_esp32-poe_revM1_A2",
        "05_form_irs_w9_rev2018", "09_pid_dexpi_C02_A4"]
KEY = ("pattern_id", "matched", "text", "page", "x0", "y0", "x1", "y1", "source", "angle")


def _locate(args: list[str]) -> None:
    r = subprocess.run([sys.executable, "-m", "locator", *args, "--no-cache", "--workers", "1",
                        "-q"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"locate {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-2000:]}")


def run(realdocs: Path, inputs: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name in REAL:
        _locate([str(realdocs / f"{name}.pdf"), "--patterns", str(inputs / f"{name}.catalog.yaml"),
                 "--source", "auto", "-o", str(out / f"{name}.csv")])
        print(f"{name}: done", flush=True)
    a0 = ROOT / "samples" / "generated" / "drawing-a0-scan200.pdf"
    if not a0.exists():
        subprocess.run([sys.executable, str(ROOT / "samples" / "make_samples.py"), "--size", "A0",
                        "--scan-dpi", "200"], check=True, capture_output=True)
    _locate([str(a0), "--patterns", str(ROOT / "patterns" / "sample-a0.yaml"), "--dpi", "200",
             "-o", str(out / "a0-scan200.csv")])
    print("a0-scan200: done")


def _rows(path: Path) -> set[tuple[str, ...]]:
    with path.open(newline="", encoding="utf-8") as f:
        return {tuple(f"{float(r[k]):.2f}" if k[0] in "xy" and k[1:].isdigit() else r[k]
                      for k in KEY) for r in csv.DictReader(f)}


def compare(before: Path, after: Path) -> int:
    bad = 0
    for path in sorted(before.glob("*.csv")):
        a, b = _rows(path), _rows(after / path.name)
        same = a == b
        bad += not same
        print(f"{path.stem:45s} {len(a):5d} rows before, {len(b):5d} after: "
              f"{'same' if same else 'DIFFERENT'}")
        for r in sorted(a - b)[:10]:
            print("   only before:", r)
        for r in sorted(b - a)[:10]:
            print("   only after: ", r)
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--realdocs", type=Path, required=True)
    r.add_argument("--inputs", type=Path, required=True, help="realdoc_inputs' output folder")
    r.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "run":
        run(a.realdocs, a.inputs, a.out)
        return 0
    return compare(a.before, a.after)


if __name__ == "__main__":
    sys.exit(main())
