"""A mutation fuzz run of document opening and reading: small PDFs and images
with random bytes changed, cut or repeated, read through the whole pipeline
(text layer, rendering, tiling; OCR by a do-nothing engine).

The property: ``pipeline.run`` returns or raises a
:class:`~locator.errors.LocatorError` -- never another exception. Inputs
that break it are saved under ``--out``. ::

    .venv/bin/python bench/fuzz_documents.py --seconds 600 --out /tmp/doc-fuzz
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class NullEngine:
    name = "null"

    def version(self) -> str:
        return "null 1"

    def read(self, image, *, dpi):
        return []


def seeds(folder: Path) -> list[bytes]:
    import pymupdf
    from PIL import Image, ImageDraw

    doc = pymupdf.open()
    for k in range(3):
        p = doc.new_page(width=300, height=200)
        p.insert_text((40, 60), f"FIC-10{k}", fontsize=10)
        p.draw_rect(pymupdf.Rect(20, 100, 120, 150), color=(0, 0, 0))
    p.insert_image(pymupdf.Rect(150, 100, 250, 180), stream=_png())
    out = [doc.tobytes(), doc.tobytes(garbage=3, deflate=True)]
    for fmt in ("PNG", "JPEG", "TIFF", "BMP", "GIF"):
        im = Image.new("L", (120, 60), 255)
        ImageDraw.Draw(im).text((10, 20), "PT-2034", fill=0)
        f = folder / f"seed.{fmt.lower()}"
        im.save(f, fmt)
        out.append(f.read_bytes())
    return out


def _png() -> bytes:
    import io

    from PIL import Image

    b = io.BytesIO()
    Image.new("L", (50, 40), 128).save(b, "PNG")
    return b.getvalue()


def mutate(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.random()
        i = rnd.randrange(len(b)) if b else 0
        if op < 0.5 and b:
            b[i] = rnd.randrange(256)
        elif op < 0.65:
            del b[i:i + rnd.randint(1, 64)]
        elif op < 0.8:
            b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
        elif op < 0.9:
            b[i:i] = b[i:i + rnd.randint(1, 200)] * rnd.randint(1, 4)
        else:
            b = b[: rnd.randrange(max(1, len(b)))]
    return bytes(b)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--out", type=Path, default=Path("doc-fuzz"))
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    from locator.catalog import Catalog
    from locator.errors import LocatorError
    from locator.pipeline import run
    from locator.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="doc-fuzz-"))
    a.out.mkdir(parents=True, exist_ok=True)
    corpus = seeds(work)
    cat = Catalog.from_texts(["FIC-101", "PT-2034"])
    settings = Settings(dpi=72, rotations=(0, 90), cache=False, workers=1)
    rnd = random.Random(a.seed)
    t0, n, refused, found = time.time(), 0, 0, 0
    while time.time() - t0 < a.seconds:
        data = mutate(rnd.choice(corpus), rnd)
        path = work / ("doc.pdf" if data[:1024].find(b"%PDF") >= 0 else "doc.img")
        path.write_bytes(data)
        n += 1
        try:
            run(path, cat, settings, engines=[NullEngine()])
        except LocatorError:
            refused += 1
        except Exception:
            found += 1
            (a.out / f"crash-{n}{path.suffix}").write_bytes(data)
            (a.out / f"crash-{n}.txt").write_text(traceback.format_exc())
            print(traceback.format_exc().splitlines()[-1], flush=True)
        path.unlink()
    print(f"{n} inputs in {time.time() - t0:.0f} s: {refused} refused with a LocatorError, "
          f"{found} other exceptions (saved in {a.out})")


if __name__ == "__main__":
    main()
