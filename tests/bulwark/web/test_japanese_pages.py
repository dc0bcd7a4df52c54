"""The Japanese translation stays complete: every text of every template is marked for
translation (a static check over the templates, with a short reviewed allow-list of product
and format names), every page renders in Japanese for a user whose language is ja with times
in their time zone, the PDF reports carry Japanese headers, and an alert e-mail reaches a
Japanese reader in Japanese."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.template.base import Lexer, TokenType
from django.test import Client
from django.utils import timezone

from bulwark.audits import alerts
from bulwark.audits.models import AlertEvent, Result
from bulwark.web import alert_mail
from bulwark.web.models import Preference, Widget
from tests.bulwark.reports.fleet import ACCOUNTS, Fleet
from tests.bulwark.reports.fleet import PASSWORD as FLEET_PASSWORD
from tests.bulwark.reports.test_pdf_japanese import cid_text, pdf_text
from tests.bulwark.web.test_i18n import PO, entries
from tests.bulwark.world import PASSWORD, World

ROOT = Path(__file__).resolve().parents[3]
TEMPLATES = sorted(
    path
    for path in (ROOT / "platform" / "bulwark").glob("*/templates/**/*")
    if path.suffix in (".html", ".txt")
)
# Words a page may show untranslated: the product's name and the names of formats and tools
# (reviewed: each is a proper name in Japanese pages too).
ALLOWED = {"Bulwark", "HTML", "JUnit", "XML", "SARIF", "OSCAL", "Ansible", "PowerShell"}
# Attributes a reader sees or hears (tooltips, screen readers, placeholders).
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-idle")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def untranslated(source: str) -> list[str]:
    """The words of a template shown to a reader outside {% translate %}/{% blocktranslate %}
    and outside variables: text nodes and read attributes, scripts and styles left out."""
    kept, inside_block = [], False
    for token in Lexer(source).tokenize():
        contents = token.contents.strip()
        if token.token_type == TokenType.BLOCK:
            name = contents.split(" ", 1)[0]
            if name == "blocktranslate":
                inside_block = True
            elif name == "endblocktranslate":
                inside_block = False
            kept.append("\x00")  # a tag's output: data or a translation
        elif token.token_type == TokenType.TEXT and not inside_block:
            kept.append(token.contents)
        else:
            kept.append("\x00")
    text = "".join(kept)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    words = []
    attribute = r"\b(?:" + "|".join(READ_ATTRIBUTES) + r')="([^"]*)"'
    for value in re.findall(attribute, text):
        words += re.findall(r"[A-Za-z][A-Za-z'-]*", value)
    text = re.sub(r"<[^>]*>", " ", text)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    words += re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    return [w for w in words if w not in ALLOWED]


def test_every_template_text_is_marked_for_translation() -> None:
    assert len(TEMPLATES) >= 20
    found = {
        str(path.relative_to(ROOT)): words
        for path in TEMPLATES
        if (words := untranslated(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_template_check_finds_what_is_not_marked() -> None:
    page = (
        '{% load i18n %}<h1 title="Hover me">{% translate "Hosts" %}</h1>'
        "<p>Last audit {{ when }}</p>{% blocktranslate %}fine {{ x }}{% endblocktranslate %}"
        "<script>let ok = 1;</script><a aria-label=\"{% translate 'Main' %}\">Bulwark</a>"
    )
    assert untranslated(page) == ["Hover", "me", "Last", "audit"]


# -- every page, in Japanese ----------------------------------------------------------------------


def japanese_client(user: Any) -> Client:
    Preference.objects.update_or_create(
        user=user, defaults={"language": "ja", "time_zone": "Asia/Tokyo"}
    )
    client = Client()
    assert client.login(username=user.get_username(), password=PASSWORD)
    return client


def catalogue_phrases() -> set[str]:
    """English texts of the catalogue long enough not to occur in data by chance."""
    return {
        msgid
        for msgid in entries(PO)
        if " " in msgid and len(msgid) >= 12 and "%(" not in msgid and "\\" not in msgid
    }


def visible(page: str) -> str:
    """A page's text as read: tags, scripts and styles removed, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]*>", " ", page))


# Latin words a Japanese label may hold: names of protocols, formats and commands.
# The date filters name their query parameters (date_after, date_before) as the API does.
TECHNICAL = {"SSH", "WinRM", "CA", "OS", "ID", "N", "PDF", "JSON", "CSV", "sudo"}
TECHNICAL |= {"HTTP", "HTTPS", "PEM", "NTLM", "date_after", "date_before"}


