"""Words x catalog -> hits: fuzzy literal matching, regexes, ambiguity, filters.

Input words carry boxes in page points (unrotated space, origin top left);
every hit's box is the union of the boxes of the words it covers, in the same
space.

**Lines and windows.** Words are grouped into text lines
(:func:`locator.lines.group_lines`). A literal is compared with every word and
every *window* of consecutive words of one line (up to the longest
pattern's word count + :data:`WINDOW_SLACK` words), each window joined with a space
and without one, so a code OCR split (``FIC-`` ``101``) is one hit whose box
spans both words, and a phrase (``PUMP ROOM``) matches the words of one line.
Each word is also tried without the punctuation OCR attaches to its ends
(``(FIC-101),``; an OCR word also without the bits of a wire or underline
glued on, ``P2_3x_``, ``~P1B4``: :data:`~locator.normalize.OCR_STRIP_CHARS`);
the better of the two counts. Each stripped character costs :data:`STRIP_COST`
(as much as a confusion): a read that had to be trimmed is weaker evidence
than one that matched as written, so ``W-9.`` is ``W-9.`` at 100 and ``W-9``
only at 95, and where two engines read one place, ``1099-MlSC.`` (one
confusion) beats ``1099-MISC..`` trimmed of two dots.

**Score** (0-100) of a literal ``p`` against read text ``t``, both normalised
(:mod:`locator.normalize`) and stripped of the pattern's ``ignore`` characters::

    score = 100 * (1 - cost / max(len(p), len(t)))

``cost`` is a weighted edit distance (:func:`cost`): each inserted, deleted or
wrongly read character costs 1; a character read as another member of its
OCR confusion class (``O0DQo``, ``I1l|i``, ``S5$s``, ``B8``, ``Z2z``, ``G6``)
costs :data:`CONFUSION_COST` = 0.15; a case difference costs nothing unless
the pattern is case sensitive. Characters are compared as written and read,
so ``l`` read for ``1`` is a confusion but ``L`` for ``1`` is not; and a
lower-case letter read for a digit is one only where the read has a code's
case pattern, not a word's (:func:`~locator.scoring.word_cased`: no digit,
letters all lower case or one capital then lower case): ``al`` is no A1,
``Ti`` no T1, while ``Ri4`` is R14 and ``acBuso`` ACBUS0. (The
alignment priced is the fewest-edits alignment once each confusion class is
merged into one character, which is also the bound used to prune.) So an
exact read scores 100, ``F1C-1O1`` for ``FIC-101`` 95.7, ``FIC-1X1`` 85.7
(one real edit in seven characters), and with ``confusions: false`` a
confusion is a full edit (``F1C-1O1``: 71.4).

**Never the neighbouring tag.** Plants number tags in sequence, so a catalog
of part of a plant sits next to tags it does not list. A read that is itself
a code (a letter and a digit, nothing but letters, digits and
:data:`~locator.scoring.CODE_SEPARATORS`) of the literal's shape (one
length, no character lost or added) and stands a digit for another digit or
a letter for another letter where OCR confuses neither is that other code,
not a hit at any score (:func:`~locator.scoring.names_another_code`):
``LA01-BA007`` is no hit for ``LA01-BA002`` or ``LA01-WA007``, ``FIC-102``
none for ``FIC-101``; ``FIC-1O2`` and ``LA01-BAO07`` keep their confusion
credit, a lower-case letter inside capitals (``Yu-42403-T``) is OCR garbling
a glyph, and a read with a letter or digit lost or added is left to the
score; with only separators lost or added its letters and digits are
compared (``22uF/6.3V/20%`` is no hit for ``2.2uF/6.3V/10%``). A
text layer's word is no engine's reading: a code-shaped one with any letter
or digit changed, added or lost is another code. No low-score candidate is
kept for such reads: engines give one confidence per word, not per
character, so which characters the engine was unsure of is not known.

**whole_word.** A literal is compared with whole words (and runs of them). With
``whole_word: true`` (the default) a read that holds the code with more
characters attached is no hit however close it scores: ``FIC-101A``,
``XFIC-101``, ``FIC-1011`` are not ``FIC-101`` (they are usually other codes).
With ``whole_word: false`` a literal is also found inside a longer read
(best-aligned substring, scored as above); the hit's box is that of the
word(s) the substring lies in.

**Regexes** run on each line's text: its words, normalised but with case kept
(the regex gets ``IGNORECASE`` unless the pattern is case sensitive), end
punctuation stripped, ``ignore`` characters removed, joined by one space (by
nothing when ``ignore`` holds a space). A match's character span maps back to
the words it touches. With ``whole_word`` a match must start and end at word
edges. A fuzzy regex (``(?:...){e<=1}``) scores like a literal: each
insertion, deletion or substitution costs one edit, a substitution whose read
character is in a confusion class costs :data:`CONFUSION_COST`; an exact match
scores 100. That match score is what ``min_score`` bounds; the hit's score is
it times the words' mean confidence / 100 (:func:`locator.regexes.read_score`):
a regex names no code to compare the read with, so ``25-KA-9101`` read at 48
for 23-KA-9101 matches exactly and only the engine's doubt tells (score 48; a
text layer's words, 100, keep the match score). ``matched`` is the normalised
text the regex matched.

**Ambiguity.** Candidates below their pattern's ``min_score`` or equal (after
normalisation) to one of its ``exclude`` strings are dropped. Then, best score
first, literals before regexes (ties: the longer pattern, then the fewer
words), each candidate claims
its words; a candidate sharing a word with an accepted one is dropped, so
overlapping hits of one pattern collapse to the best one and each word goes to
its best pattern. A true tie -- the same words read the same way (a word
as written, or stripped of its end punctuation, not one each: ``W-9.`` is
``W-9.``, not also ``W-9``) at the same score for another pattern of the same
kind -- is reported for both patterns when both name one code (the same
normalised text: a code listed twice); a read as close to two different
codes names neither (one read, at most one code). Where several engines read one place
differently (:func:`locator.readings.engine_readings`), one place holds one code: a candidate
naming another code than the one accepted on an overlapping word of another
engine is dropped, and its words are spent (they cannot lend a weaker match
to the winner's code); among equal scores, pattern lengths and word counts
the more confident read goes first. Literals claim
before regexes because they name codes; a regex is the net for the rest. Finally, hits of one pattern whose
boxes overlap (:data:`SAME_PLACE_IOS` of the smaller box) -- the same label
read twice, say by two engines or as one word and as two -- merge into one
hit: the best read's text and score, the union box, every engine.

**near.** A hit of a pattern with ``near: {pattern: ID, within: D}`` is kept
only if a hit of ``ID`` lies within ``D`` points (gap between boxes) on the
same page; dropped hits free their words and the claim runs again.

Scale: candidate pairs are found with ``rapidfuzz.process.cdist`` over the
distinct window strings, bucketed by length so only strings whose length can
reach ``min_score`` are compared; Python touches only the surviving pairs.

Where each step lives: :mod:`locator.matcher` (the catalog prepared, the
candidate type), :mod:`locator.readings` (engine readings, ungluing),
:mod:`locator.literals` (windows, literal candidates), :mod:`locator.regexes`,
:mod:`locator.scoring`; this module shares the words out and builds the hits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from locator.catalog import Catalog, Pattern
from locator.geometry import Box, overlap_groups
from locator.lines import Line, group_lines
from locator.literals import WINDOW_SLACK, literal_candidates
from locator.matcher import Claim, Matcher
from locator.model import Hit, Word, join_names
from locator.readings import SAME_PLACE_IOS, Readings, engine_readings
from locator.readings import unglue as _unglue_with
from locator.regexes import MatchWarning, regex_candidates
from locator.scoring import CONFUSION_COST, cost

#: Rounds of the claim at most, each dropping the hits whose ``near`` failed.
_NEAR_ROUNDS = 20


# --------------------------------------------------------------------------
# public API

def match(words: Sequence[Word], catalog: Catalog | Matcher, *,
          references: Sequence[Hit] = ()) -> list[Hit]:
    """All hits of ``catalog``'s text and regex patterns among ``words``.

    Parameters
    ----------
    words
        Words of any number of pages; boxes in page points, unrotated space.
    catalog
        A loaded catalog (``symbol`` patterns are ignored here), or a
        :class:`~locator.matcher.Matcher` made from one, to prepare a catalog
        once for many calls.
    references
        Hits found by other matchers (symbols), used only as ``near``
        references: a text pattern ``near`` a symbol pattern needs them.

    Returns
    -------
    list[Hit]
        Sorted by page, then top, then left of the box (page points).

    Examples
    --------
    >>> from locator.catalog import Catalog
    >>> from locator.geometry import Box
    >>> ws = [Word("F1C-", 90.0, Box(0, 0, 20, 8), 1, "t"),
    ...       Word("1O1", 80.0, Box(22, 0, 36, 8), 1, "t")]
    >>> [(h.pattern_id, h.text, round(h.score, 1), h.box)
    ...  for h in match(ws, Catalog.from_texts(["FIC-101"]))]
    [('FIC-101', 'F1C- 1O1', 95.7, Box(x0=0, y0=0, x1=36, y1=8))]
    """
    m = catalog if isinstance(catalog, Matcher) else Matcher.of(catalog)
    readings = engine_readings(group_lines(_unglue_with(words, m.glue)))
    lines = readings.lines
    if not lines:
        return []
    cands: list[Claim] = []
    for key, idxs in m.literals.items():
        cands.extend(literal_candidates(lines, m, key, idxs))
    for rkey, ridxs in m.regexes.items():
        cands.extend(regex_candidates(lines, m, rkey, ridxs))
    accepted = _resolve(cands, readings, m.catalog, references)
    hits = _merge_same_place([_hit(c, lines[c.li], m.pattern(c.pi)) for c in accepted])
    hits.sort(key=lambda h: (h.page, h.box.y0, h.box.x0, h.pattern_id))
    return hits


def unglue(words: Sequence[Word], catalog: Catalog | Matcher) -> list[Word]:
    """OCR words cut where OCR glued ``catalog``'s codes together
    (:func:`locator.readings.unglue`)."""
    m = catalog if isinstance(catalog, Matcher) else Matcher.of(catalog)
    return _unglue_with(words, m.glue)


def missing(catalog: Catalog, hits: Any) -> list[Pattern]:
    """Catalog patterns (catalog order) with no hit.

    ``hits`` is a list of :class:`~locator.model.Hit` (or of mappings with a
    ``pattern_id``) or a DataFrame with a ``pattern_id`` column.
    """
    found = _found_ids(hits)
    return [p for p in catalog.patterns if p.id not in found]


def _found_ids(hits: Any) -> set[str]:
    if hits is None:
        return set()
    cols = getattr(hits, "columns", None)
    if cols is not None:  # a DataFrame
        if "pattern_id" not in cols:
            raise ValueError("missing(): the table has no 'pattern_id' column")
        return {str(v) for v in hits["pattern_id"].tolist()}
    out = set()
    for h in hits:
        out.add(str(h["pattern_id"] if isinstance(h, dict) else h.pattern_id))
    return out


# --------------------------------------------------------------------------
# ambiguity and near

def _resolve(cands: list[Claim], readings: Readings, catalog: Catalog,
             references: Sequence[Hit] = ()) -> list[Claim]:
    """The candidates that keep their words (module docstring, *Ambiguity*)."""
    # Literals claim words before regexes: the catalog named those codes, and a
    # regex is the generic net for codes it did not name (an exact regex match on
    # a misread "YU-42403-T" must not take the word from literal YJ-42403-T).
    generic = [p.kind == "regex" for p in catalog.patterns]
    # Ties: the longer pattern, the fewer words, then the more confident read
    # (two engines' readings of one place that name different codes).
    cands.sort(key=lambda c: (generic[c.pi], -round(c.score, 6), -c.plen, c.b - c.a,
                              -round(c.conf, 6), c.li, c.a, c.pi))
    has_near = any(p.near is not None for p in catalog.patterns)
    dropped: set[int] = set()
    accepted: list[int] = []
    for _ in range(_NEAR_ROUNDS):
        accepted = _greedy(cands, dropped, generic, readings)
        if not has_near:
            break
        bad = _near_failures(cands, accepted, readings.lines, catalog, references)
        if not bad:
            break
        dropped |= bad
    return [cands[k] for k in accepted]


def _greedy(cands: list[Claim], dropped: set[int], generic: list[bool],
            readings: Readings) -> list[int]:
    """Best first, each candidate claims its words (a word: one owner)."""
    # Claims are per word, not per place in a line: a word sits in every
    # engine's reading of its line. A word also blocks its rivals (another
    # engine's read of the same place): one place holds one code.
    lines, rivals = readings.lines, readings.rivals
    owner: dict[Word, int] = {}
    accepted: list[int] = []
    ambiguous: set[int] = set()  # owners of a read that ties two codes
    for k, c in enumerate(cands):
        if k in dropped:
            continue
        keys = lines[c.li].words[c.a:c.b]
        owners = {owner[x] for x in keys if x in owner}
        # another engine's read of the same place naming another code (the
        # same code read twice is one hit, merged with both engines below)
        rival = {o for x in keys for r in rivals.get(x, ())
                 if (o := owner.get(r)) is not None and cands[o].pi != c.pi}
        if rival:
            # the losing read is spent: its words cannot then lend a weaker
            # match to the winner's code ("FIC-107" is no read of FIC-101)
            for x in keys:
                owner.setdefault(x, min(rival))
            continue
        if not owners:
            for x in keys:
                owner[x] = k
            accepted.append(k)
            continue
        if all(_true_tie(cands[j], c, lines, generic) for j in owners):
            if all(cands[j].code == c.code for j in owners):
                accepted.append(k)  # one code listed twice (two ids, two labels)
            else:
                # one read, as close to two codes: it names neither (issue 20)
                ambiguous |= owners
    # a tie was accepted on exactly its owner's words, so the first word's
    # owner says whether the read was ambiguous
    return [k for k in accepted
            if owner[lines[cands[k].li].words[cands[k].a]] not in ambiguous]


def _true_tie(o: Claim, c: Claim, lines: tuple[Line, ...], generic: list[bool]) -> bool:
    """Whether ``c`` ties with the accepted ``o``: the same words read the same
    way (both as written, or both stripped of end punctuation) at the same
    score, another pattern of the same kind (a regex never ties with a
    literal: the literal wins). "W-9." is W-9. and not also W-9; another
    engine's read is no tie."""
    return (lines[o.li].words[o.a:o.b] == lines[c.li].words[c.a:c.b]
            and round(o.score, 6) == round(c.score, 6) and o.pi != c.pi
            and generic[o.pi] == generic[c.pi] and o.stripped == c.stripped)


