"""The review page in a real browser: Playwright driving Debian's chromium.

No browser is downloaded: Playwright launches ``/usr/bin/chromium`` (``make
test`` installs it through scripts/install-system.sh). The committed scanned
sample is uploaded with its catalog through the page and read by the real
pipeline; the test sees the boxes, zooms to a hit, marks one wrong, one
correct and one missed, downloads the CSV and the truth table and checks
them. A second, tiny job dropped onto the page (a drag-and-drop event) has a
catalog id and a file name that are HTML/script: they must show as text.
Set ``LOCATOR_SERVE_SCREENSHOT=path.png`` to keep the page's screenshot.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from playwright.sync_api import sync_playwright

from tests.conftest import draw_codes
from tests.servehelp import Server

ROOT = Path(__file__).resolve().parents[1]
#: Debian's chromium (scripts/install-system.sh --browser; `make test` installs it).
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE_ID = '<img src=x onerror="window.pwned=1">'
HOSTILE_FILE = "<img src=x onerror=window.pwned=2>.pdf"  # (a browser sends a quote as %22)

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    srv = Server(root / "data", workers=2,
                 env={"LOCATOR_CACHE_DIR": str(root / "unused-cache")}).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's chromium, headless, with a profile of its own (no download, no network)."""
    assert Path(CHROMIUM).exists(), ("Debian's chromium is missing: run "
                                     "scripts/install-system.sh --browser (make test does)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, headless=True,
            accept_downloads=True, viewport={"width": 1280, "height": 800})
        yield ctx
        ctx.close()


def sign_in(page, server) -> None:
    # One profile for the module: each test signs in anew. The stored token is
    # cleared on a page of the same origin that runs no script (the review
    # page's own sign-in could store it again after the clear).
    page.goto(server.url + "/healthz")
    page.evaluate("localStorage.clear()")
    page.context.clear_cookies()
    page.goto(server.url + "/")
    page.fill("#token", server.token)
    page.click("#login button")
    page.wait_for_selector("#app:not([hidden])")


def test_upload_review_and_download(server, browser, tmp_path):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, server)
    page.set_input_files("#documents", str(ROOT / "samples/drawing-a2-scan200.pdf"))
    page.set_input_files("#catalog", str(ROOT / "patterns/sample-a2.yaml"))
    page.fill("#dpi", "200")
    page.click("#send")
    page.wait_for_selector('#jobs li[data-state="done"]', timeout=240_000)
    page.wait_for_selector("path.hit-box", timeout=30_000)
    boxes = page.locator("path.hit-box").count()
    api_hits = page.evaluate("state.hits.length")
    assert boxes > 20 and boxes == api_hits  # every hit of the one page drawn

    zoom0 = page.evaluate("state.map.getZoom()")
    first = page.locator("#hits li").nth(0)
    first.locator(".code").click()
    page.wait_for_function(f"state.map.getZoom() > {zoom0 + 2}")
    assert page.locator("#hits li.selected").count() == 1
    page.wait_for_timeout(800)  # the tiles of the new zoom arrive
    assert page.evaluate("document.querySelectorAll('.leaflet-tile-loaded').length") > 0

    wrong = page.locator("#hits li").nth(1)
    wrong_id = wrong.get_attribute("data-hit")
    wrong.locator("button.bad").click()
    page.wait_for_selector(f'#hits li[data-hit="{wrong_id}"].v-wrong')
    first.locator("button.ok").click()
    page.wait_for_selector("#hits li.v-correct")

    page.click("#add-missed")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 30, cy - 10)
    page.mouse.down()
    page.mouse.move(cx + 30, cy + 10, steps=5)
    page.mouse.up()
    page.fill("#missed-code", "XV-0001")
    page.click("#missed-form button[type=submit]")
    page.wait_for_selector("#missed li")
    page.wait_for_selector("#drift tbody tr")

    with page.expect_download() as dl:
        page.click("#downloads a:text('CSV')")
    csv = pd.read_csv(dl.value.path())
    catalog = {p["id"] for p in yaml.safe_load((ROOT / "patterns/sample-a2.yaml").read_text())
               ["patterns"]} | {"part-number"}
    assert len(csv) == api_hits and set(csv["pattern_id"]) <= catalog
    assert set(csv["file"]) == {"drawing-a2-scan200.pdf"}
    with page.expect_download() as dl:
        page.click("#downloads a:text('Truth')")
    truth_path = tmp_path / "truth.csv"
    dl.value.save_as(truth_path)
    from locator.tables import load_table

    truth = load_table(truth_path, role="truth")  # what `locate eval --truth` reads
    right = page.evaluate("state.hits[Number(document.querySelector('#hits li.v-correct')"
                          ".dataset.hit)].pattern_id")
    wrong_code = page.evaluate(f"state.hits[{wrong_id}].pattern_id")
    assert sorted(truth["matched"]) == sorted([right, "XV-0001"])
    assert wrong_code not in set(truth["matched"]) or wrong_code == right
    x0, x1 = truth.loc[truth["matched"] == "XV-0001", ["x0", "x1"]].iloc[0]
    assert x1 - x0 > 5  # the drawn box, in page points

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get("LOCATOR_SERVE_SCREENSHOT"):
        shutil.copy(shot, os.environ["LOCATOR_SERVE_SCREENSHOT"])
    assert not errors, errors


def test_dropped_files_with_html_names_show_as_text(server, browser, tmp_path):
    pdf = tmp_path / "tiny.pdf"
    draw_codes(pdf, [("FIC-101", 60, 80, 8, 0)])
    cat = yaml.safe_dump({"patterns": [{"id": HOSTILE_ID, "text": "FIC-101",
                                        "label": "<b>x</b>"}]})
    page = browser.new_page()
    sign_in(page, server)
    # a real drop event, with files made in the page (what dragging from a desktop does)
    page.evaluate("""([pdf, pdfName, cat]) => {
        const dt = new DataTransfer();
        const bytes = Uint8Array.from(atob(pdf), c => c.charCodeAt(0));
        dt.items.add(new File([bytes], pdfName, {type: "application/pdf"}));
        dt.items.add(new File([cat], "hostile.yaml", {type: "text/yaml"}));
        document.getElementById("drop").dispatchEvent(
            new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", [base64.b64encode(pdf.read_bytes()).decode(), HOSTILE_FILE, cat])
    assert HOSTILE_FILE in page.inner_text("#chosen")
    page.click("#send")
    page.wait_for_selector("#hits li", timeout=120_000)
    assert HOSTILE_ID in page.inner_text("#hits")
    assert HOSTILE_FILE in page.inner_text("#jobs")
    page.locator("path.hit-box").first.hover()
    page.wait_for_selector(".leaflet-tooltip")
    assert HOSTILE_ID in page.inner_text(".leaflet-tooltip")
    assert page.evaluate("window.pwned") is None
    assert page.locator("#hits img, #jobs script, .leaflet-tooltip img").count() == 0
