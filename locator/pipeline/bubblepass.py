"""The bubble pass: each page's instrument bubbles, and the text inside each as one composed word.

Runs after the OCR pass, on the words it read (:func:`bubble_words`):

- on every page, the bubbles of the vector drawing (``pdf.read_outlines`` ->
  :func:`locator.bubbles.find_bubbles`), their text-layer or OCR words
  composed by :func:`locator.bubbles.compose` (exact boxes, no extra OCR);
- on pages that were OCR'd (scans, images), also the bubbles of the image
  (:func:`locator.bubbleimage.find_in_image`, on a grid of renders at the
  page's DPI), each read once more on its own: the inside alone (outline and
  bar painted out), enlarged, in each direction the run reads, the direction
  whose two lines read best kept. A scanned bubble's words in the page's OCR
  are often glued to the outline (``\\96117-03/``); read alone they are not.

Bubbles found both ways (a scanned page with vector line art) are taken from
the vector drawing. The vector pass costs milliseconds and is not cached; the
image pass (a render of the page and one small read per bubble and direction,
13 s of a 15 s re-run of the generated A0 scan when it was not cached) keeps
its composed words in the OCR cache beside the page's OCR words. Boxes are
page points, unrotated space.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from locator.model import Word

if TYPE_CHECKING:
    from locator.bubbleimage import ImageBubble
    from locator.geometry import Box
    from locator.bubbles import Bubble
    from locator.documents import Document
    from locator.engines import Engine
    from locator.pipeline.plan import PagePlan
    from locator.reports import RunReport
    from locator.settings import Settings

log = logging.getLogger("locator.pipeline.bubblepass")

#: A page painting more paths than this is not searched for bubbles: reading
#: its drawings would cost seconds (a 100,000-path schematic), and P&ID
#: sheets paint a few thousand.
MAX_BUBBLE_PATHS = 30_000
#: The renders the image pass looks for bubbles in: this many pixels a side,
#: overlapping by more than the largest bubble (80 pt), so each bubble is
#: whole in one of them.
GRID_PX = 4000
GRID_OVERLAP_PT = 90.0
#: The renders are made at the page's DPI up to this: a 0.5 pt outline is
#: still 1.4 px wide and a page costs less than half of 300 dpi's (an A0 at
#: 300 dpi is 140 Mpx); the insides are enlarged for reading anyway.
FIND_DPI = 200.0
#: A bubble's inside is read at least at this resolution (its 4.5-8 pt text
#: then 30-50 px tall, where Tesseract reads best), with a white margin.
READ_DPI = 400.0
MARGIN_PX = 12
#: A direction read as letters over a number with every word at least this
#: confident is taken without trying the others.
SURE_CONF = 85.0
#: Characters a bubble's line never starts or ends with: what is left of an
#: outline or a bar read as text.
EDGE_JUNK = "|\\/()[]{}_.,:;'\"`~!-=+*<>"
#: Never part of a tag: quotes an engine reads from specks.
QUOTES = "\u2018\u2019\u201c\u201d'\"`"


def bubble_words(doc: Document, words: list[Word], plans: dict[int, PagePlan] | None = None,
                 settings: Settings | None = None, engines: list[Engine] | None = None,
                 report: RunReport | None = None) -> list[Word]:
    """The composed words of the instrument bubbles on the pages of ``words``
    (and on the OCR'd pages of ``plans``): the text inside each outline, top
    line first, as one word with the outline's box and shape (``form``
    ``"bubble"``). Page points, unrotated space. A bubble the engine fails on
    is a warning in ``report``; the page's other words and bubbles stay."""
    from locator.bubbles import compose, find_bubbles

    plans = plans or {}
    in_process = engines is not None  # a caller's own engine objects: no cache (as for OCR)
    out: list[Word] = []
    pages = sorted({w.page for w in words} | {p for p, pp in plans.items() if pp.ocr})
    for page in pages:
        mine = [w for w in words if w.page == page]
        vector: list[Bubble] = []
        if doc.count_paths(page) > MAX_BUBBLE_PATHS:
            log.debug("page %d: over %d paths, no bubbles looked for", page, MAX_BUBBLE_PATHS)
        else:
            vector = find_bubbles(doc.outlines(page), page)
        if vector:
            out += compose(mine, vector)
        pp = plans.get(page)
        if pp is not None and pp.ocr and settings is not None:
            if engines is None:
                from locator.pipeline.read import load_engines

                engines = load_engines(settings)
            out += _scanned_cached(doc, pp, settings, engines, in_process, vector, report, mine)
    return out


