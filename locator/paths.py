"""Painted paths as runs of vertices: the pure half of reading a page's outlines.

:meth:`locator.pdf.PdfFile.read_outlines` hands each drawing's items here
(MuPDF's ``get_drawings`` items: ``("l", p, q)``, ``("c", p, c1, c2, q)``,
``("re", rect, ...)``, ``("qu", quad)``; points with ``.x``/``.y``), and gets
back plain vertex lists. No PDF library is imported. Unrotated page points.
"""

from __future__ import annotations


def subpaths(items) -> list[tuple[list[tuple[float, float]], bool]]:
    """A drawing's items as connected runs of vertices, each with whether it
    curves. Lines and curves are chained by their end points in any order:
    generators (DEXPI's among them) draw a bubble's arcs and sides as separate
    pieces of one path. Rectangles and quads are runs of their own."""
    runs: list[tuple[list[tuple[float, float]], bool]] = []
    pieces: list[tuple[tuple[float, float], tuple[float, float], bool]] = []
    for it in items:
        op = it[0]
        if op == "re":
            r = it[1]
            runs.append(([(r.x0, r.y0), (r.x1, r.y0), (r.x1, r.y1), (r.x0, r.y1), (r.x0, r.y0)],
                         False))
        elif op == "qu":
            q = it[1]
            runs.append(([(p.x, p.y) for p in (q.ul, q.ur, q.lr, q.ll, q.ul)], False))
        elif op in ("l", "c"):
            pieces.append(((it[1].x, it[1].y), (it[-1].x, it[-1].y), op == "c"))
    return runs + chains(pieces)


def chains(pieces) -> list[tuple[list[tuple[float, float]], bool]]:
    """Pieces (start, end, curved) joined where an end meets a start or an end."""
    def key(p):
        return (round(p[0] * 20), round(p[1] * 20))  # 0.05 pt

    at: dict[tuple[int, int], list[int]] = {}
    for i, (a, b, _) in enumerate(pieces):
        at.setdefault(key(a), []).append(i)
        at.setdefault(key(b), []).append(i)
    used = [False] * len(pieces)
    out = []
    # a piece between two forks is a bar across the outline (a hexagon's bar
    # ends at its corners): a run of its own, so the ring closes without it
    for i, (a, b, curved) in enumerate(pieces):
        if not curved and len(at[key(a)]) >= 3 and len(at[key(b)]) >= 3:
            used[i] = True
            out.append(([a, b], False))
    for i, (a, b, curved) in enumerate(pieces):
        if used[i]:
            continue
        used[i] = True
        pts = [a, b]
        for grow_end in (True, False):
            while True:
                tip = pts[-1] if grow_end else pts[0]
                nxt = next((j for j in at.get(key(tip), ()) if not used[j]), None)
                if nxt is None:
                    break
                used[nxt] = True
                pa, pb, c = pieces[nxt]
                far = pb if key(pa) == key(tip) else pa
                curved = curved or c
                if grow_end:
                    pts.append(far)
                else:
                    pts.insert(0, far)
        out.append((pts, curved))
    return out
