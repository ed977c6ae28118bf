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
so ``l`` read for ``1`` is a confusion but ``L`` for ``1`` is not. (The
alignment priced is the fewest-edits alignment once each confusion class is
merged into one character, which is also the bound used to prune.) So an
exact read scores 100, ``F1C-1O1`` for ``FIC-101`` 95.7, ``FIC-102`` 85.7
(one real edit in seven characters), and with ``confusions: false`` a
confusion is a full edit (``F1C-1O1``: 71.4).

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
scores 100. ``matched`` is the normalised text the regex matched.

**Ambiguity.** Candidates below their pattern's ``min_score`` or equal (after
normalisation) to one of its ``exclude`` strings are dropped. Then, best score
first, literals before regexes (ties: the longer pattern, then the fewer
words), each candidate claims
its words; a candidate sharing a word with an accepted one is dropped, so
overlapping hits of one pattern collapse to the best one and each word goes to
its best pattern. A true tie -- the same words read the same way (a word
as written, or stripped of its end punctuation, not one each: ``W-9.`` is
``W-9.``, not also ``W-9``) at the same score for another pattern of the same
kind -- is reported for both patterns. Where several engines read one place
differently (:func:`engine_readings`), one place holds one code: a candidate
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
"""

from __future__ import annotations

import math
import warnings
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from locator.catalog import Catalog, Pattern
from locator.geometry import Box
from locator.lines import Line, group_lines
from locator.model import Hit, Word
from locator.normalize import (
    OCR_STRIP_CHARS,
    STRIP_CHARS,
    _ignore_table,
    canonical,
    confusable,
    fold,
    is_confusable,
    normalize_keep_case,
)

#: Cost of one substitution inside an OCR confusion class, in edits.
CONFUSION_COST = 0.15
#: How many more words than the pattern has a window may join (OCR splits).
WINDOW_SLACK = 2
#: Two hits of one pattern are one when this share of the smaller box overlaps.
SAME_PLACE_IOS = 0.5
#: Cost, in edits, of each character stripped from a read's ends to match.
STRIP_COST = CONFUSION_COST
#: Fewest characters left for an OCR word stripped of a wire's bits to count.
MIN_WIRE_STRIPPED = 3
#: Most cells of one cdist block (bytes of memory, as uint8).
_BLOCK = 8_000_000
#: Blocks of fewer cells are compared in this thread: starting cdist's worker
#: threads costs about a millisecond, more than comparing a page's words
#: against a bucket of codes (a schematic's match makes ~40 such calls).
_PARALLEL_CELLS = 1_000_000


class MatchWarning(UserWarning):
    """Something the matcher skipped (a regex past its time limit)."""


@dataclass(slots=True)
class _Cand:
    pi: int          # pattern index in the catalog
    li: int          # line index
    a: int           # first word (index in the line)
    b: int           # one past the last word
    score: float
    matched: str
    plen: int        # length of the normalised pattern (or match): ties go to the longer
    stripped: bool = False  # matched only once the words' end punctuation was stripped
    conf: float = 0.0       # mean OCR confidence of the words (ties between engines' reads)


# --------------------------------------------------------------------------
# public API

def match(words: Sequence[Word], catalog: Catalog, *,
          references: Sequence[Hit] = ()) -> list[Hit]:
    """All hits of ``catalog``'s text and regex patterns among ``words``.

    Parameters
    ----------
    words
        Words of any number of pages; boxes in page points, unrotated space.
    catalog
        A loaded catalog; ``symbol`` patterns are ignored here.
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
    prep = _prepared(catalog)
    words = unglue(words, catalog)
    rivals: dict[int, set[int]] = {}
    lines = engine_readings(group_lines(words), rivals)
    if not lines:
        return []
    # Claims are per word, not per place in a line: a word sits in every
    # engine's reading of its line. A word also blocks its rivals (another
    # engine's read of the same place): one place holds one code.
    wids = [[id(w) for w in line.words] for line in lines]
    cands: list[_Cand] = []
    for key, idxs in prep["literal"].items():
        cands.extend(_literal_candidates(lines, catalog, key, idxs, prep))
    for key, idxs in prep["regex"].items():
        cands.extend(_regex_candidates(lines, catalog, key, idxs))
    accepted = _resolve(cands, lines, catalog, references, wids, rivals)
    hits = _merge_same_place([_hit(c, lines[c.li], catalog.patterns[c.pi]) for c in accepted])
    hits.sort(key=lambda h: (h.page, h.box.y0, h.box.x0, h.pattern_id))
    return hits