def _scanned_cached(doc: Document, pp: PagePlan, settings: Settings, engines: list[Engine],
                    in_process: bool, vector: list[Bubble],
                    report: RunReport | None, words: list[Word]) -> list[Word]:
    """:func:`_scanned` through the OCR cache, as the page's OCR words are (its
    own entry, keyed like theirs plus the pass's name): a re-run with an edited
    catalog then neither renders the page again nor reads its bubbles. Engines
    handed in (a caller's own objects) bypass the cache, as in the OCR pass."""
    from locator.cache import OcrCache, default_folder, file_hash
    from locator.pipeline.plan import source_key
    from locator.pipeline.read import ocr_settings

    cache = OcrCache((settings.cache_dir or default_folder())
                     if settings.cache and not in_process else None)
    key = None
    if cache.folder is not None:
        assert pp.source is not None  # planned with sources (the OCR pass)
        key = OcrCache.key(file_hash(doc.path), pp.page,
                           {**ocr_settings(settings, engines, pp.dpi), **source_key(pp.source),
                            "pass": "bubbles"})
        cached = cache.get(key)
        if cached is not None:
            return cached
        if cache.warning and report is not None:  # a damaged entry: read again, and said
            from locator.model import RunWarning

            report.warnings.append(RunWarning(cache.warning))
            cache.damaged.clear()
    warnings = len(report.warnings) if report is not None else 0
    words = _scanned(doc, pp, settings, engines[0], vector, report, words, serial=in_process)
    failed = report is not None and len(report.warnings) > warnings
    if key is not None and not failed:  # a page with a failed bubble is read again next time
        cache.put(key, words)
    if cache.warning and report is not None:
        from locator.model import RunWarning

        report.warnings.append(RunWarning(cache.warning))
    return words


def _scanned(doc: Document, pp: PagePlan, settings: Settings, engine: Engine,
             vector: list[Bubble], report: RunReport | None,
             words: list[Word] | None = None, *, serial: bool = False) -> list[Word]:
    """The bubbles of one OCR'd page's image, each read alone; and the outlines
    fitted around two stacked lines of the page's OCR ``words`` that no white
    inside gave (:func:`_fitted`).

    Both steps -- finding the bubbles in each render of the grid, and reading
    each bubble found -- run in ``settings.worker_count`` processes (this
    process, with ``doc`` and ``engine``, when that is one or ``serial``):
    the pass runs after the OCR pass, and in this process alone it was 5.6 s
    of a 25 s run of the generated A0 scan with both cores otherwise idle.
    Bubbles are kept, and read, in the grid's order whichever process found
    them, so the result is that of one process.
    """
    from locator.errors import EngineError
    from locator.model import RunWarning

    from locator.geometry import pt_to_px
    from locator.pipeline.executor import Work, executor_for
    from locator.tiling import grid

    workers = 1 if serial else settings.worker_count
    dpi = min(pp.dpi, FIND_DPI)
    overlap = int(pt_to_px(GRID_OVERLAP_PT, dpi))
    tiles = list(grid(pp.page, pp.frame, dpi, max(GRID_PX, 2 * overlap + 1), overlap))
    per_tile: dict[int, list[ImageBubble]] = dict(
        executor_for(workers, len(tiles), doc).map(
            Work(_find_state, (str(doc.path), settings), _find_tile), list(enumerate(tiles))))
    found: list[ImageBubble] = []
    for i in range(len(tiles)):
        for ib in per_tile[i]:
            box = ib.bubble.box
            if any(b.box.iou(box) > 0.5 for b in vector) or any(
                    f.bubble.box.iou(box) > 0.5 for f in found):
                continue  # a vector bubble, or whole in an earlier tile too
            found.append(ib)
    fitted = _fitted(doc, pp, dpi, words or [], vector, found)
    found += fitted
    angles = sorted({0, *settings.rotations})
    read: dict[int, Word | EngineError | None] = dict(
        executor_for(workers, len(found), engine).map(
            Work(_read_state, (settings,), _read_one),
            [(i, ib, dpi, angles, pp.frame.rotation) for i, ib in enumerate(found)]))
    out = []
    failed = 0
    for i in range(len(found)):
        w = read[i]
        if isinstance(w, EngineError):
            failed += 1
            if report is not None and failed == 1:  # one warning a page, not one a bubble
                report.warnings.append(RunWarning.on_page(
                    pp.page, f"instrument bubbles in the image not read: {w}",
                    file=str(doc.path)))
            continue
        if w is not None:
            out.append(w)
    # a fitted outline's two lines were read by the page's OCR already (they
    # seeded it): composed too, as the vector pass composes them, when they
    # read as letters over a number (a hit of both the same tag is one hit)
    if fitted:
        from locator.bubbles import compose

        ocr = [w for w in words or [] if w.source == "ocr" and not w.form]
        out += [c for c in compose(ocr, [f.bubble for f in fitted]) if _tag_like(list(c.parts))]
    log.debug("page %d: %d bubbles in the image, %d read", pp.page, len(found), len(out))
    return out


