"""The production shape without Docker (not available here): docker-compose.yml's services,
the image's files, the entry point's roles, and every setting documented in env.example."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # merge keys resolved


def test_compose_runs_postgres_redis_web_worker_and_beat_from_one_image() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name in ("web", "worker", "beat"):
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert service["image"] == "bulwark:latest", name
        assert service["command"] == [name]
        env = service["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgres://bulwark:")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert {"SECRET_KEY", "CREDENTIAL_KEYS"} <= set(env)
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["beat"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["web"]["ports"] == ["${BULWARK_PORT:-8000}:8000"]


def test_the_image_copies_what_exists_and_the_entry_point_knows_each_role() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in dockerfile
    entrypoint = DEPLOY / "entrypoint.sh"
    assert entrypoint.stat().st_mode & 0o111
    subprocess.run(["sh", "-n", str(entrypoint)], check=True)
    text = entrypoint.read_text()
    for line in ("manage.py migrate", "manage.py sync_rulesets", "gunicorn -c deploy/gunicorn"):
        assert line in text
    assert (
        "celery -A bulwark.celery_app worker" in text
        and "celery -A bulwark.celery_app beat" in text
    )


def test_gunicorn_is_pinned_and_its_config_loads() -> None:
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^gunicorn==\d", requirements, re.MULTILINE)
    namespace: dict[str, object] = {}
    exec(compile((DEPLOY / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)  # noqa: S102
    assert namespace["wsgi_app"] == "bulwark.wsgi:application"
    assert namespace["bind"] == "0.0.0.0:8000"


def test_every_setting_read_from_the_environment_is_documented() -> None:
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (DEPLOY / "env.example").read_text(), re.M))
    sources = [ROOT / "platform" / "bulwark" / "settings.py", DEPLOY / "gunicorn.conf.py"]
    used: set[str] = set()
    for source in sources:
        text = source.read_text()
        used |= set(re.findall(r'env(?:_bool|_int|_float|_list)?\(\s*"([A-Z0-9_]+)"', text))
        used |= set(re.findall(r'os\.environ\.get\("([A-Z0-9_]+)"', text))
    compose = (ROOT / "docker-compose.yml").read_text()
    used |= set(re.findall(r"\$\{([A-Z0-9_]+)", compose))
    assert used - documented == set()


def test_redis_keeps_its_queue_across_a_restart_on_a_volume() -> None:
    compose = _compose()
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert redis["volumes"] == ["redisdata:/data"] and "redisdata" in compose["volumes"]
