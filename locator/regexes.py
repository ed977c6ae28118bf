"""Regex candidates: each regex pattern run over each line's text.

A line's text is its words normalised with case kept (the regex gets
``IGNORECASE`` unless the pattern is case sensitive), end punctuation
stripped, ``ignore`` characters removed, joined by one space (by nothing when
``ignore`` holds a space). A match's character span maps back to the words it
touches (:mod:`locator.match` has the rules).
"""

from __future__ import annotations

import warnings
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from typing import NamedTuple

from locator.lines import Line
from locator.literals import mean_conf
from locator.matcher import Claim, Matcher, RegexKey, keep
from locator.normalize import STRIP_CHARS, fold, ignore_chars, ignore_table
from locator.scoring import regex_score


class MatchWarning(UserWarning):
    """Something the matcher skipped (a regex past its time limit)."""


class LineText(NamedTuple):
    """A line's text for regexes, and where each kept word sits in it."""

    text: str
    starts: list[int]   # of each kept word, in ``text``
    ends: list[int]
    words: list[int]    # index in the line of each kept word


def line_text(line: Line, key: RegexKey, joiner: str) -> LineText:
    """``line`` as the regexes of ``key`` see it (words without any text left out)."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    widx: list[int] = []
    pos = 0
    for k, w in enumerate(line.words):
        s = keep(w.text, "", key.case_sensitive).strip(STRIP_CHARS).strip()
        if key.ignore:
            s = s.translate(ignore_table(key.ignore, key.case_sensitive)).strip()
        if not s:
            continue
        if parts:
            pos += len(joiner)
        starts.append(pos)
        ends.append(pos + len(s))
        widx.append(k)
        parts.append(s)
        pos += len(s)
    return LineText(joiner.join(parts), starts, ends, widx)


def regex_candidates(lines: Sequence[Line], m: Matcher, key: RegexKey,
                     idxs: list[int]) -> list[Claim]:
    """Candidates of the regexes ``idxs`` (all sharing ``key``) in ``lines``."""
    joiner = "" if key.ignore and " " in ignore_chars(key.ignore, key.case_sensitive) else " "
    texts = [line_text(line, key, joiner) for line in lines]
    out: list[Claim] = []
    for pi in idxs:
        out.extend(_pattern_candidates(lines, texts, m, pi, key, joiner))
    return out


def _pattern_candidates(lines: Sequence[Line], texts: list[LineText], m: Matcher, pi: int,
                        key: RegexKey, joiner: str) -> list[Claim]:
    p = m.pattern(pi)
    use_word = p.whole_word and joiner == " " and p.compiled_word is not None
    rx = p.compiled_word if use_word else p.compiled
    edge_check = p.whole_word and not use_word
    out: list[Claim] = []
    for li, lt in enumerate(texts):
        if not lt.text:
            continue
        try:
            found = list(rx.finditer(lt.text, timeout=p.timeout))
        except TimeoutError:
            warnings.warn(MatchWarning(
                f"pattern '{p.id}' ({p.origin}): the regex took longer than "
                f"{p.timeout:g} s on a line of page {lines[li].page}; skipped for "
                f"the rest of this document"), stacklevel=4)
            break
        for mt in found:
            words = _match_words(lt, mt.span(), edge_check)
            if words is None:
                continue
            sc = regex_score(mt, p.confusions)
            if sc < p.min_score:
                continue
            matched = mt.group()
            if m.excluded(pi, matched, key.case_sensitive):
                continue
            a, b = words
            conf = mean_conf(lines[li], a, b)
            out.append(Claim(pi, li, a, b, read_score(sc, conf), matched, len(matched),
                             matched if key.case_sensitive else fold(matched), True, conf))
    return out


def read_score(shape: float, conf: float) -> float:
    r"""A regex hit's score: its match score (``shape``, how far the read is
    from the pattern) times the engine's confidence in the read (0-100).

    A regex names no code to compare the read with: ``25-KA-9101`` read for
    23-KA-9101 matches ``\d{2}-[A-Z]{2}-\d{4}`` exactly, and only the engine's
    confidence (48) says it may be wrong. A text layer's words (100) keep
    the match score. ``min_score`` is compared with the match score alone.

    >>> read_score(100.0, 48.0), read_score(100.0, 100.0)
    (48.0, 100.0)
    """
    return shape * max(0.0, min(conf, 100.0)) / 100.0


def _match_words(lt: LineText, span: tuple[int, int],
                 edge_check: bool) -> tuple[int, int] | None:
    """Words ``[a, b)`` of the line a match's span touches; None when the match
    is empty or (``edge_check``) does not start and end at word edges."""
    s0, e0 = span
    if e0 <= s0:
        return None
    starts, ends = lt.starts, lt.ends
    if edge_check:
        k = bisect_left(starts, s0)
        if k == len(starts) or starts[k] != s0 or e0 not in ends:
            return None
    k0 = bisect_right(ends, s0)       # first word ending after s0
    k1 = bisect_left(starts, e0) - 1  # last word starting before e0
    if k0 > k1:
        return None
    return lt.words[k0], lt.words[k1] + 1


__all__ = ["regex_candidates", "line_text", "read_score", "LineText", "MatchWarning"]
