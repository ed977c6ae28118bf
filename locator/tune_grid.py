"""The settings grid of ``locate tune``: one :class:`Config` per row, parsed from the options,
and the whole-page baselines it is compared with.

A tiled configuration reads the page as ``locate`` does; a whole-page baseline
sends the page image to the engine as it is (no tiling, cleaning or text
regions), the naive reading the tiled rows are measured against.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from locator.errors import UsageError

__all__ = ["Config", "parse_numbers", "parse_engines", "parse_sets", "make_grid",
           "whole_page_tile", "baseline_configs", "TILED", "WHOLE", "WHOLE_ROT", "NAIVE",
           "DEFAULT_TILES", "DEFAULT_OVERLAPS", "DEFAULT_DPIS", "DEFAULT_ENGINES",
           "DEFAULT_ROTATIONS"]

#: The default grid: small enough to run on an A0 sheet in minutes per row.
DEFAULT_TILES = (1200, 1600, 2400)
DEFAULT_OVERLAPS = (200,)
DEFAULT_DPIS = (300.0,)
DEFAULT_ENGINES = ("tesseract",)
DEFAULT_ROTATIONS = (0, 90, 270)

TILED = "tiled"
WHOLE = "whole page"
WHOLE_ROT = "whole page + rotations"
#: What makes a whole-page baseline naive: the page image goes to the engine as it is.
NAIVE = {"text_regions": False, "clean": False, "rotated_regions": False}


@dataclass(frozen=True, slots=True)
class Config:
    """One point of the grid. ``tile`` and ``overlap`` are pixels at ``dpi``;
    ``engine`` is one engine or a combination read together (``("tesseract",
    "easyocr")``); ``kind`` is :data:`TILED`, :data:`WHOLE` or :data:`WHOLE_ROT`;
    ``rotated_regions`` False reads whole tiles turned (``--thorough-rotations``);
    ``extra`` holds further :class:`~locator.settings.Settings` fields as
    sorted ``(name, value)`` pairs. The whole-page kinds read naively
    (:data:`NAIVE`)."""

    dpi: float
    tile: int
    overlap: int
    engine: tuple[str, ...]
    rotations: tuple[int, ...]
    kind: str = TILED
    rotated_regions: bool = True
    extra: tuple[tuple[str, object], ...] = ()

    @property
    def name(self) -> str:
        eng = "+".join(self.engine)
        rot = ",".join(map(str, self.rotations))
        if self.kind == TILED and not self.rotated_regions and set(self.rotations) & {90, 270}:
            rot += " thorough"
        more = "".join(f" / {k}={v}" for k, v in self.extra)
        if self.kind == TILED:
            return (f"tile {self.tile} / overlap {self.overlap} / {self.dpi:g} dpi / {eng}"
                    f" / rot {rot}{more}")
        return f"{self.kind} (no tiling, naive) / {self.dpi:g} dpi / {eng} / rot {rot}{more}"

    def options(self) -> str:
        """The ``locate`` options that reproduce this configuration (settings the
        command line has no option for are named after them, for the library)."""
        cli = (f"--dpi {self.dpi:g} --tile {self.tile} --overlap {self.overlap} "
               f"--engine {','.join(self.engine)} --rotations {','.join(map(str, self.rotations))}")
        kw = self.settings_kwargs()
        if not kw["rotated_regions"]:
            cli += " --thorough-rotations"
        lib = {k: v for k, v in kw.items()
               if k in {*NAIVE, *dict(self.extra)} - {"rotated_regions"}}
        if lib:
            cli += "  (and Settings: " + ", ".join(f"{k}={v!r}" for k, v in sorted(lib.items())) + ")"
        return cli

    def settings_kwargs(self) -> dict:
        kw = {"dpi": self.dpi, "tile": self.tile, "overlap": self.overlap,
              "engine": list(self.engine), "rotations": list(self.rotations),
              "rotated_regions": self.rotated_regions, **dict(self.extra)}
        if self.kind != TILED:
            kw.update(NAIVE)
        return kw


# ------------------------------------------------------------------ the grid

def parse_numbers(spec: str | Sequence, option: str, cast: Callable = int) -> tuple:
    """``"1200,1600"`` -> ``(1200, 1600)`` (sorted, unique); a UsageError names ``option``."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        s = str(item).strip()
        if not s:
            continue
        try:
            v = cast(float(s)) if cast is int and float(s).is_integer() else cast(s)
        except ValueError:
            raise UsageError(f"{option} {spec!r}: {s!r} is not a number") from None
        if v not in out:
            out.append(v)
    if not out:
        raise UsageError(f"{option}: give at least one value")
    return tuple(sorted(out))


def parse_engines(spec: str | Sequence) -> tuple[tuple[str, ...], ...]:
    """``"tesseract,easyocr"`` -> two grid points; ``"tesseract+easyocr"`` -> one
    point reading with both. Names are validated against the registry."""
    from locator.engines import parse_engine_list

    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        if not str(item).strip():
            continue
        combo = parse_engine_list(str(item).replace("+", ","))
        if combo not in out:
            out.append(combo)
    if not out:
        raise UsageError("--engines: name at least one engine")
    return tuple(out)


