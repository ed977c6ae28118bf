"""Text normalisation shared by the catalog and the matcher.

Both sides of every comparison -- the catalog's literal or regex and the words
an engine read -- go through the same steps, so that what differs between them
is only what OCR got wrong:

1. Unicode NFKC: full-width ``ＦＩＣ－１０１`` becomes ``FIC-101``, ligatures
   split, super/subscript digits become digits, no-break spaces become spaces.
2. Look-alike letters from other scripts become the Latin letter they look
   like (:data:`LOOKALIKES`): Cyrillic ``А В Е К М Н О Р С Т Х`` (and lower
   case), Greek ``Α Β Ε Ζ Η Ι Κ Μ Ν Ο Ρ Τ Υ Χ``, the micro sign. Engines
   trained on several scripts emit these for Latin text. It is applied to the
   catalog too, so a catalog written in Cyrillic still matches itself.
3. Every Unicode dash, hyphen and minus sign (:data:`DASHES`) becomes ``-``;
   curly quotes become ``'`` and ``"``.
4. Zero-width characters are removed; runs of whitespace become one space;
   the ends are trimmed.
5. Unless the pattern is case sensitive, case is folded (:func:`fold`: lower
   case, one character for one, so positions still line up).
6. The pattern's ``ignore`` characters are removed (from both sides).

Separately, :func:`strip_punct` removes the punctuation OCR tends to attach to
the ends of a word (``.,;:|()[]'"`` and curly quotes), and :func:`canonical`
maps every OCR confusion class (:data:`DEFAULT_CONFUSIONS`) to one
representative character, which is how confusions are scored cheaply.

Standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: Characters turned into ``-``: every Unicode dash punctuation character that
#: is a plain horizontal dash, the minus signs and the soft hyphen.
DASHES = ("\u00ad\u02d7\u058a\u05be\u1400\u1806\u2010\u2011\u2012\u2013\u2014"
          "\u2015\u2043\u207b\u208b\u2212\u2796\u2e17\u2e1a\u2e3a\u2e3b\u2e40"
          "\ufe58\ufe63\uff0d")

#: Look-alike letters of other scripts -> the Latin letter they are read as.
LOOKALIKES: dict[str, str] = {
    # Cyrillic capitals
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O",
    "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "І": "I",
    "Ј": "J", "Ѕ": "S", "Ԛ": "Q", "Ԝ": "W",
    # Cyrillic lower case (some only look Latin as small capitals: в к м н т)
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "х": "x", "у": "y", "ү": "y", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w",
    # Greek capitals
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Greek lower case that OCR emits for Latin
    "ο": "o", "ι": "i", "κ": "k", "ν": "v", "ρ": "p", "υ": "u", "χ": "x",
    "μ": "u",  # NFKC turns the micro sign into Greek mu
    # Latin oddities
    "ı": "i",
}

_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
           "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'}

_TABLE = str.maketrans({**{c: "-" for c in DASHES}, **LOOKALIKES, **_QUOTES,
                        **{c: None for c in _ZERO_WIDTH}})
FOLD_TABLE = _TABLE  # public: what every text is folded with (the catalog folds regexes too)

#: The translation of steps 2-4 (dashes, look-alikes, quotes, zero-width
#: characters), for code that normalises text of its own (the catalog's regexes).
TABLE = _TABLE

_WS = re.compile(r"\s+")

#: Punctuation stripped from both ends of a read word.
STRIP_CHARS = ".,;:|()[]'\"\u2018\u2019\u201c\u201d`\u00b4"

#: Also stripped from the ends of an OCR word (not a text layer's): the bits of
#: a wire, leader or underline OCR glues to a label (``P2_3x_``, ``R32;-``,
#: ``~P1B4``; dashes are ``-`` once normalised). Only as the alternative read:
#: the word as written is tried too, so ``FIC-`` still joins ``101``.
OCR_STRIP_CHARS = STRIP_CHARS + "_~=-"

#: Default OCR confusion classes, written as the characters *look*: lower
#: case ``o s z`` have the shape of their capitals, lower case ``l`` and ``i``
#: that of ``I``; capital ``L`` does not look like ``1`` and is in no class.
#: Each class mixes letters with digits (or symbols), never two digits: a
#: cheap 3/8 or 1/7 would make distinct codes (FIC-103, FIC-108) look alike.
#: 7/T is left out as it is rare in practice and T is common in tags; add it
#: with ``confusions: [..., "7T"]``.
DEFAULT_CONFUSIONS: tuple[str, ...] = ("O0DQo", "I1l|i", "S5$s", "B8", "Z2z", "G6")


def normalize(s: str, *, case_sensitive: bool = False, ignore: str = "") -> str:
    """``s`` through steps 1-6 of the module docstring.

    >>> normalize("ＦＩＣ－１０１")
    'fic-101'
    >>> normalize("FIC – 101", ignore=" -")
    'fic101'
    """
    s = unicodedata.normalize("NFKC", s).translate(_TABLE)
    s = _WS.sub(" ", s).strip()
    if not case_sensitive:
        s = fold(s)
    if ignore:
        s = s.translate(ignore_table(ignore, case_sensitive))
    return s


def fold(s: str) -> str:
    """Lower case, keeping one character for one (``len(fold(s)) == len(s)``)."""
    low = s.lower()
    if len(low) == len(s):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in s)


def normalize_keep_case(s: str, *, ignore: str = "", case_sensitive: bool = False) -> str:
    """Steps 1-4 only, case kept: what a regex sees (case is handled by the
    regex flag); with ``ignore``, also step 6 (``case_sensitive`` says whether
    ``ignore``'s letters are removed in both cases).

    >>> normalize_keep_case("FIC – 101", ignore=" ")
    'FIC-101'
    """
    s = unicodedata.normalize("NFKC", s).translate(_TABLE)
    s = _WS.sub(" ", s).strip()
    return s.translate(ignore_table(ignore, case_sensitive)).strip() if ignore else s


@lru_cache(maxsize=256)
def ignore_table(ignore: str, case_sensitive: bool) -> dict[int, None]:
    """The ``str.translate`` table removing ``ignore``'s characters (normalised;
    any whitespace in it means the space; unless case sensitive, both cases)."""
    chars = set(unicodedata.normalize("NFKC", ignore).translate(_TABLE))
    if any(c.isspace() for c in chars):
        chars = {c for c in chars if not c.isspace()} | {" "}
    if not case_sensitive:
        chars |= {v for c in chars for v in (c.upper(), c.lower()) if len(v) == 1}
    return {ord(c): None for c in chars}


def ignore_chars(ignore: str, case_sensitive: bool) -> frozenset[str]:
    """The set of characters :func:`normalize` removes for ``ignore``."""
    return frozenset(chr(k) for k in ignore_table(ignore, case_sensitive))


def strip_punct(word: str) -> str:
    """``word`` without the punctuation OCR attaches to its ends.

    >>> strip_punct("(FIC-101),")
    'FIC-101'
    """
    return word.strip(STRIP_CHARS)


@lru_cache(maxsize=64)
def confusion_table(classes: tuple[str, ...], case_sensitive: bool) -> dict[int, str]:
    """The translation table of :func:`canonical` (first char of a class is its
    representative). Raises ValueError when two classes share a character."""
    table: dict[int, str] = {}
    for cls in classes:
        members = cls if case_sensitive else fold(cls)
        rep = members[0]
        for c in members:
            if ord(c) in table and table[ord(c)] != rep:
                raise ValueError(f"confusion classes overlap on {c!r}")
            table[ord(c)] = rep
    return table


def canonical(s: str, classes: tuple[str, ...], case_sensitive: bool = False) -> str:
    """``s`` (already normalised) with every confusion class mapped to one character.

    >>> canonical("f1c-1o1", DEFAULT_CONFUSIONS) == canonical("fic-101", DEFAULT_CONFUSIONS)
    True
    """
    if not classes:
        return s
    return s.translate(confusion_table(classes, case_sensitive))


@lru_cache(maxsize=64)
def class_index(classes: tuple[str, ...]) -> dict[str, int]:
    """Character as written -> the number of its confusion class."""
    out: dict[str, int] = {}
    for k, cls in enumerate(classes):
        for c in cls:
            out.setdefault(c, k)
    return out


def confusable(p: str, t: str, classes: tuple[str, ...], case_sensitive: bool = False) -> bool:
    """True when a read character ``t`` for the catalog's ``p`` is an OCR confusion.

    Characters are compared as written and read: ``L`` read as ``1`` is not a
    confusion, ``l`` is. Unless case sensitive, ``p``'s capital counts too (a
    catalog typed in lower case still means the capitals on the drawing).
    """
    idx = class_index(classes)
    k = idx.get(t)
    if k is None:
        return False
    return idx.get(p) == k or (not case_sensitive and idx.get(p.upper()) == k)


def is_confusable(c: str, classes: tuple[str, ...]) -> bool:
    """True when the read character ``c`` belongs to one of the confusion classes."""
    return c in class_index(classes)
