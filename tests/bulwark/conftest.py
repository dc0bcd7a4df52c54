"""Django for the platform tests only: settings, sys.path and the shared fixtures.

The suite runs on SQLite (in memory) by default and on PostgreSQL when DATABASE_URL is set
(pytest-django creates and drops the test_* database). Tasks run in-process (eager) here.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "platform") not in sys.path:
    sys.path.append(str(ROOT / "platform"))  # appended: `import platform` stays the stdlib's
os.environ["DJANGO_SETTINGS_MODULE"] = "bulwark.settings"
os.environ["BULWARK_DATA_DIR"] = DATA_DIR = tempfile.mkdtemp(prefix="bulwark-test-")
atexit.register(shutil.rmtree, DATA_DIR, ignore_errors=True)
os.environ["CREDENTIAL_KEYS"] = Fernet.generate_key().decode()
# Required whenever DATABASE_URL is set (the PostgreSQL run).
os.environ.setdefault("SECRET_KEY", Fernet.generate_key().decode() * 2)
os.environ["CELERY_BROKER_URL"] = ""  # eager: tasks run in the test's process
os.environ["EMBEDDED_TASKS"] = "eager"  # tests of the background pool switch to it themselves
os.environ["WEBHOOK_URLS"] = ""
# Request budgets high enough for the suite (its tests share one process-wide cache);
# tests/bulwark/core/test_signin.py proves the limits themselves.
os.environ["API_THROTTLE_ANON"] = "100000/minute"
os.environ["API_THROTTLE_USER"] = "100000/minute"
os.environ["API_THROTTLE_CONFIRM"] = "100000/minute"
os.environ["ALLOW_LOCAL_AUDITS"] = "true"  # many tests audit this machine; off by default
# The suite's SSH and WinRM listeners live on loopback: its deny list leaves loopback out.
os.environ["AUDIT_TARGET_DENY"] = "0.0.0.0/8,169.254.0.0/16,fe80::/10,224.0.0.0/4"
# Tests audit a host again at once; tests of the minimum interval set it (audits/fairness.py).
os.environ.setdefault("AUDIT_MIN_INTERVAL_SECONDS", "0")

import django  # noqa: E402 - after the environment above

django.setup()

from django.conf import settings  # noqa: E402

# A fast hasher for the suite's own users: hashing a password the production way (PBKDF2, about
# a million rounds) costs a quarter of a second per user and per sign-in, which the suite paid
# thousands of times. Production keeps Django's default (tests/bulwark/core/test_hashers.py).
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

import pytest  # noqa: E402
import pytest_django  # noqa: E402

from bulwark.audits.models import Audit  # noqa: E402
from bulwark.inventory.models import Credential, Group, Host  # noqa: E402
from bulwark.policies.services import sync_rulesets  # noqa: E402
from tests.bulwark import catalogue_copy  # noqa: E402
from tests.bulwark.world import World, build_world  # noqa: E402


def using_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture(scope="session")
def django_db_setup(
    django_db_setup: None, django_db_blocker: pytest_django.DjangoDbBlocker
) -> None:
    """pytest-django's test database, plus the bundled catalogue synced once aside for the
    `catalogue` fixture (tests/bulwark/catalogue_copy.py)."""
    with django_db_blocker.unblock():
        catalogue_copy.keep_a_copy()


@pytest.fixture
def catalogue(db: None) -> None:
    """The bundled policies, as sync_rulesets() stores them (synced once per test database)."""
    catalogue_copy.restore()


@pytest.fixture
def machine_policy(db: None, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Only the OpenSSH baseline in the catalogue, for tests that audit this machine to see what
    becomes of a real audit (store, exceptions, leases, failures), not which checks run: it
    takes a fraction of a second and, on any Debian with openssh-server (CI installs it),
    gives passed and failed results. The whole catalogue's audit of this machine scans every
    local filesystem (30 s or more); tests of that are marked slow."""
    folder = tmp_path_factory.mktemp("machine-policy")
    (folder / "bulwark_openssh.yml").symlink_to(
        Path(settings.RULESETS_DIR) / "linux" / "bulwark_openssh.yml"
    )
    sync_rulesets(folder)


@pytest.fixture
def group(db: None) -> Group:
    return Group.objects.create(name="servers")


@pytest.fixture
def local_host(group: Group) -> Host:
    return Host.objects.create(
        name="this-machine", address="localhost", transport=Host.TransportKind.LOCAL, group=group
    )


@pytest.fixture
def make_credential(group: Group) -> Callable[..., Credential]:
    """Credentials (of `group` unless given another), validated like the API does."""

    def make(**fields: object) -> Credential:
        values: dict[str, object] = {
            "group": group,
            "name": f"cred-{Credential.objects.count() + 1}",
            "kind": Credential.Kind.SSH_PASSWORD,
            "username": "root",
            "secret": "Tr0ub4dor&3-not-a-real-password",
        }
        values.update(fields)
        credential = Credential(**values)
        credential.full_clean()
        credential.save()
        return credential

    return make


@pytest.fixture
def queued_audit() -> Callable[[Host], Audit]:
    """A queued Audit row made directly (not enqueued), for service-level tests."""

    def make(host: Host) -> Audit:
        return Audit.objects.create(host=host)

    return make


@pytest.fixture
def world(db: None) -> World:
    """Two groups with hosts, audits, alerts, schedules and members (tests/bulwark/world.py)."""
    return build_world()


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Audit ids sent to the workers; nothing runs (the tests are about what starts them)."""
    sent: list[int] = []
    from bulwark.audits import delivery

    monkeypatch.setattr(delivery, "enqueue_on_commit", lambda audit_id: sent.append(audit_id))
    return sent


@pytest.fixture(autouse=True)
def celery_left_as_found() -> Iterator[None]:
    """Tests that aim this process's Celery app at a broker (or off eager) must aim it back.
    One that does not would make every later test of the process publish its tasks to that
    broker and wait for an audit nobody runs (under xdist: the rest of that worker's tests).
    Checked after the test's own fixtures are torn down; the app is put back either way."""
    from celery import _state as celery_state

    from bulwark.celery_app import app
    from tests.bulwark.e2e.stack import forget_broker_connections

    found = (app.conf.task_always_eager, app.conf.broker_url)
    yield
    left = (app.conf.task_always_eager, app.conf.broker_url)
    current = celery_state.get_current_app()
    if current is not app:
        # Another Celery app made current (Celery() does by default): the platform's shared
        # tasks would be sent through it, to its broker, from now on.
        app.set_current()
        pytest.fail(f"the test left another Celery app current: {current!r}", pytrace=False)
    if left != found:
        app.conf.update(task_always_eager=found[0], broker_url=found[1])
        forget_broker_connections()
        pytest.fail(
            f"the test left the Celery app at (eager, broker) = {left}, found at {found}",
            pytrace=False,
        )
    producers = app.amqp._producer_pool
    if producers is not None and getattr(producers.connections, "_closed", False):
        # Its broker connections were closed under it: the next publish of this process
        # fails with "Acquire on closed pool".
        forget_broker_connections()
        pytest.fail("the test left the Celery producer pool on closed connections", pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before the test's fixtures are torn down (a transactional test's database is emptied
    then): the tasks it left to the embedded pool finish. One still writing while the tables
    are truncated deadlocked the TRUNCATE, and the next test found the rows it had left."""
    from bulwark import embedded

    if not embedded.wait_idle(120):
        pytest.fail("a task of the embedded pool outlived the test by 120 s", pytrace=False)
