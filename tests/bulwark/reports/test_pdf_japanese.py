"""A report downloaded in Japanese is drawn with reportlab's CID font HeiseiKakuGo-W5: its
labels are translated and Japanese host names come out as text, not as empty boxes."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import zlib

import pytest
from django.test import Client

from bulwark.inventory.models import Host
from tests.bulwark.reports.fleet import PASSWORD, Fleet


def pdf_text(data: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("needs pdftotext (poppler-utils, installed by deploy/setup.sh)")
    done = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True)
    return done.stdout.decode()


def cid_text(data: bytes) -> str:
    """The text the PDF draws in a CID font (UniJIS-UCS2-H: each string is UTF-16BE), from
    its page streams (ASCII85 then Flate, as reportlab writes them)."""
    text = []
    streams = rb"/ASCII85Decode /FlateDecode \][^>]*>>\s*stream\r?\n(.*?)endstream"
    for raw in re.findall(streams, data, re.S):
        page = zlib.decompress(base64.a85decode(raw.strip().removesuffix(b"~>")))
        for literal in re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", page, re.S):
            chars = unescape(literal)
            if len(chars) % 2 == 0:
                text.append(chars.decode("utf-16-be", errors="replace"))
    return "".join(text)


def unescape(literal: bytes) -> bytes:
    """A PDF literal string's bytes (backslash escapes: octal, and the escaped character)."""
    out, i = bytearray(), 0
    while i < len(literal):
        if literal[i] != 0x5C:
            out.append(literal[i])
            i += 1
            continue
        digits = re.match(rb"[0-7]{1,3}", literal[i + 1 : i + 4])
        if digits:
            out.append(int(digits.group(0), 8))
            i += 1 + len(digits.group(0))
        else:
            out.append(
                {110: 10, 114: 13, 116: 9, 98: 8, 102: 12}.get(literal[i + 1], literal[i + 1])
            )
            i += 2
    return bytes(out)


def test_a_japanese_pdf_uses_the_cid_font_and_translated_labels(fleet: Fleet) -> None:
    Host.objects.filter(pk=fleet.hosts["web-1"].pk).update(name="東京-ウェブ-1")
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    japanese = client.get("/api/reports/worst-hosts.pdf", HTTP_ACCEPT_LANGUAGE="ja")
    assert japanese.status_code == 200 and japanese.content.startswith(b"%PDF")
    assert b"HeiseiKakuGo-W5" in japanese.content
    drawn = cid_text(japanese.content)
    assert "作成日時" in drawn  # the translated label, in the CID font
    assert "東京-ウェブ-1" in drawn  # the host name, in the table and the chart
    english = client.get("/api/reports/worst-hosts.pdf", HTTP_ACCEPT_LANGUAGE="en")
    assert b"HeiseiKakuGo-W5" not in english.content
    assert "Generated" in pdf_text(english.content)
