"""In the embedded default, "Audit now" in Chromium comes back at once with the audit queued,
the progress region follows it without a reload, and the finished audit's results appear."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from bulwark.audits import services
from bulwark.celery_app import app
from bulwark.inventory.models import Group, Host, Membership, Role
from bulwark.policies.services import sync_rulesets
from tests.bulwark.web.test_browser import browser, shot  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.slow  # make test-fast leaves it out

PASSWORD = "pw-for-the-live-test"


@pytest.fixture
def threaded(settings: Any) -> Any:
    settings.EMBEDDED_TASKS = "thread"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


def test_audit_now_shows_live_progress_then_the_results(
    browser: Any,  # noqa: F811
    live_server: Any,
    transactional_db: None,
    threaded: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sync_rulesets()
    group = Group.objects.create(name="office")
    host = Host.objects.create(
        name="this-machine", address="localhost", transport=Host.TransportKind.LOCAL, group=group
    )
    user = get_user_model().objects.create_user("olga", password=PASSWORD)
    Membership.objects.create(user=user, group=group, role=Role.OPERATOR)
    gate = threading.Event()  # the audit waits in the pool until the test has seen it queued
    real = services.run_audit
    monkeypatch.setattr(services, "run_audit", lambda pk: gate.wait(120) and real(pk))

    driver, find = browser, browser.find_element
    driver.get(f"{live_server.url}/login/")
    find(By.NAME, "username").send_keys("olga")
    find(By.NAME, "password").send_keys(PASSWORD)
    find(By.ID, "login-submit").click()
    # Signed in (the session cookie set) before the next page is asked for.
    WebDriverWait(driver, 30).until(lambda d: "/login/" not in d.current_url)
    driver.get(f"{live_server.url}/hosts/{host.pk}/")
    find(By.ID, "audit-now").click()
    # Back on the host page while the audit has not even started: the page did not wait.
    assert "is queued" in find(By.CSS_SELECTOR, ".messages").text
    assert "this-machine · queued" in find(By.ID, "progress").text
    shot(driver, "live-01-audit-queued")
    gate.set()
    WebDriverWait(driver, 120, 0.5, (StaleElementReferenceException,)).until(
        lambda d: (
            "running" in d.find_element(By.ID, "progress").text
            or "No audit is queued" in d.find_element(By.ID, "progress").text
        )
    )
    # (a reload in between makes an element stale: the wait looks again)
    # When it ends the page reloads itself: the audit is listed as done with its score.
    WebDriverWait(driver, 180, 0.5, (StaleElementReferenceException,)).until(
        lambda d: (
            "No audit is queued" in d.find_element(By.ID, "progress").text
            and "done" in d.find_element(By.ID, "audits").text
        )
    )
    assert find(By.ID, "latest-audit")
    shot(driver, "live-02-audit-done")
    driver.set_window_size(390, 900)
    shot(driver, "live-02-audit-done-390")