def missing(catalog: Catalog, hits) -> list:
    """Catalog patterns (catalog order) with no hit.

    ``hits`` is a list of :class:`~locator.model.Hit` (or of mappings with a
    ``pattern_id``) or a DataFrame with a ``pattern_id`` column.
    """
    found = _found_ids(hits)
    return [p for p in catalog.patterns if p.id not in found]


def _found_ids(hits) -> set[str]:
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
# preparation (cached on the catalog)

def _prepared(catalog: Catalog) -> dict:
    prep = catalog._cache.get("match")
    if prep is not None:
        return prep
    literal: dict[tuple, list[int]] = defaultdict(list)
    regex: dict[tuple, list[int]] = defaultdict(list)
    pnorm: dict[int, str] = {}   # normalised, case kept, ignore removed
    pfold: dict[int, str] = {}   # ... and folded unless case sensitive
    pcanon: dict[int, str] = {}  # ... and confusion classes merged
    excl: dict[int, frozenset[str]] = {}
    for i, p in enumerate(catalog.patterns):
        if p.kind == "text":
            key = (p.case_sensitive, p.ignore, p.confusions, p.whole_word)
            literal[key].append(i)
            n = _keep(p.text, p.ignore, p.case_sensitive)
            pnorm[i] = n
            pfold[i] = n if p.case_sensitive else fold(n)
            pcanon[i] = canonical(pfold[i], p.confusions, p.case_sensitive)
        elif p.kind == "regex":
            regex[(p.case_sensitive, p.ignore)].append(i)
        if p.exclude:
            forms = set()
            for x in p.exclude:
                n = _keep(x, p.ignore, p.case_sensitive)
                n = n if p.case_sensitive else fold(n)
                forms.add(n)
                forms.add(n.replace(" ", ""))
            excl[i] = frozenset(forms)
    # What unglue() cuts OCR words into: whole-word literals compared as
    # written (case folded, nothing ignored), of one word and 2+ characters.
    glue = frozenset(pfold[i] for idxs in literal.values() for i in idxs
                     if catalog.patterns[i].whole_word and not catalog.patterns[i].case_sensitive
                     and not catalog.patterns[i].ignore and " " not in pfold[i]
                     and len(pfold[i]) >= 2)
    prep = {"literal": dict(literal), "regex": dict(regex), "pnorm": pnorm,
            "pfold": pfold, "pcanon": pcanon, "exclude": excl,
            "glue_codes": glue, "glue_longest": max(map(len, glue), default=0),
            "glue_pipe": not any("|" in pfold[i] for idxs in literal.values() for i in idxs)}
    catalog._cache["match"] = prep
    return prep


def _keep(text: str, ignore: str, cs: bool) -> str:
    """Normalised with case kept and the ``ignore`` characters removed."""
    s = normalize_keep_case(text)
    return s.translate(_ignore_table(ignore, cs)).strip() if ignore else s


def _excluded(prep: dict, pi: int, text: str, cs: bool) -> bool:
    forms = prep["exclude"].get(pi)
    if not forms:
        return False
    t = text if cs else fold(text)
    return t in forms or t.replace(" ", "") in forms


# --------------------------------------------------------------------------
# literals

