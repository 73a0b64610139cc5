"""The tasks service's `task.*` lifecycle events, written through the outbox; the payload is the job."""

from framelane.api.v1 import job_pb2
from framelane_core.bus import make_event, write_outbox

SERVICE = "tasks"
QUEUED_SUBJECT = "framelane.tasks.v1.task.queued"


async def emit(conn, event_type: str, row: dict, job: job_pb2.Job) -> None:
    """Writes `task.<event_type>` for the task in `row`, whose client view is `job`."""
    payload = job_pb2.JobEvent(job=job, webhook_url=row["webhook_url"] or "")
    await write_outbox(conn, SERVICE, make_event(f"task.{event_type}", row["workspace_id"], payload))
