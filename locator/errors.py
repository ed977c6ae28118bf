"""Every error the library raises on purpose, each with its exit code.

The library raises these (``raise ... from e``); only ``cli.py`` turns them into
one line on stderr and ``sys.exit(exit_code)``. The codes are documented in the
README and never reused for another kind of failure. ``locate serve`` answers
with the HTTP status :data:`HTTP_STATUS_BY_EXIT_CODE` gives for the code: the
one table that says what an exit code means to a web client.
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


#: The HTTP status ``locate serve`` answers with for each exit code (a bad
#: request is the client's to fix, a missing engine is the server's). Unlisted
#: codes: 500. An upload over the server's limits is 413 (:data:`TOO_LARGE_STATUS`).
HTTP_STATUS_BY_EXIT_CODE: dict[int, int] = {
    UsageError.exit_code: 400,              # a bad setting or option value
    InputFileError.exit_code: 422,          # the document is damaged, empty, encrypted
    UnsupportedFormatError.exit_code: 415,  # neither a PDF nor an image
    CatalogError.exit_code: 422,            # the catalog does not validate
    MissingEngineError.exit_code: 503,      # the server lacks an engine or extra
    EngineError.exit_code: 502,             # the engine failed while reading
    ExportError.exit_code: 500,             # a result could not be written
    INTERNAL_ERROR_EXIT_CODE: 500,
}


class TooLargeError(UsageError):
    """An upload over the server's limits (size or count): a usage error (exit 2)
    that a web client is told apart from a bad value (413)."""


TOO_LARGE_STATUS = 413


def http_status(error: LocatorError) -> int:
    """The HTTP status for ``error``: 413 for an upload over the limits, else through
    its exit code (:data:`HTTP_STATUS_BY_EXIT_CODE`)."""
    if isinstance(error, TooLargeError):
        return TOO_LARGE_STATUS
    return HTTP_STATUS_BY_EXIT_CODE.get(error.exit_code, 500)