def _literal_candidates(lines: list[Line], catalog: Catalog, key: tuple, idxs: list[int],
                        prep: dict) -> list[_Cand]:
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    cs, ignore, classes, whole_word = key
    pnorm, pfold, pcanon = prep["pnorm"], prep["pfold"], prep["pcanon"]
    tokens = max(pnorm[i].count(" ") + 1 for i in idxs)
    wmax = tokens + WINDOW_SLACK
    longest = max(len(pnorm[i]) for i in idxs)
    f_all = 1.0 - min(catalog.patterns[i].min_score for i in idxs) / 100.0
    max_len = math.inf if not whole_word or f_all >= 1 else int(longest / (1 - f_all)) + 1

    # 1. Every window's strings: unique string -> windows (line, a, b, stripped, joiner).
    strings: dict[str, list[tuple]] = {}
    joiners = (" ", "") if " " not in _ignore_chars(ignore, cs) else ("",)
    for li, line in enumerate(lines):
        raw = [_keep(w.text, ignore, cs) for w in line.words]
        # A text layer's words are exact and split where the document has a
        # space: no OCR-confusion credit, and no gluing neighbours together
        # ("J3" beside a pin number "2" is not "J32").
        exact = [w.source == "text" for w in line.words]
        stripped = [_stripped(r, ex) for r, ex in zip(raw, exact)]
        n = len(raw)
        for a in range(n):
            for b in range(a + 1, min(n, a + wmax) + 1):
                is_exact = all(exact[a:b])
                for variant, parts in ((False, raw[a:b]), (True, stripped[a:b])):
                    if variant and parts == raw[a:b]:
                        continue
                    for j in (joiners if b - a > 1 else ("",)):
                        if is_exact and j == "" and b - a > 1:
                            continue
                        s = j.join(x for x in parts if x)
                        if s and len(s) <= max_len:
                            # characters the stripped read left out (priced below)
                            cut = (len(j.join(x for x in raw[a:b] if x)) - len(s)) if variant else 0
                            strings.setdefault(s, []).append((li, a, b, variant, j, is_exact, cut))
    if not strings:
        return []
    texts = list(strings)
    tfold = texts if cs else [fold(t) for t in texts]
    canon = [canonical(t, classes, cs) for t in tfold]
    tlen = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    order = np.argsort(tlen, kind="stable")
    sorted_len = tlen[order]

    # 2. Candidate pairs per bucket of patterns with one length and min_score.
    best: dict[tuple, _Cand] = {}
    buckets: dict[tuple[int, float], list[int]] = defaultdict(list)
    for i in idxs:
        buckets[(len(pnorm[i]), catalog.patterns[i].min_score)].append(i)
    for (plen, smin), members in buckets.items():
        f = 1.0 - smin / 100.0
        lo = math.ceil(plen * (1 - f) - 1e-9)
        hi = math.inf if (f >= 1 or not whole_word) else math.floor(plen / (1 - f) + 1e-9)
        start = int(np.searchsorted(sorted_len, lo, side="left"))
        stop = len(sorted_len) if hi == math.inf else int(
            np.searchsorted(sorted_len, hi, side="right"))
        if start >= stop:
            continue
        q_idx = order[start:stop]
        queries = [canon[k] for k in q_idx]
        choices = [pcanon[i] for i in members]
        if whole_word:
            # The merged-class distance is a lower bound of the cost: prune on it.
            qlen = sorted_len[start:stop]
            allowed = np.floor(f * np.maximum(qlen, plen) + 1e-9).astype(np.int64)
            pairs = _pairs_distance(queries, choices, allowed, process, Levenshtein, np)
        else:
            pairs = _pairs_partial(queries, choices, smin, process, np)
        for qk, ck in pairs:
            ti = int(q_idx[qk])
            pi = members[ck]
            t = texts[ti]
            p_strings = (pnorm[pi], pfold[pi], pcanon[pi])
            t_strings = (t, tfold[ti], canon[ti])
            exact_sc = None
            if whole_word:
                if _glued(pcanon[pi], canon[ti]):
                    continue
                if classes and all(w[5] for w in strings[t]):
                    # only a text layer's exact words read this way: they get
                    # no confusion credit (scored below), and the score without
                    # it is never above the score with it
                    sc = exact_sc = _score(p_strings, t_strings, (), cs)
                else:
                    sc = _score(p_strings, t_strings, classes, cs)
                span = None
            else:
                sc, span = _partial_score(p_strings, t_strings, classes, cs)
            if sc < catalog.patterns[pi].min_score:
                continue
            read = t if span is None else t[span[0]:span[1]]
            if _excluded(prep, pi, read, cs):
                continue
            for (li, a, b, variant, j, is_exact, cut) in strings[t]:
                wsc = sc
                if is_exact and classes:
                    if exact_sc is None:  # the same pair scored without confusion credit
                        exact_sc = (_score(p_strings, t_strings, (), cs) if span is None
                                    else _partial_score(p_strings, t_strings, (), cs)[0])
                    wsc = exact_sc
                    if wsc < catalog.patterns[pi].min_score:
                        continue
                if cut and span is None:
                    # each stripped character costs like a confusion: a read that
                    # needed trimming is weaker than one that did not
                    wsc -= 100.0 * STRIP_COST * cut / max(len(pnorm[pi]), len(t), 1)
                    if wsc < catalog.patterns[pi].min_score:
                        continue
                if span is not None:
                    a, b = _span_words(lines[li], a, b, variant, j, span, cs, ignore)
                k = (pi, li, a, b)
                old = best.get(k)
                # at one score the read as written beats the read stripped of
                # its end punctuation (a true tie needs the same read, below)
                if (old is None or wsc > old.score
                        or (wsc == old.score and old.stripped and not variant)):
                    best[k] = _Cand(pi, li, a, b, wsc, catalog.patterns[pi].text, plen,
                                    variant, _conf(lines[li], a, b))
    return list(best.values())


