"""A whole Bulwark in processes, for end-to-end tests: gunicorn serving the API, Celery workers
and beat, on a database and broker of their own (PostgreSQL + Redis, or the embedded default:
SQLite with tasks in-process). Talks to it over HTTP only, like a user would."""

from __future__ import annotations

import atexit
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from cryptography.fernet import Fernet

from tests.parallel import REDIS_BROKER, require_group
from tests.require import require

ROOT = Path(__file__).resolve().parents[3]
PYTHON = sys.executable
ADMIN_PASSWORD = "e2e-Admin-pw-31"


def require_env(variable: str, what: str) -> str:
    """The value of `variable`; skip without it, except in CI where it is a failure."""
    value = os.environ.get(variable, "")
    require(value, f"{what}: set {variable} (.ci/run does)")
    return value


def postgres_server_url() -> str:
    url = require_env("DATABASE_URL", "needs PostgreSQL")
    scheme = urlsplit(url).scheme
    require(scheme in ("postgres", "postgresql", "pgsql"), f"needs PostgreSQL, not {scheme}")
    return url


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on DATABASE_URL's server (its role may create databases), dropped at
    the end; yields its URL. It is a copy of a database migrated once per session (CREATE
    DATABASE ... TEMPLATE): every stack starts from freshly applied migrations without paying
    for them again (its own `migrate` then finds nothing to do)."""
    import psycopg

    server = urlsplit(postgres_server_url())
    name = f"bulwark_e2e_{secrets.token_hex(4)}"
    admin_url = urlunsplit(server._replace(path="/postgres"))
    template = _migrated_template(server)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield urlunsplit(server._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_templates: dict[str, str] = {}


def _migrated_template(server: Any) -> str:
    """The name of this process's migrated template database on `server` (made at first use,
    dropped when the process exits)."""
    import psycopg

    admin_url = urlunsplit(server._replace(path="/postgres"))
    if admin_url not in _templates:
        name = f"bulwark_e2e_template_{os.getpid()}"
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        atexit.register(drop)
        with tempfile.TemporaryDirectory(prefix="bulwark-e2e-template-") as directory:
            url = urlunsplit(server._replace(path=f"/{name}"))
            Stack(Path(directory), database_url=url).manage("migrate", "--noinput")
        _templates[admin_url] = name
    return _templates[admin_url]


def redis_broker_url() -> str:
    """BULWARK_TEST_BROKER_URL, emptied of any earlier test's messages. The whole suite shares
    it, so under xdist only the tests of one group use it, one at a time (tests/parallel.py)."""
    import redis

    require_group(REDIS_BROKER, "BULWARK_TEST_BROKER_URL")
    url = require_env("BULWARK_TEST_BROKER_URL", "needs a Redis broker")
    redis.Redis.from_url(url).flushdb()
    return url


def forget_broker_connections() -> None:
    """Close this process's Celery broker pools, so the next publish connects to the broker now
    configured (what Celery does after a fork). A test that aims the app at Redis calls it when
    it aims it back: a pool left open would send a later test's tasks to Redis."""
    from kombu import pools

    from bulwark.celery_app import app

    pools.reset()
    app._pool = None
    # The producer pool hands out connections of the pools just closed: a later publish would
    # fail with "Acquire on closed pool" (seen on the next test of the same xdist worker).
    app.amqp._producer_pool = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ApiError(AssertionError):
    """An unexpected HTTP status from the API."""


