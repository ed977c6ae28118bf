"""The README's picture of the review page, taken in the real browser.

Starts ``locate serve`` on a fresh data folder, sends the committed scanned
sample (``samples/drawing-a2-scan200.pdf``) with its catalog at 200 dpi, waits
for the job, opens the page in Debian's headless chromium (through Playwright,
as the browser test does), marks one hit correct and one wrong, and saves the
whole sheet with its boxes as a small PNG (a 128-colour palette).

    python -m bench.serve_screenshot bench/serve-page.png
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from tests.servehelp import Server
from tests.test_serve_browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("output", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="serve-shot-") as tmp:
        srv = Server(Path(tmp) / "data", env={"LOCATOR_CACHE_DIR": f"{tmp}/cache"}).start()
        try:
            job = srv.submit([ROOT / "samples/drawing-a2-scan200.pdf"],
                             ROOT / "patterns/sample-a2.yaml", {"dpi": 200})
            status = srv.wait(job, timeout=600)
            assert status["state"] == "done", status
            with sync_playwright() as p:
                ctx = p.chromium.launch_persistent_context(
                    f"{tmp}/profile", executable_path=CHROMIUM, args=ARGS, headless=True,
                    viewport={"width": 1280, "height": 720})
                page = ctx.new_page()
                page.goto(srv.url + "/")
                page.fill("#token", srv.token)
                page.click("#login button")
                page.click(f'#jobs li[data-job="{job}"]')
                page.wait_for_selector("path.hit-box")
                page.locator("#hits li").nth(0).locator("button.ok").click()
                page.locator("#hits li").nth(1).locator("button.bad").click()
                page.wait_for_selector("#hits li.v-wrong")
                page.wait_for_timeout(1500)  # the tiles of the whole-sheet view arrive
                shot = Path(tmp) / "page.png"
                page.screenshot(path=str(shot))
                ctx.close()
        finally:
            srv.stop()
        Image.open(shot).convert("RGB").quantize(128).save(args.output, optimize=True)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
