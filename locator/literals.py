"""Literal candidates: every window of a line's words against a group of literals.

A *window* is a word or a run of consecutive words of one line (up to the
longest literal's word count + :data:`WINDOW_SLACK`), joined with a space and
without one, as read and stripped of end punctuation (:mod:`locator.match`
explains why). Distinct window strings are compared with the literals by
``rapidfuzz.process.cdist``, bucketed by length so only strings whose length
can reach ``min_score`` are compared; Python scores only the surviving pairs
(:mod:`locator.scoring`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from locator.lines import Line, reading_span
from locator.matcher import Claim, Forms, LiteralKey, Matcher, keep
from locator.normalize import OCR_STRIP_CHARS, STRIP_CHARS, canonical, fold, ignore_chars
from locator.scoring import CONFUSION_COST, names_another_code, partial_score, score

#: How many more words than the pattern has a window may join (OCR splits).
WINDOW_SLACK = 2
#: Cost, in edits, of each character stripped from a read's ends to match.
STRIP_COST = CONFUSION_COST
#: Fewest characters left for an OCR word stripped of a wire's bits to count.
MIN_WIRE_STRIPPED = 3
#: Two neighbours of a line that overlap along it by more than this share of
#: the shorter one are not side by side: one sits on the other (a letter read
#: inside a pin number's box), and they are never read as one window.
MAX_SIDE_OVERLAP = 0.5
#: Most cells of one cdist block (bytes of memory, as uint8).
_BLOCK = 8_000_000
#: Blocks of fewer cells are compared in this thread: starting cdist's worker
#: threads costs about a millisecond, more than comparing a page's words
#: against a bucket of codes (a schematic's match makes ~40 such calls).
_PARALLEL_CELLS = 1_000_000


class Window(NamedTuple):
    """Words ``[a, b)`` of line ``line`` read as one string.

    ``stripped``: built from the words stripped of end punctuation;
    ``joiner``: what joins the words (``" "`` or ``""``); ``exact``: every word
    is a text layer's (no confusion credit); ``cut``: how many characters the
    stripped string left out (each costs :data:`STRIP_COST`).
    """

    line: int
    a: int
    b: int
    stripped: bool
    joiner: str
    exact: bool
    cut: int


@dataclass(frozen=True, slots=True)
class Reads:
    """The distinct window strings, three ways, and their lengths sorted."""

    texts: list[str]
    folded: list[str]
    canon: list[str]
    order: np.ndarray       # indices of texts by length
    sorted_len: np.ndarray  # their lengths, ascending

    def forms(self, ti: int) -> Forms:
        return Forms(self.texts[ti], self.folded[ti], self.canon[ti])


def literal_candidates(lines: Sequence[Line], m: Matcher, key: LiteralKey,
                       idxs: list[int]) -> list[Claim]:
    """Candidates of the literals ``idxs`` (all sharing ``key``) in ``lines``."""
    strings = windows(lines, key, _max_words(m, idxs), _max_len(m, key, idxs))
    if not strings:
        return []
    texts = list(strings)
    folded = texts if key.case_sensitive else [fold(t) for t in texts]
    tlen = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    order = np.argsort(tlen, kind="stable")
    reads = Reads(texts, folded, [canonical(t, key.confusions, key.case_sensitive)
                                  for t in folded], order, tlen[order])
    best: dict[tuple[int, int, int, int], Claim] = {}
    buckets: dict[tuple[int, float], list[int]] = defaultdict(list)
    for i in idxs:
        buckets[(len(m.forms[i].norm), m.pattern(i).min_score)].append(i)
    for (plen, smin), members in buckets.items():
        for ti, pi in _bucket_pairs(reads, m, key, members, plen, smin):
            _add_pair(best, lines, m, key, reads.forms(ti), strings[reads.texts[ti]], pi)
    return list(best.values())


def _max_words(m: Matcher, idxs: list[int]) -> int:
    return max(m.forms[i].norm.count(" ") + 1 for i in idxs) + WINDOW_SLACK


def _max_len(m: Matcher, key: LiteralKey, idxs: list[int]) -> float:
    """Longest window string that can reach the lowest ``min_score`` (whole words)."""
    longest = max(len(m.forms[i].norm) for i in idxs)
    f_all = 1.0 - min(m.pattern(i).min_score for i in idxs) / 100.0
    return math.inf if not key.whole_word or f_all >= 1 else int(longest / (1 - f_all)) + 1


def windows(lines: Sequence[Line], key: LiteralKey, wmax: int,
            max_len: float) -> dict[str, list[Window]]:
    """Every window's strings: unique string -> the windows that read so."""
    cs, ignore = key.case_sensitive, key.ignore
    strings: dict[str, list[Window]] = {}
    joiners = (" ", "") if " " not in ignore_chars(ignore, cs) else ("",)
    for li, line in enumerate(lines):
        raw = [keep(w.text, ignore, cs) for w in line.words]
        # A text layer's words are exact and split where the document has a
        # space: no OCR-confusion credit, and no gluing neighbours together
        # ("J3" beside a pin number "2" is not "J32").
        exact = [w.source == "text" for w in line.words]
        stripped = [strip_read(r, ex) for r, ex in zip(raw, exact)]
        n = len(raw)
        beside = side_by_side(line)
        for a in range(n):
            for b in range(a + 1, min(n, a + wmax) + 1):
                if b - a > 1 and not beside[b - 2]:
                    break  # words b-2 and b-1 are not neighbours: no longer window
                is_exact = all(exact[a:b])
                for variant, parts in ((False, raw[a:b]), (True, stripped[a:b])):
                    if variant and parts == raw[a:b]:
                        continue
                    for j in (joiners if b - a > 1 else ("",)):
                        if is_exact and j == "" and b - a > 1:
                            continue
                        s = j.join(x for x in parts if x)
                        if s and len(s) <= max_len:
                            # characters the stripped read left out (priced later)
                            cut = (len(j.join(x for x in raw[a:b] if x)) - len(s)) if variant else 0
                            strings.setdefault(s, []).append(
                                Window(li, a, b, variant, j, is_exact, cut))
    return strings


