"""Benchmark the matcher: N random codes x M words, a share of them OCR-corrupted.

    .venv/bin/python bench/bench_match.py                 # 10,000 codes x 10,000 words
    .venv/bin/python bench/bench_match.py --codes 2000 --words 50000 --seed 3

The words imitate a drawing: most are labels standing alone, some sit in short
lines of filler words. A quarter of the words are catalog codes; of those, a
third carry one OCR confusion (O/0, I/1, S/5, B/8 ...), a tenth one real
error, and a tenth are split in two words. The rest is filler: dimensions,
English words, and codes that are *not* in the catalog (same formats), which
are what makes false positives possible. Prints the time of one
``match(words, catalog)`` call (catalog loading excluded, preparation
included), the hit count, and recall/precision against the planted codes.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from locator.catalog import Catalog  # noqa: E402
from locator.geometry import Box  # noqa: E402
from locator.match import match  # noqa: E402
from locator.model import Word  # noqa: E402

CONFUSE = {"O": "0", "0": "O", "I": "1", "1": "I", "S": "5", "5": "S", "B": "8",
           "8": "B", "Z": "2", "2": "Z", "G": "6", "6": "G", "D": "0"}
FILLER = ("PUMP ROOM VALVE SEE NOTE DETAIL SECTION FLOW TO FROM TANK LEVEL "
          "DRAIN VENT CHECK TYP MIN MAX REV DATE SCALE SHEET OF AND THE").split()


def make_code(rng: random.Random) -> str:
    kind = rng.random()
    up, dg = string.ascii_uppercase, string.digits
    if kind < 0.5:  # ISA instrument tag: FIC-1234
        return "".join(rng.choices(up, k=rng.randint(2, 4))) + "-" + \
            "".join(rng.choices(dg, k=rng.randint(3, 4)))
    if kind < 0.8:  # part number: AB-12345-C
        return "".join(rng.choices(up, k=2)) + "-" + "".join(rng.choices(dg, k=5)) + \
            "-" + rng.choice(up)
    return rng.choice("RCLQUJ") + "".join(rng.choices(dg, k=rng.randint(2, 4)))  # R123


def corrupt(code: str, rng: random.Random, real: bool) -> str:
    idx = [i for i, c in enumerate(code) if (c.isalnum() if real else c in CONFUSE)]
    if not idx:
        return code
    i = rng.choice(idx)
    if real:
        pool = string.digits if code[i].isdigit() else string.ascii_uppercase
        new = rng.choice([c for c in pool if c != code[i] and CONFUSE.get(code[i]) != c])
    else:
        new = CONFUSE[code[i]]
    return code[:i] + new + code[i + 1:]


def build(n_codes: int, n_words: int, seed: int):
    rng = random.Random(seed)
    codes: list[str] = []
    seen: set[str] = set()
    while len(codes) < n_codes:
        c = make_code(rng)
        if c not in seen:
            seen.add(c)
            codes.append(c)
    words: list[Word] = []
    planted: list[str] = []
    page_w, page_h = 2384.0, 1684.0  # A1 landscape in points
    y = 20.0
    x = 20.0
    h = 7.0
    while len(words) < n_words:
        r = rng.random()
        tokens: list[str]
        if r < 0.25:  # a catalog code, maybe damaged
            code = rng.choice(codes)
            planted.append(code)
            d = rng.random()
            if d < 0.33:
                code = corrupt(code, rng, real=False)
            elif d < 0.43:
                code = corrupt(code, rng, real=True)
            if rng.random() < 0.1 and len(code) > 3:
                k = rng.randint(1, len(code) - 1)
                tokens = [code[:k], code[k:]]
            else:
                tokens = [code]
        elif r < 0.45:  # a code of the same formats that is not in the catalog
            c = make_code(rng)
            tokens = [c] if c not in seen else [rng.choice(FILLER)]
        elif r < 0.65:  # a dimension or number
            tokens = [str(rng.randint(1, 9999))]
        else:  # a short line of words
            tokens = rng.choices(FILLER, k=rng.randint(1, 4))
        for t in tokens:
            w = 5.0 * len(t)
            if x + w > page_w - 20:
                x, y = 20.0, y + 3 * h
            words.append(Word(t, rng.uniform(40, 99), Box(x, y, x + w, y + h),
                              1 + int(y // page_h), "bench"))
            x += w + 2.0  # a word space inside the label
        x += rng.uniform(30, 120)  # open space before the next label
    return codes, words[:n_words], planted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--codes", type=int, default=10_000)
    ap.add_argument("--words", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="report the best of N runs")
    args = ap.parse_args()
    codes, words, planted = build(args.codes, args.words, args.seed)
    times = []
    hits = []
    for _ in range(args.repeat):
        catalog = Catalog.from_texts(codes)  # fresh: no cached preparation
        t0 = time.perf_counter()
        hits = match(words, catalog)
        times.append(time.perf_counter() - t0)
    found = {h.pattern_id for h in hits}
    want = set(planted)
    print(f"{len(codes):,} codes x {len(words):,} words: "
          f"{min(times):.2f} s (best of {args.repeat}; all {', '.join(f'{t:.2f}' for t in times)}), "
          f"{len(hits):,} hits")
    print(f"planted codes found: {len(found & want):,}/{len(want):,}; "
          f"ids hit that were not planted: {len(found - want):,}")


if __name__ == "__main__":
    main()
