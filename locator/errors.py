"""Every error the library raises on purpose, each with its exit code.

The library raises these (``raise ... from e``); only ``cli.py`` turns them into
one line on stderr and ``sys.exit(exit_code)``. The codes are documented in the
README and never reused for another kind of failure.
"""

from __future__ import annotations


class LocatorError(Exception):
    """Base of all expected failures. ``exit_code`` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        from locator.model import printable  # a file name that is not UTF-8, escaped

        message = printable(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(LocatorError):
    """A bad option value: a ``--pages`` range, a tile smaller than its overlap."""

    exit_code = 2


class InputFileError(LocatorError):
    """The document is missing, unreadable, empty or corrupt."""

    exit_code = 3


class UnsupportedFormatError(InputFileError):
    """The file is neither a PDF nor an image the tool can read."""

    exit_code = 4


class CatalogError(LocatorError):
    """The pattern catalog is invalid: YAML syntax, schema, regex, duplicates, empty."""

    exit_code = 5


class MissingEngineError(LocatorError):
    """An OCR engine's binary or Python extra is not installed."""

    exit_code = 6


class EngineError(LocatorError):
    """An OCR engine failed while reading."""

    exit_code = 7


class ExportError(LocatorError):
    """The output file could not be written."""

    exit_code = 8


INTERRUPTED_EXIT_CODE = 130
INTERNAL_ERROR_EXIT_CODE = 1
