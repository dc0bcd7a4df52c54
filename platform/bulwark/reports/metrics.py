"""Prometheus metrics at /metrics: the four hardening values of every host, its last audit,
and the average score of every group, read through the report queries.

Scrapes authenticate with `Authorization: Bearer TOKEN`. A MetricsToken scrapes as its user
(that user's groups only); METRICS_TOKEN from the environment scrapes everything, like a
superuser. No token configured, or a wrong one: 401.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bulwark.reports import queries
from bulwark.reports.fleet_metrics import FleetCollector
from bulwark.reports.models import MetricsToken, token_digest
from bulwark.reports.parameters import Filters


class Everything:
    """The user METRICS_TOKEN scrapes as: sees all groups, like a superuser."""

    is_active = True
    is_superuser = True
    is_authenticated = True


def all_time() -> Filters:
    """Every host's latest audit, however old: metrics show the current state."""
    today = timezone.localdate()
    return Filters(start_day=today.replace(year=1970, month=1, day=1), end_day=today)


class HardeningCollector:
    """Builds the metric families for one user at scrape time."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def collect(self) -> Iterator[Metric]:
        f = all_time()
        now = time.time()
        checks = GaugeMetricFamily(
            "bulwark_host_checks",
            "Checks of the host's latest audit, by status (Pandora's failed, not applied, "
            "passed modules).",
            labels=["host", "group", "status"],
        )
        score = GaugeMetricFamily(
            "bulwark_host_score_percent",
            "Hardening score of the host's latest audit: passed / (passed + failed) x 100.",
            labels=["host", "group"],
        )
        last = GaugeMetricFamily(
            "bulwark_host_last_audit_timestamp_seconds",
            "When the host's latest audit finished (Unix time).",
            labels=["host", "group"],
        )
        age = GaugeMetricFamily(
            "bulwark_host_last_audit_age_seconds",
            "Seconds since the host's latest audit finished.",
            labels=["host", "group"],
        )
        for host in queries.audited_hosts(self.user, f).values(
            "name",
            "group__name",
            "last_audit_at",
            "latest_score",
            "latest_passed",
            "latest_failed",
            "latest_not_applicable",
        ):
            labels = [host["name"], host["group__name"]]
            checks.add_metric([*labels, "failed"], host["latest_failed"])
            checks.add_metric([*labels, "not_applicable"], host["latest_not_applicable"])
            checks.add_metric([*labels, "passed"], host["latest_passed"])
            if host["latest_score"] is not None:
                score.add_metric(labels, host["latest_score"])
            stamp = host["last_audit_at"].timestamp()
            last.add_metric(labels, stamp)
            age.add_metric(labels, max(0.0, now - stamp))
        average = GaugeMetricFamily(
            "bulwark_group_score_average_percent",
            "Average hardening score of the group's audited hosts.",
            labels=["group"],
        )
        hosts = GaugeMetricFamily(
            "bulwark_group_hosts", "Hosts in the group, audited or not.", labels=["group"]
        )
        raw_average = GaugeMetricFamily(
            "bulwark_group_raw_score_average_percent",
            "Average raw score of the group's audited hosts: as if no exception existed.",
            labels=["group"],
        )
        for group in queries.group_scores(self.user, f):
            hosts.add_metric([group.name], group.hosts)
            if group.average is not None:
                average.add_metric([group.name], group.average)
            if group.raw_average is not None:
                raw_average.add_metric([group.name], group.raw_average)
        failing = GaugeMetricFamily(
            "bulwark_group_hosts_last_audit_failed",
            "Hosts of the group whose latest audit ended in error.",
            labels=["group"],
        )
        for group_name, count in queries.failed_audit_counts(self.user):
            failing.add_metric([group_name], count)
        excepted = GaugeMetricFamily(
            "bulwark_host_excepted_checks",
            "Failed checks of the host's latest audit covered by an active exception.",
            labels=["host", "group"],
        )
        raw = GaugeMetricFamily(
            "bulwark_host_raw_score_percent",
            "The score as if no exception existed.",
            labels=["host", "group"],
        )
        for row in queries.audited_hosts(self.user, f).values(
            "name", "group__name", "latest_excepted", "latest_raw_score"
        ):
            labels = [row["name"], row["group__name"]]
            excepted.add_metric(labels, row["latest_excepted"])
            if row["latest_raw_score"] is not None:
                raw.add_metric(labels, row["latest_raw_score"])
        yield from (checks, score, last, age, average, raw_average, hosts, failing, excepted, raw)


def scrape_user(request: HttpRequest) -> Any:
    """The user a scrape authenticates as, or AnonymousUser."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return AnonymousUser()
    configured = str(getattr(settings, "METRICS_TOKEN", "") or "")
    if configured and hmac.compare_digest(token.encode(), configured.encode()):
        return Everything()
    found = (
        MetricsToken.objects.select_related("user")
        .filter(digest=token_digest(token), user__is_active=True)
        .first()
    )
    if found is None:
        return AnonymousUser()
    MetricsToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    return found.user


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    user = scrape_user(request)
    if not user.is_authenticated:
        response = HttpResponse("a bearer token is required\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="bulwark-metrics"'
        return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HardeningCollector(user))  # type: ignore[arg-type]
    registry.register(FleetCollector(user))  # type: ignore[arg-type]
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
