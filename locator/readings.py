"""What the matcher reads: each engine's reading of a line, and OCR words cut apart.

Two steps between the merged words of a page (:mod:`locator.merge`, boxes in
page points, unrotated space) and the matcher:

* :func:`unglue` cuts OCR words where OCR glued catalog codes together
  (``100nC31``, ``|C12|C13|``).
* :func:`engine_readings` turns lines (:func:`locator.lines.group_lines`)
  into :class:`Readings`: with several engines, :func:`locator.merge.merge_page`
  keeps two engines' different readings of one place side by side
  (``31772-60`` and ``31772``), so a line's words interleave two readings and
  a code of several words (``PV 31772-60``) is no longer a run of neighbours.
  Each such line becomes one line per engine, and :attr:`Readings.rivals`
  says which words are other engines' reads of the same place, so the
  matcher can let one place hold one code.

Standard library only (and the project's geometry, lines, model, normalize).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from locator.geometry import Box, connected_groups, overlap_pairs
from locator.lines import Line
from locator.model import Word
from locator.normalize import STRIP_CHARS, fold, normalize_keep_case

#: Two words are reads of one place when this share of the smaller box
#: overlaps the other (the merge's own rule, :data:`locator.merge.SAME_WORD_IOS`).
SAME_PLACE_IOS = 0.5


@dataclass(frozen=True, slots=True)
class Readings:
    """The lines to match, each as one engine read it, and the rival reads.

    ``lines``: every input line, a line holding two engines' different reads
    of one place replaced by one line per engine (words are the input's
    objects, so a word several engines agreed on is in each). ``rivals``: for
    each word read differently by another engine at its place, those other
    engines' words (no engine in common).
    """

    lines: tuple[Line, ...]
    rivals: Mapping[Word, frozenset[Word]]


def engine_readings(lines: Sequence[Line]) -> Readings:
    """Each line as each engine read it, where engines read one place differently.

    A line holding overlapping words of different engines (the smaller box at
    least :data:`SAME_PLACE_IOS` inside the other) is replaced by one line per
    engine: in each group of overlapping words, the words that engine read (a
    word several engines agreed on belongs to each), else the group's most
    confident engine's words. One engine's words never overlap one another, so
    each reading is clean. Lines of one engine (a text layer's line, a
    single-engine run) and lines without overlaps are kept as they are: one
    source's own overlapping words (a text layer's ``2J10`` over its ``J10``)
    are separate words of that source, never rivals.
    """
    out: list[Line] = []
    rivals: dict[Word, set[Word]] = defaultdict(set)
    for line in lines:
        split, pairs = _split(line)
        out.extend(split)
        for a, b in pairs:
            rivals[a].add(b)
            rivals[b].add(a)
    return Readings(tuple(out), {w: frozenset(r) for w, r in rivals.items()})


def _split(line: Line) -> tuple[list[Line], list[tuple[Word, Word]]]:
    """One line's readings, and its pairs of rival words."""
    ws = line.words
    if len({w.engine for w in ws}) == 1:
        return [line], []
    pairs = overlap_pairs([w.box for w in ws], SAME_PLACE_IOS)
    rivals = [(ws[i], ws[j]) for i, j in pairs if not (ws[i].engines & ws[j].engines)]
    shared = [g for g in connected_groups(len(ws), pairs) if len(g) > 1]
    if not shared:
        return [line], rivals
    engines = sorted({e for g in shared for i in g for e in ws[i].engines})
    seen: set[frozenset[int]] = set()
    out: list[Line] = []
    for e in engines:
        drop = frozenset(_not_read_by(e, ws, shared))
        if drop in seen:
            continue
        seen.add(drop)
        kept = tuple(w for i, w in enumerate(ws) if i not in drop)
        out.append(Line(page=line.page, angle=line.angle, words=kept,
                        box=Box.union_all([w.box for w in kept])))
    return out, rivals


def _not_read_by(engine: str, ws: tuple[Word, ...], shared: list[list[int]]) -> set[int]:
    """Words of the overlap groups ``shared`` left out of ``engine``'s reading."""
    drop: set[int] = set()
    for g in shared:
        mine = [i for i in g if engine in ws[i].engines]
        if not mine:  # the engine did not read this place: the most confident engine's words
            top = max(g, key=lambda i: ws[i].conf)
            mine = [i for i in g if ws[i].engine == ws[top].engine]
        drop |= set(g) - set(mine)
    return drop


# --------------------------------------------------------------------------
# ungluing

@dataclass(frozen=True, slots=True)
class Glue:
    """What :func:`unglue` may cut words into.

    ``codes``: the catalog's whole-word literals compared as written (case
    folded, nothing ignored), of one word and 2+ characters; ``longest``:
    the longest of them; ``pipe``: whether a ``|`` may be cut at (no literal
    holds one).
    """

    codes: frozenset[str]
    longest: int
    pipe: bool


