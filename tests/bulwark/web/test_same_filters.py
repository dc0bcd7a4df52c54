"""The pages filter through the API's FilterSets: the same query string gives the same rows on
a page and in its API list (hosts: /hosts/ and /api/hosts/; one audit's results: /audits/N/ and
/api/results/?audit=N), and a bad parameter is refused on both, naming it."""

from __future__ import annotations

import re
from urllib.parse import quote

from django.test import Client

from bulwark.audits.filtersets import ResultFilterSet
from tests.bulwark.reports.fleet import ACCOUNTS, SECURE, Fleet
from tests.bulwark.web.test_result_pages import link, result_ids


def signed_in(fleet: Fleet, name: str) -> Client:
    client = Client()
    client.force_login(fleet.users[name])
    return client


def api_ids(client: Client, url: str) -> list[int]:
    """Every row's id of an API list, following its pages."""
    ids: list[int] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, (url, response.content)
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        next_url = body.get("next")
    return ids


def page_result_ids(client: Client, audit_id: int, query: str) -> list[int]:
    """Every result id of the audit page for `query`, following its keyset pages."""
    ids: list[int] = []
    following: str | None = f"?{query}"
    while following:
        response = client.get(f"/audits/{audit_id}/{following}")
        assert response.status_code == 200, (query, response.content[:300])
        body = response.content.decode()
        ids += result_ids(body)
        following = link(body, "next")
    return ids


def page_host_ids(client: Client, query: str) -> list[int]:
    response = client.get(f"/hosts/?all=on&{query}")
    assert response.status_code == 200, (query, response.content[:300])
    return [
        int(pk) for pk in re.findall(r'<td><a href="/hosts/(\d+)/">', response.content.decode())
    ]


def test_an_audits_results_are_the_same_rows_on_the_page_and_in_the_api(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    audit = fleet.audits["db-1"]
    queries = [
        "",
        "status=failed",
        "status=passed&status=not_applicable",
        f"category={quote(SECURE)}&status=failed",
        f"category={quote(ACCOUNTS)}",
        "q=ACC-015",
        "q=password",
        "check_id=SEC-093",
        "title=account",
    ]
    for query in queries:
        on_page = page_result_ids(client, audit.pk, query)
        in_api = api_ids(client, f"/api/results/?audit={audit.pk}&{query}&limit=1000")
        assert on_page == sorted(in_api), query
    # The filters select something, and not everything: the comparisons above mean something.
    everything = page_result_ids(client, audit.pk, "")
    assert len(everything) == 204
    assert 0 < len(page_result_ids(client, audit.pk, "status=failed")) < 204
    assert len(page_result_ids(client, audit.pk, "q=ACC-015")) == 1


def test_hosts_are_the_same_rows_on_the_page_and_in_the_api(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    queries = [
        "",
        "name=192.0.2.21",
        "name=web",
        "score_min=80&score_max=85",
        f"group={fleet.groups['db'].pk}",
        "transport=local",
        "audited=false",
    ]
    for query in queries:
        on_page = page_host_ids(client, query)
        in_api = api_ids(client, f"/api/hosts/?{query}&ordering=name&limit=1000")
        assert on_page == in_api, query
    assert page_host_ids(client, "name=192.0.2.21") == [fleet.hosts["db-1"].pk]
    assert fleet.hosts["web-new"].pk in page_host_ids(client, "audited=false")


def test_a_bad_filter_is_refused_on_the_page_as_in_the_api_naming_it(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    audit = fleet.audits["db-1"]
    for page_url, api_url, name in [
        (
            f"/audits/{audit.pk}/?status=bogus",
            f"/api/results/?audit={audit.pk}&status=bogus",
            "status",
        ),
        ("/hosts/?score_min=lots", "/api/hosts/?score_min=lots", "score_min"),
    ]:
        on_page, in_api = client.get(page_url), client.get(api_url)
        assert on_page.status_code == in_api.status_code == 400, page_url
        assert name in on_page.content.decode() and name in in_api.json(), page_url
    # The refused value is shown escaped, never as markup.
    hostile = client.get(f"/audits/{audit.pk}/?status=<script>x</script>").content.decode()
    assert "<script>x" not in hostile and "&lt;script&gt;x" in hostile


def _form_values(form: str) -> dict[str, str]:
    """What a browser submits from this form as it stands: each named input's value and each
    named select's selected option (its first if none is selected)."""
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option(?: value="([^"]*)")?[^>]*selected', options) or re.search(
            r'<option(?: value="([^"]*)")?', options
        )
        values[name] = chosen.group(1) or "" if chosen else ""
    return values


def test_the_audit_page_s_own_form_submits_only_result_filters(fleet: Fleet) -> None:
    """The page's filter form, submitted as it stands, sends only ResultFilterSet parameters
    with values they accept (a field of another meaning, such as the audit picker, whose value
    is a URL, would be refused as a bad filter)."""
    client = signed_in(fleet, "alice")
    audit = fleet.audits["db-1"]
    body = client.get(f"/audits/{audit.pk}/").content.decode()
    form = re.search(r'<form[^>]*id="result-filters".*?</form>', body, re.S)
    assert form is not None
    values = _form_values(form.group(0))
    assert {"q", "category", "status"} <= set(values) <= set(ResultFilterSet.base_filters)
    submitted = "&".join(f"{name}={quote(value)}" for name, value in sorted(values.items()))
    assert len(page_result_ids(client, audit.pk, submitted)) == 204