def parse_sets(items: Sequence[str]) -> dict:
    """``["glyph_px=40", "clean=false"]`` -> ``{"glyph_px": 40.0, "clean": False}``:
    further Settings fields fixed for every row, typed by the field's default
    and validated (a UsageError names a bad one)."""
    from dataclasses import fields

    from locator.settings import Settings

    grid_owned = {"dpi", "tile", "overlap", "engine", "rotations", "rotated_regions",
                  "pages", "password", "workers", "cache", "cache_dir"}
    types = {f.name: type(f.default) for f in fields(Settings)}
    out: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep:
            raise UsageError(f"--set {item!r}: give NAME=VALUE, e.g. glyph_px=40")
        if key in grid_owned:
            raise UsageError(f"--set {key}: has its own option (--tiles, --dpis, ...) "
                             f"or is not a reading setting")
        if key not in types:
            known = ", ".join(sorted(set(types) - grid_owned))
            raise UsageError(f"--set {key}: unknown setting; known: {known}")
        raw = raw.strip()
        kind = types[key]
        try:
            if kind is bool:
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError(raw)
                value: object = raw.lower() in ("true", "1", "yes", "on")
            elif kind in (int, float):
                value = int(float(raw)) if kind is int else float(raw)
            else:
                value = raw
        except ValueError:
            raise UsageError(f"--set {key}={raw}: not a {kind.__name__}") from None
        out[key] = value
    if out:
        Settings.build(**out)  # the Settings' own checks
    return out


def make_grid(*, tiles: Sequence[int] = DEFAULT_TILES, overlaps: Sequence[int] = DEFAULT_OVERLAPS,
              dpis: Sequence[float] = DEFAULT_DPIS,
              engines: Sequence[tuple[str, ...]] = (DEFAULT_ENGINES,),
              rotations: tuple[int, ...] = DEFAULT_ROTATIONS,
              rotated_regions: bool = True, extra: dict | None = None) -> list[Config]:
    """Every (engine, dpi, tile, overlap) combination, as tiled configurations.

    Combinations the pipeline would reject (overlap >= tile) are left out; a
    grid with nothing left is a :class:`UsageError`.
    """
    from locator.settings import Settings

    out = []
    for eng in engines:
        for dpi in dpis:
            for tile in tiles:
                for ov in overlaps:
                    if ov >= tile:
                        continue
                    cfg = Config(dpi=float(dpi), tile=int(tile), overlap=int(ov),
                                 engine=tuple(eng), rotations=tuple(rotations),
                                 rotated_regions=rotated_regions,
                                 extra=tuple(sorted((extra or {}).items())))
                    Settings.build(**cfg.settings_kwargs())  # validates the values
                    out.append(cfg)
    if not out:
        raise UsageError("the grid is empty: every --overlaps value is >= every --tiles value")
    return out


def whole_page_tile(doc: str | os.PathLike, dpi: float, *, pages: str | None = None,
                    password: str | None = None) -> int:
    """A tile size (px) that holds every chosen page whole at ``dpi`` (images: at
    their own resolution): the longest rendered side, so the grid is one tile."""
    from locator.documents import Document, parse_pages
    from locator.tiling import view_size_px

    longest = 64
    with Document(doc, password=password) as d:
        for page in parse_pages(pages, d.page_count):
            w, h = view_size_px(d.frame(page), d.native_dpi(page) or dpi)
            longest = max(longest, w, h)
    return longest


def baseline_configs(doc: str | os.PathLike, grid: Sequence[Config], *, mode: str = "upright",
                     pages: str | None = None, password: str | None = None) -> list[Config]:
    """Whole-page baselines, one per (engine, dpi) of ``grid``.

    ``mode``: ``"upright"`` (rotations 0 only: the naive whole-page OCR),
    ``"rotations"`` (the whole page read in the grid's directions), ``"both"``
    or ``"none"``.
    """
    if mode not in ("upright", "rotations", "both", "none"):
        raise UsageError(f"--baseline {mode!r}: use upright, rotations, both or none")
    out: list[Config] = []
    if mode == "none":
        return out
    seen = set()
    for cfg in grid:
        key = (cfg.engine, cfg.dpi, cfg.rotations, cfg.extra)
        if key in seen:
            continue
        seen.add(key)
        tile = whole_page_tile(doc, cfg.dpi, pages=pages, password=password)
        if mode in ("upright", "both"):
            c = Config(dpi=cfg.dpi, tile=tile, overlap=0, engine=cfg.engine, rotations=(0,),
                       kind=WHOLE, extra=cfg.extra)
            if c not in out:
                out.append(c)
        if mode in ("rotations", "both") and cfg.rotations != (0,):
            c = Config(dpi=cfg.dpi, tile=tile, overlap=0, engine=cfg.engine,
                       rotations=cfg.rotations, kind=WHOLE_ROT, extra=cfg.extra)
            if c not in out:
                out.append(c)
    return out
