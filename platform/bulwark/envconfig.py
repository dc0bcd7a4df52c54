"""Small helpers that read settings from the environment, and DATABASE_URL parsing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


class ConfigurationError(ValueError):
    """An environment variable holds a value Bulwark cannot use."""


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_secret(name: str, default: str = "") -> str:
    """NAME, or the content of the file NAME_FILE names (Docker and Kubernetes secrets)."""
    value = env(name)
    path = env(f"{name}_FILE")
    if value and path:
        raise ConfigurationError(f"{name} and {name}_FILE are both set: keep one")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigurationError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
    return value or default


def env_bool(name: str, default: bool) -> bool:
    value = env(name, "1" if default else "0").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigurationError(f"{name}: expected a boolean, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = env(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}: expected an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name}: must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = env(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}: expected a number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigurationError(f"{name}: must be at least {minimum:g}, got {value:g}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated list; blanks dropped."""
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "sqlite": "django.db.backends.sqlite3",
}


def database_from_url(url: str, *, base_dir: Path) -> dict[str, Any]:
    """A Django DATABASES entry from `postgres://user:pass@host:port/name?opt=v` or
    `sqlite:///relative/path` (relative to base_dir), `sqlite:////absolute/path`,
    `sqlite://:memory:`."""
    parts = urlsplit(url)
    engine = _ENGINES.get(parts.scheme)
    if engine is None:
        raise ConfigurationError(
            f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use postgres:// or sqlite://)"
        )
    options = dict(parse_qsl(parts.query))
    if engine.endswith("sqlite3"):
        if parts.netloc == ":memory:" or parts.path in ("", "/", "/:memory:"):
            name: str | Path = ":memory:"
        else:
            path = Path(unquote(parts.path[1:]))
            name = path if path.is_absolute() else base_dir / path
        return {"ENGINE": engine, "NAME": name, "OPTIONS": sqlite_options(options)}
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ConfigurationError("DATABASE_URL: no database name after the host")
    return {
        "ENGINE": engine,
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": unquote(parts.hostname or ""),
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


def sqlite_options(extra: dict[str, str]) -> dict[str, Any]:
    """SQLite tuned for a web process and in-process tasks writing at the same time."""
    return {
        "timeout": 20,
        # Writers take the lock up front instead of failing on upgrade (Django >= 5.1).
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **extra,
    }


def embedded_secret_key(path: Path) -> str:
    """The embedded default's SECRET_KEY: generated once into `path` (mode 0600), then reused
    so sessions survive a restart."""
    import secrets

    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