def _stripped(raw: str, exact: bool) -> str:
    """A read without its end punctuation (an OCR word: also without a wire's
    bits, when at least :data:`MIN_WIRE_STRIPPED` characters remain -- "_o"
    or "-CG__" is noise that would pass for a short code)."""
    s = raw.strip(STRIP_CHARS).strip()
    if not exact:
        w = raw.strip(OCR_STRIP_CHARS).strip()
        if len(w) >= MIN_WIRE_STRIPPED:
            s = w
    return s


def _conf(line: Line, a: int, b: int) -> float:
    ws = line.words[a:b]
    return sum(w.conf for w in ws) / len(ws)


def _glued(pc: str, tc: str) -> bool:
    """True when ``tc`` holds ``pc`` with more non-space characters attached:
    the code inside a longer word (``FIC-101A``, ``XFIC-101``)."""
    if len(tc) <= len(pc):
        return False
    k = tc.find(pc)
    while k >= 0:
        end = k + len(pc)
        if (k > 0 and tc[k - 1] != " ") or (end < len(tc) and tc[end] != " "):
            return True
        k = tc.find(pc, k + 1)
    return False


def _ignore_chars(ignore: str, cs: bool) -> set[str]:
    return {chr(k) for k in _ignore_table(ignore, cs)} if ignore else set()


def _workers(rows: int, cols: int) -> int:
    """cdist's ``workers`` for a block: all cores only when the block is large."""
    return -1 if rows * cols >= _PARALLEL_CELLS else 1