class Api:
    """A tiny JSON client of the Bulwark API (token auth)."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        data = None if body is None else json.dumps(body).encode()
        url = self.base + path  # always http://127.0.0.1:PORT/...
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        if status != expect:
            raise ApiError(f"{method} {path}: {status}, wanted {expect}: {text[:2000]}")
        return json.loads(text) if text else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path + ("?" + urlencode(params, doseq=True) if params else ""))

    def post(self, path: str, body: Any = None, expect: int = 201) -> Any:
        return self.call("POST", path, body if body is not None else {}, expect)


class Stack:
    """Processes of one Bulwark installation; `close()` ends them (SIGKILL if need be)."""

    def __init__(self, directory: Path, *, database_url: str = "", broker_url: str = "",
                 **env: str) -> None:  # fmt: skip
        self.dir = directory
        self.logs = directory / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}",
            "DJANGO_SETTINGS_MODULE": "bulwark.settings",
            "BULWARK_DATA_DIR": str(directory / "data"),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "CREDENTIAL_KEYS": Fernet.generate_key().decode(),
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Everything that could leak a secret is logged: the tests grep it.
            "LOG_LEVEL": "DEBUG",
            "PARAMIKO_LOG_LEVEL": "DEBUG",
            "WEBHOOK_URLS": "",
            # The stacks audit test hosts (10.77/16) and listeners on loopback: the production
            # default deny list (docs/security.md) leaves loopback out only here.
            "AUDIT_TARGET_DENY": "0.0.0.0/8,169.254.0.0/16,fe80::/10,224.0.0.0/4",
            **env,
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.base = ""

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [PYTHON, str(ROOT / "manage.py"), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        (self.logs / f"manage-{args[0]}.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def prepare(self, *, sync: bool = True) -> Api:
        """Migrate, create the superuser `admin`, optionally sync rulesets/, start the web
        server; returns an API client signed in as admin."""
        self.manage("migrate", "--noinput")
        self.manage(
            "createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com",
            env={"DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD},
        )  # fmt: skip
        if sync:
            self.manage("sync_rulesets")
        self.start_web()
        token = Api(self.base).post(
            "/api/auth/token/", {"username": "admin", "password": ADMIN_PASSWORD}, expect=200
        )["token"]
        return Api(self.base, token)

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as one
        )
        log.close()
        self.processes[name] = process
        return process

    def start_web(self) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.spawn(
            "web",
            [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        )  # fmt: skip
        self.wait_for(lambda: _answers(self.base), 60, "the web server to answer")

    def start_worker(self, name: str = "worker", concurrency: int = 2) -> subprocess.Popen[bytes]:
        process = self.spawn(
            name,
            [PYTHON, "-m", "celery", "-A", "bulwark.celery_app", "worker", "--loglevel", "DEBUG",
             "--pool", "threads", "--concurrency", str(concurrency), "--hostname", f"{name}@e2e",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
        )  # fmt: skip
        self.wait_for(lambda: "ready." in self.log(name), 60, f"{name} to be ready")
        return process

    def start_beat(self) -> subprocess.Popen[bytes]:
        return self.spawn(
            "beat",
            [PYTHON, "-m", "celery", "-A", "bulwark.celery_app", "beat", "--loglevel", "DEBUG",
             "--schedule", str(self.dir / "beat-schedule")],
        )  # fmt: skip

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(30)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def all_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def wait_for(self, condition: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            for name, process in self.processes.items():
                if process.poll() is not None:
                    tail = self.log(name)[-3000:]
                    raise RuntimeError(f"{name} exited while waiting for {what}:\n{tail}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up waiting for {what}")
            time.sleep(0.2)

    def close(self) -> None:
        for name in list(self.processes):
            process = self.processes[name]
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill(name)
            self.processes.pop(name, None)


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/api/", timeout=2):  # noqa: S310
            return True
    except urllib.error.HTTPError:
        return True  # 401/403: it is up
    except OSError:
        return False


def wait_for_audit(stack: Stack, api: Api, audit_id: int, timeout: float = 180) -> dict[str, Any]:
    """The audit once it is done or in error."""

    def finished() -> dict[str, Any] | None:
        audit: dict[str, Any] = api.get(f"/api/audits/{audit_id}/")
        return audit if audit["status"] in ("done", "error") else None

    result: dict[str, Any] = stack.wait_for(finished, timeout, f"audit {audit_id} to finish")
    return result
