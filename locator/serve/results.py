"""A finished job's downloads, its truth table from the verdicts, the drift
figures, and the page tiles of the viewer.

Downloads are made from the hits stored in the database with the library's
own writers (:func:`~locator.export.table.write_table`, the review
workbook, the marked-up PDF), each written atomically to a temporary folder
and read back. Viewer geometry: a page is shown in its rendered *view*
(``/Rotate`` applied); at zoom ``z`` a view point is ``base * 2**z`` pixels,
``base`` making the page's long side one 256 px tile at zoom 0. Tiles are
rendered on demand at the zoom asked for and cached on disk.
"""

from __future__ import annotations

import io
import math
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from locator.errors import UsageError

TILE_PX = 256
#: Tiles are never rendered sharper than this (an A0 sheet: zoom 6).
MAX_TILE_DPI = 600.0
#: Download formats: name -> (suffix, media type).
FORMATS = {
    "csv": (".csv", "text/csv"),
    "json": (".json", "application/json"),
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "parquet": (".parquet", "application/vnd.apache.parquet"),
    "pdf": (".pdf", "application/pdf"),
}


def hits_table(result: dict):
    """The job's hits as the CLI's table (:data:`~locator.model.HIT_COLUMNS`)."""
    import pandas as pd

    from locator.model import HIT_COLUMNS

    return pd.DataFrame(result["hits"], columns=HIT_COLUMNS)


def _report(job: dict, result: dict):
    from locator.pipeline import RunReport
    from locator.settings import Settings

    r = result["report"]
    return RunReport(file=", ".join(f["name"] for f in job["files"]),
                     pages=r.get("pages", 0), tiles=r.get("tiles", 0),
                     tiles_read=r.get("tiles_read", 0), tiles_skipped=r.get("tiles_skipped", 0),
                     pages_cached=r.get("pages_cached", 0), words=r.get("words", 0),
                     hits=len(result["hits"]), seconds=r.get("seconds") or 0.0,
                     missing=[m["pattern_id"] for m in result["missing"]],
                     warnings=list(job["warnings"]), engines=r.get("engines", {}),
                     settings=Settings.build(**job["settings"]))


def download(job: dict, result: dict, folder: Path, what: str, fmt: str,
             file_index: int = 0) -> tuple[bytes, str, str]:
    """(content, media type, file name) of one download.

    ``what`` is ``hits`` (in ``fmt``: csv, json, xlsx -- the review workbook --,
    parquet, pdf -- the marked-up document ``file_index``), ``missing`` or
    ``warnings`` (csv, json, xlsx, parquet).
    """
    import pandas as pd

    from locator.export.table import warnings_frame, write_table

    if fmt not in FORMATS:
        raise UsageError(f"format {fmt!r}: choose one of {', '.join(FORMATS)}")
    suffix, media = FORMATS[fmt]
    df = hits_table(result)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{what}{suffix}"
        if what == "hits" and fmt == "pdf":
            from locator.export.annotate import annotate_pdf

            f = file_of(job, file_index)
            annotate_pdf(folder / f["stored"], df[df["file"] == f["name"]], out,
                         password=job["settings"].get("password"))
            name = f"{Path(f['name']).stem}-hits.pdf"
        elif fmt == "pdf":
            raise UsageError(f"{what}: a table; choose csv, json, xlsx or parquet")
        elif what == "hits" and fmt == "xlsx":
            from locator.export.workbook import write_workbook

            doc = folder / job["files"][0]["stored"] if len(job["files"]) == 1 else None
            write_workbook(out, df, document=doc, report=_report(job, result),
                           missing=pd.DataFrame(result["missing"]),
                           password=job["settings"].get("password"))
            name = f"review-{job['id'][:8]}.xlsx"
        else:
            table = {"hits": lambda: df,
                     "missing": lambda: pd.DataFrame(result["missing"]),
                     "warnings": lambda: warnings_frame(job["warnings"])}.get(what)
            if table is None:
                raise UsageError(f"{what!r}: choose hits, missing or warnings")
            write_table(table(), out, sheet=what.capitalize())
            name = f"{what}-{job['id'][:8]}{suffix}"
        return out.read_bytes(), media, name


def file_of(job: dict, index: int) -> dict:
    if not 0 <= index < len(job["files"]):
        raise UsageError(f"file {index}: the job has files 0-{len(job['files']) - 1}")
    return job["files"][index]


def table_bytes(df, fmt: str, stem: str) -> tuple[bytes, str, str]:
    """``df`` written in ``fmt`` (csv, json, xlsx, parquet): (content, media type, name)."""
    from locator.export.table import write_table

    if fmt not in FORMATS or fmt == "pdf":
        raise UsageError(f"format {fmt!r}: a table is csv, json, xlsx or parquet")
    suffix, media = FORMATS[fmt]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{stem}{suffix}"
        write_table(df, out, sheet="Truth")
        return out.read_bytes(), media, out.name


def truth_table(job: dict, result: dict, verdicts: list[dict], missed: list[dict]):
    """The hits marked correct plus the tags added as missed, as ``locate eval``
    reads truth: ``file, pattern_id, label, matched, page, x0, y0, x1, y1``."""
    import pandas as pd

    from locator.export.review import TRUTH_COLUMNS

    right = {v["hit"] for v in verdicts if v["verdict"] == "correct"}
    rows = [{"file": h["file"], **{c: h[c] for c in TRUTH_COLUMNS}}
            for i, h in enumerate(result["hits"]) if i in right]
    rows += [{"file": file_of(job, m["file"])["name"], "pattern_id": m["code"], "label": m["label"],
              "matched": m["code"], "page": m["page"], "x0": m["x0"], "y0": m["y0"],
              "x1": m["x1"], "y1": m["y1"]} for m in missed]
    return pd.DataFrame(rows, columns=["file", *TRUTH_COLUMNS])