# -- what runs per grid render and per bubble, here or in a worker (module level:
# spawn pickles by name)

def _find_state(path: str, settings: Settings) -> Document:
    from locator.documents import Document

    return Document(path, password=settings.password)


def _find_tile(doc: Document, item: tuple) -> tuple[int, list[ImageBubble]]:
    from locator.bubbleimage import find_in_image

    i, tile = item
    return i, find_in_image(doc.render(tile), tile)


def _read_state(settings: Settings) -> Engine:
    from locator.pipeline.read import load_engines

    return load_engines(settings)[0]


def _read_one(engine: Engine, item: tuple) -> tuple[int, Word | Exception | None]:
    from locator.errors import EngineError

    i, ib, dpi, angles, rotation = item
    try:
        return i, read_inside(ib, engine, dpi, angles, rotation)
    except EngineError as e:  # recorded by the caller: the page's other bubbles stay
        return i, e


def _fitted(doc: Document, pp: PagePlan, dpi: float, words: list[Word],
            vector: list[Bubble], found: list[ImageBubble]) -> list[ImageBubble]:
    """Outlines fitted around text (:func:`locator.bubbleimage.fit_outline`):
    each two stacked lines of the page's OCR words that read as letters over a
    number and are not in a bubble found already, on a render of their
    surroundings. A faint outline broken in places, or one its digits touch at
    both ends, has no white inside of its own but keeps most of its ring of ink.

    Only letters over a number are tried: a fit costs about 0.2 s, and on
    P&ID 09 (a sheet dense with small stacked text) every stacked pair tried
    was 367 fits and 76 of the run's 85 s, while the composed tags this is for
    are letters over a number."""
    from locator.bubbleimage import fit_outline
    from locator.geometry import Tile, pt_to_px
    from locator.tiling import view_size_px

    known = [b.box for b in vector] + [f.bubble.box for f in found]
    fits: list[tuple[bool, ImageBubble]] = []
    vw, vh = view_size_px(pp.frame, dpi)
    for s, tagged in _stacked_seeds([w for w in words if w.source == "ocr" and not w.form]):
        if not tagged or any(s.intersection_area(b) > 0.9 * s.area for b in known):
            continue  # no tag's two lines, or both lines in a bubble already
        v = pp.frame.box_to_view(s)
        sx0, sy0, sx1, sy1 = (pt_to_px(c, dpi) for c in (v.x0, v.y0, v.x1, v.y1))
        if max(sx1 - sx0, sy1 - sy0) > pt_to_px(80.0, dpi):
            continue  # longer than the largest bubble
        grow = 1.2 * max(sx1 - sx0, sy1 - sy0) + pt_to_px(4.0, dpi)
        rect = (max(0, int(sx0 - grow)), max(0, int(sy0 - grow)),
                min(vw, int(sx1 + grow) + 1), min(vh, int(sy1 + grow) + 1))
        tile = Tile(pp.page, rect, dpi, pp.frame)
        ib = fit_outline(doc.render(tile), tile,
                         (sx0 - rect[0], sy0 - rect[1], sx1 - rect[0], sy1 - rect[1]))
        if ib is not None and not any(ib.bubble.box.iou(b) > 0.5 for b in known):
            fits.append((tagged, ib))
    # seeds around one bubble (its two lines, a line and a neighbour's) fit
    # rings of several sizes: the best-inked is the outline
    out: list[ImageBubble] = []
    for _t, ib in sorted(fits, key=lambda f: -f[1].ring):
        if not any(ib.bubble.box.iou(o.bubble.box) > 0.3 for o in out):
            out.append(ib)
    log.debug("page %d: %d outlines fitted around stacked text", pp.page, len(out))
    return out


