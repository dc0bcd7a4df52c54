"""GET /api/zones/: each zone of your hosts with its queued and running audits and the workers
serving it (alive, concurrency, running audits, last seen), and a warning when a zone has hosts
but no live worker."""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bulwark.audits.zones import fleet_zones


class WorkerStateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    hostname = serializers.CharField()
    alive = serializers.BooleanField()
    concurrency = serializers.IntegerField()
    running = serializers.IntegerField(help_text="audits running at its last heartbeat")
    last_seen = serializers.DateTimeField()
    stopped = serializers.BooleanField(help_text="it shut down cleanly")


class ZoneSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    queue = serializers.CharField(help_text="the Celery queue its workers consume")
    hosts = serializers.IntegerField()
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    live_workers = serializers.IntegerField()
    workers = WorkerStateSerializer(many=True)
    warning = serializers.CharField(help_text="empty when the zone is served")


class ZoneView(APIView):
    """The zones of your hosts and their workers."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ZoneSerializer(many=True))
    def get(self, request: Request) -> Response:
        zones = [
            {**asdict(z), "live_workers": z.live_workers, "warning": z.warning}
            for z in fleet_zones(request.user)
        ]
        return Response(ZoneSerializer(zones, many=True).data)