def drift(verdicts: list[dict], missed: list[dict]) -> list[dict]:
    """Per label and ISO week: reviewed hits, the share marked wrong, and the share
    of true tags (correct + missed) that were added as missed."""
    def week(at: float) -> str:
        y, w, _ = _iso(at)
        return f"{y}-W{w:02d}"

    cells: dict[tuple[str, str], dict] = {}
    for v in verdicts:
        c = cells.setdefault((v["label"], week(v["at"])), {"correct": 0, "wrong": 0,
                                                            "missed": 0})
        if v["verdict"] in ("correct", "wrong"):
            c[v["verdict"]] += 1
    for m in missed:
        cells.setdefault((m["label"], week(m["at"])), {"correct": 0, "wrong": 0,
                                                        "missed": 0})["missed"] += 1
    out = []
    for (label, wk), c in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        reviewed = c["correct"] + c["wrong"]
        found = c["correct"] + c["missed"]
        out.append({"label": label, "week": wk, "reviewed": reviewed, **c,
                    "wrong_share": c["wrong"] / reviewed if reviewed else None,
                    "missed_share": c["missed"] / found if found else None})
    return out


def _iso(at: float) -> tuple[int, int, int]:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.UTC).isocalendar()[:3]


class Tiles:
    """Page geometry and PNG tiles of a job's documents, cached under ``cache``.

    Open documents are kept (a few, least recently used first out) so a
    page's display list is built once for all its tiles; PyMuPDF is not
    thread-safe, so each document is used under its own lock.
    """

    def __init__(self, cache: Path, keep: int = 4) -> None:
        self.cache, self.keep = cache, keep
        self.open: OrderedDict[Path, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def _doc(self, path: Path, password: str | None):
        from locator.documents import Document

        with self.lock:
            if path in self.open:
                self.open.move_to_end(path)
                return self.open[path]
            entry = (Document(path, password=password), threading.Lock())
            self.open[path] = entry
            while len(self.open) > self.keep:
                old, (doc, _) = self.open.popitem(last=False)
                doc.close()
            return entry

    def forget(self, prefix: Path) -> None:
        with self.lock:
            for path in [p for p in self.open if prefix in p.parents]:
                self.open.pop(path)[0].close()

    def frames(self, path: Path, password: str | None) -> list:
        """Every page's :class:`~locator.geometry.PageFrame` (page order)."""
        doc, lock = self._doc(path, password)
        with lock:
            return [doc.frame(p) for p in range(1, doc.page_count + 1)]

    def pages(self, path: Path, password: str | None) -> list[dict]:
        """Per page: the view's size in points and the deepest zoom."""
        doc, lock = self._doc(path, password)
        with lock:
            out = []
            for p in range(1, doc.page_count + 1):
                vw, vh = doc.frame(p).view_size
                out.append({"page": p, "width": vw, "height": vh, "tile": TILE_PX,
                            "max_zoom": max_zoom(vw, vh)})
            return out

    def tile(self, key: str, path: Path, password: str | None, page: int, z: int, x: int,
             y: int) -> bytes:
        """The PNG of tile (x, y) at zoom z of ``page`` (transparent beyond the page)."""
        cached = self.cache / key / str(page) / str(z) / f"{x}_{y}.png"
        if cached.is_file():
            return cached.read_bytes()
        doc, lock = self._doc(path, password)
        with lock:
            if not 1 <= page <= doc.page_count:
                raise UsageError(f"page {page}: the document has pages 1-{doc.page_count}")
            frame = doc.frame(page)
            vw, vh = frame.view_size
            if not 0 <= z <= max_zoom(vw, vh):
                raise UsageError(f"zoom {z}: choose 0-{max_zoom(vw, vh)}")
            img = render_tile(doc, frame, page, z, x, y)
        png = _png(img)
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{threading.get_ident()}.part")
        tmp.write_bytes(png)
        tmp.replace(cached)  # atomic: a reader never sees half a tile
        return png


def scale(vw: float, vh: float, z: int) -> float:
    """Pixels per view point at zoom ``z``."""
    return TILE_PX / max(vw, vh) * 2 ** z


def max_zoom(vw: float, vh: float) -> int:
    return max(0, math.floor(math.log2(MAX_TILE_DPI / 72 / scale(vw, vh, 0))))


def render_tile(doc, frame, page: int, z: int, x: int, y: int):
    """Tile (x, y) of the view at zoom z as a TILE_PX square RGBA array:
    transparent beyond the page, so the viewer's background shows there."""
    import numpy as np

    from locator.geometry import Box

    vw, vh = frame.view_size
    s = scale(vw, vh, z)
    canvas = np.zeros((TILE_PX, TILE_PX, 4), dtype=np.uint8)
    x0, y0 = x * TILE_PX / s, y * TILE_PX / s
    x1, y1 = min((x + 1) * TILE_PX / s, vw), min((y + 1) * TILE_PX / s, vh)
    if x < 0 or y < 0 or x0 >= vw or y0 >= vh:
        return canvas
    # one pixel more than the tile on each far side (within the page): MuPDF may
    # round a clip's size down, which would leave a seam between tiles
    x1, y1 = min(x1 + 1 / s, vw), min(y1 + 1 / s, vh)
    img = doc.render_clip(page, frame.box_to_page(Box(x0, y0, x1, y1)), dpi=72 * s)
    h, w = min(img.shape[0], TILE_PX), min(img.shape[1], TILE_PX)
    canvas[:h, :w, :3] = img[:h, :w, :3] if img.ndim == 3 else img[:h, :w, None]
    canvas[:h, :w, 3] = 255
    return canvas


def _png(img) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=False, compress_level=3)
    return buf.getvalue()
