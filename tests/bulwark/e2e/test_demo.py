"""`make demo`'s command on a fresh data folder: it prints the admin password once, registers
this machine and a lab of SSH test hosts with different hardening, audits them all, serves the
pages, admin and API at the URL it prints, and removes the lab when stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.bulwark.e2e.stack import ROOT, Api, free_port
from tests.hosts.fixtures import require_test_hosts
from tests.parallel import LAB_CLEANERS

pytestmark = pytest.mark.slow  # make test-fast leaves it out


def _netns() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.mark.xdist_group(LAB_CLEANERS)  # its start waits for its turn to clean
def test_demo_setup_serves_audited_hosts_until_stopped(tmp_path: Path) -> None:
    require_test_hosts()
    address = f"127.0.0.1:{free_port()}"
    out = tmp_path / "demo.log"
    env = {
        **os.environ,
        "BULWARK_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "CREDENTIAL_KEYS": "",
    }
    with out.open("wb") as log:
        demo = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "demo_setup", "--serve", address],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 400
        while "Bulwark is running at" not in out.read_text(errors="replace"):
            assert demo.poll() is None, out.read_text()[-3000:]
            assert time.monotonic() < deadline, "the demo did not start serving"
            time.sleep(0.5)
        text = out.read_text()
        (password,) = re.findall(r"admin user created: admin / (\S+)", text)
        url = re.search(r"Bulwark is running at (http://\S+/)", text).group(1)  # type: ignore[union-attr]
        assert url == f"http://{address}/"
        _wait_until_answers(url)
        token = Api(url[:-1]).post(
            "/api/auth/token/", {"username": "admin", "password": password}, expect=200
        )["token"]
        hosts = Api(url[:-1], token).get("/api/hosts/")["results"]
        lab = {h["name"]: h for h in hosts if h["group_name"] == "lab"}
        assert set(lab) == {"web-hardened", "db-default", "legacy-weak"}
        assert all(h["last_audit_at"] and h["latest_score"] is not None for h in hosts)
        assert len(hosts) == 4  # and this machine
        scores = {name: host["latest_score"] for name, host in lab.items()}
        assert scores["web-hardened"] > scores["db-default"], scores
        assert scores["web-hardened"] > scores["legacy-weak"], scores
        with urllib.request.urlopen(url + "static/admin/css/base.css") as css:  # noqa: S310
            assert css.status == 200
        assert f"bwk-{demo.pid}-" in _netns()  # the lab runs while the demo does
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C
        demo.wait(60)
    assert "lab stopped" in out.read_text()
    assert f"bwk-{demo.pid}-" not in _netns()


def _wait_until_answers(url: str) -> None:
    for _ in range(100):
        try:
            with urllib.request.urlopen(url + "admin/login/", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} does not answer")
