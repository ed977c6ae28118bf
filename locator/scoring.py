"""Scores: how close a read is to a catalog literal, or to a fuzzy regex.

The formulas are those of :mod:`locator.match` (its docstring explains them):
a weighted edit distance in which a character read as another member of its
OCR confusion class costs :data:`CONFUSION_COST`, turned into 0-100 by the
longer of the two lengths. Every string comes as :class:`~locator.matcher.Forms`
(normalised, folded, canonical).
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from locator.matcher import Forms
from locator.normalize import confusable, is_confusable

#: Cost of one substitution inside an OCR confusion class, in edits.
CONFUSION_COST = 0.15


def cost(p: tuple[str, str, str], t: tuple[str, str, str], classes: tuple[str, ...],
         case_sensitive: bool) -> float:
    """Edit cost of reading ``t`` for the catalog's ``p`` (see :mod:`locator.match`).

    Each argument is ``(normalised, folded, canonical)``: the string with
    case kept, then lower-cased unless case sensitive, then with each
    confusion class merged. The alignment is the fewest-edits alignment of
    the canonical strings (rapidfuzz); in it an insertion, deletion or
    substitution costs 1, an aligned pair equal once folded costs 0, and an
    aligned pair that is an OCR confusion costs :data:`CONFUSION_COST`.
    """
    pk, pf, pc = p
    tk, tf, tc = t
    if pf == tf:
        return 0.0
    total = 0.0
    for tag, i1, i2, j1, j2 in Levenshtein.opcodes(pc, tc):
        if tag == "equal":
            if pf[i1:i2] == tf[j1:j2]:
                continue
            for a, b in zip(range(i1, i2), range(j1, j2)):
                if pf[a] != tf[b]:
                    total += CONFUSION_COST if confusable(pk[a], tk[b], classes,
                                                          case_sensitive) else 1.0
        else:
            total += max(i2 - i1, j2 - j1)
    return total


def score(p: Forms, t: Forms, classes: tuple[str, ...], case_sensitive: bool) -> float:
    """100 * (1 - cost / the longer length)."""
    c = cost(p, t, classes, case_sensitive)
    return max(0.0, 100.0 * (1.0 - c / max(len(p[0]), len(t[0]), 1)))


def partial_score(p: Forms, t: Forms, classes: tuple[str, ...],
                  case_sensitive: bool) -> tuple[float, tuple[int, int]]:
    """Best score of ``p`` against a substring of ``t``; (score, (start, end))."""
    pc, tc = p[2], t[2]
    k = tc.find(pc)
    if k >= 0:
        spans = [(k, k + len(pc))]
    else:
        al = fuzz.partial_ratio_alignment(pc, tc)
        if al is None:
            return 0.0, (0, len(tc))
        s0, e0 = al.dest_start, al.dest_end
        # the alignment is by indel ratio: also try one character more or less
        spans = sorted({(max(0, s0 + ds), min(len(tc), e0 + de))
                        for ds in (-1, 0, 1) for de in (-1, 0, 1)})
        spans = [sp for sp in spans if sp[1] > sp[0]]
    best = (0.0, (0, len(tc)))
    for s0, e0 in spans:
        sc = score(p, Forms(*(x[s0:e0] for x in t)), classes, case_sensitive)
        if sc > best[0]:
            best = (sc, (s0, e0))
    return best


def regex_score(m: Any, classes: tuple[str, ...]) -> float:
    """A regex match's score: 100 exact; a fuzzy match (``{e<=1}``) costs one
    edit per insertion, deletion or substitution, :data:`CONFUSION_COST` for a
    substitution whose read character is in a confusion class."""
    subs, ins, dels = getattr(m, "fuzzy_counts", (0, 0, 0))
    if not (subs or ins or dels):
        return 100.0
    total = float(ins + dels)
    if subs:
        text = m.string
        for pos in m.fuzzy_changes[0]:
            total += CONFUSION_COST if is_confusable(text[pos], classes) else 1.0
    n = len(m.group())
    return max(0.0, 100.0 * (1.0 - total / max(n, n - ins + dels, 1)))


__all__ = ["CONFUSION_COST", "cost", "score", "partial_score", "regex_score"]
