"""Where the default pipeline's time goes on one document (issue 20): cProfile, 1 worker.

One worker, so every stage runs in this process and the profile sees it
(with 2 workers the same work is split over two processes). Prints the wall
time and the functions by cumulative time.

Run (from the repository root, on a rasterised page such as the one
``bench.bench_pid`` writes)::

    nice -n 10 .venv/bin/python -m bench.profile_pid bench-out/f-a0/A0-grey200.pdf \\
        bench-out/f-a0/A0.catalog.yaml --dpi 200
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile_pid",
                                 description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("pdf", type=Path)
    ap.add_argument("catalog", type=Path)
    ap.add_argument("--dpi", type=float, default=200.0)
    ap.add_argument("--detector", default="cc")
    ap.add_argument("--top", type=int, default=40, help="functions listed")
    a = ap.parse_args(argv)
    from locator.pipeline import run
    from locator.settings import Settings

    s = Settings(dpi=a.dpi, workers=1, cache=False, source="ocr", detector=a.detector)
    t0 = time.perf_counter()
    prof = cProfile.Profile()
    prof.enable()
    res = run(a.pdf, a.catalog, s)
    prof.disable()
    print(f"seconds {time.perf_counter() - t0:.1f}, hits {len(res.hits)}, tiles "
          f"{res.report.tiles} ({res.report.tiles_skipped} blank)")
    pstats.Stats(prof).sort_stats("cumulative").print_stats(a.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
