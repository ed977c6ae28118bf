"""A long fuzz run of the PDF page planner: PDFs built from the fuzzer's bytes
(page sizes and origins, /Rotate, text in odd characters, sizes and directions,
images on and off the page, covered images, thousands of paths, raw content
stream bytes, form XObjects, damaged files), planned by the public planner.

The property: :func:`locator.pipeline.plan_sources` (the source plan of each
page: text layer, OCR, or OCR of regions) and the tiles of each plan either
come back well-formed -- a plan for pages asked for only, ``ocr`` one of
``none``/``page``/``regions``, regions finite, inside the page, non-empty and
present exactly when ``ocr`` is ``regions``, text words with finite ordered
boxes on their page, tiles whole pixels inside the page's view -- or the
document is refused with a :class:`~locator.errors.LocatorError`. Any other
exception, a hang (``-timeout``) or a memory blow-up (``-rss_limit_mb``) is a
finding.

With atheris (coverage-guided, libFuzzer)::

    .venv/bin/pip install atheris
    .venv/bin/python bench/fuzz_planner.py -max_total_time=1200 -timeout=30 \\
        -rss_limit_mb=3000 -max_len=2048 FUZZ_CORPUS

Without atheris, random bytes through the same builder::

    .venv/bin/python bench/fuzz_planner.py --hypothesis 2000

Results are in bench/README-fuzz.md.
"""

from __future__ import annotations

import io
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-planner-"))
SIZES = [1.0, 3.0, 50.0, 200.0, 595.0, 842.0, 2384.0, 14400.0, 0.5, 7.25]
CHARS = ("FIC-101", "PT 7", "\ufffd\ufffd", "\x00\x01\x1f", "\ue000\ue001", "ﬁ", "a\u0301",
         "中文", "   ", "-", "O0Il|", "\u200b", "x" * 60)
RAW = [b"BT /F1 12 Tf 10 10 Td (ABC) Tj ET", b"BT /Nope 9 Tf (x) Tj ET", b"q 1 0 0 1 0 0 cm",
       b"Q Q Q", b"0 0 m 10 10 l S", b"/Im1 Do", b"BT 3 Tr (hidden) Tj ET", b"1e99 0 0 1 0 0 cm",
       b"BT /F1 0 Tf (zero) Tj ET", b"[ ( ] TJ", b"BI /W 2 /H 2 /BPC 8 /CS /G ID \x00\xff EI"]