def english_labels(page: str) -> list[str]:
    """Labels, table headings and buttons of a page that still hold English words (the choices
    of a select inside a label are data, e.g. group names, and are left out)."""
    page = re.sub(r"<select\b.*?</select>|<textarea\b.*?</textarea>", " ", page, flags=re.S)
    found = []
    for element in re.findall(r"<(label|th|button)\b[^>]*>(.*?)</\1>", page, flags=re.S):
        text = html.unescape(re.sub(r"<[^>]*>", " ", element[1]))
        words = re.findall(r"[A-Za-z][A-Za-z_'-]*", text)
        if [w for w in words if w not in ALLOWED | TECHNICAL]:
            found.append(" ".join(text.split()))
    return found


def tokyo(moment: dt.datetime) -> str:
    return timezone.localtime(moment, TOKYO).strftime("%Y-%m-%d %H:%M")


def test_every_page_renders_in_japanese_with_the_users_time_zone(world: World) -> None:
    admin = world.users["a_admin"]
    for kind in Widget.DataType:
        Widget.objects.create(
            user=admin, title=f"w-{kind.value}", data_type=kind, category=ACCOUNTS
        )
    widget = Widget.objects.filter(user=admin).first()
    assert widget is not None
    a = world.a
    failed = Result.objects.filter(audit=a.audit, status="failed").first()
    assert failed is not None
    pages = {
        "/": ["セキュリティダッシュボード", "マイウィジェット", "平均スコア", "合格", "不合格"],
        "/hosts/": ["ホストのセキュリティ", "名前またはアドレス", "すべて (未監査を含む)"],
        f"/hosts/{a.local.pk}/": ["ハードニングスコア", "今すぐ監査", "スコアの履歴", "実行契機"],
        f"/audits/{a.audit.pk}/": ["結果", "カテゴリー", "ID またはタイトル", "合格"],
        f"/audits/{a.audit.pk}/?q=nothing-like-this": ["該当する結果はありません"],
        f"/audits/{a.audit.pk}/?status=failed": ["不合格", "エクスポート:"],
        f"/audits/{a.audit.pk}/results/{failed.pk}/": [
            "説明",
            "根拠",
            "修正方法",
            "証跡",
            "例外を作成",
            "正当な理由",
            "有効期限 (適用される最終日)",
        ],
        "/alerts/": [
            "アラート",
            "件のチェックが合格から不合格になりました",
            "スコアの状態が悪化",
            "作成日の範囲",
        ],
        "/reports/": [
            "レポート",
            "形式",
            "グループ",
            "スコアが最も低いホスト上位 N 件",
            "該当なしを含める",
        ],
        "/settings/": ["言語", "タイムゾーン"],
        "/manage/hosts/": ["ホスト", "接続方式", "資格情報"],
        "/manage/hosts/new/": ["接続方式", "ホスト鍵", "初回接続時に信頼", "警告しきい値 (%)"],
        f"/manage/hosts/{a.host.pk}/": ["接続テスト", "削除", "資格情報のシークレットの確認"],
        "/manage/credentials/": ["資格情報", "ユーザー名", "パスワードありで sudo"],
        "/manage/credentials/new/": ["シークレット", "権限昇格 (sudo) の方式", "踏み台ホスト"],
        f"/manage/credentials/{a.credential.pk}/": ["鍵のパスフレーズ", "パスフレーズを消去"],
        "/manage/schedules/": ["スケジュール", "間隔 (日)", "次回実行", "はい"],
        "/manage/schedules/new/": ["コマンドのタイムアウト (秒)", "有効"],
        "/widgets/new/": ["ウィジェットを追加", "データ種別", "背景色", "日数"],
        f"/widgets/{widget.pk}/": ["ウィジェットを編集", "推移 (日別の合格・不合格)"],
        "/hosts/?from=2026-13-45": ["表示できません", "from: 日付は YYYY-MM-DD 形式で指定"],
    }
    client = japanese_client(admin)
    phrases = catalogue_phrases()
    assert len(phrases) > 100
    for url, labels in pages.items():
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")  # the user's setting wins
        body = response.content.decode()
        assert response.status_code in (200, 400), url
        assert '<html lang="ja">' in body, url
        text = visible(body)
        assert [label for label in labels if label not in text] == [], url
        assert sorted(p for p in phrases if p in text) == [], url
        assert english_labels(body) == [], url
    # Times are the user's (Asia/Tokyo, nine hours ahead of the server's UTC).
    local = a.local
    local.refresh_from_db()
    assert local.last_audit_at is not None
    host_page = visible(client.get(f"/hosts/{local.pk}/").content.decode())
    assert tokyo(local.last_audit_at) in host_page
    assert timezone.localtime(local.last_audit_at, dt.UTC).strftime("%H:%M") not in host_page
    alerts_page = visible(client.get("/alerts/").content.decode())
    assert tokyo(a.alert.created_at) in alerts_page


