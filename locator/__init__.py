"""locator: find small text snippets in very large documents and say where each one is.

The library entry point is :func:`locate`, which returns a pandas DataFrame of
hits (one row per located snippet, boxes in PDF points, origin top left of the
unrotated page, pages 1-based). Heavy modules are imported only when needed.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["locate", "__version__"]


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