def _near_failures(cands: list[Claim], accepted: list[int], lines: tuple[Line, ...],
                   catalog: Catalog, references: Sequence[Hit] = ()) -> set[int]:
    """Accepted candidates whose ``near`` reference is not close enough."""
    pats = catalog.patterns
    boxes: dict[tuple[str, int], list[Box]] = defaultdict(list)
    for h in references:
        boxes[(h.pattern_id, h.page)].append(h.box)
    for k in accepted:
        c = cands[k]
        line = lines[c.li]
        boxes[(pats[c.pi].id, line.page)].append(_box(line, c))
    bad = set()
    for k in accepted:
        c = cands[k]
        near = pats[c.pi].near
        if near is None:
            continue
        line = lines[c.li]
        mine = _box(line, c)
        refs = boxes.get((near.pattern, line.page), ())
        if not any(mine.distance(r) <= near.within for r in refs):
            bad.add(k)
    return bad


# --------------------------------------------------------------------------
# hits

def _box(line: Line, c: Claim) -> Box:
    return Box.union_all([w.box for w in line.words[c.a:c.b]])


def _merge_same_place(hits: list[Hit]) -> list[Hit]:
    """Hits of one pattern on one page whose boxes overlap become one."""
    groups: dict[tuple[str, int], list[Hit]] = defaultdict(list)
    for h in hits:
        groups[(h.pattern_id, h.page)].append(h)
    out: list[Hit] = []
    for group in groups.values():
        if len(group) == 1:
            out.extend(group)
            continue
        group.sort(key=lambda h: h.box.x0)
        for members in overlap_groups([h.box for h in group], SAME_PLACE_IOS):
            out.append(group[members[0]] if len(members) == 1
                       else _one_hit([group[i] for i in members]))
    return out


def _one_hit(members: list[Hit]) -> Hit:
    """One hit for reads of one place: the best read's text and score, the union box."""
    best = max(members, key=lambda h: (h.score, h.conf))
    return Hit(pattern_id=best.pattern_id, label=best.label, matched=best.matched,
               text=best.text, score=best.score,
               box=Box.union_all([h.box for h in members]), page=best.page,
               engine=join_names(h.engine for h in members),
               conf=sum(h.conf for h in members) / len(members),
               source=join_names(h.source for h in members), angle=best.angle)


def _hit(c: Claim, line: Line, p: Pattern) -> Hit:
    ws = line.words[c.a:c.b]
    return Hit(pattern_id=p.id, label=p.label, matched=c.matched,
               text=" ".join(w.text for w in ws), score=round(c.score, 2),
               box=Box.union_all([w.box for w in ws]), page=line.page,
               engine=join_names(w.engine for w in ws),
               conf=sum(w.conf for w in ws) / len(ws),
               source=join_names(w.source for w in ws), angle=line.angle)


__all__ = ["match", "missing", "unglue", "cost", "Matcher", "MatchWarning", "CONFUSION_COST",
           "WINDOW_SLACK", "SAME_PLACE_IOS"]
