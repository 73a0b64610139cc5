"""The BeatAPI face of tasks (reference §B3–B6, B8; API.md "BeatAPI face"): the same task rows
shown BeatAPI's way, and its thin gRPC handlers (served by the tasks service, transcoded at
/beatapi/v1 by Envoy; errors are rendered in BeatAPI's vocabulary by the gateway).

Status mapping native → BeatAPI: ingesting, queued → queued; processing → processing;
completed → succeeded; failed → failed; cancelled → failed with error_code "cancelled". Credits:
reserved (and charged) at acceptance, settled in full on success, refunded on failure or cancel;
the usage service moves the ledger from the same terminal events."""

from google.protobuf import json_format

from framelane.beatapi.v1 import beatapi_pb2, beatapi_pb2_grpc
from framelane_core.context import current_principal
from framelane_core.errors import NotFound
from framelane_core.grpcserver import set_http_status
from framelane_core.idempotency import idempotency_key
from framelane_core.protoconv import nullable
from framelane_tasks import catalog

STATUS = {"ingesting": "queued", "queued": "queued", "processing": "processing", "completed": "succeeded",
          "failed": "failed", "cancelled": "failed"}
# Native job error codes BeatAPI clients know by another name.
ERROR_CODE = {"internal_error": "processing_failed"}


def _unix(dt) -> int:
    return int(dt.timestamp())


def task_view(row: dict, storage) -> beatapi_pb2.Task | None:
    """The BeatAPI Task of a workflow task row; None for task types that face cannot show."""
    workflow = catalog.WORKFLOW_TYPES.get(row["task_type"])
    if workflow is None:
        return None
    status = STATUS[row["status"]]
    reserved = row["credits_reserved"]
    output = None
    if row["status"] == "completed" and row["output"]:
        url = storage.signed_url(row["output"]["key"], workspace=row["workspace_id"])[0]
        output = {"media": [{"type": "video", "url": url, "mime_type": "video/mp4"}], "r2_url": url}
    error = row["error"] or {}
    code = "cancelled" if row["status"] == "cancelled" else error.get("code")
    task = beatapi_pb2.Task(
        id=row["id"], object="task", workflow=workflow["type"], status=status, stage=status,
        created_at=_unix(row["created_at"]), updated_at=_unix(row["updated_at"]),
        completed_at=nullable(_unix(row["completed_at"]) if row["completed_at"] else None),
        usage=beatapi_pb2.TaskUsage(
            credits_reserved=reserved, credits_charged=reserved,
            credits_settled=reserved if status == "succeeded" else 0,
            credits_refunded=reserved if status == "failed" else 0,
            billable_duration_seconds=row["billable_seconds"] or 0,
        ),
        request_id=row["request_id"] or "", error_code=nullable(ERROR_CODE.get(code, code) if code else None),
        error_message=nullable(error.get("message") if status == "failed" else None),
    )
    json_format.ParseDict(output, task.output)
    return task


class BeatTaskServicer(beatapi_pb2_grpc.TaskServiceServicer):
    def __init__(self, tasks):
        self.tasks = tasks

    async def ListWorkflows(self, request, context):
        return beatapi_pb2.WorkflowListResponse(data=beatapi_pb2.WorkflowList(object="list", data=[
            beatapi_pb2.Workflow(id=w["type"], object="workflow", name=w["name"], description=w["description"])
            for w in catalog.WORKFLOWS if w["supported"]]))

    async def CreateMusicVideoTask(self, request, context):
        return await self._create("music-video", request, context)

    async def CreateEcommerceVideoTask(self, request, context):
        return await self._create("ecommerce-video", request, context)

    async def _create(self, workflow: str, request, context):
        body = json_format.MessageToDict(request.params)
        row, replayed = await self.tasks.create(current_principal(), workflow, body, idempotency_key(context),
                                                method=f"POST /beatapi/v1/{workflow}/tasks")
        await set_http_status(context, 200 if replayed else 201)
        return beatapi_pb2.TaskResponse(data=task_view(row, self.tasks.storage))

    async def GetTask(self, request, context):
        row = await self.tasks.get(current_principal(), request.task_id)
        view = task_view(row, self.tasks.storage)
        if view is None:  # a native AI task: not something this face knows
            raise NotFound(f"Task {request.task_id} not found.")
        return beatapi_pb2.TaskResponse(data=view)
