"""The acceptance walk in Chromium, as a new group admin, in the embedded default (tasks in the
background pool, the in-process scheduler): set the thresholds of the group a superuser gave
(only superusers add groups), add a credential and an SSH test host, test the connection and
pin the key it shows, assign a policy with Level 1, audit now (the page returns at once,
progress updates, results appear), create a schedule and see it fire, acknowledge an alert,
create an exception from a failed result and revoke it with the keyboard alone (focus visible),
set Japanese and download a Japanese PDF report. Screenshots of each step at 1400 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from bulwark import embedded
from bulwark.audits.models import AlertEvent, Audit, Result, Schedule
from bulwark.audits.risks import RiskException
from bulwark.audits.targets import Assignment
from bulwark.celery_app import app
from bulwark.inventory.models import Group, Host, Membership, Role
from bulwark.policies.services import sync_rulesets
from lab.harness import HostSpec, TestHost, TestHosts
from tests.bulwark.web.test_browser import _wait_for_download, browser, shot  # noqa: F401

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)
PASSWORD = "pw-for-the-walk-0123"


@pytest.fixture(scope="module")
def target(test_hosts: TestHosts) -> Iterator[TestHost]:
    started = test_hosts.start(HostSpec("walk-target"))
    yield started
    started.stop()


@pytest.fixture
def threaded(settings: Any) -> Iterator[None]:
    settings.EMBEDDED_TASKS = "thread"
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


def both(driver: Any, name: str) -> None:
    """A screenshot at 1400 px and one at 390 px (a phone), then back to 1400."""
    shot(driver, f"walk-{name}-1400")
    driver.set_window_size(390, 900)
    shot(driver, f"walk-{name}-390")
    driver.set_window_size(1400, 1000)


def in_view(driver: Any, element_id: str) -> bool:
    """Whether the element lies wholly inside the window, as shown without scrolling."""
    return bool(
        driver.execute_script(
            "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
            "return r.top >= 0 && r.bottom <= window.innerHeight;",
            element_id,
        )
    )


def tab_until(driver: Any, element_id: str, limit: int = 60) -> list[str]:
    """Press Tab until the element with this id has the focus; what got the focus on the way
    (id, or the class of the skip link). Fails when it is never reached."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    reached: list[str] = []
    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        active = driver.switch_to.active_element
        reached.append(active.get_attribute("id") or active.get_attribute("class") or "?")
        if reached[-1] == element_id:
            return reached
    raise AssertionError(f"Tab never reached #{element_id}: {reached}")


def focus_ring(driver: Any) -> bool:
    """Whether the focused element shows an outline of at least 2 px."""
    style, width = driver.execute_script(
        "const s = getComputedStyle(document.activeElement);"
        "return [s.outlineStyle, parseFloat(s.outlineWidth)];"
    )
    return bool(style != "none" and width >= 2)