def test_messages_and_form_errors_are_in_japanese(world: World) -> None:
    client = japanese_client(world.users["a_admin"])
    bad = client.post(
        "/manage/hosts/new/",
        {"name": "web-9", "group": world.a.group.pk, "transport": "ssh", "address": "127.0.0.1",
         "port": 70000, "winrm_auth": "ntlm", "warning_below": 20, "critical_below": 50},
    )  # fmt: skip
    page = visible(bad.content.decode())
    assert "SSH ホストには資格情報が必要です" in page
    assert "重大しきい値を警告しきい値より大きくすることはできません" in page
    report = client.get("/reports/", {"type": "category", "format": "pdf"})
    assert "カテゴリーレポートにはカテゴリーが必要です" in visible(report.content.decode())
    saved = client.post(f"/manage/schedules/{world.a.group_schedule.pk}/",
                        {"group": world.a.group.pk, "interval_days": 3, "command_timeout": 60,
                         "spread_minutes": 0, "enabled": "on"}, follow=True)  # fmt: skip
    assert "を保存しました。" in visible(saved.content.decode())


# -- PDF reports and e-mails ----------------------------------------------------------------------


def test_every_pdf_report_has_japanese_headers(fleet: Fleet) -> None:
    Preference.objects.create(user=fleet.users["alice"], language="ja", time_zone="Asia/Tokyo")
    client = Client()
    assert client.login(username="alice", password=FLEET_PASSWORD)
    host = fleet.hosts["web-1"].pk
    expected = {
        "worst-hosts": ["スコアが最も低いホスト上位 10 件", "ホスト", "最終監査", "スコア"],
        "failed-checks": ["不合格の多いチェック上位 10 件", "不合格のホスト数", "タイトル"],
        f"category&category={ACCOUNTS}": [f"カテゴリー {ACCOUNTS} の結果", "割合 %", "合格"],
        "categories": ["不合格チェックの多いカテゴリー上位 10 件", "スコア %"],
        f"host-checks&host={host}": ["ホストのセキュリティチェック", "ステータス", "該当なし"],
        "scoring": ["スコア: 各ホストの最新スコア", "平均スコア"],
        "evolution": ["推移: 合格・不合格チェック数の日別平均", "監査済みホスト数", "日付"],
    }
    for query, headers in expected.items():
        kind, _, extra = query.partition("&")
        response = client.get(
            f"/api/reports/{kind}.pdf?days=3650&{extra}", HTTP_ACCEPT_LANGUAGE="en"
        )  # the user's setting wins
        assert response.status_code == 200, kind
        drawn = cid_text(response.content) + pdf_text(response.content)
        assert "作成日時" in drawn and "すべてのグループ" in drawn, kind
        assert [h for h in headers if h not in drawn] == [], kind


def test_an_alert_email_reaches_a_japanese_reader_in_japanese(world: World, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_EMAILS = True
    admin, viewer, outsider = (world.users[n] for n in ("a_admin", "a_viewer", "b_admin"))
    for user, address in ((admin, "kenji@example.org"), (viewer, "viewer@example.org"),
                          (outsider, "b@example.org")):  # fmt: skip
        user.email = address
        user.save()
    Preference.objects.create(user=admin, language="ja", time_zone="Asia/Tokyo")
    alert = world.a.alert
    mail.outbox.clear()
    assert alert_mail.send(alert.pk) == 2  # group A's members with an address; not group B's
    by_reader = {m.to[0]: m for m in mail.outbox}
    assert sorted(by_reader) == ["kenji@example.org", "viewer@example.org"]
    japanese = by_reader["kenji@example.org"]
    assert alert.kind == AlertEvent.Kind.STATE
    assert japanese.subject == "[Bulwark] 警告: local-a: スコアの状態が悪化"
    assert "件のチェックが合格から不合格になりました" in japanese.body
    assert "重要度: " in japanese.body and tokyo(alert.created_at) in japanese.body
    assert "JST" in japanese.body
    english = by_reader["viewer@example.org"]
    assert english.subject == "[Bulwark] warning: local-a: score state worsened"
    assert "check(s) went from passed to failed" in english.body and "UTC" in english.body


@pytest.mark.parametrize("enabled", [True, False])
def test_an_alert_is_emailed_after_its_commit_only_with_alert_emails(
    world: World, settings: Any, django_capture_on_commit_callbacks: Any, enabled: bool
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.ALERT_EMAILS = enabled
    admin = world.users["a_admin"]
    admin.email = "kenji@example.org"
    admin.save()
    Preference.objects.create(user=admin, language="ja")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        raised = alerts.audit_failed(world.a.audit.pk)
    assert raised is not None and raised.kind == AlertEvent.Kind.AUDIT_FAILED
    if not enabled:
        assert mail.outbox == []
        return
    assert [m.to for m in mail.outbox] == [["kenji@example.org"]]
    assert "監査の失敗" in mail.outbox[0].subject
    assert f"監査 {world.a.audit.pk} が失敗しました" in mail.outbox[0].body