def side_by_side(line: Line) -> list[bool]:
    """For each pair of consecutive words of ``line``, whether they sit side by
    side (overlap along the line by at most :data:`MAX_SIDE_OVERLAP` of the
    shorter). On schematics 02/03 OCR read an ``A`` inside the box of a pin
    number ``1`` and an ``S`` inside a ``u``: joined, they passed for A1, U5."""
    spans = [reading_span(line.angle, w.box) for w in line.words]
    out = []
    for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
        shorter = min(e0 - s0, e1 - s1)
        out.append(min(e0, e1) - max(s0, s1) <= MAX_SIDE_OVERLAP * max(shorter, 0.0))
    return out


def strip_read(raw: str, exact: bool) -> str:
    """A read without its end punctuation (an OCR word: also without a wire's
    bits, when at least :data:`MIN_WIRE_STRIPPED` characters remain -- "_o"
    or "-CG__" is noise that would pass for a short code)."""
    s = raw.strip(STRIP_CHARS).strip()
    if not exact:
        w = raw.strip(OCR_STRIP_CHARS).strip()
        if len(w) >= MIN_WIRE_STRIPPED:
            s = w
    return s


def _bucket_pairs(reads: Reads, m: Matcher, key: LiteralKey, members: list[int],
                  plen: int, smin: float) -> list[tuple[int, int]]:
    """(read index, pattern index) pairs of one bucket (one length and min_score)
    that may reach ``smin``."""
    f = 1.0 - smin / 100.0
    lo = math.ceil(plen * (1 - f) - 1e-9)
    hi = math.inf if (f >= 1 or not key.whole_word) else math.floor(plen / (1 - f) + 1e-9)
    start = int(np.searchsorted(reads.sorted_len, lo, side="left"))
    stop = len(reads.sorted_len) if hi == math.inf else int(
        np.searchsorted(reads.sorted_len, hi, side="right"))
    if start >= stop:
        return []
    q_idx = reads.order[start:stop]
    queries = [reads.canon[k] for k in q_idx]
    choices = [m.forms[i].canon for i in members]
    if key.whole_word:
        # The merged-class distance is a lower bound of the cost: prune on it.
        qlen = reads.sorted_len[start:stop]
        allowed = np.floor(f * np.maximum(qlen, plen) + 1e-9).astype(np.int64)
        pairs = _pairs_distance(queries, choices, allowed)
    else:
        pairs = _pairs_partial(queries, choices, smin)
    return [(int(q_idx[qk]), members[ck]) for qk, ck in pairs]


def _pair_score(p: Forms, t: Forms, key: LiteralKey, exact: bool,
                ) -> tuple[float, tuple[int, int] | None]:
    """Score of read ``t`` for literal ``p`` and the span of ``t`` it covers
    (None: all of it). ``exact``: a text layer's read, no confusion credit."""
    classes = () if exact else key.confusions
    if key.whole_word:
        return score(p, t, classes, key.case_sensitive), None
    return partial_score(p, t, classes, key.case_sensitive)


