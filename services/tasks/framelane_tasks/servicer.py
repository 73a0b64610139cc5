"""Thin gRPC handlers of TaskService."""

from datetime import UTC, datetime

from google.protobuf import json_format, struct_pb2

from framelane.api.v1 import job_pb2
from framelane.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from framelane_core.context import current_principal
from framelane_core.grpcserver import set_http_status
from framelane_core.idempotency import idempotency_key
from framelane_core.protoconv import nullable, timestamp
from framelane_tasks import catalog
from framelane_tasks.service import Tasks


class TaskServicer(tasks_pb2_grpc.TaskServiceServicer):
    def __init__(self, tasks: Tasks):
        self.tasks = tasks

    async def CreateTask(self, request, context):
        body = json_format.MessageToDict(request.params)
        row, replayed = await self.tasks.create(current_principal(), request.type, body, idempotency_key(context))
        await set_http_status(context, 200 if replayed else 202)
        return self.tasks.job(row)

    async def ListTasks(self, request, context):
        rows, cursor = await self.tasks.list_page(current_principal(), request.type, request.status, request.limit,
                                                  request.cursor)
        return job_pb2.ListJobsResponse(
            data=[self.tasks.job(r) for r in rows], next_cursor=nullable(cursor), has_more=cursor is not None)

    async def GetTask(self, request, context):
        return self.tasks.job(await self.tasks.get(current_principal(), request.id, request.wait))

    async def CancelTask(self, request, context):
        return self.tasks.job(await self.tasks.cancel(current_principal(), request.id))

    async def GetTaskDownload(self, request, context):
        url, expires = await self.tasks.download(current_principal(), request.id, request.format)
        await set_http_status(context, 302, location=url)
        return job_pb2.Download(url=url, expires_at=timestamp(datetime.fromtimestamp(expires, UTC)))

    async def GetTaskSpec(self, request, context):
        return json_format.ParseDict(await self.tasks.spec(current_principal(), request.id), struct_pb2.Struct())

    async def ListWorkflows(self, request, context):
        data = []
        for row in catalog.WORKFLOWS:
            workflow = tasks_pb2.Workflow(id=row["type"], task_type=row["task_type"], name=row["name"],
                                          description=row["description"], supported=row["supported"])
            json_format.ParseDict(row["params"], workflow.params)
            json_format.ParseDict(row["pricing"], workflow.pricing)
            data.append(workflow)
        return tasks_pb2.ListWorkflowsResponse(data=data, next_cursor=nullable(None), has_more=False)
