"""Boxes and the one conversion from tile pixels to page points.

Every box outside an engine is a :class:`Box` in PDF points, origin at the top
left of the page's *unrotated* space: the space of PyMuPDF's
``page.get_text("words")`` and of annotations. A page carrying ``/Rotate`` is
rendered in its rotated *view*; :class:`PageFrame` maps between the two, and
:func:`lift` is the only function that turns tile pixels into page points.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

POINTS_PER_INCH = 72.0


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle ``(x0, y0, x1, y1)`` with ``x0 <= x1, y0 <= y1``.

    Outside engines the unit is PDF points in unrotated page space; engines use
    the same type for boxes in their image's pixels (documented where they do).
    """

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0),
                   max(self.x1, other.x1), max(self.y1, other.y1))

    def intersection_area(self, other: Box) -> float:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return w * h if w > 0 and h > 0 else 0.0

    def iou(self, other: Box) -> float:
        """Intersection over union, 0..1."""
        inter = self.intersection_area(other)
        if inter == 0.0:
            return 0.0
        return inter / (self.area + other.area - inter)

    def ios(self, other: Box) -> float:
        """Intersection over the smaller box's area, 0..1 (1 when one holds the other)."""
        inter = self.intersection_area(other)
        if inter == 0.0:
            return 0.0
        return inter / min(self.area, other.area)

    def grow(self, d: float) -> Box:
        return Box(self.x0 - d, self.y0 - d, self.x1 + d, self.y1 + d)

    def contains_point(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def distance(self, other: Box) -> float:
        """Shortest gap between the two boxes (0 when they touch or overlap)."""
        dx = max(0.0, max(self.x0, other.x0) - min(self.x1, other.x1))
        dy = max(0.0, max(self.y0, other.y0) - min(self.y1, other.y1))
        return (dx * dx + dy * dy) ** 0.5

    @staticmethod
    def union_all(boxes: list[Box]) -> Box:
        it = iter(boxes)
        out = next(it)
        for b in it:
            out = out.union(b)
        return out


@dataclass(frozen=True, slots=True)
class PageFrame:
    """How a page's rendered view relates to its unrotated space.

    ``width``/``height`` are the unrotated page size in points; ``rotation`` is
    the page's ``/Rotate`` (0, 90, 180, 270). The view is what a renderer shows:
    for 90 and 270 its width and height are swapped. The formulas equal
    PyMuPDF's ``page.rotation_matrix`` / ``page.derotation_matrix``.
    """

    width: float
    height: float
    rotation: int = 0

    def __post_init__(self) -> None:
        if self.rotation not in (0, 90, 180, 270):
            raise ValueError(f"rotation must be 0, 90, 180 or 270, not {self.rotation}")

    @property
    def view_size(self) -> tuple[float, float]:
        """(width, height) of the rendered view in points."""
        if self.rotation in (90, 270):
            return (self.height, self.width)
        return (self.width, self.height)

    def to_page(self, u: float, v: float) -> tuple[float, float]:
        """A view point (points) -> the unrotated page point."""
        r, w, h = self.rotation, self.width, self.height
        if r == 0:
            return (u, v)
        if r == 90:
            return (v, h - u)
        if r == 180:
            return (w - u, h - v)
        return (w - v, u)  # 270

    def to_view(self, x: float, y: float) -> tuple[float, float]:
        """An unrotated page point -> the view point (points)."""
        r, w, h = self.rotation, self.width, self.height
        if r == 0:
            return (x, y)
        if r == 90:
            return (h - y, x)
        if r == 180:
            return (w - x, h - y)
        return (y, w - x)  # 270

    def angle_to_page(self, view_angle: float) -> int:
        """A text direction read in the view (degrees counter-clockwise) -> the
        same direction in unrotated page space, the space of ``Word.angle``
        and of the text layer's lines (view 0 on a ``/Rotate 90`` page is 90)."""
        return int(round(view_angle + self.rotation)) % 360

    def angle_to_view(self, page_angle: float) -> int:
        """A text direction in unrotated page space -> the direction it has in the view."""
        return int(round(page_angle - self.rotation)) % 360

    def box_to_page(self, view_box: Box) -> Box:
        """A box in view points -> the same region in unrotated page points."""
        ax, ay = self.to_page(view_box.x0, view_box.y0)
        bx, by = self.to_page(view_box.x1, view_box.y1)
        return Box(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))

    def box_to_view(self, page_box: Box) -> Box:
        """A box in unrotated page points -> the same region in view points."""
        ax, ay = self.to_view(page_box.x0, page_box.y0)
        bx, by = self.to_view(page_box.x1, page_box.y1)
        return Box(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))


def px_to_pt(value_px: float, dpi: float) -> float:
    return value_px * POINTS_PER_INCH / dpi


def pt_to_px(value_pt: float, dpi: float) -> float:
    return value_pt * dpi / POINTS_PER_INCH


@dataclass(frozen=True, slots=True)
class Tile:
    """A region of one page to render and read.

    ``rect_px`` is ``(x0, y0, x1, y1)`` in whole pixels of the page's rendered
    view at ``dpi``; whole pixels make the render exact, so lifting is exact.
    ``page`` is 1-based, as everywhere. ``clip`` gives the same region in unrotated points.
    ``keep``: when not empty, the only parts of the tile to read (unrotated
    page points); the rest of the rendered tile is blanked before reading.
    ``images_only``: draw only the page's images (``keep`` are image regions;
    the page's line art and text over them are not drawn).
    """

    page: int
    rect_px: tuple[int, int, int, int]
    dpi: float
    frame: PageFrame
    row: int = 0
    col: int = 0
    keep: tuple[Box, ...] = ()
    images_only: bool = False

    @property
    def view_clip(self) -> Box:
        """The tile in view points (what a renderer's ``clip`` takes)."""
        x0, y0, x1, y1 = self.rect_px
        d = self.dpi
        return Box(px_to_pt(x0, d), px_to_pt(y0, d), px_to_pt(x1, d), px_to_pt(y1, d))

    @property
    def clip(self) -> Box:
        """The tile in unrotated page points."""
        return self.frame.box_to_page(self.view_clip)

    @property
    def size_px(self) -> tuple[int, int]:
        x0, y0, x1, y1 = self.rect_px
        return (x1 - x0, y1 - y0)


