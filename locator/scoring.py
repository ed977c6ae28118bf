"""Scores: how close a read is to a catalog literal, or to a fuzzy regex.

The formulas are those of :mod:`locator.match` (its docstring explains them):
a weighted edit distance in which a character read as another member of its
OCR confusion class costs :data:`CONFUSION_COST`, turned into 0-100 by the
longer of the two lengths. Every string comes as :class:`~locator.matcher.Forms`
(normalised, folded, canonical).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from locator.matcher import Forms
from locator.normalize import confusable, is_confusable

#: rapidfuzz's opcodes as (tag, i1, i2, j1, j2): its stubs iterate an Opcode as
#: ``int | str``, not saying which position is which.
_Ops = Sequence[tuple[str, int, int, int, int]]

#: Cost of one substitution inside an OCR confusion class, in edits.
CONFUSION_COST = 0.15
#: Characters a code is written with besides letters and digits (and spaces).
CODE_SEPARATORS = "-./_ %+#:"


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
    wordlike = word_cased(tk)
    numberless = not any(c.isdigit() for c in tk)
    for tag, i1, i2, j1, j2 in cast(_Ops, Levenshtein.opcodes(pc, tc)):
        if tag == "equal":
            if pf[i1:i2] == tf[j1:j2]:
                continue
            for a, b in zip(range(i1, i2), range(j1, j2)):
                if pf[a] != tf[b]:
                    # a lower-case letter for a digit is a confusion only where
                    # the read was a code's, not a word's ("al" is no A1); a
                    # "|" is a digit only beside digits (else a wire: "A|")
                    credit = confusable(pk[a], tk[b], classes, case_sensitive) and not (
                        pk[a].isdigit() and ((wordlike and tk[b].islower())
                                             or (numberless and tk[b] == "|")))
                    total += CONFUSION_COST if credit else 1.0
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


def word_cased(s: str) -> bool:
    """Whether a read has a word's case pattern, not a code's: no digit, and
    its letters all lower case or one capital then lower case (``al``,
    ``cio``, ``Ti``, ``Ul``). Engines read codes (capitals, digits) and words
    differently: when they gave a word, its lower-case ``l``, ``i``, ``o``,
    ``s`` are letters, not a misread ``1``, ``0``, ``5``. On schematics 02 and
    03 and the P&IDs, 21 of 24 hits that had this credit on such reads were
    false (``al`` for A1, ``rs`` for R5, ``Ti`` for T1); reads with a
    capital inside or a digit (``acBuso``, ``VCCIO_o``, ``ci2|``) keep it.
    Likewise a ``|`` read for a digit in a read with no digit is a wire or
    frame line beside a letter (``A|``, ``s|``, ``m|``: 4 false hits, no true
    one, on the same documents).

    >>> [word_cased(s) for s in ("al", "Ti", "cio", "acBuso", "VCCIO_o", "ci2", "AS")]
    [True, True, True, False, False, False, False]
    """
    letters = [c for c in s if c.isalpha()]
    if not letters or any(c.isdigit() for c in s):
        return False
    return all(c.islower() for c in letters[1:])


def code_shaped(s: str) -> bool:
    """Whether ``s`` looks like a code: a letter and a digit, and nothing but
    letters, digits, spaces and the separators codes are written with
    (:data:`CODE_SEPARATORS`).

    >>> code_shaped("la01-ba007"), code_shaped("pump room"), code_shaped("fic-1?1")
    (True, False, False)
    """
    return (any(c.isalpha() for c in s) and any(c.isdigit() for c in s)
            and all(c.isalnum() or c in CODE_SEPARATORS for c in s))


def names_another_code(p: Forms, t: Forms, classes: tuple[str, ...], *,
                       exact: bool = False) -> bool:
    """Whether read ``t`` is another code than literal ``p``, not a misread of it.

    True when both are code-shaped (:func:`code_shaped`), of one length and
    aligned character for character (the alignment of :func:`cost` has no
    insertion or deletion: another code has the code's shape), and a digit
    stands for another digit, or a letter for another letter (not only its
    case; see :func:`_another_character`), where the two are no OCR
    confusion (none is, with ``classes`` empty). OCR turns ``0`` into ``O``
    and ``1`` into ``l``, but a ``7`` read as ``2``, or ``W`` as ``B``, in a
    read of the code's shape is the neighbouring tag that is really there
    (plants number tags in sequence). A read with letters or digits lost or
    added is damaged: it is left to the score; one with only separators lost
    or added is compared by its letters and digits.

    ``exact``: ``t`` is a text layer's read, which no engine misread: any
    letter or digit added, lost or changed (a separator aside) makes it
    another code (``10k/R0402`` is no read of 100k/R0402).

    >>> from locator.matcher import Forms
    >>> f = lambda s: Forms(s, s.lower(), s.lower())
    >>> names_another_code(f("LA01-BA007"), f("LA01-BA002"), ())
    True
    >>> names_another_code(f("LA01-BA007"), f("LA01-BAO07"), ())  # a letter for a digit
    False
    """
    if not (code_shaped(p.fold) and code_shaped(t.fold)):
        return False
    pc, tc = (p.canon, t.canon) if classes else (p.fold, t.fold)
    if exact:
        return any(c.isalnum() for tag, i1, i2, j1, j2 in cast(_Ops, Levenshtein.opcodes(p.fold, t.fold))
                   if tag != "equal" for c in p.fold[i1:i2] + t.fold[j1:j2])
    if _changes_a_character(p.norm, t.norm, pc, tc):
        return True
    # a separator lost or added is no damage to the letters and digits: their
    # skeleton says whether this is another code (22uF/6.3V/20%/X5R/C0603 is
    # no read of 2.2uF/6.3V/10%/X5R/C0603, drawn beside it on schematic 03)
    pk = [i for i, c in enumerate(p.norm) if c.isalnum()]
    tk = [i for i, c in enumerate(t.norm) if c.isalnum()]
    if (len(pk), len(tk)) == (len(pc), len(tc)):
        return False
    return _changes_a_character("".join(p.norm[i] for i in pk), "".join(t.norm[i] for i in tk),
                                "".join(pc[i] for i in pk), "".join(tc[i] for i in tk))


def _changes_a_character(pn: str, tn: str, pc: str, tc: str) -> bool:
    """Whether read ``tn`` aligns with ``pn`` character for character (no
    insertion or deletion in the alignment of their compared forms ``pc``,
    ``tc``) and stands another character for one of them."""
    if len(pc) != len(tc):
        return False
    ops = cast(_Ops, Levenshtein.opcodes(pc, tc))
    if any(tag in ("insert", "delete") for tag, *_ in ops):
        return False  # a character lost or added: a damaged read, left to the score
    return any(_another_character(pn[a], tn[b])
               for tag, i1, i2, j1, j2 in ops if tag == "replace"
               for a, b in zip(range(i1, i2), range(j1, j2)))


def _another_character(x: str, y: str) -> bool:
    """Whether ``y`` read for the catalog's ``x`` is a clean read of another
    character: a digit for a digit, or a letter for another letter in the
    case the catalog wrote (or a capital). A lower-case letter inside a code
    written in capitals (``Yu-42403-T`` for YJ-42403-T) is OCR garbling a
    glyph, not another tag."""
    if x.isdigit() and y.isdigit():
        return True
    return (x.isalpha() and y.isalpha() and x.casefold() != y.casefold()
            and (y.isupper() or x.islower() == y.islower()))


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


__all__ = ["CONFUSION_COST", "CODE_SEPARATORS", "cost", "score", "partial_score", "regex_score",
           "code_shaped", "word_cased", "names_another_code"]
