"""A PDF page's own text layer: its words, whether they can be trusted, and what it lacks.

Born-digital PDFs carry their text; reading it is exact and takes milliseconds,
where OCR takes seconds and guesses. But a text layer can be absent, partial or
wrong: scanned pages have none, a drawing may embed a scanned detail as an
image, CAD exports often draw text as curves, broken font encodings give
U+FFFD or nonsense, and an invisible OCR layer (render mode 3) added by some
scanner software may be poor. This module judges the layer (read once per page) and
decides, per page, what to take from it and what to OCR (:func:`plan_page`).

It works on plain records (:class:`locator.pdf.PageText`: raw words with their
direction, image placements), so its judging is tested without PDFs; reading
them is :mod:`locator.pdf`'s. Every box is PDF points in the page's *unrotated*
space, origin top left: the space of PyMuPDF's ``page.get_text("words")``,
which the reader reproduces exactly, so text-layer boxes *are* the layer's boxes.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from locator.geometry import Box, PageFrame
from locator.kinds import OcrScope
from locator.model import Word

if TYPE_CHECKING:
    from locator.pdf import PageText

#: Engine name and confidence given to words taken from a text layer.
TEXT_ENGINE = "text"
TEXT_CONF = 100.0

#: A layer is *broken* when more than this share of its words hold U+FFFD,
#: control, private-use or unassigned characters (a font without a usable
#: ``ToUnicode`` map).
MAX_BROKEN_SHARE = 0.10
#: ... or *poor* when fewer than this share of its words look like words
#: (see :func:`plausible`). Typical born-digital layers score 0.9-1.0; invisible
#: layers from bad OCR score well under 0.5.
MIN_PLAUSIBLE_SHARE = 0.60
#: Judging needs a few words; fewer are taken as they are.
MIN_JUDGED_WORDS = 5
#: Pages with fewer usable words than this are checked for text drawn as curves:
#: ``>= CURVES_MIN_PATHS`` painted paths and at least ``CURVES_PATHS_PER_WORD``
#: paths per text word. (Pages with many words are trusted: a KiCad export has
#: ~40 stroked paths per word *and* a complete invisible layer over them.)
CURVES_CHECK_BELOW_WORDS = 50
CURVES_MIN_PATHS = 50
CURVES_PATHS_PER_WORD = 20
#: Images smaller than this (points, either side) or with fewer pixels than
#: ``MIN_IMAGE_PX`` on a side cannot hold readable text: not OCR'd.
MIN_IMAGE_PT = 4.0
MIN_IMAGE_PX = 8
#: Margin (points) around an OCR region, so text touching an image's edge is whole.
REGION_MARGIN_PT = 2.0
#: When the regions to OCR cover more than this share of the page, the whole
#: page is OCR'd (same cost, simpler, nothing cut at region borders).
WHOLE_PAGE_SHARE = 0.6

#: KiCad (6+) writes its overbar markup into the text layer: ``~{RST}`` is
#: drawn as RST with a bar over it. Words are given as drawn.
_KICAD_OVERBAR = re.compile(r"~\{([^{}]*)\}")

_NEUTRAL = set(string.punctuation) | set("\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019"
                                         "\u201c\u201d\u2022\u00b7\u00b0\u00a7\u00b6\u2026")
_VOWELS = set("aeiouyAEIOUY")
_NEUTRAL_STR = "".join(sorted(_NEUTRAL))


def has_bad_char(text: str) -> bool:
    """Does ``text`` hold a :func:`bad_char`? (Printable ASCII, the usual case, cannot.)"""
    if text.isascii() and text.isprintable():
        return False
    return any(bad_char(c) for c in text)


def bad_char(c: str) -> bool:
    """U+FFFD, or a control, private-use, unassigned or surrogate character."""
    if c == "\ufffd":
        return True
    cat = unicodedata.category(c)
    return cat in ("Cc", "Co", "Cn", "Cs") and c not in "\t\n\r"


def plausible(text: str) -> bool | None:
    """Does ``text`` look like a word a document would print? ``None``: punctuation only.

    A cheap, language-free test: mostly letters and digits; any word with a
    digit passes (codes: ``R26``, ``FIC-101``, ``2k2``); letters-only words
    pass unless their case flips every letter or two (``lIlIi``; ``CamelCase``
    and ``MHz`` pass); long all-lowercase words need a vowel.

    >>> plausible("FIC-101"), plausible("lIlIi"), plausible("(")
    (True, False, None)
    """
    core = text.strip(_NEUTRAL_STR)
    if not core:
        return None
    if has_bad_char(core):
        return False
    alnum = sum(c.isalnum() for c in core)
    if alnum / len(core) < 0.6:
        return False
    if any(c.isdigit() for c in core):
        return True
    letters = [c for c in core if c.isalpha()]
    if not letters:
        return True
    runs = 1 + sum(1 for a, b in zip(letters, letters[1:]) if a.isupper() != b.isupper())
    if runs >= 3 and len(letters) / runs < 2.5:  # lIlIi, tHe -- not CamelCase
        return False
    word = "".join(letters)
    if word.islower() and len(word) >= 5 and word.isascii() and not _VOWELS & set(word):
        return False
    return True


@dataclass(frozen=True, slots=True)
class ImageArea:
    """An image drawn on the page: where (page points, as much of it as the page
    shows), its pixel size, and whether invisible text lies on it (an OCR layer:
    the image is covered)."""

    box: Box
    width_px: int
    height_px: int
    covered: bool


@dataclass(frozen=True, slots=True)
class TextLayer:
    """What one page's text layer holds (boxes: page points, unrotated space)."""

    page: int
    words: list[Word] = field(default_factory=list)  # usable words, duplicates removed
    raw: int = 0            # words as extracted (with duplicates and broken ones)
    duplicates: int = 0     # exact duplicates removed (same text, same box)
    invisible: int = 0      # words drawn invisibly (render mode 3)
    broken: list[Box] = field(default_factory=list)  # words with unmapped or broken characters
    judged: int = 0         # words judged for plausibility (not punctuation-only)
    plausible: int = 0      # ... of which look like words
    images: list[ImageArea] = field(default_factory=list)
    decode_error: str | None = None  # MuPDF's first error while interpreting the page

    @property
    def count(self) -> int:
        """Words after removing duplicates (usable and broken)."""
        return len(self.words) + len(self.broken)

    @property
    def broken_share(self) -> float:
        return len(self.broken) / self.count if self.count else 0.0

    @property
    def plausible_share(self) -> float:
        return self.plausible / self.judged if self.judged else 1.0

    @property
    def mostly_invisible(self) -> bool:
        return self.count > 0 and self.invisible >= self.count / 2

    @property
    def decode_problem(self) -> str | None:
        """Why the page's content could not be fully decoded, as a warning; None
        when it was."""
        if not self.decode_error:
            return None
        return (f"its content cannot be decoded ({self.decode_error}); the page is read as "
                f"far as it can be, and may be incomplete")

    def verdict(self) -> str | None:
        """Why the layer is unusable, or None when it is usable."""
        if self.count == 0:
            return "no text layer"
        kind = "invisible text layer" if self.mostly_invisible else "text layer"
        if self.count >= MIN_JUDGED_WORDS and self.broken_share > MAX_BROKEN_SHARE:
            return (f"{kind} broken ({self.broken_share:.0%} of its words hold unmapped "
                    f"glyphs or replacement characters)")
        if self.judged >= MIN_JUDGED_WORDS and self.plausible_share < MIN_PLAUSIBLE_SHARE:
            return f"{kind} of poor quality (only {self.plausible_share:.0%} of its words look like words)"
        return None


