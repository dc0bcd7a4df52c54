"""/api/results/ pages by cursor (keyset on the id): every row once, `count` given, backwards
with ordering=-id, and `offset` refused by name."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from bulwark.audits import history
from bulwark.audits.models import Result
from tests.bulwark.reports.fleet import Fleet, build


@pytest.fixture
def fleet(db: None) -> Fleet:
    return build()


def client_of(fleet: Fleet, name: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(fleet.users[name])
    return client


def walk(client: APIClient, url: str, params: dict[str, object]) -> tuple[list[int], set[int]]:
    ids, counts = [], set()
    answer = client.get(url, params).json()
    while True:
        counts.add(answer["count"])
        ids += [row["id"] for row in answer["results"]]
        if not answer["next"]:
            return ids, counts
        answer = client.get(answer["next"]).json()


def test_following_next_gives_every_result_once_in_id_order(fleet: Fleet) -> None:
    client = client_of(fleet, "alice")
    audit = fleet.audits["db-1"]
    ids, counts = walk(client, "/api/results/", {"audit": audit.pk, "limit": 50})
    expected = list(Result.objects.filter(audit=audit).order_by("pk").values_list("pk", flat=True))
    assert ids == expected and counts == {len(expected)}
    backwards, _ = walk(client, "/api/results/", {"audit": audit.pk, "ordering": "-id"})
    assert backwards == expected[::-1]


def test_the_whole_list_is_scoped_and_complete(fleet: Fleet) -> None:
    client = client_of(fleet, "alice")
    ids, counts = walk(client, "/api/results/", {"limit": 200})
    # Without ?audit=, the results of the audits kept in full (each host's latest), whole: an
    # older audit is stored as its changes only (docs/history.md) and read with ?audit=.
    visible = Result.objects.filter(
        audit__host__group__memberships__user=fleet.users["alice"], audit__results_reduced=False
    )
    assert sorted(ids) == ids == sorted(visible.values_list("pk", flat=True))
    assert counts == {len(ids)}
    for audit in {r.audit for r in visible.select_related("audit")}:
        assert audit.latest or history.pending(audit.host_id)
        listed = visible.filter(audit=audit).count()
        assert (
            listed
            == len(history.rebuilt(audit.pk))
            == audit.passed + audit.failed + (audit.not_applicable + audit.excepted)
        )


def test_offset_is_refused_by_name(fleet: Fleet) -> None:
    answer = client_of(fleet, "alice").get("/api/results/", {"offset": 1000})
    assert answer.status_code == 400
    assert "offset" in answer.json()
