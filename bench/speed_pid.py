"""Speed side by side (issue 20): wall and CPU seconds of naive ``--psm 11`` and the default.

On a shared machine a run's wall time depends on what else runs (a 2-worker
run with one OpenCV thread each gets a smaller share of two busy cores than
one with four threads), so next to each wall time this prints the CPU
seconds of the run's process and its workers (user + system, from
``getrusage`` of the children), which the load does not change much. Each
repeat runs, one after the other, each in a fresh process through
``bench.bench_pid``'s child (cache off, ``--workers``): ``naive psm11``
(whole-page Tesseract ``--psm 11``), ``before`` (the default of the checkout
``--before-repo``, e.g. main; left out without it) and ``default`` (this
code's default).

Run (from the repository root, on a page ``bench.bench_pid`` rasterised)::

    nice -n 10 .venv/bin/python -m bench.speed_pid bench-out/a0/A0-grey200.pdf \\
        bench-out/a0/A0.catalog.yaml --before-repo ../main-checkout --repeats 2
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def one(spec: dict, cwd: Path) -> dict:
    """One child run: wall seconds, CPU seconds of it and its workers, hits, load."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "bench.bench_pid", "--child", json.dumps(spec)],
                       cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        raise SystemExit(f"run failed: {p.stderr[-2000:]}")
    o = json.loads(p.stdout.strip().splitlines()[-1])
    return {"seconds": o["seconds"], "wall": wall, "hits": len(o["hits"]),
            "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            "load": float(Path("/proc/loadavg").read_text().split()[0])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.speed_pid",
                                 description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("pdf", type=Path)
    ap.add_argument("catalog", type=Path)
    ap.add_argument("--dpi", type=float, default=200.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--before-repo", type=Path, help="a checkout whose default is 'before'")
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args(argv)
    runs: list[tuple[str, dict | None, Path]] = [("naive psm11", None, REPO)]
    if a.before_repo:
        runs.append(("before", {}, a.before_repo.resolve()))
    runs.append(("default", {"detector": "cc"}, REPO))
    print("| repeat | run | seconds | x naive | CPU s | x naive CPU | hits | load |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for rep in range(1, a.repeats + 1):
        naive: dict = {}
        for name, run, cwd in runs:
            spec = {"pdf": str(a.pdf.resolve()), "catalog": str(a.catalog.resolve()),
                    "dpi": a.dpi, "run": run, "workers": a.workers}
            if name == "before":
                spec["repo"] = str(cwd)  # that checkout's code and defaults
            r = one(spec, cwd)
            naive = naive or r
            print(f"| {rep} | {name} | {r['seconds']:.1f} | {r['seconds'] / naive['seconds']:.2f} "
                  f"| {r['cpu']:.1f} | {r['cpu'] / naive['cpu']:.2f} | {r['hits']} "
                  f"| {r['load']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