def judge_text(text: PageText, page_no: int) -> TextLayer:
    """Judge a page's raw text (:meth:`locator.pdf.PdfFile.read_text`): its usable
    words, duplicates, invisible and broken words, and which images it covers.

    Exact duplicates (same text, same box) are dropped and KiCad's overbar
    markup is removed from the text (``~{RST}`` -> ``RST``); ``Word.angle`` is
    the direction of the word's line, so vertical labels group into lines.
    """
    words: list[Word] = []
    broken: list[Box] = []
    duplicates = invisible = n_judged = n_plausible = 0
    seen: set[tuple] = set()
    judged: dict[str, tuple[bool | None, bool]] = {}  # text -> (plausible, bad char)
    hidden: list[tuple[float, float]] = []  # centres of invisible words
    for rw in text.words:
        box, t = rw.box, rw.text
        key = (t, round(box.x0, 2), round(box.y0, 2), round(box.x1, 2), round(box.y1, 2))
        if key in seen:  # KiCad emits some text twice: same text, same box
            duplicates += 1
            continue
        seen.add(key)
        if "~{" in t:
            t = _KICAD_OVERBAR.sub(r"\1", t) or t
        if not rw.visible:
            invisible += 1
            hidden.append(box.center)  # (a duplicate's centre is the same)
        # a drawing repeats its texts (GND, 10k, R1): each is judged once
        verdict = judged.get(t)
        if verdict is None:
            verdict = judged[t] = (plausible(t), has_bad_char(t))
        ok = False if rw.unmapped else verdict[0]
        if ok is not None:
            n_judged += 1
            n_plausible += bool(ok)
        if rw.unmapped or verdict[1]:
            broken.append(box)
            continue
        words.append(Word(text=t, conf=TEXT_CONF, box=box, page=page_no,
                          engine=TEXT_ENGINE, angle=rw.angle, source="text"))
    images = [ImageArea(box=im.box, width_px=im.width_px, height_px=im.height_px,
                        covered=any(im.box.contains_point(x, y) for x, y in hidden))
              for im in text.images]
    return TextLayer(page=page_no, words=words, raw=len(text.words), duplicates=duplicates,
                     invisible=invisible, broken=broken, judged=n_judged,
                     plausible=n_plausible, images=images, decode_error=text.decode_error)


