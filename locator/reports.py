"""What a run did, for people and for exports: the run report, the result, progress callbacks.

A module of its own so the writers of tables and workbooks need not import
the pipeline (and its engines and worker pools) to know the report's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from locator.errors import EngineError
    from locator.model import Hit, Word
    from locator.settings import Settings


class Progress(Protocol):
    """What the pipeline reports while it works (the CLI draws bars from it)."""

    def pages_started(self, total: int) -> None: ...
    def page_started(self, page: int, tiles: int) -> None: ...
    def tile_done(self, page: int, skipped: bool) -> None: ...
    def page_done(self, page: int) -> None: ...


class Silent:
    """A :class:`Progress` that shows nothing."""

    def pages_started(self, total: int) -> None: pass
    def page_started(self, page: int, tiles: int) -> None: pass
    def tile_done(self, page: int, skipped: bool) -> None: pass
    def page_done(self, page: int) -> None: pass


@dataclass
class RunReport:
    """What a run did: counts, time, what was never found, what went wrong.

    ``tiles_failed`` counts tiles that could not be read (each also a warning).
    """

    file: str
    pages: int = 0
    tiles: int = 0
    tiles_read: int = 0
    tiles_skipped: int = 0
    tiles_failed: int = 0
    pages_cached: int = 0
    words: int = 0
    hits: int = 0
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    engines: dict[str, str] = field(default_factory=dict)
    settings: Settings | None = None
    # page -> where its words came from (run_many: "file:page" -> ...)
    sources: dict = field(default_factory=dict)

    #: The counters :meth:`add` sums over files.
    COUNTS = ("pages", "tiles", "tiles_read", "tiles_skipped", "tiles_failed",
              "pages_cached", "words")

    def __post_init__(self) -> None:
        from locator.model import printable

        self.file = printable(self.file)  # shown and written: a name's odd bytes escaped

    def failure(self) -> EngineError | None:
        """An :class:`~locator.errors.EngineError` when the run read nothing
        because every tile it tried failed (no text layer, no cached page
        either); else None. The command line exits with it (7)."""
        from locator.errors import EngineError
        from locator.model import RunWarning

        if not self.tiles_failed or self.tiles_read or self.words:
            return None
        first = next((w.message for w in self.warnings
                      if isinstance(w, RunWarning) and w.tile), "")
        return EngineError(f"{self.file}: nothing was read: all {self.tiles_failed} tile(s) "
                           f"failed" + (f"; the first: {first}" if first else ""))

    def add(self, other: RunReport) -> None:
        """Count ``other`` (one file's report) into this one (several files')."""
        from locator.model import in_file

        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.engines.update(other.engines)
        self.warnings += [in_file(w, other.file) for w in other.warnings]
        self.sources.update({f"{other.file}:{p}": d for p, d in other.sources.items()})


@dataclass
class RunResult:
    """Hits and words of a run (page points, unrotated space) and its report."""

    hits: list[Hit]
    words: list[Word]
    report: RunReport