def _stacked_seeds(words: list[Word]) -> list[tuple[Box, bool]]:
    """The boxes of two stacked OCR words (:func:`locator.bubbles.stacked_pairs`):
    where a bubble's two lines may be; and whether they read as letters over a
    number."""
    from locator.bubbles import stacked_pairs

    return [(w.box.union(v.box), _tag_like([_clean(w.text), _clean(v.text)]))
            for w, v in stacked_pairs(words)]


def _prepared(inside: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """The inside with its contrast stretched (faint ink made black), enlarged to
    :data:`READ_DPI` and framed in white; and the DPI it now has."""
    import cv2

    # the inside's paper (most of it) made white and its darkest ink black; the
    # painted-out outside (exactly 255) is left white
    outside = inside == 255
    vals = inside[~outside]
    img: np.ndarray = inside.astype(np.float32)
    if vals.size:
        paper, ink = float(np.median(vals)), float(np.percentile(vals, 1))
        if paper - ink >= 8:  # else nothing drawn inside: leave it
            img = np.clip((img - ink) * 255.0 / (paper - ink), 0, 255)
        img[outside] = 255
    scale = max(1.0, READ_DPI / dpi)
    out: np.ndarray = img.astype(np.uint8)
    if scale > 1.0:
        out = cv2.resize(out, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    out = cv2.copyMakeBorder(out, MARGIN_PX, MARGIN_PX, MARGIN_PX, MARGIN_PX,
                             cv2.BORDER_CONSTANT, value=255)
    return out, dpi * scale


def _lines(words: list, height: float) -> list[list]:
    """An engine's words (upright image px) as lines, top first, each left to right."""
    lines: list[list] = []
    for w in sorted(words, key=lambda w: w.box.center[1]):
        if lines and abs(w.box.center[1] - lines[-1][-1].box.center[1]) < 0.5 * max(
                w.box.height, height):
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(ln, key=lambda w: w.box.x0) for ln in lines]


def _clean(text: str) -> str:
    """A word of a bubble as a tag has it: quotes dropped, outline remnants off its ends."""
    return "".join(c for c in text if c not in QUOTES).strip(EDGE_JUNK)


def _tag_like(lines: list[str]) -> bool:
    """Function letters over a loop number: the top line letters only, a digit under it."""
    return lines[0].isalpha() and any(c.isdigit() for c in "".join(lines[1:]))


def read_inside(ib: ImageBubble, engine: Engine, dpi: float,
                angles: list[int], rotation: int = 0) -> Word | None:
    """One image bubble's text, top line then bottom line, as a composed word
    (the bubble's box and shape; None when fewer than two lines read). Each
    direction of ``angles`` (the image's) is tried; the one read with the most
    confident characters wins. ``rotation``: the page's ``/Rotate``, which
    turns the image's direction into the word's (unrotated page space)."""
    from locator.bubbles import composed_word
    from locator.engines.base import read_checked

    img, at_dpi = _prepared(ib.inside, dpi)
    best: tuple[float, int, list[list[str]], float] | None = None
    for angle in [a for a in angles if a in ib.turns] or angles:
        turned = np.ascontiguousarray(np.rot90(img, k=-(angle // 90)))
        # one block (Tesseract --psm 6): read sparse, its two-letter top line is often missed
        words = [w for w in read_checked(engine, turned, dpi=at_dpi, block=True)
                 if w.text.strip(EDGE_JUNK)]
        if not words:
            continue
        lines = _lines(words, 0.0)
        texts = [[_clean(w.text) for w in ln] for ln in lines]
        texts = [[t for t in ln if t] for ln in texts]
        kept = [(ln, t) for ln, t in zip(lines, texts) if t]
        if len(kept) < 2:
            continue
        score = sum(w.conf * len(w.text) for ln, _t in kept for w in ln)
        if _tag_like([" ".join(t) for _ln, t in kept]):
            score *= 2  # a direction read as letters over a number beats noise read confidently
        conf = min(w.conf for ln, _t in kept for w in ln)
        if best is None or score > best[0]:
            best = (score, angle, [t for _ln, t in kept], conf)
        if conf >= SURE_CONF and _tag_like([" ".join(t) for _ln, t in kept]):
            break  # letters over a number, every word read surely: no other direction needed
    if best is None:
        return None
    _score, angle, texts, conf = best
    b = ib.bubble
    lines = [[Word(t, conf, b.box, b.page, engine.name, angle=(angle + rotation) % 360,
                   source="ocr")
              for t in ln] for ln in texts]
    return composed_word(lines, b.box, form="bubble", shape=b.shape.value)
