"""Fixtures of the API tests: the two-group world and API clients signed in as its users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.bulwark.world import World


@pytest.fixture
def client_for(world: World) -> Iterator[Callable[[str], APIClient]]:
    """`client_for("a_admin")`: an API client authenticated as that user (token auth)."""
    from rest_framework.authtoken.models import Token

    clients: list[APIClient] = []

    def make(name: str) -> APIClient:
        token, _ = Token.objects.get_or_create(user=world.users[name])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        clients.append(client)
        return client

    yield make


def ids(response: Any) -> set[int]:
    """The ids of a paginated list response."""
    assert response.status_code == 200, response.content[:500]
    return {row["id"] for row in response.json()["results"]}
