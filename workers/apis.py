"""Staff-only views of the workers: status, GPU memory, offload now (seed 001's /api/gpu/*)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from glmtts_site.serializers import StrictInputSerializer

from .control import send_offload
from .engine_status import engine_statuses
from .heartbeat import live_workers
from .queue import queue_depth


class WorkerStateSerializer(serializers.Serializer):
    worker_id = serializers.CharField()
    hostname = serializers.CharField()
    pid = serializers.IntegerField()
    device = serializers.CharField()
    engines = serializers.DictField(child=serializers.CharField(), help_text="engine id -> version")
    loaded = serializers.DictField(child=serializers.BooleanField(), help_text="engine id -> resident now")
    current_job = serializers.CharField(allow_null=True, help_text="The longest-running of current_jobs.")
    current_jobs = serializers.ListField(child=serializers.CharField(), default=list,
                                         help_text="Every job it runs now (up to WORKER_MAX_BATCH at once).")
    status = serializers.CharField(default="idle", help_text="starting, idle, busy or stalled")
    progress_age_s = serializers.FloatField(
        default=0.0, help_text="Seconds since the job loop or its least recently progressing job last progressed.")
    recoveries = serializers.IntegerField(default=0, help_text="Stalls the watchdog recovered from.")
    engine_runs = serializers.IntegerField()
    gpu = serializers.DictField(allow_null=True)
    started_at = serializers.FloatField()
    last_seen = serializers.FloatField()


class WorkerStatusApi(APIView):
    permission_classes = [IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        workers = WorkerStateSerializer(many=True)
        queue = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(responses=OutputSerializer, summary="Live workers and queue depth (staff)")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer({"workers": live_workers(), "queue": queue_depth()}).data)


class GpuStatusApi(APIView):
    permission_classes = [IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        gpus = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses=OutputSerializer, summary="GPU memory per worker (staff)")
    def get(self, request: Request) -> Response:
        gpus = [{"worker_id": w["worker_id"], "device": w["device"], "loaded": w.get("loaded", {}),
                 **(w.get("gpu") or {})} for w in live_workers()]
        return Response(self.OutputSerializer({"gpus": gpus}).data)


class GpuOffloadApi(APIView):
    permission_classes = [IsAdminUser]

    class InputSerializer(StrictInputSerializer):
        worker_id = serializers.CharField(required=False, default="*", help_text="A worker id, or * for all.")

    class OutputSerializer(serializers.Serializer):
        requested = serializers.CharField()
        listeners = serializers.IntegerField(help_text="Workers that received the request.")

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer},
                   summary="Unload engines now; they reload on the next job (staff)")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = data.validated_data["worker_id"]
        return Response(self.OutputSerializer({"requested": target, "listeners": send_offload(target)}).data,
                        status=202)


class EngineStatusApi(APIView):
    """For every signed-in user: the portal says which engines are loading instead of a silent page."""

    class OutputSerializer(serializers.Serializer):
        engine = serializers.CharField()
        name = serializers.CharField()
        clones_voices = serializers.BooleanField(help_text="Whether an uploaded voice is cloned (else: nearest "
                                                           "preset).")
        state = serializers.ChoiceField(choices=["ready", "loading", "stalled", "no_worker"])
        message = serializers.CharField()
        version = serializers.CharField()
        rtf = serializers.FloatField(allow_null=True, help_text="Median compute seconds per audio second of "
                                                                "recent jobs; null before any.")

    @extend_schema(responses=OutputSerializer(many=True), summary="Engines offered here and whether each is ready")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer([s.as_dict() for s in engine_statuses()], many=True).data)
