"""The catalog's result types: :class:`Pattern` (one validated, compiled entry),
:class:`Near` and :class:`Catalog` (the patterns in order, ids unique), with the
option defaults. Building them from YAML or code lists is :mod:`.loading`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from locator.normalize import DEFAULT_CONFUSIONS

DEFAULT_MIN_SCORE = 85.0
DEFAULT_LABEL = "code"
DEFAULT_TIMEOUT = 1.0
#: A symbol entry without ``scales:``: the range 0.8-1.25 x the example's size
#: (a drawing's symbols are rarely drawn at exactly the example's size).
DEFAULT_SYMBOL_SCALES = (0.8, 1.25)
#: How a composed tag (an instrument bubble's two lines) is written.
DEFAULT_TAG_FORMAT = "{letters}-{number}"

Kind = Literal["text", "regex", "symbol"]


@dataclass(frozen=True, slots=True)
class Near:
    """Keep a hit only within ``within`` points of a hit of pattern ``pattern``."""

    pattern: str
    within: float


@dataclass(frozen=True, slots=True)
class Pattern:
    """One validated, compiled catalog entry.

    ``kind`` says which of ``text`` (a literal), ``regex`` (its source, after
    NFKC) or ``symbol`` (an image path, resolved) is set. ``origin`` says
    where it was defined (``"codes.yaml line 7"``, ``"tags.csv row 12"``).
    ``compiled`` is the compiled regex (the ``regex`` module) or None.
    ``tag_format`` writes a composed tag (``{letters}`` over ``{number}``);
    ``stacked`` composes two stacked lines that are not in a bubble;
    ``prefix`` is a part of the text the sheet may leave out (a literal then
    also matches without it; empty: strict).
    """

    id: str
    label: str
    kind: Kind
    text: str | None = None
    regex: str | None = None
    symbol: Path | None = None
    min_score: float = DEFAULT_MIN_SCORE
    case_sensitive: bool = False
    whole_word: bool = True
    confusions: tuple[str, ...] = DEFAULT_CONFUSIONS
    ignore: str = ""
    near: Near | None = None
    exclude: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    scales: tuple[float, ...] = DEFAULT_SYMBOL_SCALES
    rotations: tuple[float, ...] = (0.0,)
    origin: str = ""
    tag_format: str = DEFAULT_TAG_FORMAT
    stacked: bool = False
    prefix: str = ""
    compiled: Any = field(default=None, compare=False, repr=False)
    compiled_word: Any = field(default=None, compare=False, repr=False)

    @property
    def query(self) -> str:
        """What the pattern looks for, as written: the text, regex or symbol path."""
        return (self.text if self.kind == "text" else (
            self.regex if self.kind == "regex" else str(self.symbol))) or ""  # (set for its kind)


@dataclass(frozen=True)
class Catalog:
    """Validated patterns, in catalog order; ids are unique.

    Build one with :func:`load_catalog`, :func:`load_codes`,
    :func:`parse_catalog` or :meth:`Catalog.from_texts`.
    """

    patterns: list[Pattern]
    source: str | None = None

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.patterns]

    def get(self, pattern_id: str) -> Pattern:
        """The pattern with this id (KeyError if there is none)."""
        for p in self.patterns:
            if p.id == pattern_id:
                return p
        raise KeyError(pattern_id)

    def __len__(self) -> int:
        return len(self.patterns)

    def __iter__(self) -> Iterator[Pattern]:
        return iter(self.patterns)

    @classmethod
    def from_texts(cls, texts: Iterable[str], *, label: str = DEFAULT_LABEL,
                   **options: Any) -> Catalog:
        """A catalog of literal snippets, each its own id.

        ``options`` are pattern options (``min_score``, ``ignore``, ...).

        >>> Catalog.from_texts(["FIC-101", "PT-7"], min_score=90).ids
        ['FIC-101', 'PT-7']
        """
        data = {"defaults": {**options, "label": label},
                "patterns": [{"text": t} for t in texts]}
        from locator.catalog.loading import build_catalog
        from locator.catalog.yamlfile import LineMap

        return build_catalog(data, LineMap(), "<texts>", Path("."))

    @classmethod
    def combine(cls, *catalogs: Catalog) -> Catalog:
        """One catalog of several (``--patterns x.yaml --codes tags.csv``).

        Raises :class:`CatalogError` when an id appears in two of them.
        """
        pats = [p for c in catalogs for p in c.patterns]
        source = " + ".join(c.source or "<catalog>" for c in catalogs)
        return cls.from_patterns(pats, source)

    @classmethod
    def from_patterns(cls, patterns: Sequence[Pattern], source: str | None = None) -> Catalog:
        """A catalog of ready patterns, checking ids and ``near`` references."""
        from locator.catalog.loading import check_ids, check_near
        from locator.catalog.yamlfile import LineMap

        pats = list(patterns)
        check_ids(pats, source or "<patterns>")
        check_near(pats, source or "<patterns>", LineMap(), {})
        return cls(pats, source)
