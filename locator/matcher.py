"""The matcher's view of a catalog, prepared once, and the candidate hit type.

:class:`Matcher` holds what :func:`locator.match.match` needs of a catalog in
the form it compares (each literal normalised, folded and with its confusion
classes merged; patterns grouped by the options that change how a read is
normalised; ``exclude`` strings normalised; the codes words may be cut into).
It is built from a :class:`~locator.catalog.Catalog` and never stored in it:
pass one to ``match`` to prepare a catalog once for many calls.

:class:`Claim` is one candidate hit: a pattern found in a run of words of one
line, before the words are shared out (:mod:`locator.match`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import NamedTuple

from locator.catalog import Catalog, Pattern
from locator.normalize import canonical, fold, normalize_keep_case
from locator.readings import Glue


class LiteralKey(NamedTuple):
    """The options that decide how a literal and the words are compared."""

    case_sensitive: bool
    ignore: str
    confusions: tuple[str, ...]
    whole_word: bool


class RegexKey(NamedTuple):
    """The options that decide how a line's text is built for a regex."""

    case_sensitive: bool
    ignore: str


class Forms(NamedTuple):
    """A string three ways: normalised with case kept and the pattern's
    ``ignore`` removed; then folded unless case sensitive; then with each
    confusion class merged into one character (:func:`~locator.normalize.canonical`)."""

    norm: str
    fold: str
    canon: str


@dataclass(frozen=True, slots=True)
class Claim:
    """A candidate hit: pattern ``pi`` in words ``[a, b)`` of line ``li``.

    ``plen``: length of the normalised pattern (or regex match), ties go to the
    longer; ``code``: the code named, normalised and folded (a literal's
    pattern, a regex's match), so a tie can tell one code from two;
    ``stripped``: matched only once the words' end punctuation was stripped;
    ``conf``: mean OCR confidence of the words (ties between engines' reads).
    """

    pi: int
    li: int
    a: int
    b: int
    score: float
    matched: str
    plen: int
    code: str
    stripped: bool = False
    conf: float = 0.0


def keep(text: str, ignore: str, case_sensitive: bool) -> str:
    """Normalised with case kept and the ``ignore`` characters removed."""
    return normalize_keep_case(text, ignore=ignore, case_sensitive=case_sensitive)


@dataclass(frozen=True, slots=True)
class Matcher:
    """A catalog prepared for matching (see the module docstring)."""

    catalog: Catalog
    literals: dict[LiteralKey, list[int]]
    regexes: dict[RegexKey, list[int]]
    forms: dict[int, Forms]
    exclude: dict[int, frozenset[str]]
    glue: Glue

    @classmethod
    def of(cls, catalog: Catalog) -> Matcher:
        """The catalog's text and regex patterns, prepared."""
        literals: dict[LiteralKey, list[int]] = defaultdict(list)
        regexes: dict[RegexKey, list[int]] = defaultdict(list)
        forms: dict[int, Forms] = {}
        exclude: dict[int, frozenset[str]] = {}
        for i, p in enumerate(catalog.patterns):
            if p.kind == "text":
                literals[LiteralKey(p.case_sensitive, p.ignore, p.confusions,
                                    p.whole_word)].append(i)
                forms[i] = literal_forms(p)
            elif p.kind == "regex":
                regexes[RegexKey(p.case_sensitive, p.ignore)].append(i)
            if p.exclude:
                exclude[i] = _exclude_forms(p)
        return cls(catalog, dict(literals), dict(regexes), forms, exclude,
                   _glue(catalog.patterns, forms))

    def pattern(self, pi: int) -> Pattern:
        return self.catalog.patterns[pi]

    def excluded(self, pi: int, text: str, case_sensitive: bool) -> bool:
        """Whether ``text`` (normalised, ignore removed) is one of pattern ``pi``'s excludes."""
        forms = self.exclude.get(pi)
        if not forms:
            return False
        t = text if case_sensitive else fold(text)
        return t in forms or t.replace(" ", "") in forms


def literal_forms(p: Pattern) -> Forms:
    """A text pattern's :class:`Forms`."""
    n = keep(p.text or "", p.ignore, p.case_sensitive)
    f = n if p.case_sensitive else fold(n)
    return Forms(n, f, canonical(f, p.confusions, p.case_sensitive))


def _exclude_forms(p: Pattern) -> frozenset[str]:
    out: set[str] = set()
    for x in p.exclude:
        n = keep(x, p.ignore, p.case_sensitive)
        n = n if p.case_sensitive else fold(n)
        out.add(n)
        out.add(n.replace(" ", ""))
    return frozenset(out)


def _glue(patterns: list[Pattern], forms: dict[int, Forms]) -> Glue:
    """What unglue() cuts OCR words into: whole-word literals compared as
    written (case folded, nothing ignored), of one word and 2+ characters."""
    codes = frozenset(f.fold for i, f in forms.items()
                      if patterns[i].whole_word and not patterns[i].case_sensitive
                      and not patterns[i].ignore and " " not in f.fold and len(f.fold) >= 2)
    return Glue(codes, max(map(len, codes), default=0),
                not any("|" in f.fold for f in forms.values()))


__all__ = ["Matcher", "Claim", "Forms", "LiteralKey", "RegexKey", "keep", "literal_forms"]
