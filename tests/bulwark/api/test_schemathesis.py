"""Schemathesis against the served OpenAPI schema (/api/schema/), as a superuser and as a
viewer: its examples, generated cases (3 per operation) and the stateful phase that follows
the schema's links from one response to the next request. No 5xx, no response that breaks the
schema, no undocumented status or content type.

The API runs in a real server on loopback (pytest-django's live_server) and Schemathesis is
its own command-line tool, deterministic (`--generation-deterministic`), so CI runs the same
cases every time. The coverage phase is left out: its malformed request lines stall Django's
development server (it waits for an end of line that never comes), and it multiplies the
cases by three; its findings on this API (undocumented 400/404/409) are fixed and the
generated cases check them again."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.bulwark.world import World

pytestmark = pytest.mark.slow

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)


def _run(live_server: object, token: str, report: Path) -> tuple[int, str]:
    # The schema as the server serves it to this user, fetched here with a patient timeout
    # (Schemathesis' own gives up after 10 s, which a loaded CI machine can exceed).
    served = requests.get(
        f"{live_server.url}/api/schema/",  # type: ignore[attr-defined]
        params={"format": "json"},
        headers={"Authorization": f"Token {token}"},
        timeout=120,
    )
    served.raise_for_status()
    schema = report.with_name("schema.json")
    schema.write_bytes(served.content)
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "run",
        str(schema),
        "--url",
        live_server.url,  # type: ignore[attr-defined]
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,fuzzing,stateful",
        "--max-examples",
        "3",
        "--seed",
        "1",
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "60",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
    ]
    log = report.with_name("schemathesis.log")
    with log.open("w") as out:
        done = subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, timeout=600, cwd=report.parent
        )
    return done.returncode, log.read_text()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("user", ["root", "a_viewer"])
def test_api_keeps_its_schema(
    live_server: object, world: World, user: str, tmp_path: Path, settings: Any
) -> None:
    # Generated sign-ins at /api/auth/token/ hash a password each: a fast hasher first keeps
    # the run short (the world's users keep their PBKDF2 hashes, still verified).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=world.users[user])
    code, output = _run(live_server, token.key, tmp_path / "junit.xml")
    assert (tmp_path / "junit.xml").exists(), output[-5000:]
    failures = [
        case.get("name", "")
        # Our own run's report, written by Schemathesis a moment ago.
        for case in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")  # noqa: S314
        if case.find("failure") is not None or case.find("error") is not None
    ]
    assert code == 0 and not failures, output[-20000:]
