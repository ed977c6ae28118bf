"""Scan simulation: the vector drawing as an image-only, slightly dirty scan (grey or colour).

The page is rendered and degraded in horizontal strips so memory stays bounded
(an A0 at 300 dpi is 14043 x 9933 px); each strip is embedded as its own JPEG
on a page of the same size in points, so the ground truth applies unchanged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pymupdf
from PIL import Image, ImageFilter

from locator.geometry import Box, PageFrame
from locator.tiling import view_size_px

from .sheet import save_pdf, set_fixed_metadata


STRIP_ROWS = 512          # rows rendered and encoded at a time: bounded memory at A0/300 dpi
PAPER, INK_LEVEL = 236.0, 40.0


@dataclass(frozen=True)
class ScanStyle:
    """How the scan is degraded; tuned so an A2 at 200 dpi stays under ~3 MB."""

    blur_px_at_200: float = 0.6   # optics: a little softness
    noise_sigma: float = 3.5      # sensor noise, grey levels
    grain_sigma: float = 3.0      # paper grain (low-pass noise), grey levels
    tint_amp: float = 5.0         # uneven illumination, grey levels
    speckles_per_sq_inch: float = 0.4
    jpeg_quality: int = 75


def make_scan(vector_pdf: Path, out_pdf: Path, dpi: int, seed: int, keep_out: list[Box],
              style: ScanStyle = ScanStyle(), colour: bool = False, rotation: int = 0) -> None:
    """Render the drawing as an image-only 'scan' PDF of the same page size.

    Rendered in horizontal strips of STRIP_ROWS rows, each degraded and
    embedded as its own JPEG; one row of overlap hides hairline joins.
    Speckles avoid ``keep_out`` boxes (the codes): dirt is realistic, a code
    made illegible by it would make the truth unfair. ``colour``: an RGB scan
    (:func:`degrade_rgb`) instead of grey. ``rotation``: the drawing's /Rotate,
    which the scan's page gets too; the image is laid in the unrotated page
    space, so the truth (unrotated points) applies unchanged.
    """
    if colour:
        return _make_colour_scan(vector_pdf, out_pdf, dpi, seed, keep_out, style, rotation)
    src = pymupdf.open(vector_pdf)
    page = src[0]
    page.set_rotation(0)  # in memory only: render the unrotated space the truth is in
    w_pt, h_pt = page.rect.width, page.rect.height
    W, H = view_size_px(PageFrame(w_pt, h_pt), dpi)
    sx, sy = W / w_pt, H / h_pt
    speckles = plan_speckles(W, H, dpi, seed, keep_out, style)
    out = pymupdf.open()
    opage = out.new_page(width=w_pt, height=h_pt)
    pad = 4  # rows rendered beyond the strip so the blur is seamless
    for r0 in range(0, H, STRIP_ROWS):
        r1 = min(H, r0 + STRIP_ROWS + 1)
        ra, rb = max(0, r0 - pad), min(H, r1 + pad)
        grey = render_rows(page, ra, rb, W, sx, sy)
        img = degrade(grey, ra, W, H, dpi, seed, speckles, style)[r0 - ra:r1 - ra]
        buf = io.BytesIO()
        Image.fromarray(img, "L").save(buf, "JPEG", quality=style.jpeg_quality, optimize=True)
        opage.insert_image(pymupdf.Rect(0, r0 / sy, w_pt, r1 / sy), stream=buf.getvalue(),
                           keep_proportion=False)
    if rotation:
        opage.set_rotation(rotation)
    set_fixed_metadata(out, f"{vector_pdf.stem} scanned at {dpi} dpi")
    save_pdf(out, out_pdf)


def render_rows(page: pymupdf.Page, ra: int, rb: int, W: int, sx: float, sy: float) -> np.ndarray:
    """Rows [ra, rb) of the page rendered in grey at scale (sx, sy), exactly W wide."""
    clip = pymupdf.Rect(0, ra / sy, page.rect.width, rb / sy)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(sx, sy), clip=clip,
                          colorspace=pymupdf.csGRAY, alpha=False)
    arr = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]
    canvas = np.full((rb - ra, W), 255, np.uint8)
    # MuPDF rounds the clip to whole pixels; paste by its reported origin.
    dy, dx = pix.y - ra, pix.x
    ys0, xs0 = max(0, dy), max(0, dx)
    ys1, xs1 = min(rb - ra, dy + pix.height), min(W, dx + pix.width)
    canvas[ys0:ys1, xs0:xs1] = arr[ys0 - dy:ys1 - dy, xs0 - dx:xs1 - dx]
    return canvas


def plan_speckles(W: int, H: int, dpi: int, seed: int, keep_out: list[Box],
                  style: ScanStyle) -> np.ndarray:
    """(x, y, radius) of dust specks in page pixels, none on a code."""
    rng = np.random.default_rng([seed, dpi, 1])
    n = int(style.speckles_per_sq_inch * (W / dpi) * (H / dpi))
    pts = np.column_stack([rng.uniform(0, W, n), rng.uniform(0, H, n),
                           rng.uniform(0.6, 1.8, n) * dpi / 200])
    k = dpi / 72
    keep = [not any(b.grow(3).contains_point(x / k, y / k) for b in keep_out) for x, y, _ in pts]
    return pts[np.array(keep, bool)] if n else pts


def degrade(grey: np.ndarray, row0: int, W: int, H: int, dpi: int, seed: int,
            speckles: np.ndarray, style: ScanStyle) -> np.ndarray:
    """Blur, tint, noise and specks on rows starting at page row ``row0``.

    Everything depends on absolute page coordinates (or a per-row-block seed),
    so strips join without a visible seam and the result is deterministic.
    """
    img = Image.fromarray(grey, "L").filter(
        ImageFilter.GaussianBlur(style.blur_px_at_200 * dpi / 200))
    ink = 1.0 - np.asarray(img, np.float32) / 255.0
    rows = np.arange(row0, row0 + grey.shape[0], dtype=np.float32)[:, None] / H
    cols = np.arange(W, dtype=np.float32)[None, :] / W
    paper = (PAPER + style.tint_amp * np.sin(2 * np.pi * (0.7 * cols + 0.13))
             * np.cos(2 * np.pi * (0.5 * rows + 0.31)) - 3.0 * cols)
    rng = np.random.default_rng([seed, dpi, 2, row0])
    grain = rng.normal(0, 1, (grey.shape[0] // 4 + 2, W // 4 + 2)).astype(np.float32)
    grain = np.asarray(Image.fromarray(grain, "F").resize(
        (W, grey.shape[0]), Image.BILINEAR), np.float32)
    out = paper - (paper - INK_LEVEL) * ink + style.grain_sigma * grain
    out += rng.normal(0, style.noise_sigma, out.shape).astype(np.float32)
    _draw_speckles(out, row0, speckles)
    return np.clip(out, 0, 255).astype(np.uint8)


def _draw_speckles(out: np.ndarray, row0: int, speckles: np.ndarray) -> None:
    h, w = out.shape
    for x, y, r in speckles:
        y_local = y - row0
        if -r - 1 <= y_local <= h + r + 1:
            y0, y1 = int(max(0, y_local - r - 1)), int(min(h, y_local + r + 2))
            x0, x1 = int(max(0, x - r - 1)), int(min(w, x + r + 2))
            yy, xx = np.mgrid[y0:y1, x0:x1]
            mask = (yy - y_local) ** 2 + (xx - x) ** 2 <= r * r
            out[y0:y1, x0:x1][mask] = INK_LEVEL + 30


# --------------------------------------------------------------------------
# Colour scans (the P&ID sheets: cyan, green, red and yellow on white)
# --------------------------------------------------------------------------

#: Paper of a colour scan: a little warm, as white paper under a scanner lamp.
PAPER_RGB = (PAPER + 3.0, PAPER, PAPER - 6.0)


def _make_colour_scan(vector_pdf: Path, out_pdf: Path, dpi: int, seed: int,
                      keep_out: list[Box], style: ScanStyle, rotation: int) -> None:
    """:func:`make_scan` in RGB: the same strips, blur, tint, grain, noise and specks."""
    src = pymupdf.open(vector_pdf)
    page = src[0]
    page.set_rotation(0)  # in memory only: render the unrotated space the truth is in
    w_pt, h_pt = page.rect.width, page.rect.height
    W, H = view_size_px(PageFrame(w_pt, h_pt), dpi)
    sx, sy = W / w_pt, H / h_pt
    speckles = plan_speckles(W, H, dpi, seed, keep_out, style)
    out = pymupdf.open()
    opage = out.new_page(width=w_pt, height=h_pt)
    pad = 4
    for r0 in range(0, H, STRIP_ROWS):
        r1 = min(H, r0 + STRIP_ROWS + 1)
        ra, rb = max(0, r0 - pad), min(H, r1 + pad)
        rgb = render_rows_rgb(page, ra, rb, W, sx, sy)
        img = degrade_rgb(rgb, ra, W, H, dpi, seed, speckles, style)[r0 - ra:r1 - ra]
        buf = io.BytesIO()
        # No chroma subsampling: at 4:2:0 a 4 pt cyan tag's thin strokes lose half
        # their contrast in the red channel, and the truth would promise the unreadable.
        Image.fromarray(img, "RGB").save(buf, "JPEG", quality=style.jpeg_quality,
                                         optimize=True, subsampling=0)
        opage.insert_image(pymupdf.Rect(0, r0 / sy, w_pt, r1 / sy), stream=buf.getvalue(),
                           keep_proportion=False)
    if rotation:
        opage.set_rotation(rotation)
    set_fixed_metadata(out, f"{vector_pdf.stem} scanned in colour at {dpi} dpi")
    save_pdf(out, out_pdf)


def render_rows_rgb(page: pymupdf.Page, ra: int, rb: int, W: int, sx: float,
                    sy: float) -> np.ndarray:
    """Rows [ra, rb) in RGB (height x W x 3), placed as :func:`render_rows` places them."""
    clip = pymupdf.Rect(0, ra / sy, page.rect.width, rb / sy)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(sx, sy), clip=clip,
                          colorspace=pymupdf.csRGB, alpha=False)
    arr = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)
    arr = arr[:, :pix.width * 3].reshape(pix.height, pix.width, 3)
    canvas = np.full((rb - ra, W, 3), 255, np.uint8)
    dy, dx = pix.y - ra, pix.x
    ys0, xs0 = max(0, dy), max(0, dx)
    ys1, xs1 = min(rb - ra, dy + pix.height), min(W, dx + pix.width)
    canvas[ys0:ys1, xs0:xs1] = arr[ys0 - dy:ys1 - dy, xs0 - dx:xs1 - dx]
    return canvas


def degrade_rgb(rgb: np.ndarray, row0: int, W: int, H: int, dpi: int, seed: int,
                speckles: np.ndarray, style: ScanStyle) -> np.ndarray:
    """:func:`degrade` per channel: shared blur, tint and grain; sensor noise per channel.

    Ink absorbs per channel (cyan ink darkens red only), so colour survives;
    the grain is the paper's and the same in every channel.
    """
    img = Image.fromarray(rgb, "RGB").filter(
        ImageFilter.GaussianBlur(style.blur_px_at_200 * dpi / 200))
    ink = 1.0 - np.asarray(img, np.float32) / 255.0
    rows = np.arange(row0, row0 + rgb.shape[0], dtype=np.float32)[:, None] / H
    cols = np.arange(W, dtype=np.float32)[None, :] / W
    tint = (style.tint_amp * np.sin(2 * np.pi * (0.7 * cols + 0.13))
            * np.cos(2 * np.pi * (0.5 * rows + 0.31)) - 3.0 * cols)
    rng = np.random.default_rng([seed, dpi, 3, row0])
    grain = rng.normal(0, 1, (rgb.shape[0] // 4 + 2, W // 4 + 2)).astype(np.float32)
    grain = np.asarray(Image.fromarray(grain, "F").resize(
        (W, rgb.shape[0]), Image.BILINEAR), np.float32)
    out = np.empty(rgb.shape, np.float32)
    for c in range(3):
        paper = PAPER_RGB[c] + tint
        out[:, :, c] = paper - (paper - INK_LEVEL) * ink[:, :, c] + style.grain_sigma * grain
    out += rng.normal(0, style.noise_sigma, out.shape).astype(np.float32)
    for c in range(3):
        _draw_speckles(out[:, :, c], row0, speckles)
    return np.clip(out, 0, 255).astype(np.uint8)
