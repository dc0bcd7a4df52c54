"""In headless Chromium: an operator accepts a failed check from its result page, sees the
host's score rise (the raw score stays), then revokes the exception and sees it fall back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bulwark.reports.fleet import PASSWORD, Fleet
from tests.bulwark.web.test_browser import browser, live_fleet, shot  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow  # make test-fast leaves it out


def test_an_operator_excepts_a_failed_check_and_revokes_it(
    browser: Any,  # noqa: F811
    live_server: Any,
    live_fleet: Fleet,  # noqa: F811
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver, base = browser, live_server.url
    find = driver.find_element
    host = live_fleet.hosts["web-1"]

    driver.get(f"{base}/login/")
    find(By.NAME, "username").send_keys("alice")
    find(By.NAME, "password").send_keys(PASSWORD)
    find(By.ID, "login-submit").click()
    # Signed in (the session cookie set) before the next page is asked for.
    WebDriverWait(driver, 30).until(lambda d: "/login/" not in d.current_url)
    driver.get(f"{base}/hosts/{host.pk}/")
    assert "83.33" in find(By.ID, "score-box").text
    find(By.ID, "latest-audit").click()
    Select(find(By.ID, "filter-status")).select_by_value("failed")
    find(By.ID, "filter-results").click()
    WebDriverWait(driver, 10).until(lambda d: "status=failed" in d.current_url)
    find(By.LINK_TEXT, "Account Management check 011").click()
    assert find(By.ID, "result-status").text == "failed"

    find(By.NAME, "justification").send_keys("legacy login kept for the payroll batch")
    find(By.NAME, "owner").send_keys("payroll-team")
    find(By.NAME, "reference").send_keys("SEC-123")
    find(By.ID, "create-exception").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "revoke-exception"))
    assert find(By.ID, "result-status").text == "excepted"
    assert "payroll batch" in find(By.ID, "exception-justification").text
    shot(driver, "20-result-excepted")

    driver.get(f"{base}/hosts/{host.pk}/")
    score = find(By.ID, "score-box").text
    assert "83.33" not in score.split("raw")[0] and "90.91" in score  # 10 / (10 + 1)
    assert "raw 83.33" in find(By.ID, "host-raw-score").text
    assert find(By.ID, "host-excepted").text == "1"
    shot(driver, "21-host-rescored")

    driver.back()
    find(By.ID, "revoke-exception").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "create-exception"))
    assert find(By.ID, "result-status").text == "failed"
    driver.get(f"{base}/hosts/{host.pk}/")
    assert "83.33" in find(By.ID, "score-box").text.split("raw")[0]
    assert find(By.ID, "host-excepted").text == "0"
