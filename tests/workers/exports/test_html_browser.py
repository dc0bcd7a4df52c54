"""The HTML export opened from a file in headless Chromium (no network, no server): it renders,
its filters work under its own Content-Security-Policy, and a screenshot goes to
artifacts/screenshots/. In CI (CI=true) a missing browser fails; elsewhere it skips."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workers.exports import htmlpage
from workers.exports.model import Run

pytestmark = pytest.mark.slow  # make test-fast leaves it out

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        reason = f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian: chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bulwark-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_the_html_export_filters_offline_in_chromium(
    browser: Any, mixed_run: Run, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = tmp_path / "export.html"
    page.write_bytes(htmlpage.render(mixed_run))
    browser.get(page.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.result")
    total = sum(len(h.results) for h in mixed_run.hosts)
    assert len(rows) == total
    assert browser.find_element(By.ID, "f-count").text == f"{total} shown"  # the script ran

    Select(browser.find_element(By.ID, "f-status")).select_by_value("failed")
    failed = sum(r.status == "failed" for _, r in mixed_run.results())
    assert browser.find_element(By.ID, "f-count").text == f"{failed} shown"
    visible = [r for r in rows if r.is_displayed()]
    assert len(visible) == failed and all(
        r.get_attribute("data-status") == "failed" for r in visible
    )

    Select(browser.find_element(By.ID, "f-host")).select_by_value("evil<b>host</b>")
    assert browser.find_element(By.ID, "f-count").text == "1 shown"
    # No CSP violation and no script error: the page needs nothing it does not carry.
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    Select(browser.find_element(By.ID, "f-host")).select_by_value("this-machine")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "export-html.png"))