class Bytes:
    """Reads choices from the fuzzer's bytes (the same for atheris and hypothesis)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.i = data, 0

    def byte(self) -> int:
        if self.i >= len(self.data):
            return 0
        self.i += 1
        return self.data[self.i - 1]

    def pick(self, seq):
        return seq[self.byte() % len(seq)]

    def num(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * ((self.byte() << 8 | self.byte()) / 65535.0)

    def rest(self, n: int) -> bytes:
        out = self.data[self.i:self.i + n]
        self.i += len(out)
        return out


def _png(b: Bytes) -> bytes:
    from PIL import Image

    w, h = int(b.num(1, 64)), int(b.num(1, 64))
    mode = b.pick(["L", "RGB", "RGBA", "1"])
    im = Image.frombytes(mode, (w, h), bytes(b.byte() for _ in range(8)) * (w * h * 4 // 8 + 1))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _form(pymupdf, b: Bytes):
    src = pymupdf.open()
    p = src.new_page(width=b.num(5, 300), height=b.num(5, 300))
    p.insert_text((b.num(0, 50), b.num(5, 50)), b.pick(CHARS), fontsize=b.num(1, 20))
    p.draw_rect(pymupdf.Rect(1, 1, 20, 20))
    return src


def _op(pymupdf, doc, page, b: Bytes) -> None:
    """One drawing operation on ``page``, as the bytes say."""
    w, h = page.rect.width, page.rect.height
    kind = b.byte() % 8
    x, y = b.num(-0.2 * w, 1.2 * w), b.num(-0.2 * h, 1.2 * h)
    if kind == 0:
        page.insert_text((x, y), b.pick(CHARS), fontsize=b.num(0.5, 40),
                         rotate=b.pick([0, 90, 180, 270]), render_mode=b.pick([0, 0, 3]))
    elif kind == 1:
        r = pymupdf.Rect(x, y, x + b.num(0.1, w), y + b.num(0.1, h))
        if r.is_empty or not r.is_valid:
            return
        page.insert_image(r, stream=_png(b), keep_proportion=bool(b.byte() & 1))
        if b.byte() & 1:  # covered by a white box, or by text
            page.draw_rect(r, color=None, fill=(1, 1, 1))
    elif kind == 2:
        shape = page.new_shape()
        for _ in range(b.pick([1, 10, 60, 300])):  # curves: >= 50 paths, 20 per word
            shape.draw_line((x, y), (x + b.num(-5, 5), y + b.num(-5, 5)))
        shape.finish(width=0.3)
        shape.commit()
    elif kind == 3:
        page.clean_contents()
        xref = page.get_contents()[0]
        raw = b.pick(RAW) if b.byte() & 1 else b.rest(int(b.num(0, 64)))
        doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + raw + b"\n")
    elif kind == 4:
        src = _form(pymupdf, b)
        r = pymupdf.Rect(x, y, x + b.num(1, w), y + b.num(1, h))
        if r.is_valid and not r.is_empty:
            page.show_pdf_page(r, src, 0, rotate=b.pick([0, 90, 180, 270]))
    elif kind == 5:
        page.insert_textbox(pymupdf.Rect(x, y, x + b.num(1, w), y + b.num(1, h)),
                            " ".join(b.pick(CHARS) for _ in range(b.byte() % 30)),
                            fontsize=b.num(1, 12))
    elif kind == 6:
        page.draw_rect(pymupdf.Rect(0, 0, w, h), color=None, fill=(b.num(0, 1),) * 3)
    else:
        page.insert_text((x, y), "".join(chr(b.byte() | b.byte() << 8) for _ in range(6)),
                         fontsize=b.num(2, 14))


def build_pdf(data: bytes) -> bytes:
    """The PDF the fuzzer's bytes describe (pages, their geometry and drawing)."""
    import pymupdf

    b = Bytes(data)
    doc = pymupdf.open()
    for _ in range(1 + b.byte() % 3):
        page = doc.new_page(width=b.pick(SIZES), height=b.pick(SIZES))
        if b.byte() & 1:  # a MediaBox that does not start at 0,0, and a CropBox in it
            ox, oy = b.num(-500, 500), b.num(-500, 500)
            mb = pymupdf.Rect(ox, oy, ox + page.rect.width, oy + page.rect.height)
            doc.xref_set_key(page.xref, "MediaBox", f"[{mb.x0:g} {mb.y0:g} {mb.x1:g} {mb.y1:g}]")
        for _ in range(b.byte() % 6):
            try:
                _op(pymupdf, doc, page, b)
            except (ValueError, RuntimeError):  # PyMuPDF refused the operation: not a PDF
                pass
        rot = b.pick(["0", "90", "180", "270", "-90", "45", "450", "null", "(x)"])
        doc.xref_set_key(page.xref, "Rotate", rot)
    pdf = doc.tobytes(garbage=b.byte() % 4, deflate=bool(b.byte() & 1))
    if b.byte() % 4 == 3:  # damage past the header: bytes changed, or the file cut
        buf = bytearray(pdf)
        for _ in range(1 + b.byte() % 4):
            buf[int(b.num(16, len(buf) - 1))] = b.byte()
        if b.byte() & 1:
            buf = buf[:int(b.num(len(buf) * 0.3, len(buf)))]
        pdf = bytes(buf)
    return pdf


def _planner():
    # The public planner and tiler (the pipeline's), looked up by name only.
    import locator.pipeline as p

    return p.plan_sources, p.source_tiles, p.RunReport