# ------------------------------------------------------------------ decisions

@dataclass(frozen=True)
class SourcePlan:
    """What to take from one page's text layer and what to OCR.

    ``text``: the text-layer words to keep (page points). ``ocr``, an
    :class:`~locator.kinds.OcrScope`: ``none``, ``page`` (every tile) or
    ``regions`` (only tiles over ``regions``, page points, unrotated; OCR words
    whose centre lies outside them are dropped). ``reason`` says why, for the run report. ``images_only``: the
    regions hold only images (no broken words), so they are read from the
    images themselves (:func:`locator.pdf.draw_images`), not from a render of the page.
    """

    page: int
    text: tuple[Word, ...] = ()
    ocr: OcrScope = OcrScope.page
    regions: tuple[Box, ...] = ()
    reason: str = ""
    images_only: bool = False  # the regions are images: read from the images alone

    @property
    def label(self) -> str:
        """``text``, ``ocr`` or ``text+ocr``: where this page's words come from."""
        if self.ocr == OcrScope.none:
            return "text"
        return "text+ocr" if self.text else "ocr"

    def describe(self) -> str:
        return f"{self.label} ({self.reason})" if self.reason else self.label


def merge_regions(boxes: list[Box], margin: float = REGION_MARGIN_PT) -> list[Box]:
    """Grow each box by ``margin`` and union those that touch, until none do."""
    out = [b.grow(margin) for b in boxes]
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                if out[i].intersection_area(out[j]) > 0:
                    out[i] = out[i].union(out.pop(j))
                    merged = True
                    break
            if merged:
                break
    return out


def _clip(b: Box, frame: PageFrame) -> Box | None:
    c = Box(max(b.x0, 0.0), max(b.y0, 0.0), min(b.x1, frame.width), min(b.y1, frame.height))
    return c if c.x1 > c.x0 and c.y1 > c.y0 else None