def unglue(words: Sequence[Word], glue: Glue) -> list[Word]:
    """OCR words cut where OCR glued neighbours together.

    Two cases, OCR words only (a text layer's words are split where the
    document has a space):

    * at ``|``, OCR's reading of a wire or frame line (``|C12|C13|``), when
      every piece is a catalog code (a ``|`` may also be a misread ``1``)
      and no literal of the catalog holds a ``|``;
    * where the word is not itself a catalog code but is two or more of them
      written together, each exactly: labels set close side by side, as a
      schematic's value and reference (``100nC31``), a row of supply labels
      (``+1V8+1V8+3V3``) or a pin and its net (``P2_8x330E``). Codes are
      compared as written, case folded; no fuzzy pieces, and no piece of one
      character. A cut must fall where the read's characters say a new label
      begins (:func:`label_break`: a sign such as ``+``, or a lower-case letter
      followed by a capital or a digit); inside a run written as one code --
      ``P1A1``, a pin's net label, is not the codes P1 and A1 -- it is not cut
      (one read, one hit: on schematic 02 such cuts gave 22 false hits and no
      true one).

    Each piece gets the share of the word's box its characters take, along
    the word's direction. Other words are returned as they are.
    """
    if not glue.codes:  # nothing to cut into (a "|" is only cut where every piece is a code)
        return list(words)
    out: list[Word] = []
    for w in words:
        if w.source == "text" or len(w.text) < 3:
            out.append(w)
            continue
        kept = normalize_keep_case(w.text)
        t = fold(kept)
        if len(t) != len(w.text) or len(kept) != len(t):  # offsets would not map back
            out.append(w)
            continue
        pieces = _glued_pieces(t, glue, kept)
        if pieces is None:
            out.append(w)
            continue
        out.extend(_piece_word(w, a, b) for a, b in pieces)
    return out


def _glued_pieces(t: str, glue: Glue, kept: str | None = None) -> list[tuple[int, int]] | None:
    """``(start, end)`` of each piece of ``t``, or None when it stays whole.
    ``kept``: ``t`` with its case as read (where labels break; default ``t``)."""
    kept = t if kept is None else kept
    core0 = len(t) - len(t.lstrip(STRIP_CHARS))
    core1 = len(t.rstrip(STRIP_CHARS))
    if core1 <= core0 or t[core0:core1] in glue.codes:
        return None
    spans = [(core0, core1)]
    if glue.pipe and "|" in t[core0:core1]:
        spans, start = [], core0
        for k in range(core0, core1 + 1):
            if k == core1 or t[k] == "|":
                if k > start:
                    spans.append((start, k))
                start = k + 1
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if t[a:b] in glue.codes:
            out.append((a, b))
            continue
        cut = _segment(t[a:b], glue.codes, glue.longest, kept[a:b])
        if cut is None:
            if len(spans) > 1:  # a "|" that may be a misread 1 (C|2): keep the word
                return None
            out.append((a, b))
        else:
            out.extend((a + x, a + y) for x, y in cut)
    return out if len(out) > 1 else None


def label_break(before: str, after: str) -> bool:
    """Whether a new label may begin between two read characters (case as read):
    before a character that is no letter or digit (``+1V8|+3V3``), or after
    a lower-case letter, before a capital or a digit (``100n|C31``,
    ``P2_8x|330E``). Between a digit and a letter, or two capitals, the
    characters are one code's (``P1A1``, ``R16A``, ``FIC101``).

    >>> label_break("n", "C"), label_break("x", "3"), label_break("8", "+"), label_break("1", "A")
    (True, True, True, False)
    """
    if not after.isalnum():
        return True
    return before.isalpha() and before.islower() and (after.isupper() or after.isdigit())


def _segment(s: str, codes: frozenset[str], longest: int,
             kept: str | None = None) -> list[tuple[int, int]] | None:
    """``s`` as two or more catalog codes written together (fewest pieces), cut
    only at label breaks of ``kept`` (``s`` as read), or None."""
    n = len(s)
    kept = s if kept is None else kept
    ok = [True] + [label_break(kept[j - 1], kept[j]) for j in range(1, n)] + [True]
    best: list[list[tuple[int, int]] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        here = best[i]
        if here is None:
            continue
        for j in range(i + 2, min(n, i + longest) + 1):
            there = best[j]
            if ok[j] and s[i:j] in codes and (there is None or len(here) + 1 < len(there)):
                best[j] = here + [(i, j)]
    found = best[n]
    return found if found is not None and len(found) >= 2 else None


def _piece_word(w: Word, a: int, b: int) -> Word:
    """The part ``w.text[a:b]`` of ``w``, its box the matching share along the text."""
    n = len(w.text)
    f0, f1 = a / n, b / n
    x0, y0, x1, y1 = w.box.x0, w.box.y0, w.box.x1, w.box.y1
    if w.angle == 90:      # reads bottom to top
        box = Box(x0, y1 - f1 * (y1 - y0), x1, y1 - f0 * (y1 - y0))
    elif w.angle == 270:   # top to bottom
        box = Box(x0, y0 + f0 * (y1 - y0), x1, y0 + f1 * (y1 - y0))
    elif w.angle == 180:
        box = Box(x1 - f1 * (x1 - x0), y0, x1 - f0 * (x1 - x0), y1)
    else:
        box = Box(x0 + f0 * (x1 - x0), y0, x0 + f1 * (x1 - x0), y1)
    return Word(w.text[a:b], w.conf, box, w.page, w.engine, angle=w.angle, source=w.source)


__all__ = ["Readings", "Glue", "engine_readings", "unglue", "SAME_PLACE_IOS"]