def test_a_group_admin_runs_the_product_from_its_pages(
    browser: Any,  # noqa: F811
    live_server: Any,
    transactional_db: None,
    threaded: None,
    target: TestHost,
    tmp_path: Path,
) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    sync_rulesets()
    group = Group.objects.create(name="tokyo")  # groups are made by superusers
    admin = get_user_model().objects.create_user("hana", password=PASSWORD)
    Membership.objects.create(user=admin, group=group, role=Role.ADMIN)
    driver, base, find = browser, live_server.url, browser.find_element

    def wait(condition: Any, limit: float = 180) -> None:
        WebDriverWait(driver, limit, 0.5, (StaleElementReferenceException,)).until(condition)

    driver.get(f"{base}/login/")
    find(By.NAME, "username").send_keys("hana")
    find(By.NAME, "password").send_keys(PASSWORD)
    find(By.ID, "login-submit").click()
    both(driver, "01-dashboard")

    # The group a superuser made: its admin sets its thresholds (and cannot add groups).
    find(By.ID, "nav-manage").click()
    find(By.ID, "tab-groups").click()
    assert "tokyo" in find(By.ID, "groups").text and not driver.find_elements(By.ID, "add-group")
    find(By.ID, f"edit-group-{group.pk}").click()
    find(By.NAME, "warning_below").send_keys("85")
    find(By.NAME, "critical_below").send_keys("60")
    find(By.ID, "save").click()
    assert "tokyo saved" in find(By.CSS_SELECTOR, ".messages").text
    both(driver, "01b-group")
    assert Group.objects.get(pk=group.pk).warning_below == 85

    # A credential: the key the test host trusts (write-only: never shown back).
    find(By.ID, "nav-manage").click()
    find(By.ID, "tab-credentials").click()
    find(By.ID, "add-credentials").click()
    Select(find(By.NAME, "group")).select_by_visible_text("tokyo")
    find(By.NAME, "name").send_keys("root-key")
    Select(find(By.NAME, "kind")).select_by_value("ssh-key")
    find(By.NAME, "username").send_keys("root")
    find(By.NAME, "new_secret").send_keys(target.client_key)
    both(driver, "02-credential-form")
    find(By.ID, "save").click()
    assert "root-key" in find(By.ID, "manage-credentials").text
    assert "OPENSSH PRIVATE KEY" not in driver.page_source

    # A host import: the preview names a bad line by file:line and nothing is created.
    inventory = tmp_path / "fleet.csv"
    inventory.write_text("name,host,port\nweb-1,192.0.2.11,2222\nweb-2,not an address!,22\n")
    find(By.ID, "tab-import").click()
    Select(find(By.NAME, "group")).select_by_visible_text("tokyo")
    Select(find(By.NAME, "credential")).select_by_visible_text("root-key")
    find(By.NAME, "file").send_keys(str(inventory))
    find(By.ID, "preview-import").click()
    assert "fleet.csv:3: host web-2: address" in find(By.ID, "import-problems").text
    both(driver, "02b-import-problems")
    inventory.write_text("name,host,port\nweb-1,192.0.2.11,2222\nweb-2,192.0.2.12,22\n")
    find(By.NAME, "file").send_keys(str(inventory))
    find(By.ID, "preview-import").click()
    assert "web-2" in find(By.ID, "import-hosts").text and find(By.ID, "create-hosts")
    both(driver, "02c-import-preview")
    assert not Host.objects.filter(name__in=["web-1", "web-2"]).exists()  # a preview only

    # The host, with no key pinned yet.
    find(By.ID, "tab-hosts").click()
    find(By.ID, "add-hosts").click()
    find(By.NAME, "name").send_keys("walk-target")
    Select(find(By.NAME, "group")).select_by_visible_text("tokyo")
    find(By.NAME, "address").send_keys(target.address)
    find(By.NAME, "port").clear()
    find(By.NAME, "port").send_keys(str(target.port))
    Select(find(By.NAME, "credential")).select_by_visible_text("root-key")
    # A group admin confirms that the credential's secret may go to this host (docs/security.md).
    find(By.NAME, "confirm_secret").send_keys(target.client_key)
    find(By.ID, "save").click()
    assert "walk-target" in find(By.ID, "manage-hosts").text  # saved: back on the list
    host = Host.objects.get(name="walk-target")
    driver.get(f"{base}/manage/hosts/{host.pk}/")
    find(By.ID, "test-connection").click()
    assert target.host_key_line.split()[1] in find(By.ID, "seen-key").text
    # The answer opens at the key and its pin button, not at the top of a long form.
    assert driver.current_url.endswith("#connection")
    assert in_view(driver, "seen-key") and in_view(driver, "pin-key")
    both(driver, "03-test-connection")
    find(By.ID, "pin-key").click()
    assert find(By.ID, "key-pinned")
    assert Host.objects.get(pk=host.pk).host_key == target.host_key_line
    both(driver, "04-key-pinned")

    # Level 1 of the Debian 12 policy for the group: the audit runs that and nothing else.
    find(By.ID, "tab-policies").click()
    find(By.ID, "add-assignment").click()
    Select(find(By.NAME, "policy")).select_by_visible_text("bulwark_debian12")
    Select(find(By.NAME, "group")).select_by_visible_text("tokyo")
    Select(find(By.NAME, "levels")).select_by_value("1")
    both(driver, "04b-assignment-form")
    find(By.ID, "save").click()
    assert "group tokyo" in find(By.ID, "assignments").text
    assert "Level 1" in find(By.ID, "assignments").text
    both(driver, "04c-assignments")
    assert Assignment.objects.get(group=group).levels == [1]

    # Audit now: back at once with the audit queued; progress follows; results appear.
    driver.get(f"{base}/hosts/{host.pk}/")
    find(By.ID, "audit-now").click()
    # The answer came before the audit ran: it says queued (the server's state at that time).
    assert "is queued" in find(By.CSS_SELECTOR, ".messages").text
    both(driver, "05-audit-queued")
    wait(lambda d: "done" in d.find_element(By.ID, "audits").text)
    assert find(By.ID, "latest-audit")
    # A Linux host's fix script is offered as shell and Ansible, not PowerShell.
    assert find(By.ID, "host-remediation").text.split()[:3] == ["shell", "·", "Ansible"]
    assert "PowerShell" not in find(By.ID, "host-remediation").text
    both(driver, "06-audit-done")

    # A weekly schedule, made due in a few seconds (the short test interval), fires.
    find(By.ID, "nav-manage").click()
    find(By.ID, "tab-schedules").click()
    find(By.ID, "add-schedules").click()
    Select(find(By.NAME, "host")).select_by_visible_text("walk-target")
    find(By.NAME, "interval_days").clear()
    find(By.NAME, "interval_days").send_keys("7")
    find(By.ID, "save").click()
    assert "walk-target" in find(By.ID, "manage-schedules").text
    both(driver, "07-schedule-next-run")
    schedule = Schedule.objects.get(host=host)
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    task.last_run_at = timezone.now() - timedelta(days=7) + timedelta(seconds=5)
    task.save()
    scheduler = embedded.start_scheduler()
    assert scheduler is not None
    try:
        driver.get(f"{base}/hosts/{host.pk}/")
        wait(lambda d: "schedule" in d.find_element(By.ID, "audits").text)
        wait(lambda d: "queued" not in d.find_element(By.ID, "audits").text
             and "running" not in d.find_element(By.ID, "audits").text)  # fmt: skip
        both(driver, "08-schedule-fired")
    finally:
        scheduler.stop()
    assert Audit.objects.filter(host=host, trigger=Audit.Trigger.SCHEDULE).count() == 1

    # The audits raised alerts (a new host's score state): acknowledge one on the alerts page.
    alert = AlertEvent.objects.filter(host=host).order_by("pk").first()
    assert alert is not None, "the audits raised no alert"
    find(By.ID, "nav-alerts").click()
    both(driver, "09-alerts")
    find(By.ID, f"ack-{alert.pk}").click()
    assert "acknowledged" in find(By.CSS_SELECTOR, ".messages").text
    assert AlertEvent.objects.get(pk=alert.pk).acknowledged_at is not None

    # An exception from a failed result of the latest audit (Level 1 of Debian 12 only).
    latest = Audit.objects.filter(host=host, latest=True).get()
    assert set(latest.policy_verdicts.values_list("policy__policy_id", flat=True)) == {
        "bulwark_debian12"
    }
    assert latest.results.filter(status=Result.Status.FAILED).exists()
    driver.get(f"{base}/audits/{latest.pk}/?status=failed")
    both(driver, "09b-failed-results")
    find(By.CSS_SELECTOR, "#results a").click()
    find(By.NAME, "justification").send_keys("the jump host enforces this; SEC-123")
    find(By.NAME, "owner").send_keys("hana")
    find(By.NAME, "reference").send_keys("SEC-123")
    both(driver, "09c-exception-form")
    find(By.ID, "create-exception").click()
    wait(lambda d: d.find_elements(By.ID, "revoke-exception"), 30)
    assert find(By.ID, "result-status").text == "excepted"
    find(By.ID, "nav-manage").click()
    find(By.ID, "tab-exceptions").click()
    exception = RiskException.objects.get()
    assert f"{exception.policy_id}/{exception.check_id}" in find(By.ID, "exceptions").text
    both(driver, "09d-exceptions")

    # Revoked with the keyboard alone: Tab from the top reaches the note and the button, each
    # with a visible focus ring, and Enter revokes.
    driver.get(f"{base}/exceptions/{exception.pk}/")
    reached = tab_until(driver, "revoke-note")
    assert reached[0] == "skip", reached  # the skip link comes first
    assert focus_ring(driver)
    driver.switch_to.active_element.send_keys("fixed on the host")
    assert tab_until(driver, "revoke-exception", limit=3)
    assert focus_ring(driver)
    both(driver, "09e-exception-keyboard")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait(lambda d: "revoked" in d.find_element(By.ID, "exception-status").text, 30)
    trail = find(By.ID, "exception-trail").text
    assert "created" in trail and "revoked" in trail and "fixed on the host" in trail
    assert RiskException.objects.get().status == RiskException.Status.REVOKED
    both(driver, "09f-exception-revoked")

    # Japanese: the user's setting, then a PDF report in Japanese.
    find(By.ID, "nav-preferences").click()
    Select(find(By.NAME, "language")).select_by_value("ja")
    find(By.NAME, "time_zone").send_keys("Asia/Tokyo")
    find(By.ID, "save-preferences").click()
    assert "設定を保存しました。" in find(By.CSS_SELECTOR, ".messages").text
    find(By.ID, "nav-reports").click()
    Select(find(By.NAME, "type")).select_by_value("host-checks")
    Select(find(By.NAME, "host")).select_by_visible_text("walk-target (tokyo)")
    both(driver, "10-reports-ja")
    find(By.ID, "download-report").click()
    pdf = _wait_for_download(driver.downloads, timeout=60)
    assert pdf.read_bytes().startswith(b"%PDF") and b"HeiseiKakuGo-W5" in pdf.read_bytes()