def check_plans(doc, pages, plans, settings, source_tiles) -> None:
    from locator.tiling import view_size_px

    assert set(plans) <= set(pages)
    for page, sp in plans.items():
        assert sp.page == page and sp.ocr in ("none", "page", "regions"), sp
        frame = doc.frame(page)
        assert isinstance(sp.describe(), str) and sp.label in ("text", "ocr", "text+ocr")
        assert bool(sp.regions) == (sp.ocr == "regions"), sp
        for r in sp.regions:
            assert all(math.isfinite(v) for v in (r.x0, r.y0, r.x1, r.y1)), r
            assert 0 <= r.x0 < r.x1 <= frame.width + 1e-6, (r, frame)
            assert 0 <= r.y0 < r.y1 <= frame.height + 1e-6, (r, frame)
        for w in sp.text:
            b = w.box
            assert w.page == page and isinstance(w.text, str) and w.text
            assert all(math.isfinite(v) for v in (b.x0, b.y0, b.x1, b.y1)) and b.x0 <= b.x1 \
                and b.y0 <= b.y1, w
        if sp.ocr == "none":
            continue
        dpi = settings.dpi
        vw, vh = view_size_px(frame, dpi)
        tiles = source_tiles(sp, frame, dpi, settings)
        assert tiles or sp.ocr == "regions"
        for t in tiles:
            x0, y0, x1, y1 = t.rect_px
            assert all(isinstance(v, int) for v in t.rect_px)
            assert 0 <= x0 < x1 <= vw and 0 <= y0 < y1 <= vh, (t.rect_px, vw, vh)
            assert t.page == page


def one_input(data: bytes) -> None:
    from locator.documents import Document
    from locator.errors import LocatorError
    from locator.settings import Settings

    plan_sources, source_tiles, RunReport = _planner()
    try:
        pdf = build_pdf(data)
    except (ValueError, RuntimeError):  # the builder could not make it: not a finding
        return
    path = FOLDER / "fuzz.pdf"
    path.write_bytes(pdf)
    source = ("auto", "auto", "text", "ocr")[data[-1] % 4 if data else 0]
    settings = Settings(dpi=72, tile=256, overlap=32, source=source, workers=1)
    try:
        with Document(path) as doc:
            pages = list(range(1, doc.page_count + 1))
            report = RunReport(file=str(path), settings=settings)
            plans = plan_sources(doc, pages, settings, report)
            check_plans(doc, pages, plans, settings, source_tiles)
    except LocatorError:
        return


def seeds(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    samples = [bytes([1, 4, 4, 0, 3, 0, 0, 0, 1, 9, 9, 9, 9, 9, 0, 1, 2, 0, 0, 2, 3, 1, 0, 1]),
               bytes([0, 3, 3, 0, 5, 1, 200, 0, 100, 0, 40, 0, 40, 0, 3, 8, 8, 7, 0, 1, 0, 0]),
               bytes([2, 5, 5, 1, 128, 0, 128, 0, 4, 2, 100, 100, 3, 2, 0, 0, 3, 1, 3, 5]),
               bytes(range(256)), b"\x00" * 40, b"\xff" * 40]
    for n, s in enumerate(samples):
        (corpus / f"seed-{n}").write_bytes(s)


def run_atheris(argv: list[str]) -> None:
    import atheris

    import locator.documents  # noqa: F401  (PyMuPDF itself is not instrumented)
    with atheris.instrument_imports(include=["locator"]):
        _planner()
        import locator.textlayer  # noqa: F401
        import locator.tiling  # noqa: F401
    for c in (a for a in argv[1:] if not a.startswith("-")):
        seeds(Path(c))
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def run_hypothesis(n: int) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    t0 = time.time()

    @settings(max_examples=n, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.binary(min_size=8, max_size=400))
    def prop(data):
        one_input(data)

    prop()
    print(f"hypothesis: {n} examples in {time.time() - t0:.0f} s, no failure")


if __name__ == "__main__":
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)  # damaged files are the point: no MuPDF chatter
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from fuzzmain import fuzz_main

    fuzz_main(run_hypothesis, run_atheris)
