"""The audit page pages its results by id (keyset): every result once, in stored order,
forwards and backwards, the filters kept across pages."""

from __future__ import annotations

import re

from django.test import Client

from bulwark.audits.models import Result
from tests.bulwark.reports.fleet import PASSWORD, Fleet


def result_ids(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'/results/(\d+)/"', body)]


def link(body: str, rel: str) -> str | None:
    found = re.search(rf'href="(\?[^"]*)" id="results-{rel}"', body)
    return found.group(1).replace("&amp;", "&") if found else None


def test_it_walks_every_result_once_forwards_and_back(fleet: Fleet) -> None:
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    audit = fleet.audits["db-1"]
    url = f"/audits/{audit.pk}/"
    expected = list(Result.objects.filter(audit=audit).order_by("pk").values_list("pk", flat=True))
    assert len(expected) == 204
    pages, query = [], ""
    while True:
        body = client.get(url + query).content.decode()
        pages.append(result_ids(body))
        assert "204 results" in body
        following = link(body, "next")
        if following is None:
            break
        query = following
    assert [len(p) for p in pages] == [100, 100, 4]
    assert [pk for p in pages for pk in p] == expected
    assert link(body, "previous") == f"?before={pages[2][0]}"
    back = []
    while query:
        body = client.get(url + query).content.decode()
        back.insert(0, result_ids(body))
        query = link(body, "previous") or ""
    assert [pk for p in back for pk in p] == expected


def test_the_filters_stay_on_every_page(fleet: Fleet) -> None:
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    audit = fleet.audits["db-1"]
    body = client.get(f"/audits/{audit.pk}/?status=passed").content.decode()
    following = link(body, "next")
    assert following is not None and following.startswith("?status=passed&after=")
    second = client.get(f"/audits/{audit.pk}/{following}").content.decode()
    statuses = Result.objects.filter(pk__in=result_ids(second)).values_list("status", flat=True)
    assert set(statuses) == {"passed"}


def test_a_bad_page_key_shows_the_first_page(fleet: Fleet) -> None:
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    audit = fleet.audits["db-1"]
    body = client.get(f"/audits/{audit.pk}/?after=zz").content.decode()
    first = Result.objects.filter(audit=audit).order_by("pk").first()
    assert first is not None and result_ids(body)[0] == first.pk
