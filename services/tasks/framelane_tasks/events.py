"""The tasks service's `task.*` lifecycle events, written through the outbox. The payload is the
job as the native face shows it and, for workflow tasks, as the BeatAPI face shows it (what
BeatAPI webhook endpoints receive)."""

from google.protobuf import json_format, struct_pb2

from framelane.api.v1 import job_pb2
from framelane_core.bus import make_event, write_outbox
from framelane_core.jobs import job_message
from framelane_core.protoconv import rest_json

SERVICE = "tasks"
QUEUED_SUBJECT = "framelane.tasks.v1.task.queued"


async def emit(conn, event_type: str, row: dict, storage) -> None:
    """Writes `task.<event_type>` for the task in `row`."""
    from framelane_tasks import beatapi  # noqa: PLC0415 - beatapi imports the catalog, which imports this

    payload = job_pb2.JobEvent(job=job_message(row, "task", storage, task_type=row["task_type"]),
                               webhook_url=row["webhook_url"] or "")
    view = beatapi.task_view(row, storage)
    if view is not None:
        json_format.ParseDict(rest_json(view), payload.beatapi_task)
    await write_outbox(conn, SERVICE, make_event(f"task.{event_type}", row["workspace_id"], payload))