def _add_pair(best: dict, lines: Sequence[Line], m: Matcher, key: LiteralKey, t: Forms,
              wins: list[Window], pi: int) -> None:
    """Score one (read, literal) pair and keep each of its windows' best candidate."""
    p = m.forms[pi]
    if key.whole_word and _glued(p.canon, t.canon):
        return
    smin = m.pattern(pi).min_score
    # only a text layer's exact words read this way: they get no confusion
    # credit, and the score without it is never above the score with it
    all_exact = key.whole_word and bool(key.confusions) and all(w.exact for w in wins)
    sc, span = _pair_score(p, t, key, all_exact)
    exact_sc = sc if all_exact else None
    if sc < smin:
        return
    read = t if span is None else Forms(*(x[span[0]:span[1]] for x in t))
    if m.excluded(pi, read.norm, key.case_sensitive):
        return
    # another code read right is no misread of this one (issue 20); with and
    # without confusion credit (a text layer's exact words have none)
    other = {ex: names_another_code(p, read, () if ex else key.confusions, exact=ex)
             for ex in {w.exact for w in wins}}
    for w in wins:
        if other[w.exact]:
            continue
        wsc = sc
        if w.exact and key.confusions:
            if exact_sc is None:  # the same pair scored without confusion credit
                exact_sc = _pair_score(p, t, key, True)[0]
            wsc = exact_sc
            if wsc < smin:
                continue
        if w.cut and span is None:
            # each stripped character costs like a confusion: a read that
            # needed trimming is weaker than one that did not
            wsc -= 100.0 * STRIP_COST * w.cut / max(len(p.norm), len(t.norm), 1)
            if wsc < smin:
                continue
        a, b = w.a, w.b
        if span is not None:
            a, b = _span_words(lines[w.line], w, span, key)
        k = (pi, w.line, a, b)
        old = best.get(k)
        # at one score the read as written beats the read stripped of
        # its end punctuation (a true tie needs the same read, in match)
        if (old is None or wsc > old.score
                or (wsc == old.score and old.stripped and not w.stripped)):
            best[k] = Claim(pi, w.line, a, b, wsc, m.pattern(pi).text or "", len(p.norm),
                            p.fold, w.stripped, mean_conf(lines[w.line], a, b))


def mean_conf(line: Line, a: int, b: int) -> float:
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


def _workers(rows: int, cols: int) -> int:
    """cdist's ``workers`` for a block: all cores only when the block is large."""
    return -1 if rows * cols >= _PARALLEL_CELLS else 1


def _pairs_distance(queries: list[str], choices: list[str],
                    allowed: np.ndarray) -> list[tuple[int, int]]:
    """(query, choice) index pairs within ``allowed[query]`` edits (canonical strings)."""
    kmax = int(allowed.max())
    if kmax == 0:  # exact: a dictionary is faster than cdist
        pos: dict[str, list[int]] = defaultdict(list)
        for ck, c in enumerate(choices):
            pos[c].append(ck)
        return [(qk, ck) for qk, q in enumerate(queries) for ck in pos.get(q, ())]
    out: list[tuple[int, int]] = []
    step = max(1, _BLOCK // max(1, len(choices)))
    for s in range(0, len(queries), step):
        block = queries[s:s + step]
        d = process.cdist(block, choices, scorer=Levenshtein.distance, score_cutoff=kmax,
                          dtype=np.uint8 if kmax < 255 else np.int32,
                          workers=_workers(len(block), len(choices)))
        qs, cs_ = np.nonzero(d <= allowed[s:s + step, None])
        out.extend(zip((qs + s).tolist(), cs_.tolist()))
    return out


def _pairs_partial(queries: list[str], choices: list[str],
                   smin: float) -> list[tuple[int, int]]:
    """Pairs where a choice may lie inside a query (rapidfuzz partial_ratio prefilter)."""
    out: list[tuple[int, int]] = []
    cutoff = max(0.0, smin - 15.0)
    step = max(1, _BLOCK // max(1, len(choices)))
    for s in range(0, len(queries), step):
        block = queries[s:s + step]
        d = process.cdist(block, choices, scorer=fuzz.partial_ratio, score_cutoff=cutoff,
                          dtype=np.float32, workers=_workers(len(block), len(choices)))
        qs, cs_ = np.nonzero(d >= cutoff) if cutoff > 0 else np.nonzero(d >= 0)
        out.extend(zip((qs + s).tolist(), cs_.tolist()))
    return out


def _span_words(line: Line, w: Window, span: tuple[int, int],
                key: LiteralKey) -> tuple[int, int]:
    """Which words of window ``w`` a character span of its string covers."""
    pos, first, last = 0, None, None
    for k, word in enumerate(line.words[w.a:w.b]):
        part = keep(word.text, key.ignore, key.case_sensitive)
        if w.stripped:
            part = strip_read(part, word.source == "text")
        if not part:
            continue
        start, end = pos, pos + len(part)
        if end > span[0] and start < span[1]:
            first = k if first is None else first
            last = k
        pos = end + len(w.joiner)
    if first is None or last is None:
        return w.a, w.b
    return w.a + first, w.a + last + 1


__all__ = ["literal_candidates", "windows", "strip_read", "side_by_side", "MAX_SIDE_OVERLAP",
           "mean_conf", "Window", "WINDOW_SLACK", "STRIP_COST", "MIN_WIRE_STRIPPED"]
