"""Composition roots of the renderer: the API service and the render worker."""

from pathlib import Path

from nats.js.api import RetentionPolicy

from framelane.renderer.v1 import render_pb2, render_pb2_grpc
from framelane_core import capabilities, gpu
from framelane_core.config import Settings
from framelane_core.fetch import Allow
from framelane_core.jobstore import JobWatch
from framelane_core.lifecycle import Resources, ServiceApp
from framelane_core.storage import storage_from_settings
from framelane_renderer import engine
from framelane_renderer.service import UPLOAD_WAIT_SECONDS, Renders
from framelane_renderer.servicer import RenderServicer
from framelane_renderer.staging import Stager
from framelane_renderer.worker import RenderWorker


def describe() -> dict:
    """The renderer's part of /v1/capabilities: the engine's catalog plus the render API's features."""
    return {
        **engine.capabilities(),
        "renders": {"supported": True, "idempotency": True, "wait_max_seconds": 25,
                    "cancel": ["ingesting", "queued", "processing"],
                    "ingest_external": {"supported": True, "status": "ingesting",
                                        "copies": "sources not already in Framelane storage, before the render is queued"},
                    "waits_for_uploads": {"supported": True, "status": "queued",
                                          "max_wait_seconds": UPLOAD_WAIT_SECONDS}},
        "preview": {"dry_run": {"supported": True}, "at": {"supported": True, "format": "png"}},
    }


class RendererApp(ServiceApp):
    name = "renderer"
    migrations_package = "framelane_renderer"
    stream_retention = RetentionPolicy.LIMITS

    def service_names(self) -> list[str]:
        return [render_pb2.DESCRIPTOR.services_by_name["RenderService"].full_name, capabilities.SERVICE_NAME]

    async def wire(self, res: Resources) -> list:
        s = self.settings
        storage, allow = storage_from_settings(s), Allow.parse(s.fetch_allow)
        watch = JobWatch(s.database_url, s.schema)
        renders = Renders(res.pool, storage, allow, s.work_dir, res.channel("usage"), s.upload_wait_seconds, watch)
        render_pb2_grpc.add_RenderServiceServicer_to_server(RenderServicer(renders), res.server)
        capabilities.register(res.server, describe)
        return [Stager(res.pool, storage, allow, Path(s.work_dir), renders.job), watch]


class RenderWorkerApp(ServiceApp):
    """Same schema and stream as the renderer; serves only health (for probes) and metrics."""

    name = "renderer_worker"
    migrations_package = "framelane_renderer"
    stream_retention = RetentionPolicy.LIMITS

    def __init__(self, settings: Settings | None = None):
        super().__init__(settings or Settings(service="renderer_worker"))

    def service_names(self) -> list[str]:
        return []

    async def wire(self, res: Resources) -> list:
        s = self.settings
        worker = RenderWorker(res.pool, res.js, storage_from_settings(s), Path(s.work_dir) / "renders",
                              Allow.parse(s.fetch_allow), s.job_ack_wait)
        return [worker, *gpu.samplers()]
