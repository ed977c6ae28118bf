"""The pattern catalog: loading, validating and compiling what to look for.

A catalog is a YAML file::

    defaults: {min_score: 85}
    patterns:
      - id: FIC-101
        text: FIC-101            # a literal snippet; may hold spaces (a phrase)
        label: instrument
      - id: part-number
        regex: '[A-Z]{2}-\\d{5}-[A-Z]'
        label: part
      - file: tags.csv           # or .xlsx: every row a literal pattern
        column: Tag
        label_column: Type       # optional
      - symbol: symbols/valve.png   # issue 9; the text matcher ignores these
        scales: [0.5, 1, 2]
        rotations: [0, 90]

or a plain code list (CSV/XLSX) through :func:`load_codes`. Every problem is a
:class:`~locator.errors.CatalogError` whose message names the file, the line
(or CSV/XLSX row) and the field, and says what was expected, e.g.
``codes.yaml line 7: pattern 'X': needs 'text', 'regex', 'symbol' or 'file'``.

Options of a pattern (catalog-wide values go in ``defaults:``; a ``file:``
entry's options apply to each of its rows):

``min_score`` (0-100, default 85)
    Least score for a hit (see :mod:`locator.match` for the score).
``case_sensitive`` (default false)
``whole_word`` (default true)
    A code must cover whole words: ``FIC-101`` does not match inside
    ``FIC-101A``. With false, a literal also matches inside a longer word.
``confusions`` (default true)
    OCR confusion classes that cost little: true for
    :data:`~locator.normalize.DEFAULT_CONFUSIONS`, false for none, or a list
    of classes such as ``["O0DQ", "I1l|i", "7T"]``.
``ignore`` (default ``""``)
    Characters removed from both sides before comparing, e.g. ``" -_."``.
``near: {pattern: ID, within: 50}``
    Keep a hit only within ``within`` points of a hit of pattern ``ID``.
``exclude: [..]``
    Read strings that must not count as a hit of this pattern (compared
    after normalisation).
``timeout`` (seconds, default 1)
    A regex's time limit per line searched; past it the pattern is skipped
    for the rest of the call with a warning.
``label`` (default ``"code"``)

Hostile input is refused cleanly: YAML is read with the safe loader, nesting
deeper than :data:`MAX_DEPTH` and alias expansion beyond :data:`MAX_NODES`
nodes ("billion laughs") are errors, and every regex search has a time limit.

The package: :mod:`.patterns` (the result types), :mod:`.yamlfile` (YAML with
lines, hostile-input guards), :mod:`.schema` (the pydantic models and their
messages), :mod:`.loading` (validation, defaults, compiling) and :mod:`.tables`
(CSV/XLSX code lists). The names below are the public ones.
"""

from __future__ import annotations

from locator.catalog.loading import compile_regex, load_catalog, load_codes, parse_catalog
from locator.catalog.patterns import (DEFAULT_LABEL, DEFAULT_MIN_SCORE, DEFAULT_TIMEOUT,
                                      Catalog, Kind, Near, Pattern)
from locator.catalog.tables import MAX_BYTES, read_code_table
from locator.catalog.yamlfile import MAX_DEPTH, MAX_NODES

__all__ = ["Catalog", "Pattern", "Near", "load_catalog", "load_codes", "parse_catalog",
           "compile_regex", "read_code_table", "DEFAULT_MIN_SCORE", "MAX_DEPTH", "MAX_NODES",
           "MAX_BYTES", "DEFAULT_LABEL", "DEFAULT_TIMEOUT", "Kind"]
