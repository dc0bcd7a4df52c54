"""Set-up shared by the benchmarks that measure Bulwark on PostgreSQL through Django: the
environment they run in, and a throwaway database (created, migrated, dropped at the end).

    from bench.database import throwaway_database

    with throwaway_database():
        ...  # Django is set up; the ORM talks to bulwark_bench_<pid>

The role of DATABASE_URL must be allowed to create databases.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
if str(ROOT / "platform") not in sys.path:
    sys.path.append(str(ROOT / "platform"))  # appended: `import platform` stays the stdlib's


def configure() -> None:
    """Django on DATABASE_URL (PostgreSQL), with nothing enqueued and no webhooks."""
    from cryptography.fernet import Fernet

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        script = Path(sys.argv[0]).name
        sys.exit(f"{script}: set DATABASE_URL to a PostgreSQL server (see its docstring)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bulwark.settings")
    os.environ["CELERY_BROKER_URL"] = ""  # nothing is enqueued here
    os.environ["WEBHOOK_URLS"] = ""
    os.environ.setdefault("CREDENTIAL_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


@contextmanager
def throwaway_database() -> Iterator[None]:
    """Django configured, on a new migrated database bulwark_bench_<pid> of DATABASE_URL's
    server; the database is dropped at the end, whatever happens."""
    configure()
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    connections["default"].settings_dict["TEST"]["NAME"] = f"bulwark_bench_{os.getpid()}"
    state = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        connections["default"].close()
        teardown_databases(state, verbosity=0)