def lacking_regions(layer: TextLayer, frame: PageFrame) -> tuple[list[Box], list[str]]:
    """Where the text layer lacks text that may be there: uncovered images and
    broken words (page points, merged, clipped to the page), and what they are."""
    boxes: list[Box] = []
    what: list[str] = []
    n_img = 0
    for im in layer.images:
        b = _clip(im.box, frame)
        if b is None or im.covered or min(b.width, b.height) < MIN_IMAGE_PT:
            continue
        if 0 < min(im.width_px, im.height_px) < MIN_IMAGE_PX:
            continue
        boxes.append(b)
        n_img += 1
    if n_img:
        what.append(f"{n_img} image region{'s' * (n_img > 1)}")
    if layer.broken:
        boxes += layer.broken
        what.append(f"{len(layer.broken)} broken word{'s' * (len(layer.broken) > 1)}")
    regions = [r for r in (_clip(b, frame) for b in merge_regions(boxes)) if r is not None]
    return regions, what


def plan_page(page: int, layer: TextLayer | None, frame: PageFrame, source: str,
              paths: Callable[[], int] | None = None) -> SourcePlan:
    """Decide what to read from the text layer and what to OCR on one page.

    ``page`` is 1-based; ``layer`` is None for a page that has no text layer
    at all (an image input). ``source`` is ``"auto"``, ``"text"`` or ``"ocr"``. ``paths`` counts
    the page's painted paths; called only when the layer has few words.

    In ``auto``: no words -> OCR the page; a broken or poor layer -> OCR the
    page and drop the layer; few words over many paths (text drawn as curves)
    -> OCR the page, keeping the words; images without text on them and broken
    words -> OCR those regions; otherwise the text layer alone.
    """
    if source == "ocr":
        return SourcePlan(page, ocr=OcrScope.page, reason="--source ocr")
    if layer is None:
        if source == "text":
            return SourcePlan(page, ocr=OcrScope.none, reason="no text layer; nothing read (--source text)")
        return SourcePlan(page, ocr=OcrScope.page, reason="image")
    words = tuple(layer.words)
    if source == "text":
        return SourcePlan(page, text=words, ocr=OcrScope.none,
                          reason="--source text" + ("" if words else "; the page has no text layer"))
    verdict = layer.verdict()
    if verdict is not None:
        return SourcePlan(page, ocr=OcrScope.page, reason=verdict)
    if len(words) < CURVES_CHECK_BELOW_WORDS and paths is not None:
        n = paths()
        if n >= CURVES_MIN_PATHS and n >= CURVES_PATHS_PER_WORD * max(1, len(words)):
            return SourcePlan(page, text=words, ocr=OcrScope.page,
                              reason=f"text drawn as curves ({n} paths, {len(words)} text words)")
    regions, what = lacking_regions(layer, frame)
    if not regions:
        return SourcePlan(page, text=words, ocr=OcrScope.none, reason="")
    area = sum(r.area for r in regions)
    if area > WHOLE_PAGE_SHARE * frame.width * frame.height:
        return SourcePlan(page, text=words, ocr=OcrScope.page,
                          reason=", ".join(what) + " covering most of the page")
    return SourcePlan(page, text=words, ocr=OcrScope.regions, regions=tuple(regions),
                      reason="OCR of " + ", ".join(what), images_only=not layer.broken)


def combine(plan: SourcePlan, ocr_words: list[Word], *, same: float = 0.5) -> list[Word]:
    """The page's words: the plan's text-layer words, plus OCR words that add something.

    OCR words are dropped when their centre lies outside the plan's regions
    (region plans), or when they overlap a text-layer word (intersection over
    the smaller box >= ``same``): where both sources read the same place, the
    text layer wins. Boxes are page points.
    """
    if plan.ocr == OcrScope.regions:
        ocr_words = [w for w in ocr_words
                     if any(r.contains_point(*w.box.center) for r in plan.regions)]
    if not plan.text:
        return list(ocr_words)
    from locator.geometry import GridIndex

    index = GridIndex()
    text = list(plan.text)
    for k, w in enumerate(text):
        index.add(k, w.box)
    out = list(text)
    for w in ocr_words:
        if any(text[k].box.ios(w.box) >= same for k in index.near(w.box)):
            continue
        out.append(w)
    return out
