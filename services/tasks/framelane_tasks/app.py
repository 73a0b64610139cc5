"""Composition roots of the tasks service: the API service and the task worker."""

from pathlib import Path

from nats.js.api import RetentionPolicy

from framelane.beatapi.v1 import beatapi_pb2, beatapi_pb2_grpc
from framelane.tasks.v1 import assets_pb2, assets_pb2_grpc, tasks_pb2, tasks_pb2_grpc
from framelane_core import capabilities, gpu
from framelane_core.config import Settings
from framelane_core.fetch import Allow
from framelane_core.jobstore import JobWatch
from framelane_core.lifecycle import Resources, ServiceApp
from framelane_core.storage import storage_from_settings
from framelane_tasks.assets import AssetRunner, Assets
from framelane_tasks.assets_servicer import AssetServicer
from framelane_tasks.beatapi import BeatTaskServicer
from framelane_tasks.files import BeatFileServicer
from framelane_tasks.catalog import describe
from framelane_tasks.service import Tasks
from framelane_tasks.servicer import TaskServicer


class TasksApp(ServiceApp):
    name = "tasks"
    migrations_package = "framelane_tasks"
    stream_retention = RetentionPolicy.LIMITS

    def service_names(self) -> list[str]:
        return [tasks_pb2.DESCRIPTOR.services_by_name["TaskService"].full_name,
                assets_pb2.DESCRIPTOR.services_by_name["AssetService"].full_name,
                beatapi_pb2.DESCRIPTOR.services_by_name["TaskService"].full_name,
                beatapi_pb2.DESCRIPTOR.services_by_name["FileService"].full_name, capabilities.SERVICE_NAME]

    async def wire(self, res: Resources) -> list:
        s = self.settings
        storage, allow = storage_from_settings(s), Allow.parse(s.fetch_allow)
        watch = JobWatch(s.database_url, s.schema)
        tasks = Tasks(res.pool, storage, allow, Path(s.work_dir) / "sources", res.channel("usage"), watch)
        tasks_pb2_grpc.add_TaskServiceServicer_to_server(TaskServicer(tasks), res.server)
        beatapi_pb2_grpc.add_TaskServiceServicer_to_server(BeatTaskServicer(tasks), res.server)
        # Imports and probes of uploads run in this background runner, never in a request handler.
        assets = Assets(res.pool, storage, allow)
        assets_pb2_grpc.add_AssetServiceServicer_to_server(AssetServicer(assets), res.server)
        beatapi_pb2_grpc.add_FileServiceServicer_to_server(BeatFileServicer(assets), res.server)
        capabilities.register(res.server, describe)
        return [AssetRunner(assets, Path(s.work_dir) / "assets"), watch]


class TaskWorkerApp(ServiceApp):
    """Same schema and stream as the tasks service; serves only health (for probes) and metrics."""

    name = "tasks_worker"
    migrations_package = "framelane_tasks"
    stream_retention = RetentionPolicy.LIMITS

    def __init__(self, settings: Settings | None = None):
        super().__init__(settings or Settings(service="tasks_worker"))

    def service_names(self) -> list[str]:
        return []

    async def wire(self, res: Resources) -> list:
        from framelane_tasks.runner import AudioWarmUp  # noqa: PLC0415 - the API process never loads ML code
        from framelane_tasks.worker import TaskWorker  # noqa: PLC0415

        s = self.settings
        worker = TaskWorker(res.pool, res.js, storage_from_settings(s), Path(s.work_dir) / "tasks",
                            Allow.parse(s.fetch_allow), s.job_ack_wait, res.channel("renderer"))
        return [worker, AudioWarmUp(), *gpu.samplers()]
