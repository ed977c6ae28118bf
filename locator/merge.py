"""Turning many tiles' words into one clean set of words per page.

Tiles overlap, so a word near a seam is read twice, and a word crossing an
interior tile edge is read cut in one tile and whole in its neighbour. This
module drops cut copies when a whole copy exists, de-duplicates the rest
(overlap, rotation passes, several engines), and stitches a word that no tile
held whole from its two cut halves. Boxes are page points (unrotated space).

**Several engines.** Every engine reads every tile, so one place on the page
is usually read by each of them. Two reads are of the same place when the
smaller box lies at least half inside the other (:data:`SAME_WORD_IOS`).
Reads are taken most confident first; each new read of a kept place is

* **the same text** (ignoring case) from another engine: one word. It keeps
  the more confident read's text and box, ``engine`` names all who read it,
  sorted and joined with ``+`` (``easyocr+tesseract``), and agreement raises
  confidence like independent evidence: ``conf = 1 - (1 - a)(1 - b)`` on a 0-1
  scale. An engine joining a second time (another tile's copy) adds nothing.
* **different text from another engine, same direction, same extent** (box
  IoU >= :data:`ALTERNATIVE_IOU`): **both words are kept**, each naming only
  its own engine. One of them is usually right and the merger cannot know
  which -- confidence is no guide across engines (EasyOCR is confidently wrong
  on a crossing line, Tesseract on a small font) -- so the matcher sees both:
  it claims each word once and merges overlapping hits of one pattern into
  one hit, so the right reading is found whichever engine was the more
  confident, and a code only one engine read is still reported. The matcher
  reads such a line once per engine (:func:`locator.readings.engine_readings`),
  so two readings side by side never break a code of several words. One place
  holds one code: where the two readings name *different* catalog codes, the
  matcher keeps the better-scoring one (then the longer code, then the more
  confident read) and the other reading's words are spent, so a misreading
  that happens to be another code does not add a false hit;
  ``bench/engines_suite.py`` measures what combining costs and gains. Such an
  alternative is dropped again when an engine that read it
  also read the other text there (from the overlapping tile): a consensus.
* **different text from another engine, same direction, covering only part of
  the kept word**: dropped. It is another segmentation's fragment (Tesseract's
  junk ``pd`` inside EasyOCR's ``83702-24``). The other way round -- a longer
  read spanning another engine's kept fragments -- is kept as an alternative:
  it is the whole word another engine saw in pieces, and the matcher reads
  each engine's words as a line of their own.
* **from another engine in another direction**: kept. The pipeline picks each
  engine's best direction per crop, but different engines' confidences are no
  common scale (Tesseract reads a vertical ``LI-4352`` upright as ``N`` at
  89 %, ``wo``, ``~``, ``bi``, ``ld``; EasyOCR reads it right at 58 %). Junk
  rarely resembles a code.
* **in the opposite direction** (90 against 270), whoever read it: kept. The
  vertical-text mosaic offers each candidate both ways up and confidence does
  not tell which was upright (EasyOCR reads ``FE-1938`` upside down as
  ``8861-33`` at 67 % and the right way up with less); two tiles may choose
  differently.
* **different text from an engine that already read the place** (the
  overlapping tile, a read at right angles): dropped, the more confident read
  stands, as with one engine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from locator.geometry import Box, GridIndex, Tile
from locator.model import Word, join_names
from locator.tiling import interior_edges

# Two reads of one word rarely agree to the pixel; this share of the smaller
# box inside the larger one makes them the same word.
SAME_WORD_IOS = 0.5
# Two engines' different readings of one place are both kept only when their
# boxes cover the same extent; a shorter read inside a longer one is another
# segmentation's fragment (Tesseract's "pd" and "nae" over EasyOCR's
# "83702-24") and would sit between the words of the line the matcher joins.
ALTERNATIVE_IOU = 0.5
# A read whose box is at most this share of a larger read's box, and lies
# mostly inside it, is a fragment of it: the larger read is kept beside it,
# whoever read both, in whatever direction, and however confident the fragment
# (Tesseract's ":" at 93 % inside its own "=A10.A20.C03" at 82 %, read from
# another crop of the tile, took the place; so did a "|" read turned at 74 %
# inside "NO2" at 69 %).
FRAGMENT_SHARE = 0.5
_CELL = 64.0  # points; the spatial index's cell for neighbour look-ups


@dataclass(frozen=True, slots=True)
class Candidate:
    """A word lifted to page space, remembering whether a tile edge cut it."""

    word: Word
    cut: bool


def is_cut(box_px: Box, tile: Tile, margin_px: float = 2.0) -> bool:
    """True when a box (tile pixels) touches an interior edge of ``tile``."""
    left, top, right, bottom = interior_edges(tile, tile.frame)
    w, h = tile.size_px
    return ((left and box_px.x0 <= margin_px) or (top and box_px.y0 <= margin_px)
            or (right and box_px.x1 >= w - margin_px)
            or (bottom and box_px.y1 >= h - margin_px))


def stitch_text(first: str, second: str) -> str:
    """Join two partial reads of one word that overlap in the middle.

    ``first`` comes first in reading order. The longest suffix of ``first``
    equal to a prefix of ``second`` is written once:

    >>> stitch_text("HV 9616", "6160-01")
    'HV 96160-01'

    With no overlap at all, the longer read is the better guess.
    """
    for k in range(min(len(first), len(second)), 0, -1):
        if first.endswith(second[:k]):
            return first + second[k:]
    return first if len(first) >= len(second) else second


def _reading_key(w: Word) -> float:
    """Position along the reading direction, to order the halves of a word."""
    if w.angle == 90:  # reads bottom-to-top
        return -w.box.y1
    if w.angle == 270:  # reads top-to-bottom
        return w.box.y0
    return w.box.x0


def same_reading(a: str, b: str) -> bool:
    """Whether two engines read the same text (case is an OCR coin toss)."""
    return a.strip().casefold() == b.strip().casefold()


def _combine(kept: Word, other: Word) -> Word:
    """Another engine read the kept word the same way: name it, raise confidence.

    Confidences combine as independent evidence, ``1 - (1 - a)(1 - b)`` on a
    0-1 scale; an engine already named adds nothing.
    """
    new = other.engines - kept.engines
    if not new:
        return kept
    engines = join_names(sorted(kept.engines | new))
    conf = min(100.0, kept.conf + (100.0 - kept.conf) * other.conf / 100.0)
    return replace(kept, engine=engines, conf=conf)


def _opposite(a: int, b: int) -> bool:
    return (a - b) % 360 == 180


def _is_alternative(w: Word, there: list[Word]) -> bool:
    """Whether ``w``, reading a place differently from the words kept there, is
    kept beside them (module docstring).

    Against each kept word: one read in the opposite direction never counts
    (90 against 270: the vertical-text mosaic offers both ways up and an
    engine's confidence does not tell which is upright); one by an engine of
    ``w`` makes ``w`` a worse read of a place that engine already read; one by
    another engine in another direction does not count (confidences of
    different engines are no common scale); one by another engine in the same
    direction counts only if the two boxes cover the same extent (IoU >=
    :data:`ALTERNATIVE_IOU`) or ``w`` is the longer read, spanning it: a
    fragment of another segmentation is no alternative reading of the word,
    but a whole word over another engine's fragments is (Tesseract's ``.50-``
    over EasyOCR's ``50`` and ``-``, kept first because they were more
    confident).
    """
    mine = w.engines
    for k in there:
        if _opposite(k.angle, w.angle):
            continue
        if mine & k.engines:
            return False
        if (k.angle == w.angle and k.box.iou(w.box) < ALTERNATIVE_IOU
                and not _spans(w, k)):
            # w is the fragment: a shorter read over part of the kept word.
            return False
    return True


def _spans(w: Word, k: Word) -> bool:
    """Whether ``w`` is the longer read (along the line) and holds most of ``k``."""
    def length(x: Word) -> float:
        return x.box.height if x.angle in (90, 270) else x.box.width

    return (length(w) > length(k)
            and k.box.intersection_area(w.box) >= 0.5 * k.box.area)


def _fragment_of(k: Word, w: Word) -> bool:
    """Whether ``k`` is a small piece of ``w``: at most :data:`FRAGMENT_SHARE`
    of its box, and mostly inside it."""
    return (k.box.area <= FRAGMENT_SHARE * w.box.area
            and k.box.intersection_area(w.box) >= 0.5 * k.box.area)


def merge_page(cands: list[Candidate]) -> list[Word]:
    """One page's candidates -> its words, without duplicates or cut copies.

    Whole reads are taken best-confidence first; a read overlapping a kept word
    (intersection over the smaller box >= 0.5) is the same word: it is dropped
    when it reads the same text (its engine noted, confidence raised) or comes
    from an engine already there, and kept beside it when another engine reads
    the place differently (module docstring). Cut reads are dropped when a whole read covers them;
    cut reads that overlap only each other are stitched into one word.
    """
    order = sorted(cands, key=lambda c: (c.cut, -c.word.conf, -len(c.word.text)))
    kept: list[Word] = []
    kept_cut: list[bool] = []
    alternative: list[bool] = []
    index = GridIndex(_CELL)
    for c in order:
        w = c.word
        near = index.near(w.box)
        overlaps = [k for k in near if kept[k].box.ios(w.box) >= SAME_WORD_IOS]
        overlaps.sort(key=lambda k: -kept[k].box.ios(w.box))
        same = overlaps[0] if overlaps else None
        if same is not None and not (c.cut and kept_cut[same]):
            agree = next((k for k in overlaps if same_reading(kept[k].text, w.text)), None)
            if agree is not None:  # another engine (or tile) read the same text
                kept[agree] = _combine(kept[agree], w)
                continue
            if not c.cut and all(_fragment_of(kept[k], w) for k in overlaps):
                # Everything kept here is a small piece of this longer read:
                # it saw more of the place and is kept as a word of its own.
                index.add(len(kept), w.box)
                kept.append(w)
                kept_cut.append(False)
                alternative.append(False)
                continue
            if c.cut or not _is_alternative(w, [kept[k] for k in overlaps]):
                # A whole read is there: this read is a duplicate or a cut copy of it.
                continue
            # Another engine reads this place differently: keep both (see above).
            index.add(len(kept), w.box)
            kept.append(w)
            kept_cut.append(False)
            alternative.append(True)
            continue
        if c.cut:
            # Halves of a word cut in both tiles overlap only in the overlap band:
            # any overlap on the same line with another cut read makes one word.
            half = same if same is not None else next(
                (k for k in index.near(w.box) if kept_cut[k] and kept[k].angle == w.angle
                 and kept[k].box.intersection_area(w.box) > 0), None)
            if half is not None and kept[half].box.ios(w.box) >= 0.95:
                # One read lies inside the other: the larger saw more of the word.
                if w.box.area > kept[half].box.area:
                    kept[half] = w
                    index.add(half, w.box)
                continue
            if half is not None:
                a, b = sorted((kept[half], w), key=_reading_key)
                kept[half] = replace(kept[half], text=stitch_text(a.text, b.text),
                                     box=a.box.union(b.box), conf=min(a.conf, b.conf))
                index.add(half, kept[half].box)
                continue
        index.add(len(kept), w.box)
        kept.append(w)
        kept_cut.append(c.cut)
        alternative.append(False)
    out = [w for k, w in enumerate(kept) if not (alternative[k] and _overruled(k, kept, index))]
    return sorted(out, key=lambda w: (w.page, w.box.y0, w.box.x0))


def _overruled(k: int, kept: list[Word], index: GridIndex) -> bool:
    """An alternative reading whose engines all also read the other text there,
    in the same direction."""
    w = kept[k]
    mine = w.engines
    return any(j != k and kept[j].angle == w.angle and kept[j].box.ios(w.box) >= SAME_WORD_IOS
               and not same_reading(kept[j].text, w.text) and mine <= kept[j].engines
               for j in index.near(w.box))
