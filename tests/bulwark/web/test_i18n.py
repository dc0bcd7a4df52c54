"""English and Japanese: the Japanese catalogue translates every marked string (a test fails
on any untranslated, fuzzy or missing one), pages follow the browser's language unless the
user chose one, and times are shown in the user's time zone."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from bulwark.web.models import Preference

ROOT = Path(__file__).resolve().parents[3]
APP = ROOT / "platform" / "bulwark"
PO = APP / "locale" / "ja" / "LC_MESSAGES" / "django.po"


def entries(po: Path) -> dict[str, tuple[str, bool]]:
    """msgid -> (msgstr, fuzzy) of a .po file (the header left out)."""
    found: dict[str, tuple[str, bool]] = {}
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        if "msgid" not in block:
            continue
        fuzzy = "#, fuzzy" in block
        msgid = "".join(re.findall(r'"(.*)"', block.split("msgstr")[0].split("msgid", 1)[1]))
        msgstr = "".join(re.findall(r'"(.*)"', block.split("msgstr", 1)[1]))
        if msgid:
            found[msgid] = (msgstr, fuzzy)
    return found


def test_every_string_of_the_japanese_catalogue_is_translated() -> None:
    catalogue = entries(PO)
    assert catalogue
    untranslated = [msgid for msgid, (msgstr, fuzzy) in catalogue.items() if not msgstr or fuzzy]
    assert untranslated == []


def test_every_marked_string_is_in_the_catalogue_and_compiled(tmp_path: Path) -> None:
    if shutil.which("xgettext") is None:
        pytest.fail("needs gettext (deploy/setup.sh installs it)")
    copy = tmp_path / "bulwark"
    shutil.copytree(APP, copy, ignore=shutil.ignore_patterns("__pycache__", "migrations"))
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "django-admin"), "makemessages", "-l", "ja",
         "--no-obsolete", "--settings=bulwark.settings"],
        cwd=copy, check=True, capture_output=True,
        env={"PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}", "PATH": "/usr/bin:/bin",
             "CREDENTIAL_KEYS": "", "CELERY_BROKER_URL": ""},
    )  # fmt: skip
    fresh = entries(copy / "locale" / "ja" / "LC_MESSAGES" / "django.po")
    missing = sorted(set(fresh) - set(entries(PO)))
    assert missing == [], "marked but not in the Japanese catalogue (run makemessages -l ja)"
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(PO)], check=True)
    assert compiled.read_bytes() == PO.with_suffix(".mo").read_bytes(), "run compilemessages"


@pytest.fixture
def user(db: None) -> object:
    return get_user_model().objects.create_user("kenji", password="pw-kenji-0123")


def test_pages_follow_the_browsers_language(user: object) -> None:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    japanese = client.get("/alerts/", HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5").content.decode()
    assert '<html lang="ja">' in japanese and "ダッシュボード" in japanese
    assert "<h1>アラート</h1>" in japanese
    english = client.get("/alerts/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english and "<h1>Alerts</h1>" in english


def test_the_users_setting_wins_and_sets_the_time_zone(user: object) -> None:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    response = client.post("/settings/", {"language": "ja", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    page = client.get("/alerts/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>アラート</h1>" in page
    assert 'id="time-zone">Asia/Tokyo<' in page
    bad = client.post("/settings/", {"language": "ja", "time_zone": "Mars/Olympus"})
    assert "不明なタイムゾーンです: &#x27;Mars/Olympus&#x27;" in bad.content.decode()  # in Japanese
    assert Preference.objects.get(user=user).time_zone == "Asia/Tokyo"