def to_tile_px(page_box: Box, tile: Tile) -> Box:
    """A box in unrotated page points -> the box in ``tile``'s image pixels
    (the inverse of :func:`lift`; not clipped to the tile)."""
    v = tile.frame.box_to_view(page_box)
    x0, y0 = tile.rect_px[0], tile.rect_px[1]
    d = tile.dpi
    return Box(pt_to_px(v.x0, d) - x0, pt_to_px(v.y0, d) - y0,
               pt_to_px(v.x1, d) - x0, pt_to_px(v.y1, d) - y0)


def lift(box_px: Box, tile: Tile) -> Box:
    """A box in ``tile``'s image pixels -> the box in unrotated page points."""
    x0, y0 = tile.rect_px[0], tile.rect_px[1]
    d = tile.dpi
    view = Box(px_to_pt(x0 + box_px.x0, d), px_to_pt(y0 + box_px.y0, d),
               px_to_pt(x0 + box_px.x1, d), px_to_pt(y0 + box_px.y1, d))
    return tile.frame.box_to_page(view)


def rotate_image_box_back(box: Box, angle: int, width: int, height: int) -> Box:
    """Map a box found in a rotated copy of an image back to the image's pixels.

    To read text that runs at ``angle`` degrees (counter-clockwise; 90 reads
    bottom-to-top) the pipeline turns the ``width x height`` image by
    ``-angle`` so the text stands upright (``numpy.rot90(img, k=-angle // 90)``),
    reads it, and maps each box back with this function.
    """
    a = angle % 360
    if a == 0:
        return box
    if a == 90:  # image turned clockwise: rotated (xr, yr) = (H - y, x)
        return Box(box.y0, height - box.x1, box.y1, height - box.x0)
    if a == 270:  # image turned counter-clockwise: rotated (xr, yr) = (y, W - x)
        return Box(width - box.y1, box.x0, width - box.y0, box.x1)
    if a == 180:
        return Box(width - box.x1, height - box.y1, width - box.x0, height - box.y0)
    raise ValueError(f"angle must be a multiple of 90, not {angle}")


class GridIndex:
    """Boxes in a grid of square cells, for finding the boxes that may overlap one.

    Each box is filed under every cell it touches, so two boxes that intersect
    share a cell; :meth:`near` returns the keys filed under the cells a box
    touches (a superset of the boxes it overlaps: test them). Cells as large
    as the typical box keep each box in few cells. Any one space (points,
    pixels); keys are the caller's (list positions, usually).

    >>> g = GridIndex(10.0)
    >>> g.add(0, Box(0, 0, 5, 5)); g.add(1, Box(50, 50, 55, 55))
    >>> g.near(Box(4, 4, 8, 8))
    [0]
    """

    __slots__ = ("cell", "cells")

    def __init__(self, cell: float = 64.0) -> None:
        if not cell > 0:
            raise ValueError(f"cell must be positive, not {cell}")
        self.cell = float(cell)
        self.cells: dict[tuple[int, int], list[int]] = {}

    def _keys(self, b: Box) -> list[tuple[int, int]]:
        c = self.cell
        return [(i, j) for i in range(int(b.x0 // c), int(b.x1 // c) + 1)
                for j in range(int(b.y0 // c), int(b.y1 // c) + 1)]

    def add(self, key: int, b: Box) -> None:
        """File ``key`` under the cells ``b`` touches (a key may be filed again)."""
        for cell in self._keys(b):
            self.cells.setdefault(cell, []).append(key)

    def near(self, b: Box) -> list[int]:
        """Keys filed under any cell ``b`` touches, ascending, each once."""
        return sorted({k for cell in self._keys(b) for k in self.cells.get(cell, ())})


def overlap_pairs(boxes: Sequence[Box], min_ios: float) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)``, ``i < j``, of boxes overlapping by at least
    ``min_ios`` of the smaller one (:meth:`Box.ios`), in ascending order."""
    if len(boxes) < 2:
        return []
    cell = max(1.0, max(max(b.width, b.height) for b in boxes))
    grid = GridIndex(cell)
    out: list[tuple[int, int]] = []
    for j, b in enumerate(boxes):
        out.extend((i, j) for i in grid.near(b) if boxes[i].ios(b) >= min_ios)
        grid.add(j, b)
    out.sort()
    return out


def connected_groups(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Items ``0 .. n-1`` grouped by the links ``pairs`` (union-find).

    Each group is ascending; groups are ordered by their first item, and an
    item without links is a group of one.

    >>> connected_groups(5, [(0, 3), (3, 4)])
    [[0, 3, 4], [1], [2]]
    """
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def overlap_groups(boxes: Sequence[Box], min_ios: float) -> list[list[int]]:
    """Boxes grouped where they overlap (transitively) by ``min_ios`` of the
    smaller box; indices, as :func:`connected_groups` orders them."""
    return connected_groups(len(boxes), overlap_pairs(boxes, min_ios))
