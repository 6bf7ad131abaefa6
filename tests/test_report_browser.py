"""report.html in a real browser: headless Chromium (Debian's, installed by .ci/run) via Selenium.

Every image must load, the page must log no errors, and a screenshot is kept in
results/browser-test/report.png for a person to look at. Without Chromium on the machine the test
is skipped, unless SIMCJ_REQUIRE_BROWSER=1 (as .ci/run sets), when that is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .conftest import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOT = ROOT / "results" / "browser-test" / "report.png"


def _browser():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("SIMCJ_REQUIRE_BROWSER") == "1":
            pytest.fail(f"Chromium or ChromeDriver not found ({CHROMIUM}, {CHROMEDRIVER}); .ci/run installs Debian's chromium and chromium-driver")
        pytest.skip("Chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,1600"):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def test_report_opens_in_chromium_with_every_image_and_no_errors(comparison):
    out, _ = comparison
    driver = _browser()
    try:
        driver.get((out / "report.html").resolve().as_uri())
        assert driver.title.startswith("simcj")
        images = driver.execute_script("return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth]);")
        assert len(images) >= 7
        broken = [alt for alt, complete, width in images if not complete or width == 0]
        assert not broken, f"images that did not load: {broken}"
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors
        headings = driver.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);")
        assert headings[0] == "Headlines" and "Manifest" in headings
        height = driver.execute_script("return document.body.scrollHeight;")
        driver.set_window_size(1200, min(int(height), 12000))
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(SCREENSHOT))
        assert SCREENSHOT.stat().st_size > 10_000
    finally:
        driver.quit()
