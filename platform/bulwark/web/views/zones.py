"""The zones page: each worker zone of your groups' hosts (superusers: every zone) with its
hosts, queued and running audits, broker queue depth and workers (alive, concurrency, running
audits, last seen), and a warning when a zone has hosts but no live worker. The same data as
GET /api/zones/ (audits/zones.py) and the fleet metrics."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bulwark.audits.zones import fleet_zones
from bulwark.reports.fleet_metrics import broker_depths


@login_required
def zone_list(request: HttpRequest) -> HttpResponse:
    zones = fleet_zones(request.user)
    # None when the broker cannot say (embedded mode, or it did not answer): shown as such.
    depths = broker_depths([z.queue for z in zones])
    rows = [{"zone": z, "depth": depths.get(z.queue)} for z in zones]
    return render(request, "web/zone_list.html", {"rows": rows})
