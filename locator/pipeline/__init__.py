"""Orchestration: pages -> tiles -> OCR -> lifted words -> merged words -> hits.

The package is the only place that knows the order of the stages:

* :mod:`~locator.pipeline.plan` -- each page planned once (frame, DPI, where
  its words come from, its tiles), for both passes;
* :mod:`~locator.pipeline.tile` -- reading one tile (render, blank test, every
  engine in every direction, lifted to page points) and its time limit;
* :mod:`~locator.pipeline.executor` -- the one executor (this process, or
  worker processes with the hang watchdog) that tiles and batch pages run on;
* :mod:`~locator.pipeline.read` -- the OCR pass (through the cache, merged per
  page) and the symbol pass;
* :mod:`~locator.pipeline.runs` -- :func:`run`, :func:`run_many`, the run's
  end (:func:`finish`: matching and the report) and the DataFrame call.

Failures of one tile are recorded as warnings and the rest of the document
still comes back. Run reports live in :mod:`locator.reports`.
"""

from __future__ import annotations

from locator.pipeline.plan import (MAX_PAGE_PX, PagePlan, page_dpi, plan_pages, plan_sources,
                                   source_key, source_tiles, usable_frame)
from locator.pipeline.read import (load_engines, merge_symbol_hits, read_document,
                                   read_symbols, symbol_set)
from locator.pipeline.runs import (finish, locate_frame, match_words, read_passes, run,
                                   run_many)
from locator.pipeline.tile import (DENSE_TEXT_SHARE, TileOutcome, TileTimeout, best_direction,
                                   dense_text, process_tile, read_image, read_tile,
                                   symbols_in_tile)
from locator.reports import Progress, RunReport, RunResult

__all__ = ["Progress", "RunReport", "RunResult", "read_document", "read_tile",
           "read_symbols", "run", "run_many", "locate_frame", "finish", "read_passes", "symbol_set",
           "PagePlan", "plan_pages", "plan_sources", "source_tiles", "source_key",
           "usable_frame", "page_dpi", "load_engines", "match_words", "merge_symbol_hits",
           "dense_text", "DENSE_TEXT_SHARE", "read_image", "best_direction", "process_tile",
           "symbols_in_tile",
           "TileOutcome", "TileTimeout", "MAX_PAGE_PX"]