def _pairs_distance(queries, choices, allowed, process, Levenshtein, np):
    """(query, choice) index pairs within ``allowed[query]`` edits (canonical strings)."""
    kmax = int(allowed.max())
    if kmax == 0:  # exact: a dictionary is faster than cdist
        pos = defaultdict(list)
        for ck, c in enumerate(choices):
            pos[c].append(ck)
        return [(qk, ck) for qk, q in enumerate(queries) for ck in pos.get(q, ())]
    out = []
    step = max(1, _BLOCK // max(1, len(choices)))
    for s in range(0, len(queries), step):
        block = queries[s:s + step]
        m = process.cdist(block, choices, scorer=Levenshtein.distance, score_cutoff=kmax,
                          dtype=np.uint8 if kmax < 255 else np.int32,
                          workers=_workers(len(block), len(choices)))
        qs, cs_ = np.nonzero(m <= allowed[s:s + step, None])
        out.extend(zip((qs + s).tolist(), cs_.tolist()))
    return out


def _pairs_partial(queries, choices, smin, process, np):
    """Pairs where a choice may lie inside a query (rapidfuzz partial_ratio prefilter)."""
    from rapidfuzz import fuzz

    out = []
    cutoff = max(0.0, smin - 15.0)
    step = max(1, _BLOCK // max(1, len(choices)))
    for s in range(0, len(queries), step):
        block = queries[s:s + step]
        m = process.cdist(block, choices, scorer=fuzz.partial_ratio, score_cutoff=cutoff,
                          dtype=np.float32, workers=_workers(len(block), len(choices)))
        qs, cs_ = np.nonzero(m >= cutoff) if cutoff > 0 else np.nonzero(m >= 0)
        out.extend(zip((qs + s).tolist(), cs_.tolist()))
    return out


def cost(p: tuple[str, str, str], t: tuple[str, str, str], classes: tuple[str, ...],
         case_sensitive: bool) -> float:
    """Edit cost of reading ``t`` for the catalog's ``p`` (see the module docstring).

    Each argument is ``(normalised, folded, canonical)``: the string with
    case kept, then lower-cased unless case sensitive, then with each
    confusion class merged. The alignment is the fewest-edits alignment of
    the canonical strings (rapidfuzz); in it an insertion, deletion or
    substitution costs 1, an aligned pair equal once folded costs 0, and an
    aligned pair that is an OCR confusion costs :data:`CONFUSION_COST`.
    """
    from rapidfuzz.distance import Levenshtein

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


def _score(p, t, classes, cs) -> float:
    """100 * (1 - cost / the longer length)."""
    c = cost(p, t, classes, cs)
    return max(0.0, 100.0 * (1.0 - c / max(len(p[0]), len(t[0]), 1)))


def _partial_score(p, t, classes, cs):
    """Best score of ``p`` against a substring of ``t``; (score, (start, end))."""
    from rapidfuzz import fuzz

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
        sc = _score(p, tuple(x[s0:e0] for x in t), classes, cs)
        if sc > best[0]:
            best = (sc, (s0, e0))
    return best


def _span_words(line: Line, a: int, b: int, variant: bool, joiner: str, span, cs, ignore):
    """Which words of window ``[a, b)`` a character span of its string covers."""
    pos, first, last = 0, None, None
    for k, w in enumerate(line.words[a:b]):
        part = _keep(w.text, ignore, cs)
        if variant:
            part = _stripped(part, w.source == "text")
        if not part:
            continue
        start, end = pos, pos + len(part)
        if end > span[0] and start < span[1]:
            first = k if first is None else first
            last = k
        pos = end + len(joiner)
    if first is None:
        return a, b
    return a + first, a + last + 1


# --------------------------------------------------------------------------
# regexes

def _regex_candidates(lines: list[Line], catalog: Catalog, key: tuple,
                      idxs: list[int]) -> list[_Cand]:
    cs, ignore = key
    prep = _prepared(catalog)
    table = _ignore_table(ignore, cs) if ignore else None
    joiner = "" if ignore and " " in _ignore_chars(ignore, cs) else " "
    # Each line's text and where each word sits in it.
    texts: list[tuple[str, list[int], list[int], list[int]]] = []
    for line in lines:
        parts, starts, ends, widx = [], [], [], []
        pos = 0
        for k, w in enumerate(line.words):
            s = normalize_keep_case(w.text).strip(STRIP_CHARS).strip()
            if table:
                s = s.translate(table).strip()
            if not s:
                continue
            if parts:
                pos += len(joiner)
            starts.append(pos)
            ends.append(pos + len(s))
            widx.append(k)
            parts.append(s)
            pos += len(s)
        texts.append((joiner.join(parts), starts, ends, widx))
    out: list[_Cand] = []
    for pi in idxs:
        p = catalog.patterns[pi]
        use_word = p.whole_word and joiner == " " and p.compiled_word is not None
        rx = p.compiled_word if use_word else p.compiled
        edge_check = p.whole_word and not use_word
        for li, (text, starts, ends, widx) in enumerate(texts):
            if not text:
                continue
            try:
                found = list(rx.finditer(text, timeout=p.timeout))
            except TimeoutError:
                warnings.warn(MatchWarning(
                    f"pattern '{p.id}' ({p.origin}): the regex took longer than "
                    f"{p.timeout:g} s on a line of page {lines[li].page}; skipped for "
                    f"the rest of this document"), stacklevel=3)
                break
            for m in found:
                s0, e0 = m.span()
                if e0 <= s0:
                    continue
                if edge_check and (bisect_left(starts, s0) == len(starts)
                                   or starts[bisect_left(starts, s0)] != s0
                                   or e0 not in ends):
                    continue
                k0 = bisect_right(ends, s0)       # first word ending after s0
                k1 = bisect_left(starts, e0) - 1  # last word starting before e0
                if k0 > k1:
                    continue
                sc = _regex_score(m, p.confusions)
                if sc < p.min_score:
                    continue
                matched = m.group()
                if _excluded(prep, pi, matched, cs):
                    continue
                a, b = widx[k0], widx[k1] + 1
                out.append(_Cand(pi, li, a, b, sc, matched, len(matched), True,
                                 _conf(lines[li], a, b)))
    return out


def _regex_score(m, classes: tuple[str, ...]) -> float:
    counts = getattr(m, "fuzzy_counts", (0, 0, 0))
    subs, ins, dels = counts
    if not (subs or ins or dels):
        return 100.0
    cost = float(ins + dels)
    if subs:
        text = m.string
        sub_pos = m.fuzzy_changes[0]
        for pos in sub_pos:
            cost += CONFUSION_COST if is_confusable(text[pos], classes) else 1.0
    n = len(m.group())
    return max(0.0, 100.0 * (1.0 - cost / max(n, n - ins + dels, 1)))


# --------------------------------------------------------------------------
# ambiguity and near

def _resolve(cands: list[_Cand], lines: list[Line], catalog: Catalog,
             references: Sequence[Hit] = (), wids: list[list[int]] | None = None,
             rivals: dict[int, set[int]] | None = None) -> list[_Cand]:
    if wids is None:
        wids = [[id(w) for w in line.words] for line in lines]
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
    for _ in range(20):
        accepted = _greedy(cands, dropped, generic, wids, rivals or {})
        if not has_near:
            return [cands[k] for k in accepted]
        bad = _near_failures(cands, accepted, lines, catalog, references)
        if not bad:
            return [cands[k] for k in accepted]
        dropped |= bad
    return [cands[k] for k in accepted]


def _greedy(cands: list[_Cand], dropped: set[int], generic: list[bool],
            wids: list[list[int]], rivals: dict[int, set[int]]) -> list[int]:
    owner: dict[int, int] = {}
    accepted: list[int] = []
    for k, c in enumerate(cands):
        if k in dropped:
            continue
        keys = wids[c.li][c.a:c.b]
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
        # a true tie: the same words read the same way (both as written, or
        # both stripped of end punctuation) at the same score, another pattern
        # of the same kind (a regex never ties with a literal: the literal wins).
        # "W-9." is W-9. and not also W-9; another engine's read is no tie.
        if all(wids[(o := cands[j]).li][o.a:o.b] == keys
               and round(o.score, 6) == round(c.score, 6) and o.pi != c.pi
               and generic[o.pi] == generic[c.pi] and o.stripped == c.stripped
               for j in owners):
            accepted.append(k)
    return accepted


def _near_failures(cands: list[_Cand], accepted: list[int], lines: list[Line],
                   catalog: Catalog, references: Sequence[Hit] = ()) -> set[int]:
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


def engine_readings(lines: list[Line], rivals: dict[int, set[int]] | None = None
                    ) -> list[Line]:
    """Each line as each engine read it, where engines read one place differently.

    With several engines, :func:`locator.merge.merge_page` keeps two engines'
    different readings of one place side by side (``31772-60`` and
    ``31772``), so a line's words interleave two readings and a code of
    several words (``PV 31772-60``) is no longer a run of neighbours. A line
    holding such overlapping words (the smaller box at least
    :data:`SAME_PLACE_IOS` inside the other) is replaced by one line per engine:
    in each group of overlapping words, the words that engine read (a word
    several engines agreed on belongs to each), else the group's most
    confident engine's words. One engine's words never overlap one another, so
    each reading is clean. Lines without overlaps are kept as they are.

    ``rivals``, when given, receives for each such word (by ``id``) the words
    of other engines (none in common) it overlaps: the matcher lets one place
    hold one code.
    """
    out: list[Line] = []
    for line in lines:
        ws = line.words
        if len({w.engine for w in ws}) == 1:
            # one engine's reading (a text layer's line, a single-engine run):
            # overlapping words are that source's own, kept side by side and
            # never rivals -- the line stays as it is
            out.append(line)
            continue
        n = len(ws)
        parent = list(range(n))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(n):
            for j in range(i + 1, n):
                if ws[i].box.ios(ws[j].box) >= SAME_PLACE_IOS:
                    parent[find(j)] = find(i)
                    # rivals: reads of one place by different engines (one
                    # source's own overlapping words -- a text layer's "2J10"
                    # over its "J10" -- are separate words of that source)
                    if rivals is not None and not (set(ws[i].engine.split("+"))
                                                   & set(ws[j].engine.split("+"))):
                        rivals.setdefault(id(ws[i]), set()).add(id(ws[j]))
                        rivals.setdefault(id(ws[j]), set()).add(id(ws[i]))
        groups: dict[int, list[int]] = defaultdict(list)
        for i in range(n):
            groups[find(i)].append(i)
        shared = [g for g in groups.values() if len(g) > 1]
        if not shared:
            out.append(line)
            continue
        engines = sorted({e for g in shared for i in g for e in ws[i].engine.split("+")})
        drop_for: dict[str, set[int]] = {}
        for e in engines:
            drop: set[int] = set()
            for g in shared:
                mine = [i for i in g if e in ws[i].engine.split("+")]
                if not mine:
                    top = max(g, key=lambda i: ws[i].conf)
                    mine = [i for i in g if ws[i].engine == ws[top].engine]
                drop |= set(g) - set(mine)
            drop_for[e] = drop
        seen: set[frozenset] = set()
        for e in engines:
            key = frozenset(drop_for[e])
            if key in seen:
                continue
            seen.add(key)
            kept = tuple(w for i, w in enumerate(ws) if i not in drop_for[e])
            out.append(Line(page=line.page, angle=line.angle, words=kept,
                            box=Box.union_all([w.box for w in kept])))
    return out


def unglue(words: Sequence[Word], catalog: Catalog) -> list[Word]:
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
      character.

    Each piece gets the share of the word's box its characters take, along
    the word's direction. Other words are returned as they are.
    """
    prep = _prepared(catalog)
    codes, longest, pipe = prep["glue_codes"], prep["glue_longest"], prep["glue_pipe"]
    if not codes:  # nothing to cut into (a "|" is only cut where every piece is a code)
        return list(words)
    out: list[Word] = []
    for w in words:
        if w.source == "text" or len(w.text) < 3:
            out.append(w)
            continue
        t = fold(normalize_keep_case(w.text))
        if len(t) != len(w.text):  # offsets would not map back to the word's text
            out.append(w)
            continue
        pieces = _glued_pieces(t, codes, longest, pipe)
        if pieces is None:
            out.append(w)
            continue
        out.extend(_piece_word(w, a, b) for a, b in pieces)
    return out


def _glued_pieces(t: str, codes: frozenset, longest: int, pipe: bool):
    """``(start, end)`` of each piece of ``t``, or None when it stays whole."""
    core0 = len(t) - len(t.lstrip(STRIP_CHARS))
    core1 = len(t.rstrip(STRIP_CHARS))
    if core1 <= core0 or t[core0:core1] in codes:
        return None
    spans = [(core0, core1)]
    if pipe and "|" in t[core0:core1]:
        spans, start = [], core0
        for k in range(core0, core1 + 1):
            if k == core1 or t[k] == "|":
                if k > start:
                    spans.append((start, k))
                start = k + 1
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if t[a:b] in codes:
            out.append((a, b))
            continue
        cut = _segment(t[a:b], codes, longest)
        if cut is None:
            if len(spans) > 1:  # a "|" that may be a misread 1 (C|2): keep the word
                return None
            out.append((a, b))
        else:
            out.extend((a + x, a + y) for x, y in cut)
    return out if len(out) > 1 else None


def _segment(s: str, codes: frozenset, longest: int):
    """``s`` as two or more catalog codes written together (fewest pieces), or None."""
    n = len(s)
    best: list[list[tuple[int, int]] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 2, min(n, i + longest) + 1):
            if s[i:j] in codes and (best[j] is None or len(best[i]) + 1 < len(best[j])):
                best[j] = best[i] + [(i, j)]
    return best[n] if best[n] is not None and len(best[n]) >= 2 else None


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


def _box(line: Line, c: _Cand) -> Box:
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
        parent = list(range(len(group)))

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        active: list[int] = []
        for i, h in enumerate(group):
            active = [j for j in active if group[j].box.x1 >= h.box.x0]
            for j in active:
                if group[j].box.ios(h.box) >= SAME_PLACE_IOS:
                    parent[find(i)] = find(j)
            active.append(i)
        clusters: dict[int, list[Hit]] = defaultdict(list)
        for i, h in enumerate(group):
            clusters[find(i)].append(h)
        for members in clusters.values():
            if len(members) == 1:
                out.append(members[0])
                continue
            best = max(members, key=lambda h: (h.score, h.conf))
            out.append(Hit(pattern_id=best.pattern_id, label=best.label, matched=best.matched,
                           text=best.text, score=best.score,
                           box=Box.union_all([h.box for h in members]), page=best.page,
                           engine=_uniq_join(h.engine for h in members),
                           conf=sum(h.conf for h in members) / len(members),
                           source=_uniq_join(h.source for h in members), angle=best.angle))
    return out


def _uniq_join(values: Iterable[str]) -> str:
    seen: list[str] = []
    for v in values:
        for part in str(v).split("+"):
            if part and part not in seen:
                seen.append(part)
    return "+".join(seen)


def _hit(c: _Cand, line: Line, p: Pattern) -> Hit:
    ws = line.words[c.a:c.b]
    return Hit(pattern_id=p.id, label=p.label, matched=c.matched,
               text=" ".join(w.text for w in ws), score=round(c.score, 2),
               box=Box.union_all([w.box for w in ws]), page=line.page,
               engine=_uniq_join(w.engine for w in ws),
               conf=sum(w.conf for w in ws) / len(ws),
               source=_uniq_join(w.source for w in ws), angle=line.angle)


__all__ = ["match", "missing", "unglue", "cost", "MatchWarning", "CONFUSION_COST", "WINDOW_SLACK",
           "SAME_PLACE_IOS"]
