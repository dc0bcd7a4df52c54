"""A person's path through the pages in headless Chromium (Debian's chromium and
chromium-driver through Selenium) against a live server, with a screenshot of each page in
artifacts/screenshots/. In CI (CI=true) a missing browser fails; elsewhere it skips."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.bulwark.reports.fleet import PASSWORD, Fleet, build
from tests.require import require

pytestmark = pytest.mark.slow  # make test-fast leaves it out

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
FLAGS = [
    "--headless=new",
    "--no-sandbox",  # root in a container: Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
]


def _missing() -> str:
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        return f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian: chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs the selenium package (requirements-dev.txt)"
    return ""


@pytest.fixture
def browser() -> Iterator[Any]:
    reason = _missing()
    require(not reason, f"browser tests: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bulwark-chromium-")
    downloads = tempfile.mkdtemp(prefix="bulwark-downloads-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": downloads,
            "download.prompt_for_download": False,
            "plugins.always_open_pdf_externally": True,  # save PDFs, do not view them
        },
    )
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.downloads = Path(downloads)  # type: ignore[attr-defined]
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(10)  # a click that navigates returns before the next page is in
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(downloads, ignore_errors=True)


@pytest.fixture
def live_fleet(transactional_db: None) -> Fleet:
    return build()


def shot(driver: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_a_security_analyst_walks_through_the_pages(
    browser: Any, live_server: Any, live_fleet: Fleet
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver, base = browser, live_server.url
    find = driver.find_element

    driver.get(f"{base}/login/")
    shot(driver, "01-login")
    find(By.NAME, "username").send_keys("alice")
    find(By.NAME, "password").send_keys(PASSWORD)
    find(By.ID, "login-submit").click()
    assert find(By.ID, "total-hosts").text == "4"
    assert "vault" not in driver.page_source
    shot(driver, "02-dashboard")

    find(By.ID, "nav-hosts").click()
    find(By.NAME, "score_min").send_keys("80")
    find(By.NAME, "score_max").send_keys("85")
    Select(find(By.NAME, "group")).select_by_visible_text("web")
    find(By.ID, "filter-hosts").click()
    WebDriverWait(driver, 10).until(lambda d: "score_min=80" in d.current_url)
    names = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#hosts td:first-child a")]
    assert names == ["web-1"]
    shot(driver, "03-hosts-filtered")

    find(By.LINK_TEXT, "web-1").click()
    assert "83.33" in find(By.ID, "score-box").text
    shot(driver, "04-host")

    find(By.ID, "latest-audit").click()
    assert "83.33" in find(By.ID, "audit-score").text
    Select(find(By.ID, "filter-category")).select_by_visible_text("Account Management")
    Select(find(By.ID, "filter-status")).select_by_value("failed")
    find(By.ID, "filter-results").click()
    WebDriverWait(driver, 10).until(lambda d: "status=failed" in d.current_url)
    titles = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#results td a")]
    assert titles == ["Account Management check 011", "Account Management check 012"]
    shot(driver, "05-audit-filtered")

    find(By.LINK_TEXT, "Account Management check 011").click()
    assert find(By.ID, "result-status").text == "failed"
    assert "What ACC-011 looks at." in find(By.ID, "check-description").text
    shot(driver, "06-check-detail")

    driver.get(f"{base}/hosts/{live_fleet.hosts['web-1'].pk}/")
    find(By.ID, "host-pdf").click()
    pdf = _wait_for_download(driver.downloads)
    assert pdf.read_bytes().startswith(b"%PDF")

    driver.get(f"{base}/reports/")
    shot(driver, "07-reports")
    driver.get(f"{base}/hosts/{live_fleet.hosts['web-1'].pk}/")
    find(By.ID, "audit-now").click()  # a POST with the CSRF token of the page
    assert "Audit" in find(By.CSS_SELECTOR, ".messages").text
    shot(driver, "08-audit-now")


def _wait_for_download(folder: Path, timeout: float = 20.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob("*.pdf") if p.stat().st_size > 0]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no PDF downloaded into {folder}: {list(folder.iterdir())}")
