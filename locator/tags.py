"""Matching composed tags and implied prefixes: the catalog's P&ID options around :func:`locator.match.match`.

The words a run read come in two kinds: words as read, and composed words
(:mod:`locator.bubbles`: a bubble's lines, or two stacked lines, as one tag).
:func:`match_tags`

- matches the words as read with the catalog as it is (``form="word"``);
- matches each composed word on its own (so its hit's box is the bubble's),
  written with each pattern's ``tag_format``; a literal ignores the
  separators (``FIC-F0001``, ``FIC F0001`` and ``FICF0001`` alike), a regex
  sees the tag as the format writes it; stacked words only for the patterns
  that ask for them (``stacked: true``);
- also looks for each literal with a ``prefix:`` without that prefix (the
  hit's ``form`` then ends in ``+no-prefix``, its ``matched`` is the
  catalog's full text);
- keeps, where one pattern is found several ways at one place, the best
  (higher score; then the full text before the text without its prefix; then
  words as read, a bubble, stacked lines).

Boxes are page points, unrotated page space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from locator.bubbles import compose_stacked, with_format
from locator.catalog import Catalog, Pattern
from locator.geometry import connected_groups, overlap_pairs
from locator.model import Hit, Word

#: Characters a literal ignores when it is compared with a composed tag: the
#: separators catalogs write between the letters and the loop number.
TAG_SEPARATORS = "-_ /."
#: Marks a pattern looked for without its prefix (never in a catalog id).
NO_PREFIX = "\x1fno-prefix"
#: The order of preference among the ways one place was found.
FORM_RANK = {"word": 0, "bubble": 1, "stacked": 2}


def _no_prefix(p: Pattern) -> Pattern | None:
    """The pattern without its optional ``prefix``, or None (no prefix, not a
    literal, or the text does not start with it)."""
    if p.kind != "text" or not p.prefix or not p.text:
        return None
    head = p.text[:len(p.prefix)]
    same = head == p.prefix if p.case_sensitive else head.casefold() == p.prefix.casefold()
    rest = p.text[len(p.prefix):].strip()
    if not same or not rest:
        return None
    return replace(p, id=p.id + NO_PREFIX, text=rest)


def with_variants(patterns: Sequence[Pattern]) -> list[Pattern]:
    """``patterns`` and, for each literal with a prefix, itself without it."""
    out = list(patterns)
    out += [v for v in map(_no_prefix, patterns) if v is not None]
    return out


def _catalog(patterns: list[Pattern], source: str | None) -> Catalog:
    """A catalog of ``patterns``; ``near`` links to patterns not among them dropped
    (a composed pass matches a subset)."""
    ids = {p.id for p in patterns}
    pats = [p if p.near is None or p.near.pattern in ids else replace(p, near=None)
            for p in patterns]
    return Catalog.from_patterns(pats, source)


def _for_composed(p: Pattern) -> Pattern:
    # a literal compares with a composed tag whichever separator either side writes
    if p.kind != "text":
        return p
    extra = "".join(c for c in TAG_SEPARATORS if c not in p.ignore)
    return replace(p, ignore=p.ignore + extra)


def _composed_hits(composed: list[Word], cat: Catalog, references: Sequence[Hit]) -> list[Hit]:
    """Each composed word matched alone, per ``tag_format`` (and stacked lines
    only by the patterns that ask for them); each hit has the word's box."""
    from locator.match import match
    from locator.matcher import Matcher

    text_pats = [p for p in cat.patterns if p.kind != "symbol"]
    hits: list[Hit] = []
    groups: dict[tuple[str, bool], list[Pattern]] = {}
    for p in text_pats:
        groups.setdefault((p.tag_format, False), []).append(p)
        if p.stacked:
            groups.setdefault((p.tag_format, True), []).append(p)
    for (fmt, stacked), pats in groups.items():
        words = [w for w in composed if (w.form == "stacked") == stacked]
        if not words:
            continue
        m = Matcher.of(_catalog([_for_composed(p) for p in pats], cat.source))
        for w in words:
            for h in match([with_format(w, fmt)], m, references=references):
                hits.append(replace(h, box=w.box, shape=w.shape, form=w.form))
    return hits


def _restore(h: Hit, cat: Catalog) -> Hit:
    """A hit of a pattern looked for without its prefix, as the catalog's pattern."""
    if not h.pattern_id.endswith(NO_PREFIX):
        return h
    p = cat.get(h.pattern_id.removesuffix(NO_PREFIX))
    return replace(h, pattern_id=p.id, matched=p.text or h.matched, form=h.form + "+no-prefix")


def _best(hits: list[Hit]) -> list[Hit]:
    """One hit per pattern and place: the best way it was found."""
    out: list[Hit] = []
    by_pattern: dict[tuple[str, int], list[Hit]] = {}
    for h in hits:
        by_pattern.setdefault((h.pattern_id, h.page), []).append(h)
    for group in by_pattern.values():
        if len(group) == 1:
            out += group
            continue
        pairs = overlap_pairs([h.box for h in group], 0.3)
        for members in connected_groups(len(group), pairs):
            out.append(min((group[i] for i in members), key=_preference))
    out.sort(key=lambda h: (h.page, h.box.y0, h.box.x0, h.pattern_id))
    return out


def _preference(h: Hit) -> tuple:
    base, _, implied = h.form.partition("+")
    return (-round(h.score, 1), bool(implied), FORM_RANK.get(base, 3))


def match_tags(words: Sequence[Word], catalog: Catalog, *,
               references: Sequence[Hit] = ()) -> list[Hit]:
    """All hits of ``catalog`` among ``words`` (as read, and composed), each with
    its ``form`` and, for a bubble, its ``shape``. Sorted by page, top, left."""
    from locator.match import match

    plain = [w for w in words if not w.form]
    composed = [w for w in words if w.form]
    pats = [p for p in catalog.patterns if p.kind != "symbol"]
    if any(p.stacked for p in pats):
        bubbles = [w.box for w in composed if w.form == "bubble"]
        composed += [w for w in compose_stacked(plain)
                     if not any(b.ios(w.box) > 0.5 for b in bubbles)]
    full = with_variants(pats)
    cat = catalog if len(full) == len(pats) else _catalog(full + [
        p for p in catalog.patterns if p.kind == "symbol"], catalog.source)
    hits = [replace(h, form="word") for h in match(plain, cat, references=references)]
    if composed:
        hits += _composed_hits(composed, cat, references)
    return _best([_restore(h, catalog) for h in hits])
