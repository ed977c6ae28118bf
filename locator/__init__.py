"""locator: find small text snippets in very large documents and say where each one is.

The library entry point is :func:`locate`, which returns a pandas DataFrame of
hits (one row per located snippet, boxes in PDF points, origin top left of the
unrotated page, pages 1-based). The other names here (catalogs, settings,
scoring, review, writing tables) are imported from their modules on first use,
so ``import locator`` stays light.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# Public name -> the module that owns it (imported when the name is first used).
# No name here may be a submodule's (``evaluate``): `import locator.evaluate as e` would get it.
_LAZY = {
    "load_catalog": "locator.catalog", "load_codes": "locator.catalog",
    "parse_catalog": "locator.catalog", "Catalog": "locator.catalog",
    "Settings": "locator.settings",
    "Hit": "locator.model", "Word": "locator.model", "RunWarning": "locator.model",
    "Box": "locator.geometry",
    "load_table": "locator.evaluate",
    "write_report": "locator.evaluate",
    "hits_frame": "locator.export.table", "write_table": "locator.export.files",
    "write_workbook": "locator.export.workbook", "read_review": "locator.export.review",
    "write_truth": "locator.export.review", "annotate_pdf": "locator.export.annotate",
    "LocatorError": "locator.errors", "UsageError": "locator.errors",
}

__all__ = ["locate", "__version__", *_LAZY]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'locator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def locate(path, catalog, **settings):
    """Find the catalog's snippets in the document at ``path``; return a DataFrame.

    ``path`` is a file, a folder, a glob, or a list of these (the ``file``
    column tells the documents apart). A setting of the wrong type
    (``dpi="high"``) or an unknown one is a :class:`locator.errors.UsageError`.

    ``catalog`` is a path to a YAML catalog or a loaded
    :class:`locator.catalog.Catalog`; ``settings`` are the fields of
    :class:`locator.settings.Settings` (``dpi``, ``tile``, ``overlap``,
    ``pages``, ``engine``, ...).
    """
    from locator.pipeline import locate_frame

    return locate_frame(path, catalog, **settings)
